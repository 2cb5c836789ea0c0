"""curation context."""
