"""The built-in job kinds: a cancelled run stops between exchanges and resumes without a
duplicate; an export blocked by residual personal data fails with the places, never the text;
the export job reads every option the export service has."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.jobs_support import thread_worker, wait_until
from tests.test_jobs_processes import conversation_turns
from workbench.bots.faults import FaultPlan, FaultyChatApp, Latency
from workbench.bots.server import RunningServer
from workbench.domain.enums import BotKind, JobStatus
from workbench.jobs import JobFailed, Progress
from workbench.jobs._kinds import ExportParams, export_job
from workbench.services import jobs
from workbench.services.export import ExportFilters, ExportFormat, ExportOptions
from workbench.services.targets import add_target


def test_a_cancelled_run_stops_between_exchanges_and_resumes_without_duplicates(
        eng, library, settings) -> None:  # type: ignore[no-untyped-def]
    app = FaultyChatApp(plan=FaultPlan(), latency=Latency(first_chunk_ms=200))
    with RunningServer(app) as server:
        add_target(engine=eng, name="slow", kind=BotKind.openai, base_url=server.base_url,
                   model="reference-v1", prompt="Je bent behulpzaam.", label="v1",
                   parameters={"max_retries": 1, "backoff_base_s": 0.01, "timeout_s": 5})
        job = jobs.enqueue_run(engine=eng, library=library, bot_name="slow", created_by="t",
                               scenario_ids=sorted(library.scenarios)[:3], concurrency=2)
        run_id = job.params["run_id"]
        with thread_worker(eng, settings.resolved_queue_url(), stale_after_s=3):
            wait_until(lambda: sum(ok for *_, ok in conversation_turns(eng, run_id).values())
                       >= 2, timeout=60, what="two exchanges")
            jobs.cancel_job(engine=eng, job_id=job.id)
            wait_until(lambda: jobs.get_job(engine=eng, job_id=job.id).final, timeout=60,
                       what="the cancel")
            cancelled = jobs.get_job(engine=eng, job_id=job.id)
            stopped = conversation_turns(eng, run_id)
            assert cancelled.status == JobStatus.cancelled
            # Stopped between exchanges: every stored user turn has its reply.
            assert all(len(users) == ok for _, users, ok in stopped.values())
            assert sum(ok for *_, ok in stopped.values()) < sum(
                len(s) for s, _, _ in stopped.values())
            resumed = jobs.enqueue_run(engine=eng, created_by="t", resume=run_id)
            assert resumed.id != job.id  # the cancelled job is over; this is a new one
            wait_until(lambda: jobs.get_job(engine=eng, job_id=resumed.id).final, timeout=120,
                       what="the resumed run")
    assert jobs.get_job(engine=eng, job_id=resumed.id).status == JobStatus.done
    for scripted, users, ok in conversation_turns(eng, run_id).values():
        assert users == scripted and ok == len(scripted)


def test_an_export_stopped_by_residual_data_names_places_not_text(eng, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from workbench.services import export
    from workbench.services.export import Residual, ResidualPIIError

    found = [Residual("train.jsonl", "r1", "messages[1].content", "phone")]

    def blocked(**_kw):  # type: ignore[no-untyped-def]
        raise ResidualPIIError(found)

    monkeypatch.setattr(export, "write_export", blocked)
    with pytest.raises(JobFailed) as caught:
        export_job(eng, {"format": "openai-sft", "out_dir": "/tmp/x-never-written"},
                   Progress(stopping=threading.Event()))
    assert "1 place(s); nothing was written" in str(caught.value)
    assert caught.value.details == {"residual_count": 1, "residuals": [
        {"file": "train.jsonl", "record": "r1", "field": "messages[1].content",
         "type": "phone"}]}


def test_the_export_job_takes_every_export_option(eng, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A new ExportOptions field that the job does not know fails here, not on a worker."""
    options = ExportOptions(
        format=ExportFormat.openai_dpo, validation_fraction=0.2, seed=5, reject_below=3.5,
        include_pairwise=False, fewshot_per_tag=3, fewshot_token_budget=900,
        allow_residual=True, exported_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), workers=2,
        filters=ExportFilters(training_day_id=4, states=("gold",), scenario_ids=("a",),
                              tags=("t",), risk_levels=("high",), rubric_version_id=2,
                              min_score=3.0, consent_only=False))
    job = jobs.enqueue_export(engine=eng, options=options, created_by="dev",
                              out_dir=tmp_path / "out", queue=jobs.default_queue())
    p = ExportParams.model_validate(job.params)
    assert p.format == "openai-dpo" and p.filters.states == ["gold"] and p.workers == 2
    assert p.exported_at == "2026-01-02T03:04:05+00:00" and p.out_dir == str(tmp_path / "out")
    assert p.actor == "dev" and not Path(p.out_dir).exists()
