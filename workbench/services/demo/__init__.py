"""demo context."""
