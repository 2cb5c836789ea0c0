"""Long work as jobs on the task queue: start a batch run, judge run, metrics, export or board
report, follow its progress from the database, cancel it. Workers do the work (workbench/jobs).
"""

from workbench.services.jobs._jobs import (
    JobView,
    QueueUnavailable,
    WorkerView,
    cancel_job,
    default_queue,
    enqueue,
    get_job,
    list_jobs,
    live_workers,
)
from workbench.services.jobs._starts import (
    RunChoice,
    enqueue_export,
    enqueue_judge,
    enqueue_lab_comparison,
    enqueue_metrics,
    enqueue_report,
    enqueue_run,
    enqueue_simulation,
    export_params,
    recent_runs,
)

__all__ = [
    "cancel_job",
    "default_queue",
    "enqueue",
    "enqueue_export",
    "enqueue_judge",
    "enqueue_lab_comparison",
    "enqueue_metrics",
    "enqueue_report",
    "enqueue_run",
    "enqueue_simulation",
    "export_params",
    "get_job",
    "JobView",
    "list_jobs",
    "live_workers",
    "QueueUnavailable",
    "recent_runs",
    "RunChoice",
    "WorkerView",
]
