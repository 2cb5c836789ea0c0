"""evaluation context."""
