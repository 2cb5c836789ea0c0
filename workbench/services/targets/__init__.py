"""targets context."""
