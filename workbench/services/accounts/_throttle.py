"""Rate limits on the rows of `login_throttle`: reserve an attempt under the row's lock, give it
back after a success, and let the facilitator see and lift a lock or a slowdown (audited).
The rules themselves are pure, in `domain/access.py`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain import access
from workbench.domain.enums import ThrottleKind
from workbench.storage import repo, repo_access
from workbench.storage.db import session_scope
from workbench.storage.tables import LoginThrottle, utcnow


def _state(row: LoginThrottle) -> access.Throttle:
    return access.Throttle(kind=ThrottleKind(row.kind), failures=row.failures,
                           window_started_at=row.window_started_at,
                           last_failure_at=row.last_failure_at, blocked_until=row.blocked_until)


def _store(row: LoginThrottle, state: access.Throttle) -> None:
    row.failures = state.failures
    row.window_started_at = state.window_started_at
    row.last_failure_at = state.last_failure_at
    row.blocked_until = state.blocked_until


def reserve(*, session: Session, key: str, kind: ThrottleKind, now: datetime
            ) -> access.Decision:
    """Count an attempt of `key` as a failure now, or refuse it: one locked read-and-write, so
    parallel attempts queue here and the check can never run ahead of the count."""
    row = repo_access.lock_throttle(session=session, key=key, kind=kind)
    decision = access.reserve(_state(row), now)
    if decision.allowed:
        _store(row, decision.state)
        session.add(row)
        session.flush()
    return decision


def settle_success(*, session: Session, key: str, reserved: access.Throttle) -> None:
    """The reserved attempt succeeded: give it back (see `access.settle_success`)."""
    row = repo_access.lock_throttle(session=session, key=key, kind=reserved.kind)
    _store(row, access.settle_success(_state(row), reserved))
    session.add(row)
    session.flush()


@dataclass(frozen=True)
class LimitView:
    """A user name that is locked, or a client address that is slowed down, right now."""

    key: str
    kind: ThrottleKind
    subject: str  # the user name or the address, without the prefix
    failures: int
    wait_seconds: int  # 0 when the next attempt may run now (but the delays have begun)
    since: datetime | None


def list_limits(*, engine: sa.Engine, kind: ThrottleKind, now: datetime | None = None
                ) -> list[LimitView]:
    """Current locks (staff) or slowdowns (join codes). Counters that limit nothing any more
    are deleted on the way, so client addresses are not kept longer than they matter."""
    now = now or utcnow()
    with session_scope(engine) as s:
        repo_access.purge_throttles(session=s, now=now,
                                    failed_before=now - max(access.STAFF_WINDOW,
                                                            access.JOIN_WINDOW))
        out = []
        for row in repo_access.list_throttles(session=s, kind=kind):
            state = _state(row)
            if not access.is_limited(state, now):
                continue
            decision = access.reserve(state, now)
            out.append(LimitView(
                key=row.key, kind=kind, subject=row.key.split(":", 1)[-1],
                failures=row.failures,
                wait_seconds=0 if decision.allowed else access.whole_seconds(decision.wait),
                since=row.window_started_at))
        return out


def lift_limit(*, engine: sa.Engine, key: str, lifted_by: str | None = None) -> bool:
    """Forget the counter of `key` (a user name's lock, an address's slowdown); audited.
    False when there was nothing to lift (a second click, or it had run out already)."""
    if not key or len(key) > 128:
        return False
    with session_scope(engine) as s:
        row = repo_access.get_throttle(session=s, key=key)
        if row is None:
            return False
        kind, failures = row.kind, row.failures
        repo_access.delete_throttle(session=s, key=key)
        repo.audit(session=s, action="access.lift", actor=lifted_by, entity="login_throttle",
                   entity_id=key[:64], details={"kind": str(kind), "failures": failures})
        return True
