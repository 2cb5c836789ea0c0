"""The errors a shell shows to a person: `UserError` (an i18n key plus its placeholders) and
`NotFound` (no such run, scenario, bot target, ...), raised by storage and passed on as is."""

from __future__ import annotations

from workbench.storage.errors import NotFound

__all__ = ["NotFound", "UserError"]


class UserError(ValueError):
    """Something the person can fix or should know; the UI shows `t(key, **fmt)`."""

    def __init__(self, key: str, **fmt: object) -> None:
        super().__init__(f"{key} {fmt}" if fmt else key)
        self.key = key
        self.fmt = fmt
