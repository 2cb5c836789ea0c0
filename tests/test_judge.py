"""The rubric judge over real HTTP: valid, invalid, partial and out-of-range answers, retries,
failure records (never a score) and idempotent re-runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from workbench.bots.faults import Fault, FaultPlan, FaultyChatApp
from workbench.bots.reference import ReferenceBot
from workbench.bots.server import RunningServer
from workbench.domain.enums import BotKind, RatingSource, Role
from workbench.domain.scoring import score
from workbench.services.evaluation import (
    InvalidJudgement,
    ajudge_turns,
    create_run,
    execute_run,
    judge_reasons,
    judge_run,
    judge_template_sha,
    parse_judgement,
)
from workbench.services.evaluation._judge import JudgeItem
from workbench.services.targets import add_target
from workbench.storage import repo
from workbench.storage import repo_eval as q
from workbench.storage.db import make_engine, migrate
from workbench.storage.tables import AuditEvent, Participant, Rating

SCENARIO = "acuut-ex-met-mes-voor-de-deur"  # 4 scripted turns, acute
KEYS = ["safety", "accuracy", "listen_validate", "no_blame", "autonomy", "relevance",
        "transparency", "clarity"]


def answer(**override: object) -> str:
    scores: dict[str, object] = {k: {"score": 4, "reason": f"{k} is goed"} for k in KEYS}
    scores["would_send"] = {"score": "yes", "reason": "kan zo"}
    scores.update(override)
    return json.dumps({"scores": {k: v for k, v in scores.items() if v is not None}})


VALID = answer(safety={"score": 2, "reason": "checkt veiligheid niet"})
BAD = {
    "not_json": "Ik vind dit een goed antwoord, een 4.",
    "partial": answer(clarity=None),
    "out_of_range": answer(safety={"score": 6, "reason": "heel goed"}),
    "no_reason": answer(autonomy={"score": 3, "reason": "  "}),
    "bool_score": answer(relevance={"score": True, "reason": "ja"}),
    "bad_yes_no": answer(would_send={"score": 5, "reason": "ja"}),
    "truncated": VALID[: len(VALID) // 2],
}


class Judge:
    """The judge's fake model: answers from a script, then `default`; counts requests."""

    def __init__(self, default: str = VALID) -> None:
        self.default = default
        self.script: list[str] = []
        self.requests = 0

    def __call__(self, request):  # type: ignore[no-untyped-def]
        self.requests += 1
        text = self.script.pop(0) if self.script else self.default
        # Few chunks, as a JSON answer from a real server would be split.
        return [text[: len(text) // 2], text[len(text) // 2:]]


@pytest.fixture
def judge_server() -> Iterator[tuple[RunningServer, Judge]]:
    fake = Judge()
    with RunningServer(FaultyChatApp(fake, plan=FaultPlan())) as server:
        yield server, fake


def reference_run(engine, library, tmp_path: Path, scenario: str) -> str:  # type: ignore[no-untyped-def]
    """A run of one scenario played by the offline reference bot, in process."""
    run_id = create_run(engine=engine, library=library, bot_name="reference",
                        scenario_ids=[scenario])
    asyncio.run(execute_run(engine=engine, run_id=run_id, library=library,
                            runs_dir=tmp_path / "runs", bot=ReferenceBot()))
    return run_id


def make_run(engine, library, tmp_path: Path, server: RunningServer) -> str:  # type: ignore[no-untyped-def]
    """The judge target on `server`, and a run of SCENARIO to judge."""
    add_target(engine=engine, name="judge", kind=BotKind.openai, base_url=server.base_url,
               model="judge-model", prompt="-", label="v1",
               parameters={"max_retries": 0, "batch_retries": 0, "timeout_s": 5})
    return reference_run(engine, library, tmp_path, SCENARIO)


@pytest.fixture
def sqlite_engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    eng = make_engine(f"sqlite:///{tmp_path / 'judge.db'}")
    migrate(eng)
    from workbench.services.targets import list_targets

    list_targets(engine=eng)  # creates the reference target
    yield eng
    eng.dispose()


def test_valid_answers_become_judge_ratings_and_rerun_is_idempotent(
        engine, library, tmp_path, judge_server) -> None:
    from workbench.services.targets import list_targets

    server, fake = judge_server
    list_targets(engine=engine)
    run_id = make_run(engine, library, tmp_path, server)
    summary = judge_run(engine, run_id, "judge", 4, library=library)
    assert (summary.judged, summary.failed, summary.skipped, summary.total) == (4, 0, 0, 4)
    assert fake.requests == 4
    rubric = library.rubric("expert").rubric
    with Session(engine) as s:
        ratings = s.exec(select(Rating)).all()
        judge = s.exec(select(Participant).where(Participant.code == "judge:judge")).one()
    assert judge.role == Role.judge and len(ratings) == 4
    for r in ratings:
        assert r.source == RatingSource.judge and r.rater_id == judge.id
        assert r.judge_model == "judge-model" and r.judge_prompt_sha == judge_template_sha("nl")
        assert r.values["safety"] == 2 and r.values["would_send"] == 1
        verdict = score(rubric, {**r.values, "would_send": "yes"})
        assert r.overall == pytest.approx(verdict.overall) and r.unsafe is False
        assert judge_reasons(r.comment)["safety"] == "checkt veiligheid niet"
    # The same judge and rubric version again: nothing is asked, nothing is written.
    again = judge_run(engine, run_id, "judge", 4, library=library)
    assert (again.judged, again.skipped, fake.requests) == (0, 4, 4)


def test_the_prompt_carries_rubric_scenario_conversation_and_reply(
        sqlite_engine, library, tmp_path, judge_server) -> None:
    server, fake = judge_server
    run_id = make_run(sqlite_engine, library, tmp_path, server)
    judge_run(sqlite_engine, run_id, "judge", 2, library=library, json_mode=True)
    bodies = [r.body for r in server.app.recorded()]
    assert all(b["response_format"] == {"type": "json_object"} for b in bodies)
    last = max(bodies, key=lambda b: len(b["messages"][1]["content"]))
    system, user = last["messages"]
    assert system["role"] == "system" and "JSON" in system["content"]
    material = user["content"]
    for needle in ("### safety: Veiligheid & acuut risico (kritisch", "- 5: Ziet de signalen",
                   "risiconiveau: acute", "Verwachtingen voor dit antwoord:",
                   "Te beoordelen antwoord van de bot", "would_send"):
        assert needle in material
    # The fourth reply: three exchanges and the message it answers.
    assert material.count("Persoon:") == 4 and material.count("\nBot:") == 3


def test_invalid_answers_are_retried_then_recorded_as_failures(
        sqlite_engine, library, tmp_path, judge_server) -> None:
    server, fake = judge_server
    run_id = make_run(sqlite_engine, library, tmp_path, server)
    with Session(sqlite_engine) as s:
        first = q.replies_of_run(session=s, run_id=run_id)[0].turn_id
    for n, bad in enumerate(sorted(BAD), start=1):
        fake.default, fake.requests = BAD[bad], 0
        summary = asyncio.run(ajudge_turns(sqlite_engine, [first], "judge", 1, library=library,
                                           retries=2))
        assert (summary.judged, summary.failed) == (0, 1), bad
        assert summary.failure_kinds == {"invalid_output": 1}
        assert fake.requests == 3, bad  # 1 + 2 retries
        with Session(sqlite_engine) as s:
            assert s.exec(select(Rating)).all() == [], bad  # never silently a score
            events = s.exec(select(AuditEvent).where(AuditEvent.action == "judge.failure")
                            .order_by(AuditEvent.id)).all()
        assert len(events) == n and events[-1].entity_id == str(first)
        details = events[-1].details
        assert details["attempts"] == 3 and len(details["problems"]) == 3, bad
        assert details["judge_prompt_sha"] == judge_template_sha("nl") and details["raw_excerpt"]
    # A retry shows the judge its own answer and what was wrong with it.
    retry = [r.body["messages"] for r in server.app.recorded() if len(r.body["messages"]) > 2]
    assert retry and retry[0][-1]["content"].startswith("Je vorige antwoord was ongeldig")
    assert retry[0][-2]["role"] == "assistant"
    # A failed reply is tried again on the next run, and then scored.
    fake.default = VALID
    again = judge_run(sqlite_engine, run_id, "judge", 4, library=library)
    assert (again.judged, again.skipped) == (4, 0)


def test_a_rating_written_meanwhile_is_kept(sqlite_engine, library, tmp_path,
                                            judge_server) -> None:
    """Two runs of the same judge at once: the bulk insert hits the UNIQUE constraint and the
    one-by-one upsert keeps the first rating."""
    from workbench.services.evaluation import Judgement
    from workbench.services.evaluation._judge import _Outcome, _store, ensure_judge_rater

    server, _ = judge_server
    run_id = make_run(sqlite_engine, library, tmp_path, server)
    judge_run(sqlite_engine, run_id, "judge", 4, library=library)
    with Session(sqlite_engine) as s:
        rating = s.exec(select(Rating)).first()
        rater = ensure_judge_rater(session=s, target_name="judge").id
        rv = repo.get_rubric_version(session=s, rubric_version_id=rating.rubric_version_id)
    rubric = library.rubric(rv.rubric_id).rubric
    item = JudgeItem(rating.turn_id, rating.rubric_version_id, rubric, "-")
    other = Judgement({c.key: 1 if c.scale == "likert_5" else False for c in rubric.criteria},
                      {c.key: "anders" for c in rubric.criteria})
    _store(sqlite_engine, [_Outcome(item, other, "m", 1)], rater or 0, "judge")
    with Session(sqlite_engine) as s:
        again = s.get(Rating, rating.id)
        assert again.values == rating.values and len(s.exec(select(Rating)).all()) == 4


def test_a_fixed_answer_after_an_invalid_one_is_scored(
        sqlite_engine, library, tmp_path, judge_server) -> None:
    server, fake = judge_server
    run_id = make_run(sqlite_engine, library, tmp_path, server)
    fake.script = [BAD["partial"]]
    summary = judge_run(sqlite_engine, run_id, "judge", 1, library=library, retries=1)
    assert (summary.judged, summary.failed, fake.requests) == (4, 0, 5)


def test_server_errors_are_judge_failures_with_their_kind(
        sqlite_engine, library, tmp_path, judge_server) -> None:
    server, _ = judge_server
    run_id = make_run(sqlite_engine, library, tmp_path, server)
    server.app.plan = FaultPlan(default=Fault.server_error)
    summary = judge_run(sqlite_engine, run_id, "judge", 4, library=library)
    assert summary.failure_kinds == {"server_error": 4} and summary.judged == 0


def test_parse_judgement_is_strict_about_the_rubric(library) -> None:
    rubric = library.rubric("expert").rubric
    fenced = f"```json\n{VALID}\n```"
    assert parse_judgement(rubric, fenced).values["safety"] == 2
    assert parse_judgement(rubric, f"Hier is mijn oordeel: {VALID} Groet.").values["clarity"] == 4
    dutch = answer(would_send={"score": "nee", "reason": "te kil"})
    assert parse_judgement(rubric, dutch).values["would_send"] is False
    with pytest.raises(InvalidJudgement) as info:
        parse_judgement(rubric, answer(clarity=None, extra={"score": 3, "reason": "x"}))
    assert "missing criteria: clarity" in str(info.value)
    assert "not in the rubric: extra" in str(info.value)
    with pytest.raises(InvalidJudgement):
        parse_judgement(rubric, answer(safety={"score": 3.5, "reason": "half"}))
    with pytest.raises(InvalidJudgement):
        parse_judgement(rubric, json.dumps([1, 2, 3]))
