"""Keyword-only queries of access: the rate-limit rows and the staff sessions. Same rules as
`repo`: flush, never commit.

`lock_throttle` is what makes the lockout hold under parallel guessing: it returns the key's
row locked for the rest of the transaction (PostgreSQL `SELECT ... FOR UPDATE`; SQLite holds
the database's write lock from `BEGIN IMMEDIATE`, see `db.py`), so reading the count and
writing the next one cannot interleave with another attempt on the same key.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from workbench.domain.enums import ThrottleKind
from workbench.storage.tables import LoginThrottle, StaffSession

# --- rate limits ---------------------------------------------------------------------------------


def lock_throttle(*, session: Session, key: str, kind: ThrottleKind) -> LoginThrottle:
    """The row of `key`, created when missing, locked until the transaction ends."""
    values = {"key": key, "kind": str(kind), "failures": 0}
    dialect = session.get_bind().dialect.name
    insert: sa.Insert
    if dialect == "postgresql":
        insert = postgresql.insert(LoginThrottle).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        insert = sqlite.insert(LoginThrottle).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - the workbench runs on SQLite and PostgreSQL
        raise NotImplementedError(dialect)
    # Two first attempts at once: one inserts, the other waits for it and inserts nothing.
    session.execute(insert)
    row = session.exec(
        select(LoginThrottle).where(LoginThrottle.key == key)
        .with_for_update().execution_options(populate_existing=True)
    ).one()
    return row


def get_throttle(*, session: Session, key: str) -> LoginThrottle | None:
    return session.get(LoginThrottle, key)


def list_throttles(*, session: Session, kind: ThrottleKind) -> list[LoginThrottle]:
    return list(session.exec(
        select(LoginThrottle).where(LoginThrottle.kind == kind)
        .order_by(col(LoginThrottle.last_failure_at).desc(), col(LoginThrottle.key))
    ))


def delete_throttle(*, session: Session, key: str) -> bool:
    result = session.execute(sa.delete(LoginThrottle).where(col(LoginThrottle.key) == key))
    session.flush()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def purge_throttles(*, session: Session, failed_before: datetime, now: datetime) -> int:
    """Forget counters whose last failure is older than `failed_before` and that hold no wait:
    a client address is not kept longer than it limits anything."""
    result = session.execute(sa.delete(LoginThrottle).where(
        sa.or_(col(LoginThrottle.last_failure_at).is_(None),
               col(LoginThrottle.last_failure_at) < failed_before),
        sa.or_(col(LoginThrottle.blocked_until).is_(None),
               col(LoginThrottle.blocked_until) < now),
    ))
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- staff sessions ------------------------------------------------------------------------------


def create_staff_session(*, session: Session, participant_id: int, claim_hash: str,
                         claim_expires_at: datetime, expires_at: datetime, now: datetime
                         ) -> StaffSession:
    row = StaffSession(participant_id=participant_id, claim_hash=claim_hash,
                       claim_expires_at=claim_expires_at, expires_at=expires_at,
                       created_at=now, last_seen_at=now)
    session.add(row)
    session.flush()
    return row


def claim_staff_session(*, session: Session, claim_hash: str) -> StaffSession | None:
    """The session waiting for the cookie of this claim, locked (a claim is used once)."""
    return session.exec(
        select(StaffSession).where(StaffSession.claim_hash == claim_hash).with_for_update()
    ).first()


def staff_session_by_token(*, session: Session, token_hash: str) -> StaffSession | None:
    return session.exec(select(StaffSession).where(StaffSession.token_hash == token_hash)).first()


def revoke_staff_sessions(*, session: Session, participant_id: int, at: datetime) -> int:
    """End every live session of this person (password changed, account deactivated)."""
    result = session.execute(
        sa.update(StaffSession)
        .where(col(StaffSession.participant_id) == participant_id,
               col(StaffSession.revoked_at).is_(None))
        .values(revoked_at=at, claim_hash=None)
    )
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
