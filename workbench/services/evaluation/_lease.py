"""One run, one runner: a lease on the run's row, taken atomically, renewed while the run
plays, released when the runner ends and expiring when its holder died.

Two resumes of one run at once each played every unfinished conversation, which left about
115 conversations with duplicated or missing exchanges. Now the second refuses (`RunBusy`).
Every write of the runner also checks that the lease is still its own (`fence`), so a runner
that stalled past its lease (a suspended laptop) cannot write after another one took over.

The expiry is read against this machine's clock: runners on several hosts need clocks that
agree to within a small part of the lease (NTP does).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from workbench.storage import repo_runs
from workbench.storage.db import session_scope
from workbench.storage.errors import NotFound

log = logging.getLogger(__name__)

DEFAULT_LEASE_S = 30.0  # WORKBENCH_RUN_LEASE_S; renewed every third of it


class RunBusy(RuntimeError):
    """Another runner holds the run; the message says who, since when and until when."""


class LeaseLost(RuntimeError):
    """This runner's lease expired and another runner took the run over; it stops writing."""


def _now() -> datetime:
    return datetime.now(UTC)


def _shown(at: datetime | None) -> str:
    if at is None:
        return "an unknown time"
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def holder_name() -> str:
    """`host pid N #token`: a person reads the first part; the token tells two holders apart
    when a pid comes back after a restart."""
    return f"{socket.gethostname()} pid {os.getpid()} #{secrets.token_hex(4)}"


@dataclass
class RunLease:
    """This process's hold on one run."""

    engine: sa.Engine
    run_id: str
    holder: str
    lease_s: float
    lost: bool = field(default=False)

    def _expiry(self) -> datetime:
        return _now() + timedelta(seconds=self.lease_s)

    def fence(self, session: Session) -> None:
        """Inside a write transaction: renew the lease, or raise LeaseLost (and roll back)."""
        if not repo_runs.renew_run_lease(session=session, run_id=self.run_id,
                                         holder=self.holder, expires_at=self._expiry()):
            self.lost = True
            raise LeaseLost(f"run {self.run_id}: this runner's lease expired and another "
                            "runner took the run over; stopping without writing more")

    def renew(self) -> bool:
        with session_scope(self.engine) as s:
            ok = repo_runs.renew_run_lease(session=s, run_id=self.run_id, holder=self.holder,
                                           expires_at=self._expiry())
        self.lost = self.lost or not ok
        return ok

    def release(self) -> None:
        with session_scope(self.engine) as s:
            repo_runs.release_run_lease(session=s, run_id=self.run_id, holder=self.holder)


def take_lease(*, engine: sa.Engine, run_id: str, lease_s: float = DEFAULT_LEASE_S
               ) -> RunLease:
    """Hold `run_id` for this process, or raise RunBusy (NotFound when there is no such run)."""
    if lease_s <= 0:
        raise ValueError("the lease must last longer than 0 seconds")
    holder = holder_name()
    now = _now()
    with session_scope(engine) as s:
        taken = repo_runs.take_run_lease(session=s, run_id=run_id, holder=holder, now=now,
                                         expires_at=now + timedelta(seconds=lease_s))
        view = None if taken else repo_runs.run_lease(session=s, run_id=run_id)
    if taken:
        return RunLease(engine, run_id, holder, lease_s)
    if view is None:
        raise NotFound(f"no run with id '{run_id}'")
    who = (view.holder or "another runner").split(" #")[0]
    raise RunBusy(f"run {run_id} is being played by {who} since {_shown(view.taken_at)}; "
                  f"if that process died, its lease expires at {_shown(view.expires_at)}")


async def keep_lease(lease: RunLease, *, on_lost: Callable[[], object]) -> None:
    """Renew every third of the lease until cancelled; call `on_lost` once it is gone.

    A renewal that fails for a passing reason (the database restarting) is tried again at the
    next beat: the lease lasts three beats, and the writer's fence refuses writes anyway once
    another runner holds it."""
    beat = lease.lease_s / 3
    while True:
        await asyncio.sleep(beat)
        try:
            ok = await asyncio.to_thread(lease.renew)
        except Exception as exc:  # renewal is retried; losing the lease is decided by the row
            log.warning("run %s: could not renew the lease (%s); trying again in %.0f s",
                        lease.run_id, exc, beat)
            continue
        if not ok:
            on_lost()
            return
