"""Errors of the storage layer that services pass on to the shells."""

from __future__ import annotations


class NotFound(LookupError):
    """No row with that id or name."""
