"""Expectation checks per reply, gold references, and ragas metrics with the network blocked."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from sqlmodel import Session

from tests import builders
from tests.test_judge import reference_run
from workbench.bots.faults import FaultyChatApp
from workbench.bots.server import RunningServer
from workbench.domain.enums import BotKind, ConversationKind, RatingStatus, TurnRole
from workbench.services.evaluation import expectation_outcomes_for_turn
from workbench.services.evaluation._expectations import references_for
from workbench.services.targets import add_target, list_targets
from workbench.storage import repo
from workbench.storage import repo_eval as q
from workbench.storage.db import make_engine, migrate
from workbench.storage.tables import Adjudication

SCENARIO = "acuut-verwurging-partner"
LOCAL = ("127.0.0.1", "::1", "localhost")


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    # SQLite on purpose: the network test must prove that nothing, not even a database
    # server, is contacted.
    eng = make_engine(f"sqlite:///{tmp_path / 'eval.db'}")
    migrate(eng)
    list_targets(engine=eng)
    yield eng
    eng.dispose()


@pytest.fixture
def network_log(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every connection attempt; any address but the loopback one raises."""
    attempts: list[object] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def allowed(address: object) -> bool:
        attempts.append(address)
        return isinstance(address, tuple) and address[0] in LOCAL

    def connect(self, address):  # type: ignore[no-untyped-def]
        if not allowed(address):
            raise OSError(f"network blocked in tests: {address!r}")
        return real_connect(self, address)

    def connect_ex(self, address):  # type: ignore[no-untyped-def]
        if not allowed(address):
            raise OSError(f"network blocked in tests: {address!r}")
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host not in LOCAL:
            attempts.append(("dns", host))
            raise OSError(f"name lookup blocked in tests: {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


def scripted(s: Session, library, texts: list[tuple[str, str]], **over):  # type: ignore[no-untyped-def]
    snap = repo.snapshot_scenario(session=s, loaded=library.scenarios[SCENARIO])
    target = repo.get_bot_target(session=s, name="reference")
    conv = repo.create_conversation(session=s, kind=over.pop("kind", ConversationKind.scripted),
                                    scenario_snapshot_id=snap.id, bot_target_id=target.id,
                                    **over)
    replies = []
    for user, bot in texts:
        repo.append_turn(session=s, conversation_id=conv.id, role=TurnRole.user, content=user)
        replies.append(repo.append_turn(session=s, conversation_id=conv.id,
                                        role=TurnRole.assistant, content=bot))
    return conv, replies


def test_expectations_per_reply_turn_and_conversation_scope(db, library) -> None:
    turns = library.scenarios[SCENARIO].scenario.scripted_turns
    with Session(db) as s:
        _, replies = scripted(s, library, [
            (turns[0].text, "Ik ben een medewerker van Veilig Thuis. Wat is er gebeurd?"),
            (turns[1].text, "Verwurging is levensgevaarlijk. Bel 112 als je in gevaar bent."),
            (turns[2].text, "Kun je vanavond bij een vriendin slapen?")])
        s.commit()
        first, second, third = (r.id for r in replies)
    got = {(o.scope, o.check or o.text): o.passed
           for o in expectation_outcomes_for_turn(db, second)}
    assert got[("turn", "mentions_112")] is True
    assert got[("turn", turns[1].expectations[0].text)] is None  # only a person can judge it
    assert got[("turn", "claims_human")] is True  # the must-not holds for this reply
    assert got[("conversation", "mentions_veilig_thuis")] is True  # the first reply named it
    opening = {(o.scope, o.check or o.text): o.passed
               for o in expectation_outcomes_for_turn(db, first)}
    assert opening[("turn", "claims_human")] is False
    assert ("turn", "mentions_112") not in opening  # scripted turn 1 has no such expectation
    third_out = expectation_outcomes_for_turn(db, third)
    assert [o.passed for o in third_out if o.scope == "turn" and o.check is None] == [None, None]


@pytest.fixture
def two_runs(db, library, tmp_path):  # type: ignore[no-untyped-def]
    """Run A, and references: A's reply 1 (own rating + adjudication), run B's reply 0 (a
    rating, borrowed by A), and a reply at position 0 that answers another text."""
    run_a = reference_run(db, library, tmp_path, SCENARIO)
    run_b = reference_run(db, library, tmp_path, SCENARIO)
    with Session(db) as s:
        a = q.replies_of_run(session=s, run_id=run_a)
        b = q.replies_of_run(session=s, run_id=run_b)
        rv = builders.rubric_version(s, library)
        expert, lead = builders.participant(s), builders.participant(s)

        def rate(turn_id: int, ideal: str) -> None:
            repo.upsert_rating(session=s, rater_id=expert.id, turn_id=turn_id,
                               rubric_version_id=rv.id, values={"safety": 3},
                               status=RatingStatus.submitted, overall=3.0, unsafe=False,
                               ideal_reply=ideal)

        rate(a[1].turn_id, "Mijn eigen betere antwoord.")
        s.add(Adjudication(turn_id=a[1].turn_id, rubric_version_id=rv.id,
                           adjudicator_id=lead.id, final_ideal_reply=a[1].text, reason="r"))
        rate(b[0].turn_id, "Fijn dat je schrijft. Ben je nu veilig? Bel 112 bij gevaar.")
        _, [other] = scripted(s, library, [("Een heel andere vraag", "Antwoord")])
        s.add(Adjudication(turn_id=other.id, rubric_version_id=rv.id, adjudicator_id=lead.id,
                           final_ideal_reply="Hoort bij een andere vraag", reason="r"))
        s.commit()
        refs = references_for(s, a)
    return run_a, a, refs


def test_reference_sources_and_positions(two_runs) -> None:
    _, a, refs = two_runs
    assert refs[a[1].turn_id].source == "adjudicated" and refs[a[1].turn_id].same_turn
    assert refs[a[1].turn_id].text == a[1].text
    borrowed = refs[a[0].turn_id]
    assert borrowed.source == "rating" and not borrowed.same_turn
    assert borrowed.text.startswith("Fijn dat je schrijft")
    assert a[2].turn_id not in refs and a[3].turn_id not in refs


def test_offline_ragas_metrics_with_the_network_blocked(db, two_runs, network_log) -> None:
    from workbench.services.evaluation import run_metrics
    from workbench.services.evaluation._ragas import STRING_METRICS

    run_a, a, _ = two_runs
    result = run_metrics(db, run_a)  # no judge configured
    assert network_log == []  # not a single connection attempt, local or not
    by_turn = {r.turn_id: r for r in result.replies}
    exact = by_turn[a[1].turn_id]
    assert exact.reference_source == "adjudicated"
    assert exact.scores["string_similarity"] == pytest.approx(1.0)
    assert exact.scores["chrf"] == pytest.approx(1.0)
    assert exact.scores["rouge_l"] == pytest.approx(1.0)
    borrowed = by_turn[a[0].turn_id].scores
    assert set(borrowed) == set(STRING_METRICS)
    assert all(0.0 <= v < 1.0 for v in borrowed.values())
    assert by_turn[a[3].turn_id].scores == {}
    means = result.means()
    assert means["chrf"][1] == 2 and "rubric_score" not in means


def test_llm_metrics_only_reach_the_judge_on_loopback(db, two_runs, network_log) -> None:
    from workbench.services.evaluation import run_metrics

    run_a, a, _ = two_runs

    def judge(request):  # type: ignore[no-untyped-def]
        return [json.dumps({"score": 4, "feedback": "veilig en warm", "reason": "ok",
                            "value": "pass"})]

    app = FaultyChatApp(judge)
    with RunningServer(app) as server:
        add_target(engine=db, name="ragas-judge", kind=BotKind.openai,
                   base_url=server.base_url, model="judge-m", prompt="-", label="v1")
        result = run_metrics(db, run_a, judge_target_name="ragas-judge")
    assert result.errors == []
    scores = {r.turn_id: r.scores for r in result.replies}
    assert scores[a[3].turn_id] == {"rubric_score": 4.0, "harmless": 1.0,
                                    "emergency_referral": 1.0}
    assert len(app.recorded()) == 3 * len(a)
    assert network_log and all(addr[0] in LOCAL for addr in network_log)  # type: ignore[index]
