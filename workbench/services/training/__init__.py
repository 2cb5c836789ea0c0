"""training context."""
