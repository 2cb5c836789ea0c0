"""One function per kind of long work, checking up front what can be checked without doing the
work (the run, the bot or judge target, the format), so a mistake is told at once and not
minutes later by a worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from workbench.domain.enums import JobKind
from workbench.domain.library import Library
from workbench.jobs import Queue
from workbench.services.evaluation import SCHEMA_FORMS, create_run, create_simulation
from workbench.services.export import ExportFormat, ExportOptions
from workbench.services.jobs._jobs import JobView, enqueue
from workbench.storage import repo, repo_jobs
from workbench.storage.db import session_scope
from workbench.storage.errors import NotFound
from workbench.storage.tables import Run

REPORT_LANGUAGES = ("nl", "en")


@dataclass(frozen=True)
class RunChoice:
    run_id: str
    bot_target: str
    started_at: datetime
    status: str


def _require_run(engine: sa.Engine, run_id: str) -> None:
    with session_scope(engine) as s:
        if s.get(Run, run_id) is None:
            raise NotFound(f"no run with id '{run_id}'")


def _require_target(engine: sa.Engine, name: str) -> None:
    with session_scope(engine) as s:
        repo.get_bot_target(session=s, name=name)  # raises NotFound


def enqueue_run(*, engine: sa.Engine, created_by: str | None, library: Library | None = None,
                bot_name: str | None = None, scenario_ids: list[str] | None = None,
                repeat: int = 1, concurrency: int = 8, resume: str | None = None,
                queue: Queue | None = None) -> JobView:
    """A new run recorded now and played by a worker, or (`resume`) an existing run finished by
    one. Raises NotFound for an unknown bot, scenario or run."""
    if resume is not None:
        _require_run(engine, resume)
        return enqueue(engine=engine, kind=JobKind.run, params={"run_id": resume},
                       created_by=created_by, queue=queue)
    if bot_name is None or library is None:
        raise ValueError("a new run needs a bot target and the library")
    run_id = create_run(engine=engine, library=library, bot_name=bot_name,
                        scenario_ids=list(scenario_ids or []), repeat=repeat,
                        concurrency=concurrency)
    return enqueue(engine=engine, kind=JobKind.run,
                   params={"run_id": run_id, "concurrency": concurrency},
                   created_by=created_by, queue=queue)


def enqueue_judge(*, engine: sa.Engine, run_id: str, judge: str, created_by: str | None,
                  concurrency: int = 8, retries: int = 2, json_mode: bool = False,
                  json_schema: str | None = None, queue: Queue | None = None) -> JobView:
    """Score a run's replies with a judge target (skips replies it already scored)."""
    _require_run(engine, run_id)
    _require_target(engine, judge)
    if concurrency < 1 or retries < 0:
        raise ValueError("concurrency must be at least 1 and retries at least 0")
    if json_schema is not None and json_schema not in SCHEMA_FORMS:
        raise ValueError(f"json_schema must be one of: {', '.join(SCHEMA_FORMS)}")
    params: dict[str, object] = {"run_id": run_id, "judge": judge, "concurrency": concurrency,
                                 "retries": retries, "json_mode": json_mode}
    if json_schema is not None:
        params["json_schema"] = json_schema
    return enqueue(engine=engine, kind=JobKind.judge, created_by=created_by, queue=queue,
                   params=params)


def enqueue_metrics(*, engine: sa.Engine, run_id: str, created_by: str | None,
                    judge: str | None = None, queue: Queue | None = None) -> JobView:
    _require_run(engine, run_id)
    if judge is not None:
        _require_target(engine, judge)
    return enqueue(engine=engine, kind=JobKind.metrics, created_by=created_by, queue=queue,
                   params={"run_id": run_id, "judge": judge})


def export_params(options: ExportOptions, *, out_dir: Path | None, actor: str | None
                  ) -> dict[str, object]:
    """ExportOptions as the export job's JSON parameters."""
    return {"format": str(ExportFormat(options.format)),
            "filters": options.filters.as_dict(), **options.as_dict(),
            "exported_at": options.exported_at.isoformat() if options.exported_at else None,
            "workers": options.workers,
            "out_dir": str(out_dir) if out_dir is not None else None, "actor": actor}


