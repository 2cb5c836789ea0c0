"""Start long work as jobs and follow it: what the pages and the CLI call.

Enqueueing writes the job's row first and sends its message after the commit, so a worker never
gets a message for a row it cannot see. The same request made again by the same person while
the first is queued or running (a double click, a second Enter) is that same job: the row's
`active_key` is UNIQUE, so even two requests at the same moment make one job.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from workbench.config import get_settings
from workbench.domain.enums import JobStatus
from workbench.jobs import Queue, is_known, known_kinds, queue_for
from workbench.services.errors import UserError
from workbench.storage import repo_jobs
from workbench.storage.db import session_scope
from workbench.storage.tables import Job, utcnow

log = logging.getLogger(__name__)
PARAMS_BYTES = 64_000  # parameters name the work; the work itself lives elsewhere
ACTIVE = (JobStatus.queued, JobStatus.running)


class QueueUnavailable(UserError):
    """The job was recorded but its message could not be sent; the job is marked failed."""


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    status: JobStatus
    params: dict[str, Any]
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    done: int
    total: int | None
    message: str | None
    result: dict[str, Any] | None
    error: str | None
    cancel_requested: bool
    attempts: int
    claimed_by: str | None
    reused: bool = False  # enqueue found this same request already queued or running

    @property
    def final(self) -> bool:
        return self.status not in ACTIVE

    @property
    def fraction(self) -> float | None:
        """How far, 0–1, when the job knows its total."""
        if self.status == JobStatus.done:
            return 1.0
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))


@dataclass(frozen=True)
class WorkerView:
    id: str
    host: str
    pid: int
    threads: int
    queue: str
    started_at: datetime
    seen_at: datetime


def _view(job: Job, *, reused: bool = False) -> JobView:
    return JobView(
        id=job.id or 0, kind=job.kind, status=JobStatus(job.status), params=dict(job.params),
        created_by=job.created_by, created_at=job.created_at, started_at=job.started_at,
        finished_at=job.finished_at, heartbeat_at=job.heartbeat_at, done=job.done,
        total=job.total, message=job.message, result=job.result, error=job.error,
        cancel_requested=job.cancel_requested, attempts=job.attempts,
        claimed_by=job.claimed_by, reused=reused)


def default_queue() -> Queue:
    """The configured queue (WORKBENCH_QUEUE_URL, or queue.db beside the database)."""
    return queue_for(get_settings().resolved_queue_url())


def _checked_params(params: object) -> str:
    """The parameters as canonical JSON: an object, at most PARAMS_BYTES, no NUL anywhere."""
    if not isinstance(params, dict):
        raise ValueError("job parameters must be a JSON object")
    try:
        text = json.dumps(params, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"job parameters must be JSON: {exc}") from None
    if len(text.encode()) > PARAMS_BYTES:
        raise ValueError(f"job parameters are over {PARAMS_BYTES} bytes")
    if "\\u0000" in text or "\x00" in text:
        raise ValueError("job parameters may not hold NUL characters")
    return text


def enqueue(*, engine: sa.Engine, kind: str, params: dict[str, Any], created_by: str | None,
            queue: Queue | None = None) -> JobView:
    """Record a job and put it on the queue; the same active request of the same person gives
    back the job it already made (`reused`). Raises ValueError for an unknown kind or
    parameters that are not a small JSON object, QueueUnavailable when the queue is away."""
    if not is_known(kind):
        raise ValueError(f"no job kind {kind!r} (known: {', '.join(known_kinds())})")
    text = _checked_params(params)
    if created_by is not None and (len(created_by) > 64 or "\x00" in created_by):
        raise ValueError("created_by: at most 64 characters, no NUL")
    digest = hashlib.sha256(f"{kind}\n{created_by or ''}\n{text}".encode()).hexdigest()[:40]
    key = f"{kind}:{digest}"
    for _ in range(3):  # the active job with the key may end between insert and lookup
        try:
            with session_scope(engine) as s:
                job = repo_jobs.insert_job(session=s, kind=kind, params=json.loads(text),
                                           created_by=created_by, active_key=key, now=utcnow())
                view = _view(job)
            break
        except IntegrityError:
            with session_scope(engine) as s:
                found = repo_jobs.active_job_with_key(session=s, active_key=key)
                if found is not None:
                    return _view(found, reused=True)
    else:  # pragma: no cover - three races lost in a row
        raise RuntimeError("could not record the job; try again")
    q = queue or default_queue()
    try:
        q.send(view.id)
    except Exception as exc:
        message = f"the queue at {q.display} could not be reached: {type(exc).__name__}: {exc}"
        with session_scope(engine) as s:
            repo_jobs.fail_queued(session=s, job_id=view.id, error=message, now=utcnow())
        raise QueueUnavailable("jobs.queue_unavailable", queue=q.display) from exc
    return view


def get_job(*, engine: sa.Engine, job_id: int) -> JobView:
    """Raises NotFound."""
    with session_scope(engine) as s:
        return _view(repo_jobs.get_job(session=s, job_id=job_id))


def list_jobs(*, engine: sa.Engine, limit: int = 50, active_only: bool = False,
              kinds: list[str] | None = None, created_by: str | None = None) -> list[JobView]:
    """Newest first."""
    with session_scope(engine) as s:
        return [_view(j) for j in repo_jobs.list_jobs(
            session=s, limit=limit, statuses=ACTIVE if active_only else None, kinds=kinds,
            created_by=created_by)]


def cancel_job(*, engine: sa.Engine, job_id: int) -> JobView:
    """A queued job is cancelled at once; a running one is asked to stop at its next unit of
    work (a run between two exchanges); a finished one stays as it is. Raises NotFound."""
    with session_scope(engine) as s:
        repo_jobs.get_job(session=s, job_id=job_id)
        # Queued first: if a worker claims it in between, the second UPDATE asks that worker.
        if not repo_jobs.cancel_queued(session=s, job_id=job_id, now=utcnow()):
            repo_jobs.request_cancel(session=s, job_id=job_id)
        return _view(repo_jobs.get_job(session=s, job_id=job_id))


def live_workers(*, engine: sa.Engine) -> list[WorkerView]:
    """Workers that reported within the stale time and did not stop."""
    seen_after = utcnow() - timedelta(seconds=get_settings().job_stale_after_s)
    with session_scope(engine) as s:
        return [WorkerView(w.id, w.host, w.pid, w.threads, w.queue, w.started_at, w.seen_at)
                for w in repo_jobs.live_workers(session=s, seen_after=seen_after)]
