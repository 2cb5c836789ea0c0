"""What a job function is handed to report progress, and the ways a job stops early.

A job function calls `progress(done, total, message)` as often as it likes: it only records the
figures in memory. The job's reporter thread (_execute.py) writes them to the job's row at most
once a second and beats the heartbeat; it also reads whether someone asked to cancel. The next
call to `progress()` (or `check()`) then raises, so the work stops between two units of work
(a run between two exchanges), never inside one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


class JobStopped(Exception):  # noqa: N818 - a signal to stop, not an error
    """Raised inside a job function to make it stop between two units of work."""


class JobCancelled(JobStopped):
    """Someone asked to cancel the job."""


class JobInterrupted(JobStopped):
    """The worker is stopping: the job goes back to the queue and another worker resumes it."""


class JobLost(JobStopped):
    """Another worker took the job over (this one was thought dead): stop, write nothing."""


class JobFailed(Exception):
    """A job function's clear refusal: `str(exc)` becomes the job's error; `details` (JSON)
    its result, for the page to show (e.g. where an export found personal data)."""

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details


@dataclass
class Snapshot:
    done: int
    total: int | None
    message: str | None
    version: int  # grows with every report, so the reporter knows what it already wrote


class Progress:
    """Handed to every job function: call it with (done, total, message); it raises a
    `JobStopped` when the job must stop. Thread-safe: an asyncio loop or several threads of
    one job may report."""

    def __init__(self, *, stopping: threading.Event | None = None) -> None:
        self._lock = threading.Lock()
        self._snap = Snapshot(0, None, None, 0)
        self._cancel = threading.Event()
        self._lost = threading.Event()
        self._stopping = stopping or threading.Event()

    def __call__(self, done: int, total: int | None = None, message: str | None = None) -> None:
        with self._lock:
            s = self._snap
            self._snap = Snapshot(max(0, int(done)), None if total is None else int(total),
                                  message if message is not None else s.message, s.version + 1)
        self.check()

    def check(self) -> None:
        """Raise when the job must stop; a job function may call it between units of work."""
        if self._lost.is_set():
            raise JobLost("another worker has taken this job over")
        if self._cancel.is_set():
            raise JobCancelled("cancelled")
        if self._stopping.is_set():
            raise JobInterrupted("the worker is stopping")

    @property
    def should_stop(self) -> bool:
        return self._lost.is_set() or self._cancel.is_set() or self._stopping.is_set()

    # --- the reporter's side ---------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snap

    def mark_cancel(self) -> None:
        self._cancel.set()

    def mark_lost(self) -> None:
        self._lost.set()
