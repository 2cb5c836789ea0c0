"""`workbench simulate` as people use it: the command end to end on SQLite, its usage errors,
a second runner refused, --background through a worker, and the dashboard's own section."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from typer.testing import CliRunner

from tests.jobs_support import thread_worker, wait_until
from tests.training_support import signed_in_app, staff, texts
from workbench.cli import app
from workbench.domain.enums import ConversationKind, JobStatus, Role, SimulationStop
from workbench.services import jobs
from workbench.services.evaluation._lease import take_lease
from workbench.storage.tables import Conversation, Job
from workbench.ui.i18n import catalogue

INFO = "info-wat-doet-veilig-thuis-blijft-dit-anoniem"
runner = CliRunner()


def simulate(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["simulate", *args])


def simulated(eng: sa.Engine, run_id: str) -> list[Conversation]:
    with Session(eng) as s:
        return list(s.exec(select(Conversation).where(Conversation.run_id == run_id)).all())


def test_simulate_plays_scenarios_with_the_scripted_user(eng: sa.Engine, settings) -> None:  # type: ignore[no-untyped-def]
    done = simulate("--bot", "reference", "--scenario", INFO, "--scenario",
                    "acuut-verwurging-partner", "--max-turns", "3", "--repeat", "2")
    assert done.exit_code == 0, done.output
    run_id = done.stdout.strip().splitlines()[-1]
    convs = simulated(eng, run_id)
    assert len(convs) == 4 and {c.kind for c in convs} == {ConversationKind.simulated}
    assert all(c.status == "finished" and c.meta["stop"] in set(SimulationStop) for c in convs)
    assert "conversations finished" in done.stderr
    lines = (settings.runs_dir / run_id / "transcripts.jsonl").read_text().splitlines()
    assert [json.loads(line)["stop"] for line in lines]


@pytest.mark.parametrize("args", [
    ["--bot", "reference", "--max-turns", "0"],
    ["--bot", "reference", "--max-turns", "1000000000"],
    ["--bot", "reference", "--scenario", "no-such-scenario"],
    ["--bot", "nobody"],
    ["--bot", "reference", "--user-model", "nobody"],
    ["--max-turns", "3"],  # no bot
    ["--resume", "no-such-run"],
])
def test_simulate_used_wrongly_exits_2_and_records_nothing(eng: sa.Engine, args: list[str]
                                                            ) -> None:
    done = simulate(*args)
    assert done.exit_code == 2, done.output
    with Session(eng) as s:
        assert s.exec(select(Conversation)).all() == []


def test_a_simulation_and_a_run_point_at_each_others_resume(eng: sa.Engine) -> None:
    sim = simulate("--bot", "reference", "--scenario", INFO, "--max-turns", "1")
    sim_id = sim.stdout.strip().splitlines()[-1]
    wrong = runner.invoke(app, ["run", "--resume", sim_id])
    assert wrong.exit_code == 2 and f"simulate --resume {sim_id}" in wrong.stderr
    batch = runner.invoke(app, ["run", "--bot", "reference", "--scenario", INFO])
    batch_id = batch.stdout.strip().splitlines()[-1]
    wrong = simulate("--resume", batch_id)
    assert wrong.exit_code == 2 and f"run --resume {batch_id}" in wrong.stderr


def test_the_same_simulation_twice_at_once_is_refused(eng: sa.Engine) -> None:
    from workbench.config import get_settings
    from workbench.services.context import load_shipped_library
    from workbench.services.evaluation import create_simulation

    run_id = create_simulation(engine=eng, library=load_shipped_library(get_settings()),
                               bot_name="reference", scenario_ids=[INFO])
    held = take_lease(engine=eng, run_id=run_id)  # another runner plays it now
    try:
        done = simulate("--resume", run_id)
    finally:
        held.release()
    assert done.exit_code == 1 and "is being played by" in done.stderr
    assert simulate("--resume", run_id).exit_code == 0  # free again: it plays


def test_simulate_in_the_background_through_a_worker(eng: sa.Engine, settings) -> None:  # type: ignore[no-untyped-def]
    queued = simulate("--bot", "reference", "--scenario", INFO, "--max-turns", "2",
                      "--background")
    assert queued.exit_code == 0, queued.output
    job_id = int(queued.stdout.strip().splitlines()[-1])
    with thread_worker(eng, settings.resolved_queue_url()):
        wait_until(lambda: jobs.get_job(engine=eng, job_id=job_id).final, timeout=120,
                   what="the simulate job")
    job = jobs.get_job(engine=eng, job_id=job_id)
    assert job.kind == "simulate" and job.status == JobStatus.done, job
    result = job.result or {}
    assert result["conversations"] == 1 and sum(result["stops"].values()) == 1
    [conv] = simulated(eng, result["run_id"])
    assert conv.kind == ConversationKind.simulated and conv.status == "finished"
    # Resuming a finished simulation in the background is a new job with nothing left to do.
    again = simulate("--resume", result["run_id"], "--background")
    assert again.exit_code == 0
    with Session(eng) as s:
        assert len(s.exec(select(Job)).all()) == 2


def test_the_dashboard_shows_simulated_conversations_apart(eng: sa.Engine) -> None:
    assert simulate("--bot", "reference", "--scenario", INFO, "--max-turns", "2").exit_code == 0
    at = signed_in_app(staff(eng, "manager-1", Role.manager))
    at.switch_page("app_pages/dashboard.py").run()
    assert not at.exception
    shown = texts(at)
    assert "Gesimuleerde gesprekken" in shown
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Gesprekken"] == "1" and metrics["Antwoorden van de bot"] == "2"
    assert metrics["Beoordeelde antwoorden"] == "0"  # the live figures count none of them
    assert "Maximaal aantal berichten bereikt" in str(at.dataframe[-1].value)


def test_every_stop_reason_has_words_in_both_languages() -> None:
    cat = catalogue()
    for why in [*SimulationStop, "open"]:
        assert f"dashboard.simulated.stop.{why}" in cat, why
