"""Run one job on a worker: claim its row, do the work with a reporter beside it, record the end.

The row decides: a job is run only by the worker whose conditional UPDATE claimed it, and only
that worker may write its end. While the work runs, a reporter thread writes the progress at
most once a second, beats the heartbeat (every sixth of `stale_after_s`) and reads whether
someone asked to cancel or another worker took the job over; the job function learns it at
its next `progress()` call. Whatever a job function raises fails only that job.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pydantic
import sqlalchemy as sa

from workbench.domain.enums import JobStatus
from workbench.jobs._progress import (
    JobCancelled,
    JobFailed,
    JobInterrupted,
    JobLost,
    Progress,
)
from workbench.jobs._registry import UnknownKind, lookup
from workbench.storage import repo_jobs
from workbench.storage.db import session_scope
from workbench.storage.tables import utcnow

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 1.0  # the most often a job's figures are written
RESULT_BYTES = 256_000  # a job's result is a summary, not the work itself


@dataclass(frozen=True)
class WorkerContext:
    """What running a job needs from the worker that runs it."""

    engine: sa.Engine
    worker_id: str
    stale_after_s: float
    stopping: threading.Event  # set when the worker stops: jobs go back to the queue
    resend: Callable[[int], None]  # send a job's message again

    @property
    def beat_s(self) -> float:
        return self.stale_after_s / 6


def clean_text(text: str, limit: int) -> str:
    """Error and progress text as it may be stored: no NUL (PostgreSQL refuses it), bounded."""
    text = text.replace("\x00", "\\x00")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def execute_job(ctx: WorkerContext, job_id: int) -> JobStatus | None:
    """Claim and run one job; the status it ended in, or None when this worker did not (or no
    longer) own it. Never raises for what the job function does."""
    now = utcnow()
    with session_scope(ctx.engine) as s:
        if not repo_jobs.claim_job(session=s, job_id=job_id, worker_id=ctx.worker_id, now=now,
                                   stale_before=now - timedelta(seconds=ctx.stale_after_s)):
            log.info("job %s: left alone (finished, cancelled, unknown or another worker's)",
                     job_id)
            return None
        job = repo_jobs.get_job(session=s, job_id=job_id)
        kind, params, attempt = job.kind, dict(job.params or {}), job.attempts
        if job.cancel_requested:
            repo_jobs.cancel_claimed(session=s, job_id=job_id, now=now)
            return JobStatus.cancelled
    log.info("job %s (%s) started by %s, attempt %s", job_id, kind, ctx.worker_id, attempt)
    progress = Progress(stopping=ctx.stopping)
    reporter = _Reporter(ctx, job_id, progress)
    reporter.start()
    result: dict[str, Any] | None = None
    error: str | None = None
    message: str | None = None
    try:
        fn = lookup(kind)
        result = _json_result(fn(ctx.engine, params, progress))
        status = JobStatus.done
    except JobCancelled:
        status, message = JobStatus.cancelled, "cancelled"
    except JobInterrupted:
        reporter.stop()
        return _release(ctx, job_id)
    except JobLost:
        reporter.stop()
        log.warning("job %s: another worker took it over; this one stops", job_id)
        return None
    except JobFailed as exc:
        status, error, result = JobStatus.failed, str(exc), _details(exc)
    except pydantic.ValidationError as exc:
        status, error = JobStatus.failed, f"the job's parameters are not valid: {_problems(exc)}"
    except UnknownKind as exc:
        status, error = JobStatus.failed, str(exc)
    except Exception as exc:  # a job's own failure ends that job, never the worker
        log.exception("job %s (%s) failed", job_id, kind)
        status, error = JobStatus.failed, f"{type(exc).__name__}: {exc}"
    reporter.stop()
    snap = progress.snapshot()
    done = snap.total if status == JobStatus.done and snap.total is not None else snap.done
    with session_scope(ctx.engine) as s:
        if not repo_jobs.finish_job(
                session=s, job_id=job_id, worker_id=ctx.worker_id, status=status, now=utcnow(),
                done=done, total=snap.total, result=result,
                message=clean_text(message or snap.message or "", 500) or None,
                error=None if error is None else clean_text(error, 4000)):
            log.warning("job %s: another worker owns it now; its end here is not recorded",
                        job_id)
            return None
    log.info("job %s (%s) %s", job_id, kind, status)
    return status


def _release(ctx: WorkerContext, job_id: int) -> JobStatus | None:
    with session_scope(ctx.engine) as s:
        released = repo_jobs.release_job(session=s, job_id=job_id, worker_id=ctx.worker_id,
                                         now=utcnow())
    if not released:
        return None
    try:
        ctx.resend(job_id)
    except Exception:  # the next worker to start sends it again (resend_queued)
        log.exception("job %s: back in the queue, but its message could not be sent", job_id)
    log.info("job %s: the worker stopped; back in the queue to be resumed", job_id)
    return JobStatus.queued


def _json_result(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"a job function must return a dict or None, not {type(value).__name__}")
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the job's result is not JSON: {exc}") from None
    if len(text) > RESULT_BYTES or "\\u0000" in text:
        raise TypeError(f"the job's result is over {RESULT_BYTES} bytes or holds NUL")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _details(exc: JobFailed) -> dict[str, Any] | None:
    try:
        return _json_result(exc.details)
    except TypeError:  # details that are not JSON do not hide the failure itself
        return None


def _problems(exc: pydantic.ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}"
             for e in exc.errors()[:5]]
    return "; ".join(parts)


class _Reporter(threading.Thread):
    """Writes a job's progress and heartbeat, and reads its cancel flag, beside the work."""

    def __init__(self, ctx: WorkerContext, job_id: int, progress: Progress) -> None:
        super().__init__(name=f"job-{job_id}-reporter", daemon=True)
        self._ctx, self._job_id, self._progress = ctx, job_id, progress
        self._halt = threading.Event()
        self._written = 0
        self._beaten = time.monotonic()

    def run(self) -> None:
        tick = min(PROGRESS_EVERY_S, self._ctx.beat_s)
        while not self._halt.wait(tick):
            try:
                self._report()
            except Exception:  # a database hiccup: the work goes on, the next tick retries
                log.exception("job %s: progress could not be written", self._job_id)

    def _report(self) -> None:
        ctx, snap = self._ctx, self._progress.snapshot()
        beat_due = time.monotonic() - self._beaten >= ctx.beat_s
        with session_scope(ctx.engine) as s:
            if snap.version != self._written:
                message = None if snap.message is None else clean_text(snap.message, 500)
                repo_jobs.set_progress(session=s, job_id=self._job_id, worker_id=ctx.worker_id,
                                       done=snap.done, total=snap.total, message=message,
                                       now=utcnow())
                self._written, self._beaten = snap.version, time.monotonic()
            elif beat_due:
                repo_jobs.beat(session=s, job_id=self._job_id, worker_id=ctx.worker_id,
                               now=utcnow())
                self._beaten = time.monotonic()
            mine, cancel = repo_jobs.ownership(session=s, job_id=self._job_id,
                                               worker_id=ctx.worker_id)
        if not mine:
            self._progress.mark_lost()
        elif cancel:
            self._progress.mark_cancel()

    def stop(self) -> None:
        self._halt.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=10)
