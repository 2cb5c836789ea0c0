"""A panel member's "Ik wil even iemand spreken": who asked (their code only), on which day,
when, and who of the staff took it up. The Alembic migration 0012_panel mirrors this module."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from workbench.storage.tables._base import utcnow

# Open = not yet handled. One open signal per panel member: a second press (or a second tab)
# is the same request, and the database refuses a second row whatever Python checks.
_OPEN = sa.text("handled_at IS NULL")


class SupportSignal(SQLModel, table=True):
    """Nothing about the person is stored beyond the participant row it points to (a code)."""

    __tablename__ = "support_signal"
    __table_args__ = (
        sa.Index("uq_support_signal_one_open", "participant_id", unique=True,
                 sqlite_where=_OPEN, postgresql_where=_OPEN),
    )
    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    # The day the panel member was on when they asked; kept when the day closes later.
    training_day_id: int | None = Field(default=None, foreign_key="training_day.id", index=True)
    raised_at: datetime = Field(default_factory=utcnow)
    handled_at: datetime | None = None
    handled_by: str | None = Field(default=None, max_length=64)  # the staff member's code
