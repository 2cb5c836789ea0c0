"""Keyword-only queries of the task queue's progress rows (`job`) and its workers
(`job_worker`). Same rules as `repo`: flush, never commit.

Every change of who owns a job is one conditional UPDATE (queued → running by me, running by
me → done, running with a stale heartbeat → queued again), so two workers that race for a
job cannot both win: the database decides, whatever each of them believes.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workbench.domain.enums import JobStatus
from workbench.storage.errors import NotFound
from workbench.storage.tables import BotTarget, Job, JobWorker, Run

MESSAGE_CHARS = 500  # the column's size
ERROR_CHARS = 4000

_JOB = Job.__table__  # type: ignore[attr-defined]
FINAL = (JobStatus.done, JobStatus.failed, JobStatus.cancelled)


def _clip(text: str | None, limit: int) -> str | None:
    return None if text is None else text[:limit]


def _update(session: Session, job_id: int, where: list[Any], **values: Any) -> bool:
    """One conditional UPDATE of one job; True when this call changed it."""
    session.flush()
    done = session.execute(sa.update(_JOB).where(_JOB.c.id == job_id, *where).values(**values)
                           .execution_options(synchronize_session=False))
    session.expire_all()  # loaded Job objects must not show what the UPDATE replaced
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


# --- creating and reading -------------------------------------------------------------------


def insert_job(*, session: Session, kind: str, params: dict[str, Any], created_by: str | None,
               active_key: str | None, now: datetime) -> Job:
    """A queued job. Raises IntegrityError when an active job has the same `active_key`."""
    job = Job(kind=kind, params=params, created_by=created_by, active_key=active_key,
              created_at=now, enqueued_at=now)
    session.add(job)
    session.flush()
    return job


def get_job(*, session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job with id {job_id}")
    return job


def active_job_with_key(*, session: Session, active_key: str) -> Job | None:
    return session.exec(select(Job).where(Job.active_key == active_key)).first()


def list_jobs(*, session: Session, limit: int = 50, statuses: Collection[str] | None = None,
              kinds: Collection[str] | None = None, created_by: str | None = None,
              ids: Collection[int] | None = None) -> list[Job]:
    """Newest first."""
    q = select(Job).order_by(col(Job.id).desc()).limit(limit)
    if statuses is not None:
        q = q.where(col(Job.status).in_([str(s) for s in statuses]))
    if kinds is not None:
        q = q.where(col(Job.kind).in_(list(kinds)))
    if created_by is not None:
        q = q.where(Job.created_by == created_by)
    if ids is not None:
        q = q.where(col(Job.id).in_(list(ids)))
    return list(session.exec(q).all())


# --- a worker's side: claim, beat, report, finish ------------------------------------------------


def claim_job(*, session: Session, job_id: int, worker_id: str, now: datetime,
              stale_before: datetime) -> bool:
    """Take a job: a queued one, or a running one whose worker stopped beating. True when this
    worker now owns it; a cancelled, finished or busy job is left alone."""
    c = _JOB.c
    takeable = sa.or_(
        sa.and_(c.status == JobStatus.queued, c.cancel_requested == sa.false()),
        sa.and_(c.status == JobStatus.running,
                sa.or_(c.heartbeat_at.is_(None), c.heartbeat_at < stale_before)))
    return _update(session, job_id, [takeable], status=JobStatus.running, claimed_by=worker_id,
                   heartbeat_at=now, attempts=c.attempts + 1,
                   started_at=sa.func.coalesce(c.started_at, now))


def _mine(worker_id: str) -> list[Any]:
    return [_JOB.c.status == JobStatus.running, _JOB.c.claimed_by == worker_id]


def ownership(*, session: Session, job_id: int, worker_id: str) -> tuple[bool, bool]:
    """(still this worker's, cancel requested). A worker that lost its job must stop."""
    row = session.execute(sa.select(_JOB.c.status, _JOB.c.claimed_by, _JOB.c.cancel_requested)
                          .where(_JOB.c.id == job_id)).first()
    if row is None:
        return False, False
    return row[0] == JobStatus.running and row[1] == worker_id, bool(row[2])


def beat(*, session: Session, job_id: int, worker_id: str, now: datetime) -> bool:
    return _update(session, job_id, _mine(worker_id), heartbeat_at=now)


def set_progress(*, session: Session, job_id: int, worker_id: str, done: int,
                 total: int | None, message: str | None, now: datetime) -> bool:
    """The figures a page shows; counts as a heartbeat too."""
    return _update(session, job_id, _mine(worker_id), done=done, total=total,
                   message=_clip(message, MESSAGE_CHARS), heartbeat_at=now)


def finish_job(*, session: Session, job_id: int, worker_id: str, status: JobStatus,
               now: datetime, done: int, total: int | None, message: str | None,
               result: dict[str, Any] | None = None, error: str | None = None) -> bool:
    """The end of a job this worker owns; False (and nothing written) when it no longer does."""
    assert status in FINAL
    return _update(session, job_id, _mine(worker_id), status=status, finished_at=now,
                   heartbeat_at=now, active_key=None, result=result, done=done, total=total,
                   message=_clip(message, MESSAGE_CHARS), error=_clip(error, ERROR_CHARS))


def cancel_claimed(*, session: Session, job_id: int, now: datetime) -> bool:
    """A job taken just now whose cancel was asked for before anyone ran it."""
    return _update(session, job_id, [_JOB.c.status == JobStatus.running,
                                     _JOB.c.cancel_requested == sa.true()],
                   status=JobStatus.cancelled, finished_at=now, active_key=None,
                   message="cancelled")


def release_job(*, session: Session, job_id: int, worker_id: str, now: datetime) -> bool:
    """Give a job this worker owns back to the queue (the worker is stopping)."""
    return _update(session, job_id, _mine(worker_id), status=JobStatus.queued, claimed_by=None,
                   enqueued_at=now)


def fail_queued(*, session: Session, job_id: int, error: str, now: datetime) -> bool:
    """A queued job nobody will run (its message could not be sent, or its kind is unknown)."""
    return _update(session, job_id, [_JOB.c.status == JobStatus.queued], status=JobStatus.failed,
                   finished_at=now, active_key=None, error=_clip(error, ERROR_CHARS))


# --- cancelling and recovering ------------------------------------------------------------------


def cancel_queued(*, session: Session, job_id: int, now: datetime) -> bool:
    return _update(session, job_id, [_JOB.c.status == JobStatus.queued],
                   status=JobStatus.cancelled, cancel_requested=True, finished_at=now,
                   active_key=None)


def request_cancel(*, session: Session, job_id: int) -> bool:
    """Ask the worker of a running job to stop at its next unit of work."""
    return _update(session, job_id, [_JOB.c.status == JobStatus.running],
                   cancel_requested=True)


def requeue_stale(*, session: Session, stale_before: datetime, now: datetime) -> list[int]:
    """Running jobs whose worker stopped beating go back to the queue (the ids this call moved:
    the caller sends their messages); those someone asked to cancel end as cancelled."""
    c = _JOB.c
    stale = sa.or_(c.heartbeat_at.is_(None), c.heartbeat_at < stale_before)
    candidates = session.execute(sa.select(c.id, c.cancel_requested).where(
        c.status == JobStatus.running, stale)).all()
    moved = []
    for job_id, cancel in candidates:
        where = [c.status == JobStatus.running, stale]
        if cancel:
            _update(session, job_id, where, status=JobStatus.cancelled, finished_at=now,
                    active_key=None, message="cancelled (its worker had stopped)")
        elif _update(session, job_id, where, status=JobStatus.queued, claimed_by=None,
                     enqueued_at=now):
            moved.append(job_id)
    return moved


def running_claims(*, session: Session) -> list[tuple[int, str | None]]:
    """(job id, worker id) of every running job."""
    c = _JOB.c
    rows = session.execute(sa.select(c.id, c.claimed_by).where(c.status == JobStatus.running))
    return [(r[0], r[1]) for r in rows.all()]


def requeue_claimed(*, session: Session, job_id: int, worker_id: str, now: datetime) -> bool:
    """Put back a running job of a worker known to be gone (whatever its heartbeat says)."""
    return _update(session, job_id, _mine(worker_id), status=JobStatus.queued, claimed_by=None,
                   enqueued_at=now)


def resend_queued(*, session: Session, sent_before: datetime, now: datetime) -> list[int]:
    """Queued jobs whose last message is older than `sent_before` (it may have been taken by a
    worker that died before claiming it): the ids whose message the caller sends again."""
    c = _JOB.c
    old = [c.status == JobStatus.queued, c.enqueued_at < sent_before]
    ids = session.execute(sa.select(c.id).where(*old).order_by(c.id)).scalars().all()
    return [i for i in ids if _update(session, i, old, enqueued_at=now)]


# --- workers -----------------------------------------------------------------------------------


def touch_worker(*, session: Session, worker_id: str, host: str, pid: int, threads: int,
                 queue: str, now: datetime) -> None:
    row = session.get(JobWorker, worker_id)
    if row is None:
        row = JobWorker(id=worker_id, host=host[:255], pid=pid, threads=threads,
                        queue=queue[:255], started_at=now, seen_at=now)
    row.seen_at = now
    session.add(row)
    session.flush()


def stop_worker(*, session: Session, worker_id: str, now: datetime) -> None:
    row = session.get(JobWorker, worker_id)
    if row is not None:
        row.stopped_at = now
        session.add(row)
        session.flush()


def live_workers(*, session: Session, seen_after: datetime) -> list[JobWorker]:
    q = select(JobWorker).where(JobWorker.seen_at >= seen_after,
                                col(JobWorker.stopped_at).is_(None)).order_by(JobWorker.id)
    return list(session.exec(q).all())


# --- what a page offers to start ----------------------------------------------------------------


def recent_runs(*, session: Session, limit: int = 30) -> list[tuple[str, str, datetime, str]]:
    """(run id, bot target name, started at, status), newest first: runs a judge can score."""
    q = (sa.select(Run.id, BotTarget.name, Run.started_at, Run.status)  # type: ignore[call-overload]
         .join(BotTarget, BotTarget.id == Run.bot_target_id)
         .order_by(col(Run.started_at).desc()).limit(limit))
    return [(r[0], r[1], r[2], str(r[3])) for r in session.execute(q).all()]
