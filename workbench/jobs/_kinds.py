"""The built-in job kinds: batch runs, judge runs, ragas metrics, exports, board reports, and a
no-op that proves the queue works. Each checks its parameters (a pydantic model that refuses
unknown keys), calls one public service and returns a small JSON summary. Services are
imported inside the functions: a worker that never runs a metrics job never loads ragas.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from workbench.jobs._progress import JobFailed, JobInterrupted, JobLost, Progress

_NAME = Field(min_length=1, max_length=120)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RunParams(_Params):
    run_id: str = Field(min_length=1, max_length=40)
    concurrency: int | None = Field(default=None, ge=1, le=512)


class _StopBetweenExchanges:
    """The run's bot, asked first whether the job must stop: a cancelled run stops before its
    next exchange, and every exchange already answered is stored whole (resume plays the
    rest)."""

    def __init__(self, inner: Any, progress: Progress) -> None:
        self._inner, self._progress = inner, progress

    async def acomplete(self, request: Any) -> Any:
        self._progress.check()
        return await self._inner.acomplete(request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def run_job(engine: sa.Engine, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Play (or finish playing) a run. Resuming after a killed worker plays only what is
    missing: the runner's own guarantee (conversations and turns are unique per run)."""
    p = RunParams.model_validate(params)

    def report(_event: str, done: int, total: int) -> None:
        progress(done, total, f"{done}/{total} conversations")

    summary = _play_run(engine, p.run_id, progress, report, p.concurrency)
    return {"run_id": summary.run_id, "out_dir": str(summary.out_dir),
            "conversations": summary.conversations, "finished": summary.finished,
            "failed": summary.failed, "replies": summary.replies, "errors": summary.errors,
            "retries": summary.retries, "duration_s": round(summary.duration_s, 3)}


def _play_run(engine: sa.Engine, run_id: str, progress: Progress,
              report: Callable[[str, int, int], None], concurrency: int | None) -> Any:
    """One run played to its end by this job, stopping between exchanges when cancelled."""
    from workbench.config import get_settings
    from workbench.services.context import load_shipped_library
    from workbench.services.evaluation import RunBusy, execute_run
    from workbench.services.targets import bot_for
    from workbench.storage import repo
    from workbench.storage.db import session_scope
    from workbench.storage.tables import Run

    s = get_settings()
    with session_scope(engine) as session:
        run = session.get(Run, run_id)
        if run is None:
            raise JobFailed(f"no run with id '{run_id}'")
        bot = bot_for(repo.get_bot_target_by_id(session=session,
                                                bot_target_id=run.bot_target_id))
    while True:
        try:
            return asyncio.run(execute_run(
                engine=engine, run_id=run_id, library=load_shipped_library(s),
                runs_dir=s.runs_dir, bot=_StopBetweenExchanges(bot, progress), progress=report,
                concurrency=concurrency))
        except RunBusy:
            # The run's lease is still held: by a worker killed mid-run, until it expires
            # (WORKBENCH_RUN_LEASE_S), or by someone playing it by hand. Wait, staying
            # cancellable, rather than fail a job that will be free to go in seconds.
            progress.check()  # nothing to report yet; a cancel still stops it
            time.sleep(1.0)


class JudgeParams(_Params):
    run_id: str = Field(min_length=1, max_length=40)
    judge: str = _NAME
    concurrency: int = Field(default=8, ge=1, le=256)
    retries: int = Field(default=2, ge=0, le=10)
    json_mode: bool = False
    json_schema: Literal["openai", "llama-cpp"] | None = None  # evaluation.SCHEMA_FORMS