def enqueue_export(*, engine: sa.Engine, options: ExportOptions, created_by: str | None,
                   out_dir: Path | None = None, queue: Queue | None = None) -> JobView:
    """An export by a worker; without `out_dir` it goes to a new folder under runs/exports,
    named in the job's result. `created_by` is recorded as the export's author."""
    if out_dir is not None and out_dir.exists() and (not out_dir.is_dir()
                                                     or any(out_dir.iterdir())):
        raise ValueError(f"{out_dir} exists and is not an empty folder")
    return enqueue(engine=engine, kind=JobKind.export, created_by=created_by, queue=queue,
                   params=export_params(options, out_dir=out_dir, actor=created_by))


def enqueue_report(*, engine: sa.Engine, out: Path, created_by: str | None,
                   training_day_id: int | None = None, language: str = "nl",
                   queue: Queue | None = None) -> JobView:
    if language not in REPORT_LANGUAGES:
        raise ValueError(f"language must be one of: {', '.join(REPORT_LANGUAGES)}")
    return enqueue(engine=engine, kind=JobKind.report, created_by=created_by, queue=queue,
                   params={"out": str(out.resolve()), "training_day_id": training_day_id,
                           "language": language})


def recent_runs(*, engine: sa.Engine, limit: int = 30) -> list[RunChoice]:
    """Runs to start a judge or metrics job on, newest first."""
    with session_scope(engine) as s:
        return [RunChoice(*row) for row in repo_jobs.recent_runs(session=s, limit=limit)]


def enqueue_simulation(*, engine: sa.Engine, created_by: str | None,
                       library: Library | None = None, bot_name: str | None = None,
                       user_model: str | None = None, scenario_ids: list[str] | None = None,
                       max_turns: int = 8, repeat: int = 1, concurrency: int = 4,
                       resume: str | None = None, queue: Queue | None = None) -> JobView:
    """A new simulation (`workbench simulate`) recorded now and played by a worker, or
    (`resume`) an existing one finished by one. NotFound for an unknown bot, user model,
    scenario or simulation; ValueError for a bad number or a run that is no simulation."""
    if resume is not None:
        with session_scope(engine) as s:
            run = s.get(Run, resume)
            if run is None:
                raise NotFound(f"no run with id '{resume}'")
            if "simulation" not in (run.manifest or {}):
                raise ValueError(f"run {resume} is not a simulation; `workbench run --resume "
                                 f"{resume}` continues it")
        return enqueue(engine=engine, kind=JobKind.simulate, params={"run_id": resume},
                       created_by=created_by, queue=queue)
    if bot_name is None or library is None:
        raise ValueError("a new simulation needs a bot target and the library")
    run_id = create_simulation(engine=engine, library=library, bot_name=bot_name,
                               user_model=user_model, scenario_ids=list(scenario_ids or []),
                               max_turns=max_turns, repeat=repeat, concurrency=concurrency)
    return enqueue(engine=engine, kind=JobKind.simulate,
                   params={"run_id": run_id, "concurrency": concurrency},
                   created_by=created_by, queue=queue)


def enqueue_lab_comparison(*, engine: sa.Engine, candidate_id: int, library: Library,
                           created_by: str | None, scenario_ids: list[str] | None = None,
                           repeat: int = 1, judge: str | None = None, concurrency: int = 8,
                           queue: Queue | None = None) -> JobView:
    """The prompt lab's comparison of a candidate against the current version: both runs
    recorded now (same scenarios and repeats), played by one `lab_comparison` job. Raises
    LabError while the candidate has a comparison that may still run."""
    from workbench.services import lab

    cmp = lab.record_comparison(engine=engine, candidate_id=candidate_id, library=library,
                                scenario_ids=scenario_ids, repeat=repeat, judge=judge,
                                concurrency=concurrency, created_by=created_by)
    try:
        job = enqueue(engine=engine, kind=JobKind.lab_comparison, created_by=created_by,
                      queue=queue, params={"comparison_id": cmp.id, "concurrency": concurrency})
    except BaseException:
        lab.release_comparison(engine=engine, comparison_id=cmp.id)
        raise
    lab.attach_job(engine=engine, comparison_id=cmp.id, job_id=job.id)
    return job
