"""The one error type a page shows to a person: an i18n key plus its placeholders."""

from __future__ import annotations


class UserError(ValueError):
    """Something the person can fix or should know; the UI shows `t(key, **fmt)`."""

    def __init__(self, key: str, **fmt: object) -> None:
        super().__init__(f"{key} {fmt}" if fmt else key)
        self.key = key
        self.fmt = fmt