def judge_job(engine: sa.Engine, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Score a run's replies with a judge; a resumed job skips what the judge already scored."""
    from workbench.services.evaluation import ajudge_turns

    p = JudgeParams.model_validate(params)
    summary = asyncio.run(ajudge_turns(
        engine, None, p.judge, p.concurrency, run_id=p.run_id, retries=p.retries,
        json_mode=p.json_mode, json_schema=p.json_schema, progress=lambda done, total: progress(
            done, total, f"{done}/{total} replies")))
    return dataclasses.asdict(summary)


class MetricsParams(_Params):
    run_id: str = Field(min_length=1, max_length=40)
    judge: str | None = Field(default=None, min_length=1, max_length=120)


def metrics_job(engine: sa.Engine, params: dict[str, Any], progress: Progress
                ) -> dict[str, Any]:
    from workbench.services.evaluation import run_metrics

    p = MetricsParams.model_validate(params)
    progress(0, None, "ragas")
    result = run_metrics(engine, p.run_id, judge_target_name=p.judge)
    return {"run_id": p.run_id, "judge": p.judge, "replies": len(result.replies),
            "means": {k: {"mean": m, "n": n} for k, (m, n) in result.means().items()},
            "errors": result.errors[:50]}


class FiltersParams(_Params):
    training_day_id: int | None = None
    states: list[str] | None = None
    scenario_ids: list[str] = []
    tags: list[str] = []
    risk_levels: list[str] = []
    rubric_version_id: int | None = None
    min_score: float | None = Field(default=None, ge=0, le=5)
    consent_only: bool = True


class ExportParams(_Params):
    format: str = Field(min_length=1, max_length=32)
    filters: FiltersParams = FiltersParams()
    validation_fraction: float = Field(default=0.1, ge=0, le=1)
    seed: int = 13
    reject_below: float = Field(default=4.0, ge=0, le=5)
    include_pairwise: bool = True
    fewshot_per_tag: int = Field(default=2, ge=0, le=1000)
    fewshot_token_budget: int = Field(default=1500, ge=0, le=1_000_000)
    allow_residual: bool = False
    exported_at: str | None = None  # ISO time, to rebuild a manifest byte for byte
    workers: int | None = Field(default=None, ge=1, le=64)
    out_dir: str | None = Field(default=None, min_length=1, max_length=4096)
    actor: str | None = Field(default=None, max_length=64)


def export_job(engine: sa.Engine, params: dict[str, Any], progress: Progress
               ) -> dict[str, Any]:
    """Write one export. Without `out_dir` it goes to a new folder under runs/exports; the
    result names the folder, so a page downloads exactly this export."""
    from workbench.config import get_settings
    from workbench.services.export import (
        ExportFilters,
        ExportFormat,
        ExportOptions,
        ExportTargetError,
        ResidualPIIError,
        new_export_dir,
        write_export,
    )

    p = ExportParams.model_validate(params)
    try:
        fmt = ExportFormat(p.format)
    except ValueError:
        raise JobFailed(f"unknown export format {p.format!r}") from None
    f = p.filters
    options = ExportOptions(
        format=fmt, validation_fraction=p.validation_fraction, seed=p.seed,
        reject_below=p.reject_below, include_pairwise=p.include_pairwise,
        fewshot_per_tag=p.fewshot_per_tag, fewshot_token_budget=p.fewshot_token_budget,
        # One process unless asked: a fork pool in a threaded worker is a choice, not a default.
        allow_residual=p.allow_residual, workers=p.workers or 1,
        exported_at=datetime.fromisoformat(p.exported_at) if p.exported_at else None,
        filters=ExportFilters(
            training_day_id=f.training_day_id, states=tuple(f.states) if f.states else None,
            scenario_ids=tuple(f.scenario_ids), tags=tuple(f.tags),
            risk_levels=tuple(f.risk_levels), rubric_version_id=f.rubric_version_id,
            min_score=f.min_score, consent_only=f.consent_only))
    out = Path(p.out_dir) if p.out_dir else new_export_dir(get_settings().runs_dir, fmt)
    progress(0, None, "scrubbing")
    try:
        result = write_export(engine=engine, options=options, out_dir=out, actor=p.actor)
    except ResidualPIIError as exc:
        # The places only (file, record, field, type): never the personal data itself.
        raise JobFailed(f"residual personal data after scrubbing in {len(exc.residuals)} "
                        "place(s); nothing was written", details={
                            "residual_count": len(exc.residuals),
                            "residuals": [r.as_dict() for r in exc.residuals[:50]]}) from None
    except ExportTargetError as exc:
        raise JobFailed(str(exc)) from None
    m = result.manifest
    return {"out_dir": str(result.out_dir), "export_id": result.export_id,
            "format": m["format"], "records": int(m["counts"].get("records", 0)),
            "counts": m["counts"], "split": m.get("split"),
            "findings": sum(m["scrubber"]["findings"].values()),
            "residual_count": len(result.residuals),
            "residuals": [r.as_dict() for r in result.residuals[:50]]}


class ReportParams(_Params):
    out: str = Field(min_length=1, max_length=4096)
    training_day_id: int | None = None
    language: Literal["nl", "en"] = "nl"


def report_job(engine: sa.Engine, params: dict[str, Any], progress: Progress
               ) -> dict[str, Any]:
    from workbench.services.dashboard import write_report

    p = ReportParams.model_validate(params)
    progress(0, None, "report")
    try:
        result = write_report(engine, Path(p.out), training_day_id=p.training_day_id,
                              lang=p.language)
    except LookupError as exc:
        raise JobFailed(str(exc)) from None
    return {"path": str(result.path), "replies": result.replies, "verdict": result.verdict}


class NoopParams(_Params):
    steps: int = Field(default=0, ge=0, le=100_000)
    sleep_s: float = Field(default=0.0, ge=0, le=60)


def noop_job(engine: sa.Engine, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Nothing, in `steps` steps of `sleep_s`: what the queue itself costs, and a job to cancel
    or kill in tests."""
    p = NoopParams.model_validate(params)
    for i in range(p.steps):
        progress(i, p.steps, f"step {i + 1}/{p.steps}")
        if p.sleep_s:
            time.sleep(p.sleep_s)
    if p.steps:
        progress(p.steps, p.steps)
    return {"steps": p.steps}


class SimulateParams(_Params):
    run_id: str = Field(min_length=1, max_length=40)
    concurrency: int | None = Field(default=None, ge=1, le=512)


def simulate_job(engine: sa.Engine, params: dict[str, Any], progress: Progress
                 ) -> dict[str, Any]:
    """Play (or finish playing) a simulation (`workbench simulate --background`); a resumed
    job continues every conversation from its stored history. Both the bot and the user model
    ask first whether the job must stop, so a cancel ends it between messages."""
    from workbench.config import get_settings
    from workbench.services.evaluation import RunBusy, execute_simulation
    from workbench.services.targets import bot_for
    from workbench.storage import repo
    from workbench.storage.db import session_scope
    from workbench.storage.tables import Run

    p = SimulateParams.model_validate(params)
    s = get_settings()
    with session_scope(engine) as session:
        run = session.get(Run, p.run_id)
        if run is None or "simulation" not in (run.manifest or {}):
            raise JobFailed(f"no simulation with run id '{p.run_id}'")
        bot = bot_for(repo.get_bot_target_by_id(session=session,
                                                bot_target_id=run.bot_target_id))
        name = run.manifest["simulation"].get("user_model")
        user_bot = None if name is None else _StopBetweenExchanges(
            bot_for(repo.get_bot_target(session=session, name=name)), progress)

    def report(_event: str, done: int, total: int) -> None:
        progress(done, total, f"{done}/{total} conversations")

    while True:
        try:
            summary = asyncio.run(execute_simulation(
                engine=engine, run_id=p.run_id, runs_dir=s.runs_dir,
                bot=_StopBetweenExchanges(bot, progress), user_bot=user_bot, progress=report,
                concurrency=p.concurrency, lease_s=s.run_lease_s))
            break
        except RunBusy:  # as run_job: wait for a dead holder's lease to expire
            progress.check()
            time.sleep(1.0)
    r = summary.run
    return {"run_id": r.run_id, "out_dir": str(r.out_dir), "conversations": r.conversations,
            "finished": r.finished, "failed": r.failed, "replies": r.replies,
            "errors": r.errors, "stops": summary.stops, "duration_s": round(r.duration_s, 3)}


class LabComparisonParams(_Params):
    comparison_id: int = Field(ge=1)
    concurrency: int | None = Field(default=None, ge=1, le=512)


def lab_comparison_job(engine: sa.Engine, params: dict[str, Any], progress: Progress
                       ) -> dict[str, Any]:
    """The prompt lab's comparison: run A (current version), then run B (the candidate), then
    the judge on both when the comparison has one; one bar over all of it. However it ends
    (done, failed, cancelled), the candidate may be compared again."""
    from workbench.services import lab
    from workbench.services.evaluation import ajudge_turns

    p = LabComparisonParams.model_validate(params)
    try:
        cmp = lab.get_comparison(engine=engine, comparison_id=p.comparison_id)
    except LookupError:
        raise JobFailed(f"no lab comparison with id {p.comparison_id}") from None
    try:
        counts: dict[str, tuple[int, int]] = {}

        def report_for(side: str) -> Callable[[str, int, int], None]:
            def report(_event: str, done: int, total: int) -> None:
                counts[side] = (done, total)
                # Until run B has started, count its conversations as run A's (same suite).
                a_done, a_total = counts.get("a", (0, total))
                b_done, b_total = counts.get("b", (0, a_total))
                progress(a_done + b_done, a_total + b_total,
                         f"{side.upper()}: {done}/{total} conversations")
            return report

        summaries = {side: _play_run(engine, run_id, progress, report_for(side), p.concurrency)
                     for side, run_id in (("a", cmp.run_a), ("b", cmp.run_b))}
        judged: dict[str, Any] = {}
        if cmp.judge is not None:
            for side, run_id in (("a", cmp.run_a), ("b", cmp.run_b)):
                progress.check()
                summary = asyncio.run(ajudge_turns(
                    engine, None, cmp.judge, 8, run_id=run_id,
                    progress=_judge_report(progress, side)))
                judged[side] = dataclasses.asdict(summary)
        result = lab.compare_comparison(engine=engine, comparison_id=p.comparison_id)
    except (JobInterrupted, JobLost):
        raise  # the job goes on elsewhere (resumed, or another worker's): it keeps the slot
    except BaseException:
        lab.release_comparison(engine=engine, comparison_id=p.comparison_id)
        raise
    lab.release_comparison(engine=engine, comparison_id=p.comparison_id)
    return {"comparison_id": p.comparison_id, "run_a": cmp.run_a, "run_b": cmp.run_b,
            "replies": {k: v.replies for k, v in summaries.items()},
            "failed": {k: v.failed for k, v in summaries.items()}, "judge": judged or None,
            "regressed": result.regressed, "paired_conversations": result.paired_conversations}


def _judge_report(progress: Progress, side: str) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        progress(done, total, f"judge {side.upper()}: {done}/{total} replies")
    return report
