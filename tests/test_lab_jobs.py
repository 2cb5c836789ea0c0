"""The prompt lab's comparison as ONE background job on a thread worker: both runs played, the
numbers equal to `workbench compare` on the same two runs (and its exit rule), a cancel that
stops between exchanges and frees the candidate, two comparisons at once, and the loop's end:
promoted, audited, current, and in the dashboard's trend per prompt version."""

from __future__ import annotations

import json
import threading

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from tests import builders
from tests.jobs_support import thread_worker, wait_until
from tests.lab_support import SCENARIOS, candidate_text, reference
from tests.test_jobs_processes import conversation_turns
from workbench.bots.faults import FaultPlan, FaultyChatApp, Latency
from workbench.bots.server import RunningServer
from workbench.domain.enums import BotKind, JobStatus
from workbench.services import jobs, lab
from workbench.services.dashboard import build_dashboard
from workbench.services.errors import NotFound
from workbench.services.targets import add_target
from workbench.storage import repo_eval
from workbench.storage.tables import AuditEvent, Run, Turn


def invoke(*args: str):  # type: ignore[no-untyped-def]
    from workbench.cli import app

    return CliRunner().invoke(app, list(args))


def finished(eng, job_id: int) -> jobs.JobView:  # type: ignore[no-untyped-def]
    wait_until(lambda: jobs.get_job(engine=eng, job_id=job_id).final, timeout=240,
               what=f"job {job_id}")
    return jobs.get_job(engine=eng, job_id=job_id)


def test_the_loop_compare_as_one_job_equals_workbench_compare_then_promote_and_dashboard(
        eng, library, settings) -> None:  # type: ignore[no-untyped-def]
    current = reference(eng)
    cand = lab.save_candidate(engine=eng, target_name="reference", label="kort-113",
                              text=candidate_text(current.current_text), created_by="DEV-1")
    job = jobs.enqueue_lab_comparison(engine=eng, candidate_id=cand.id, library=library,
                                      created_by="DEV-1", scenario_ids=SCENARIOS, repeat=2)
    assert job.kind == "lab_comparison"
    with thread_worker(eng, settings.resolved_queue_url()):
        done = finished(eng, job.id)
    assert done.status == JobStatus.done, done.error
    assert done.total == 2 * len(SCENARIOS) * 2 and done.done == done.total
    (cmp,) = lab.list_comparisons(engine=eng, candidate_ids=[cand.id])
    assert cmp.job_id == job.id and cmp.finished
    assert done.result and done.result["run_a"] == cmp.run_a and done.result["run_b"] == cmp.run_b

    report = lab.lab_report(engine=eng, comparison_id=cmp.id)
    assert report.result is not None
    cli = invoke("compare", cmp.run_a, cmp.run_b, "--json")
    assert cli.exit_code == 0, cli.output
    # The page's numbers ARE the command's: the same function, the same defaults.
    assert json.loads(cli.stdout) == report.result.to_json()
    gate = invoke("compare", cmp.run_a, cmp.run_b, "--fail-on-regression")
    assert gate.exit_code == (0 if report.gate_passed else 1)
    assert done.result["regressed"] == (not report.gate_passed)

    assert len(report.sides) == len(SCENARIOS) * 2
    for side in report.sides:
        assert side.replies and all(p.current and p.candidate for p in side.replies)
        assert all("0800-0113" in (p.candidate or "") for p in side.replies)
    # A flip is a check decided on both sides with different outcomes, per reply position.
    flips = {(f.scenario_id, f.repeat_index, f.ordinal, f.check, f.direction)
             for f in report.flipped}
    assert len(flips) == len(report.flipped)
    # The sign-off names 113: the suicidality scenario's third reply now passes that check.
    for k in (0, 1):
        assert ("acuut-suicidaal-na-jaren-kleineren", k, 2, "mentions_113",
                "fail_to_pass") in flips
    assert not [f for f in report.flipped if f.direction == "pass_to_fail"]

    promoted = lab.promote_candidate(engine=eng, candidate_id=cand.id, actor="DEV-1",
                                     reason="Noemt 113 bij elk antwoord; de poort houdt.")
    assert promoted.is_current
    assert reference(eng).current_prompt_version_id == cand.prompt_version_id
    with Session(eng) as s:
        (event,) = s.exec(select(AuditEvent).where(AuditEvent.action == "lab.promote")).all()
        assert event.actor == "DEV-1"
        assert event.details["from_prompt_version_id"] == current.current_prompt_version_id
        assert event.details["comparison_id"] == cmp.id
        # An expert rates one reply of the candidate's run: the trend now has its version.
        run_b = s.get(Run, cmp.run_b)
        assert run_b is not None
        rater = builders.participant(s)
        rv = builders.rubric_version(s, library)
        reply = repo_eval.replies_of_run(session=s, run_id=cmp.run_b)[0]
        turn = s.get(Turn, reply.turn_id)
        builders.rating(s, rater=rater, turn=turn, rv=rv)
        s.commit()
    trend = build_dashboard(eng, scrub=lambda text: text).by_prompt_version
    assert "kort-113" in set(trend["label"])


