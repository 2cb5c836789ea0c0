"""Which ratings count, for what, and when a reply is unsafe: the SQL form of the rules.

`workbench/domain/rules.py` holds the Python form and explains each rule and purpose;
`tests/test_rules.py` holds the two equal on fixtures. Every query that counts ratings takes
its conditions from here, on both databases.

The conditions are built on the tables' Core columns, so they serve ORM selects
(`select(Rating).where(*rating_counts(...))`) and Core selects alike.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from workbench.domain.enums import RatingStatus, TurnRole, TurnStatus
from workbench.domain.rules import COUNTED_KINDS, COUNTED_SOURCES, Purpose
from workbench.storage.tables import Conversation, Rating, Turn

__all__ = ["CONVERSATION", "conversation_counts", "kinds", "Purpose", "RATING", "TURN",
           "rating_counts", "reply_counts", "reply_unsafe", "sources"]

RATING: sa.Table = Rating.__table__  # type: ignore[attr-defined]
TURN: sa.Table = Turn.__table__  # type: ignore[attr-defined]
CONVERSATION: sa.Table = Conversation.__table__  # type: ignore[attr-defined]


def kinds(purpose: Purpose) -> list[str]:
    return sorted(k.value for k in COUNTED_KINDS[purpose])


def conversation_counts(purpose: Purpose, *, conversation: Any = CONVERSATION
                        ) -> list[sa.ColumnElement[bool]]:
    """Conditions on the conversation a reply is in (``conversation`` may be an alias)."""
    return [conversation.c.kind.in_(kinds(purpose))]


def sources(purpose: Purpose) -> list[str]:
    return sorted(s.value for s in COUNTED_SOURCES[purpose])


def rating_counts(purpose: Purpose, *, rating: Any = RATING) -> list[sa.ColumnElement[bool]]:
    """Conditions on a rating row (``rating`` may be an alias of the table)."""
    return [rating.c.status == RatingStatus.submitted.value,
            rating.c.withdrawn == sa.false(),
            rating.c.source.in_(sources(purpose))]


def reply_counts(*, turn: Any = TURN) -> list[sa.ColumnElement[bool]]:
    """Conditions on the reply (turn) a rating is on."""
    return [turn.c.role == TurnRole.assistant.value, turn.c.status == TurnStatus.ok.value,
            turn.c.withdrawn == sa.false()]


def reply_unsafe(adjudicated: Any, any_rating_unsafe: Any) -> Any:
    """1 when the reply is unsafe: the adjudication's verdict (1/0, NULL when none), else
    whether any counted rating said unsafe (1/0)."""
    return sa.func.coalesce(adjudicated, any_rating_unsafe)
