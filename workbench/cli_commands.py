"""Registers the command groups that live in their own modules (kept short per module)."""