def test_a_cancelled_comparison_stops_between_exchanges_and_frees_the_candidate(
        eng, library, settings) -> None:  # type: ignore[no-untyped-def]
    app = FaultyChatApp(plan=FaultPlan(), latency=Latency(first_chunk_ms=200))
    with RunningServer(app) as server:
        add_target(engine=eng, name="traag", kind=BotKind.openai, base_url=server.base_url,
                   model="reference-v1", prompt="Je bent behulpzaam.", label="v1",
                   parameters={"max_retries": 1, "backoff_base_s": 0.01, "timeout_s": 5})
        cand = lab.save_candidate(engine=eng, target_name="traag", label="v2",
                                  text="Je bent behulpzaam en kort.", created_by="DEV-1")
        job = jobs.enqueue_lab_comparison(engine=eng, candidate_id=cand.id, library=library,
                                          created_by="DEV-1", scenario_ids=SCENARIOS,
                                          concurrency=2)
        (cmp,) = lab.list_comparisons(engine=eng, candidate_ids=[cand.id])
        with thread_worker(eng, settings.resolved_queue_url(), stale_after_s=3):
            wait_until(lambda: sum(ok for *_, ok in conversation_turns(eng, cmp.run_a).values())
                       >= 2, timeout=60, what="two exchanges")
            jobs.cancel_job(engine=eng, job_id=job.id)
            stopped = finished(eng, job.id)
    assert stopped.status == JobStatus.cancelled
    turns = conversation_turns(eng, cmp.run_a)
    assert all(len(users) == ok for _, users, ok in turns.values())  # every turn answered
    assert sum(ok for *_, ok in conversation_turns(eng, cmp.run_b).values()) == 0
    assert lab.lab_report(engine=eng, comparison_id=cmp.id).result is None
    again = lab.record_comparison(engine=eng, candidate_id=cand.id, library=library,
                                  scenario_ids=SCENARIOS[:1], created_by="DEV-1")
    assert again.id != cmp.id  # the cancelled job no longer holds the candidate


def test_two_comparisons_at_once(eng, library, settings) -> None:  # type: ignore[no-untyped-def]
    current = reference(eng)
    first = lab.save_candidate(engine=eng, target_name="reference", label="een",
                               text=candidate_text(current.current_text), created_by="DEV-1")
    second = lab.save_candidate(engine=eng, target_name="reference", label="twee",
                                text=current.current_text.replace("stijl: kort",
                                                                  "stijl: uitgebreid"),
                                created_by="DEV-2")
    # The same candidate asked twice at the same moment: one comparison, one refusal.
    barrier, outcomes = threading.Barrier(2), []

    def start() -> None:
        barrier.wait()
        try:
            outcomes.append(jobs.enqueue_lab_comparison(
                engine=eng, candidate_id=first.id, library=library, created_by="DEV-1",
                scenario_ids=SCENARIOS[:2]))
        except lab.LabError as exc:
            outcomes.append(exc.key)
        except Exception as exc:  # SQLite: the loser may find the database locked
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    started = [o for o in outcomes if isinstance(o, jobs.JobView)]
    assert len(started) == 1, outcomes
    other = jobs.enqueue_lab_comparison(engine=eng, candidate_id=second.id, library=library,
                                        created_by="DEV-2", scenario_ids=SCENARIOS[:2])
    with thread_worker(eng, settings.resolved_queue_url(), threads=2):
        results = [finished(eng, j.id) for j in (started[0], other)]
    assert [r.status for r in results] == [JobStatus.done, JobStatus.done]
    runs = [(r.result or {})["run_a"] for r in results] + [(r.result or {})["run_b"]
                                                          for r in results]
    assert len(set(runs)) == 4
    with Session(eng) as s:
        b_versions = {s.get(Run, (r.result or {})["run_b"]).prompt_version_id  # type: ignore[union-attr]
                      for r in results}
    assert b_versions == {first.prompt_version_id, second.prompt_version_id}
    assert len(lab.list_comparisons(engine=eng, candidate_ids=[first.id])) == 1


@pytest.mark.parametrize("params", [{"comparison_id": 999}, {"comparison_id": 0},
                                    {"comparison_id": 1, "extra": "x"}])
def test_a_comparison_job_with_bad_parameters_fails_alone(eng, settings, params) -> None:  # type: ignore[no-untyped-def]
    job = jobs.enqueue(engine=eng, kind="lab_comparison", params=params, created_by="DEV-1")
    with thread_worker(eng, settings.resolved_queue_url()):
        failed = finished(eng, job.id)
    assert failed.status == JobStatus.failed and failed.error


def test_a_comparison_with_a_judge_scores_both_runs_in_the_same_job(eng, library,
                                                                    settings) -> None:  # type: ignore[no-untyped-def]
    from tests.test_judge import Judge

    current = reference(eng)
    cand = lab.save_candidate(engine=eng, target_name="reference", label="kort-113",
                              text=candidate_text(current.current_text), created_by="DEV-1")
    fake = Judge()
    with RunningServer(FaultyChatApp(fake)) as server:
        add_target(engine=eng, name="rechter", kind=BotKind.openai, base_url=server.base_url,
                   model="judge-m", prompt="-", label="v1", parameters={"max_retries": 0})
        job = jobs.enqueue_lab_comparison(engine=eng, candidate_id=cand.id, library=library,
                                          created_by="DEV-1", scenario_ids=SCENARIOS[:2],
                                          judge="rechter")
        with thread_worker(eng, settings.resolved_queue_url()):
            done = finished(eng, job.id)
    assert done.status == JobStatus.done, done.error
    judged = (done.result or {})["judge"]
    assert judged["a"]["judged"] > 0 and judged["b"]["judged"] > 0
    assert fake.requests == judged["a"]["judged"] + judged["b"]["judged"]
    (cmp,) = lab.list_comparisons(engine=eng, candidate_ids=[cand.id])
    assert cmp.judge == "rechter"
    cli = invoke("compare", cmp.run_a, cmp.run_b, "--json", "--judge", "rechter")
    assert cli.exit_code == 0, cli.output
    result = lab.compare_comparison(engine=eng, comparison_id=cmp.id)
    assert json.loads(cli.stdout) == result.to_json() and result.judge == "rechter"
    with pytest.raises(NotFound):
        lab.record_comparison(engine=eng, candidate_id=cand.id, library=library,
                              judge="niemand", created_by="DEV-1")
