"""CLI: the task queue — `workbench jobs [--watch]`, `workbench jobs cancel ID`, `workbench
worker`, and `submit()` behind every `--background` flag."""

from __future__ import annotations

import getpass
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer
from rich.live import Live
from rich.table import Table

from workbench.cli import _common as common
from workbench.cli._common import console, err

if TYPE_CHECKING:
    from workbench.services.jobs import JobView

BACKGROUND_HELP = "Enqueue it for a worker (workbench worker) and print the job id."

app = typer.Typer()
jobs_app = typer.Typer(help="Long work on the task queue: list, watch, cancel.",
                       invoke_without_command=True)
app.add_typer(jobs_app, name="jobs")


def cli_actor() -> str:
    return f"cli:{getpass.getuser()}"


def submit(start: Callable[..., JobView], **kwargs: Any) -> None:
    """Enqueue with `start(engine=..., created_by=..., **kwargs)`; print the job id last.
    An unknown run, bot, judge or bad value is a usage error (2); no queue is a failure (1)."""
    from workbench.services.errors import NotFound
    from workbench.services.jobs import QueueUnavailable

    try:
        job = start(engine=common.engine(), created_by=kwargs.pop("created_by", cli_actor()),
                    **kwargs)
    except NotFound as exc:
        common.not_found(exc)
    except QueueUnavailable as exc:
        common.fail(f"the job could not be queued: the queue at {exc.fmt['queue']} does not "
                    "answer (WORKBENCH_QUEUE_URL)")
    except ValueError as exc:
        common.fail(str(exc), code=common.EXIT_USAGE)
    what = ", ".join(f"{k} {v}" for k, v in job.params.items() if k in ("run_id", "out_dir",
                                                                        "out") and v)
    state = "already queued or running" if job.reused else "queued"
    err.print(f"job {job.id} ({job.kind}{', ' + what if what else ''}) {state}; follow it with "
              f"`workbench jobs --watch`", highlight=False)
    typer.echo(str(job.id))


def _progress(job: JobView) -> str:
    if job.total:
        return f"{job.done}/{job.total} ({100 * (job.fraction or 0):.0f}%)"
    return str(job.done) if job.done else "–"


def _table(jobs: list[JobView]) -> Table:
    table = Table("id", "kind", "status", "progress", "message", "by", "created", "error")
    for j in jobs:
        status = str(j.status) + (" (cancelling)" if j.cancel_requested and not j.final
                                  else "") + (f" ×{j.attempts}" if j.attempts > 1 else "")
        table.add_row(str(j.id), j.kind, status, _progress(j), (j.message or "")[:60],
                      j.created_by or "", j.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                      (j.error or "").splitlines()[0][:80] if j.error else "")
    return table


@jobs_app.callback()
def jobs(
    ctx: typer.Context,
    watch: bool = typer.Option(False, "--watch", help="Refresh every second until no listed "
                               "job is queued or running (Ctrl-C stops watching)."),
    limit: int = typer.Option(20, min=1, max=1000, help="How many of the newest jobs."),
    active: bool = typer.Option(False, "--active", help="Only queued and running jobs."),
) -> None:
    """The newest jobs with their status and progress (read from the database)."""
    if ctx.invoked_subcommand is not None:
        return
    from workbench.services.jobs import list_jobs, live_workers

    engine = common.engine()

    def current() -> list[JobView]:
        return list_jobs(engine=engine, limit=limit, active_only=active)

    shown = current()
    workers = live_workers(engine=engine)
    err.print(f"{len(workers)} worker(s) reporting" + (
        ": " + ", ".join(f"{w.id} ({w.threads} thread(s), {w.queue})" for w in workers)
        if workers else "; start one with `workbench worker`"), highlight=False)
    if not watch:
        console.print(_table(shown))
        return
    try:
        with Live(_table(shown), console=console, refresh_per_second=4) as live:
            while any(not j.final for j in shown):
                time.sleep(1.0)
                ids = {j.id for j in shown}
                shown = [j for j in current() if j.id in ids or not j.final]
                live.update(_table(shown))
    except KeyboardInterrupt:
        return


@jobs_app.command("cancel")
def cancel(job_id: int = typer.Argument(..., help="The job's id.")) -> None:
    """Cancel a job: a queued one at once, a running one at its next unit of work."""
    from workbench.services.errors import NotFound
    from workbench.services.jobs import cancel_job

    try:
        job = cancel_job(engine=common.engine(), job_id=job_id)
    except NotFound as exc:
        common.not_found(exc)
    if job.final:
        err.print(f"job {job.id}: {job.status}")
    else:
        err.print(f"job {job.id}: cancel requested; it stops at its next unit of work")


@app.command()
def worker(
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Threads: how many jobs this worker runs at once."),
) -> None:
    """Run jobs from the queue (WORKBENCH_QUEUE_URL) until stopped (SIGTERM or Ctrl-C)."""
    from workbench.config import get_settings
    from workbench.jobs import queue_for, run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    logging.getLogger("huey").setLevel(logging.WARNING)
    s = get_settings()
    try:
        queue = queue_for(s.resolved_queue_url())
    except ValueError as exc:
        common.fail(str(exc), code=common.EXIT_USAGE)
    run_worker(engine=common.engine(), queue=queue, threads=workers,
               stale_after_s=s.job_stale_after_s)
