"""The errors a shell shows to a person: `UserError` (an i18n key plus its placeholders) and
`NotFound` (no such run, scenario, bot target, ...), raised by storage and passed on as is."""

from __future__ import annotations

from collections.abc import Sequence

from workbench.storage.errors import NotFound

__all__ = ["NotFound", "UserError"]


class UserError(ValueError):
    """Something the person can fix or should know; the UI shows `t(key, **fmt)`.

    `fields` names the form fields the problem is about (e.g. criterion keys), so a form can
    mark them where they are; `more` holds further problems found in the same check, so a
    person sees everything to fix at once instead of one error per submit.
    """

    def __init__(self, key: str, *, fields: Sequence[str] = (),
                 more: Sequence[UserError] = (), **fmt: object) -> None:
        super().__init__(f"{key} {fmt}" if fmt else key)
        self.key = key
        self.fmt = fmt
        self.fields = tuple(fields)
        self.more = tuple(more)

    @property
    def problems(self) -> list[UserError]:
        """This problem and every further one, in the order they were found."""
        return [self, *self.more]

    @property
    def all_fields(self) -> set[str]:
        return {f for p in self.problems for f in p.fields}
