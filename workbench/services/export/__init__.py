"""export context."""
