"""dashboard context."""
