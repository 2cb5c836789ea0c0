"""`--background` on export, report and metrics, `workbench jobs --watch`, and what the worker
command refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.jobs_support import thread_worker, wait_until
from tests.test_export import seed_export_data
from workbench.cli import app
from workbench.domain.enums import JobStatus
from workbench.services import jobs


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_export_and_report_in_the_background(eng, library, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    seed_export_data(eng, library)
    runner = CliRunner()
    out_dir, report = tmp_path / "export", tmp_path / "rapport.html"
    exported = runner.invoke(app, ["export", "--format", "table", "--out", str(out_dir),
                                   "--background"])
    assert exported.exit_code == 0, exported.output
    reported = runner.invoke(app, ["report", "--out", str(report), "--background"])
    assert reported.exit_code == 0, reported.output
    ids = [int(last_line(exported.stdout)), int(last_line(reported.stdout))]
    assert "queued" in exported.stderr and str(out_dir) in exported.stderr
    twice = runner.invoke(app, ["report", "--out", str(report), "--background"])
    assert "already queued or running" in twice.stderr and int(last_line(twice.stdout)) == ids[1]
    with thread_worker(eng, settings.resolved_queue_url(), threads=2):
        watched = runner.invoke(app, ["jobs", "--watch"])  # returns once nothing is active
        assert watched.exit_code == 0, watched.output
    done = [jobs.get_job(engine=eng, job_id=i) for i in ids]
    assert [j.status for j in done] == [JobStatus.done] * 2, [j.error for j in done]
    manifest = json.loads((out_dir / "manifest.json").read_text())
    export_result, report_result = done[0].result or {}, done[1].result or {}
    assert manifest["format"] == "table" and export_result["out_dir"] == str(out_dir)
    assert (done[0].created_by or "").startswith("cli:")
    assert "<html" in report.read_text()
    assert report_result == {"path": str(report.resolve()), "replies": report_result["replies"],
                             "verdict": report_result["verdict"]}


@pytest.mark.parametrize("args, code, says", [
    (["export", "--format", "table", "--out", "{file}", "--background"], 2, "not an empty"),
    (["report", "--out", "x.html", "--language", "fr", "--background"], 2, "--language"),
    (["metrics", "no-such-run", "--background"], 2, "no run with id"),
    (["run", "--resume", "no-such-run", "--background"], 2, "no run with id"),
    (["run", "--bot", "nobody", "--background"], 2, "no bot target named"),
    (["worker", "--workers", "0"], 2, ""),
    (["jobs", "cancel", "not-a-number"], 2, ""),
])
def test_background_refuses_at_once(args, code, says, eng, tmp_path) -> None:  # type: ignore[no-untyped-def]
    file = tmp_path / "a-file"
    file.write_text("x")
    result = CliRunner().invoke(app, [a.replace("{file}", str(file)) for a in args])
    assert result.exit_code == code, result.output
    assert says in result.output
    assert jobs.list_jobs(engine=eng) == []


def test_a_queue_url_nobody_knows_is_a_usage_error(eng, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from workbench.config import get_settings

    monkeypatch.setenv("WORKBENCH_QUEUE_URL", "amqp://127.0.0.1/")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 2 and "must start with" in result.output


def test_jobs_lists_status_progress_and_errors(eng, settings) -> None:  # type: ignore[no-untyped-def]
    ok = jobs.enqueue(engine=eng, kind="noop", params={"steps": 2}, created_by="dev-1")
    bad = jobs.enqueue(engine=eng, kind="judge", params={"run_id": 3}, created_by="dev-1")
    with thread_worker(eng, settings.resolved_queue_url()):
        wait_until(lambda: all(jobs.get_job(engine=eng, job_id=j.id).final for j in (ok, bad)),
                   what="both jobs")
    listed = CliRunner().invoke(app, ["jobs", "--limit", "5"])
    assert listed.exit_code == 0
    text = listed.stdout
    assert "noop" in text and "done" in text and "2/2 (100%)" in text and "dev-1" in text
    assert "failed" in text and "parameters are not valid" in text
    assert Path(settings.resolved_queue_url().removeprefix("sqlite:///")).is_file()


def test_judge_in_the_background_keeps_its_json_schema(eng, library) -> None:  # type: ignore[no-untyped-def]
    from workbench.domain.enums import BotKind
    from workbench.services.evaluation import create_run
    from workbench.services.targets import add_target, list_targets

    list_targets(engine=eng)
    run_id = create_run(engine=eng, library=library, bot_name="reference",
                        scenario_ids=sorted(library.scenarios)[:1])
    add_target(engine=eng, name="rechter", kind=BotKind.openai, base_url="http://127.0.0.1:9/v1",
               model="m", prompt="Beoordeel.", label="j1")
    runner = CliRunner()
    wrong = runner.invoke(app, ["judge", run_id, "--judge", "rechter", "--json-schema", "xml",
                                "--background"])
    assert wrong.exit_code == 2 and jobs.list_jobs(engine=eng) == []
    ok = runner.invoke(app, ["judge", run_id, "--judge", "rechter", "--json-schema",
                             "llama-cpp", "--concurrency", "2", "--background"])
    assert ok.exit_code == 0, ok.output
    job = jobs.get_job(engine=eng, job_id=int(last_line(ok.stdout)))
    assert job.params == {"run_id": run_id, "judge": "rechter", "concurrency": 2, "retries": 2,
                          "json_mode": False, "json_schema": "llama-cpp"}
