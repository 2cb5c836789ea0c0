"""The task queue: job kinds and their functions, progress, the worker and its process.

Long work (batch runs, judge runs, metrics, exports, board reports) is a row in `job` plus a
message on a huey queue (SQLite file by default, Redis by URL). `services.jobs` enqueues and
reads jobs for the pages and the CLI; `workbench worker` (or the worker `workbench start` runs)
does them. Nothing here is built at import: `queue_for(url)` builds a queue when asked.
"""

from workbench.jobs._execute import WorkerContext, execute_job
from workbench.jobs._processes import run_app_with_worker, spawn_child, stop_child
from workbench.jobs._progress import (
    JobCancelled,
    JobFailed,
    JobInterrupted,
    JobLost,
    JobStopped,
    Progress,
)
from workbench.jobs._queue import Queue, queue_for, redact
from workbench.jobs._registry import (
    JobFn,
    UnknownKind,
    is_known,
    known_kinds,
    lookup,
    register,
    unregister,
)
from workbench.jobs._worker import Worker, run_worker

__all__ = [
    "execute_job",
    "is_known",
    "JobCancelled",
    "JobFailed",
    "JobFn",
    "JobInterrupted",
    "JobLost",
    "JobStopped",
    "known_kinds",
    "lookup",
    "Progress",
    "Queue",
    "queue_for",
    "redact",
    "register",
    "run_app_with_worker",
    "run_worker",
    "spawn_child",
    "stop_child",
    "UnknownKind",
    "unregister",
    "Worker",
    "WorkerContext",
]
