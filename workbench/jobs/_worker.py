"""A worker process: huey's consumer with N threads taking job ids off the queue, and a watchman
that keeps the rows honest.

The watchman beats for the worker (its `job_worker` row), and every sixth of
`job_stale_after_s` puts running jobs whose worker stopped beating (killed, or its machine
lost) back in the queue, so the next free worker resumes them. At start it also sends again the
messages of jobs queued for longer than that: huey deletes a message when a worker takes it,
so one taken by a worker that died before claiming its job is gone from the queue but not
from the rows.

Stopping (SIGTERM, SIGINT, or the app that started the worker stopping) takes no new jobs,
asks running ones to stop at their next unit of work, and puts them back in the queue; a job
that does not reach a unit boundary within the shutdown time is left to be found stale.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
from datetime import datetime, timedelta

import sqlalchemy as sa
from huey.consumer import Consumer
from sqlmodel import Session

from workbench.jobs._execute import WorkerContext, execute_job
from workbench.jobs._queue import Queue
from workbench.storage import repo_jobs
from workbench.storage.db import session_scope
from workbench.storage.tables import utcnow

log = logging.getLogger(__name__)


class _Consumer(Consumer):  # type: ignore[misc]
    def _set_signal_handlers(self) -> None:
        """The worker handles signals itself (run_worker); a worker in a thread has none."""


class Worker:
    """`start()`, then `stop()`; runs in any thread (tests run one beside the app)."""

    def __init__(self, *, engine: sa.Engine, queue: Queue, threads: int = 1,
                 stale_after_s: float = 30.0, worker_id: str | None = None) -> None:
        if threads < 1:
            raise ValueError("a worker needs at least one thread")
        self.engine, self.queue, self.threads = engine, queue, threads
        self.worker_id = worker_id or (f"{socket.gethostname()}:{os.getpid()}:"
                                       f"{secrets.token_hex(3)}")
        self.stopping = threading.Event()
        self.ctx = WorkerContext(engine=engine, worker_id=self.worker_id,
                                 stale_after_s=stale_after_s, stopping=self.stopping,
                                 resend=queue.send)
        self._halt = threading.Event()
        self._watchman = threading.Thread(target=self._watch, name="job-watchman", daemon=True)
        # The SQLite queue is polled: from 50 ms after a job up to 0.5 s when idle.
        self._consumer = _Consumer(queue.huey, workers=threads, periodic=False,
                                   worker_type="thread", initial_delay=0.05, backoff=1.3,
                                   max_delay=0.5, check_worker_health=True)

    def start(self) -> None:
        self.queue.handler = self._handle
        self.recover(startup=True)
        self._consumer.start()
        self._watchman.start()
        log.info("worker %s: %s thread(s) on %s", self.worker_id, self.threads,
                 self.queue.display)

    def _handle(self, job_id: int) -> None:
        if self.stopping.is_set():  # taken off the queue while stopping: put it back
            self.queue.send(job_id)
            return
        execute_job(self.ctx, job_id)

    def recover(self, *, startup: bool = False) -> list[int]:
        """Report this worker alive; send the messages of jobs that need a worker again."""
        now = utcnow()
        stale = now - timedelta(seconds=self.ctx.stale_after_s)
        with session_scope(self.engine) as s:
            repo_jobs.touch_worker(session=s, worker_id=self.worker_id,
                                   host=socket.gethostname(), pid=os.getpid(),
                                   threads=self.threads, queue=self.queue.display, now=now)
            again = repo_jobs.requeue_stale(session=s, stale_before=stale, now=now)
            if startup:
                again += self._requeue_dead_neighbours(s, now)
                again += repo_jobs.resend_queued(session=s, sent_before=stale, now=now)
        for job_id in again:
            log.warning("job %s: its worker stopped reporting; back in the queue", job_id)
            self.queue.send(job_id)
        return again

    def _requeue_dead_neighbours(self, session: Session, now: datetime) -> list[int]:
        """On the embedded queue every worker is on this machine: a job held by a process
        that no longer exists is resumed now, not after the stale time (a quick restart of
        `workbench start`). Not on Redis: another machine's process ids mean nothing here."""
        if not self.queue.url.startswith("sqlite:"):
            return []
        host, moved = socket.gethostname(), []
        for job_id, owner in repo_jobs.running_claims(session=session):
            name, _, rest = (owner or "").partition(":")
            pid = rest.partition(":")[0]
            if name == host and pid.isdigit() and not _process_exists(int(pid)) and \
                    repo_jobs.requeue_claimed(session=session, job_id=job_id,
                                              worker_id=owner or "", now=now):
                moved.append(job_id)
        return moved

    def _watch(self) -> None:
        while not self._halt.wait(self.ctx.beat_s):
            try:
                self.recover()
                self._consumer.check_worker_health()
            except Exception:  # the database or the queue is away: try again next beat
                log.exception("worker %s: could not check the jobs", self.worker_id)

    def stop(self, *, timeout: float = 15.0) -> None:
        """Take no new jobs; running ones stop at their next unit and go back to the queue."""
        self._consumer.stop_flag.set()
        self.stopping.set()
        self._consumer.shutdown_timeout = timeout
        self._consumer.stop(graceful=True)
        self._halt.set()
        if self._watchman.is_alive():
            self._watchman.join(timeout=timeout)
        try:
            with session_scope(self.engine) as s:
                repo_jobs.stop_worker(session=s, worker_id=self.worker_id, now=utcnow())
        except Exception:
            log.exception("worker %s: could not record that it stopped", self.worker_id)
        log.info("worker %s stopped", self.worker_id)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def run_worker(*, engine: sa.Engine, queue: Queue, threads: int = 1,
               stale_after_s: float = 30.0) -> None:
    """The `workbench worker` process: run until SIGTERM or SIGINT, then stop cleanly."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("worker: %s received, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker = Worker(engine=engine, queue=queue, threads=threads, stale_after_s=stale_after_s)
    worker.start()
    # A worker process keeps the Dutch scrubber loaded (exports and reports need it; forked
    # scrub processes inherit it) and scrubs new dashboard excerpts between jobs.
    from workbench.services.dashboard import keep_excerpts_scrubbed

    keep_excerpts_scrubbed(engine)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        worker.stop()
