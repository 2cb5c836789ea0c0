"""Keyword-only queries that keep a batch run and a replay import whole: the lease that lets
one runner at a time play a run, and the content hashes that make an import idempotent.

Like `repo`, these flush but never commit; the calling service owns the transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workbench.storage.tables import Conversation, Run

_RUN: sa.Table = Run.__table__  # type: ignore[attr-defined]


def _changed(session: Session, statement: sa.Update) -> bool:
    """Whether an UPDATE changed a row (every dialect counts matched rows for a plain one)."""
    return bool(cast(sa.CursorResult[Any], session.execute(statement)).rowcount)


# --- the run lease: one runner per run -----------------------------------------------------------


@dataclass(frozen=True)
class LeaseView:
    holder: str | None
    taken_at: datetime | None
    expires_at: datetime | None


def take_run_lease(*, session: Session, run_id: str, holder: str, now: datetime,
                   expires_at: datetime) -> bool:
    """Take the run for `holder` when nobody holds it or the holder's lease has expired, in
    one conditional UPDATE: of two runners that try at once, exactly one changes the row
    (PostgreSQL re-checks the condition on the row the other one committed; SQLite writes
    one transaction at a time)."""
    free = sa.or_(_RUN.c.lease_holder.is_(None), _RUN.c.lease_expires_at.is_(None),
                  _RUN.c.lease_expires_at < now)
    return _changed(session, sa.update(_RUN).where(_RUN.c.id == run_id, free).values(
        lease_holder=holder, lease_taken_at=now, lease_expires_at=expires_at))


def renew_run_lease(*, session: Session, run_id: str, holder: str, expires_at: datetime
                    ) -> bool:
    """Extend `holder`'s lease; False when it is no longer theirs (it expired and another
    runner took it). A holder whose lease expired but that nobody took keeps it."""
    return _changed(session, sa.update(_RUN).where(
        _RUN.c.id == run_id, _RUN.c.lease_holder == holder).values(lease_expires_at=expires_at))


def release_run_lease(*, session: Session, run_id: str, holder: str) -> bool:
    """Let go of the run, if `holder` still holds it (a newer holder's lease stays)."""
    return _changed(session, sa.update(_RUN).where(
        _RUN.c.id == run_id, _RUN.c.lease_holder == holder).values(
        lease_holder=None, lease_taken_at=None, lease_expires_at=None))


def run_lease(*, session: Session, run_id: str) -> LeaseView | None:
    """Who holds the run (None: no such run), read fresh from the database."""
    row = session.exec(select(Run.lease_holder, Run.lease_taken_at, Run.lease_expires_at)
                       .where(Run.id == run_id)).first()
    return None if row is None else LeaseView(*row)


# --- replay imports ------------------------------------------------------------------------------


def imported_hashes(*, session: Session, bot_target_id: int, hashes: Collection[str]
                    ) -> set[str]:
    """Which of these conversation hashes this replay target holds already."""
    if not hashes:
        return set()
    return {str(h) for h in session.exec(
        select(Conversation.content_sha256).where(
            Conversation.bot_target_id == bot_target_id,
            col(Conversation.content_sha256).in_(list(hashes))))}
