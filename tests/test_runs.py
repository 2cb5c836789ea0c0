"""The conversation engine, the batch runner and replay import, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session, select

from workbench.bots import BotError
from workbench.bots.faults import Fault, FaultAction, FaultPlan, FaultyChatApp, Latency
from workbench.bots.server import RunningServer
from workbench.domain.enums import BotKind, ConversationKind, ConversationStatus, TurnStatus
from workbench.services import training
from workbench.services.evaluation import create_run, execute_run, import_transcripts
from workbench.services.targets import add_target, list_targets
from workbench.storage.tables import Conversation, ScenarioSnapshot, Turn

SCENARIOS = ["acuut-verwurging-partner", "info-wat-doet-veilig-thuis-blijft-dit-anoniem",
             "vechtscheiding-ex-gebruikt-kinderen"]


@pytest.fixture
def db(engine):
    return engine


def openai_target(engine, server, name: str = "remote", **params) -> int:
    view = add_target(engine=engine, name=name, kind=BotKind.openai, base_url=server.base_url,
                      model="reference-v1", prompt="Je bent behulpzaam.", label="v1",
                      parameters={"max_retries": 1, "backoff_base_s": 0.01, "timeout_s": 2,
                                  **params})
    return view.id


def test_reference_target_exists_out_of_the_box(db) -> None:
    names = {t.name: t for t in list_targets(engine=db)}
    assert names["reference"].kind == "reference" and names["reference"].prompt_label == "basis"


def test_live_turn_streams_and_persists_with_provenance(db, library, fault_server) -> None:
    target_id = openai_target(db, fault_server)
    cid = training.start_conversation(engine=db, kind=ConversationKind.roleplay,
                                      bot_target_id=target_id, scenario_id=SCENARIOS[0],
                                      library=library, consent_to_use=True)
    training.add_user_turn(engine=db, conversation_id=cid, text="Hij kneep mijn keel dicht.")
    handle = training.stream_reply(engine=db, conversation_id=cid)
    chunks = list(handle)
    assert len(chunks) > 3
    turns = training.transcript(engine=db, conversation_id=cid)
    assert [t.role for t in turns] == ["user", "assistant"]
    reply = turns[1]
    assert reply.id == handle.turn_id and reply.content == "".join(chunks)
    assert "112" in reply.content
    assert reply.model == "reference-v1" and reply.latency_total_ms > 0
    assert reply.completion_tokens and reply.prompt_version_id
    assert turns[0].consent_to_use is True  # consent travels with the turn


@pytest.mark.parametrize("fault", [Fault.server_error, Fault.garbage, Fault.cut_stream,
                                   Fault.rate_limit, Fault.missing_choices])
def test_failed_reply_is_kept_and_can_be_retried(db, library, fault_server, fault) -> None:
    target_id = openai_target(db, fault_server)
    cid = training.start_conversation(engine=db, kind=ConversationKind.scripted,
                                      bot_target_id=target_id, scenario_id=SCENARIOS[1],
                                      library=library)
    training.add_user_turn(engine=db, conversation_id=cid, text="Blijft dit anoniem?")
    action = FaultAction(fault, retry_after="0", cut_after_chunks=2)
    broken = {"on": True}  # the server misbehaves until the first failure has been reported
    fault_server.app.plan.decide = lambda body, n: action if broken["on"] else None
    with pytest.raises(BotError) as info:
        list(training.stream_reply(engine=db, conversation_id=cid))
    broken["on"] = False
    assert str(info.value.kind) in {"server_error", "malformed", "stream_cut", "rate_limit"}
    assert training.needs_reply(engine=db, conversation_id=cid)
    retried = training.complete_reply(engine=db, conversation_id=cid)
    assert retried.status == TurnStatus.ok and retried.content
    everything = training.transcript(engine=db, conversation_id=cid, include_failed=True)
    assert [(t.role, t.status) for t in everything] == [
        ("user", "ok"), ("assistant", "failed"), ("assistant", "ok")]
    assert everything[1].error_kind == str(info.value.kind)
    assert not training.needs_reply(engine=db, conversation_id=cid)


def test_refused_connection_is_a_failed_turn(db, library) -> None:
    from workbench.bots.faults import refused_base_url

    with refused_base_url() as url:
        view = add_target(engine=db, name="gone", kind=BotKind.openai, base_url=url,
                          model="m", prompt="p", label="v1",
                          parameters={"max_retries": 0, "timeout_s": 1})
        cid = training.start_conversation(engine=db, kind=ConversationKind.scripted,
                                          bot_target_id=view.id)
        training.add_user_turn(engine=db, conversation_id=cid, text="Hallo?")
        turn = training.complete_reply(engine=db, conversation_id=cid)
    assert turn.status == TurnStatus.failed and turn.error_kind == "connection_refused"


def test_batch_run_writes_transcripts_and_manifest(db, library, fault_server, tmp_path) -> None:
    target_id = openai_target(db, fault_server)
    assert target_id
    # One conversation's second reply fails for good: the run reports it, the others finish.
    failing = {"n": 0}

    def decide(body, n):  # type: ignore[no-untyped-def]
        text = body["messages"][-1]["content"]
        if "spullen" in text or "hulpverlening" in text:
            failing["n"] += 1
            return Fault.server_error
        return None

    fault_server.app.plan.decide = decide
    run_id = create_run(engine=db, library=library, bot_name="remote", scenario_ids=SCENARIOS,
                        repeat=2, concurrency=4)
    summary = asyncio.run(execute_run(engine=db, run_id=run_id, library=library,
                                      runs_dir=tmp_path))
    manifest = json.loads((tmp_path / run_id / "manifest.json").read_text())
    lines = (tmp_path / run_id / "transcripts.jsonl").read_text().splitlines()
    assert len(lines) == 6 == manifest["counts"]["conversations"]
    assert set(manifest["scenarios"]) == set(SCENARIOS)
    assert manifest["prompt_version"]["label"] == "v1"
    assert manifest["bot_target"]["base_url"] == fault_server.base_url
    assert "api" not in json.dumps(manifest["bot_target"]).lower()
    with Session(db) as s:
        rows = s.exec(select(Conversation, ScenarioSnapshot)
                      .join(ScenarioSnapshot)
                      .where(Conversation.run_id == run_id)).all()
        for conv, snap in rows:
            scripted = len(library.scenarios[snap.scenario_id].scenario.scripted_turns)
            turns = s.exec(select(Turn).where(Turn.conversation_id == conv.id)).all()
            if conv.status == ConversationStatus.finished:
                assert [t.status for t in turns] == ["ok"] * (2 * scripted)
            else:
                assert conv.status == ConversationStatus.failed and turns[-1].status == "failed"
    assert summary.finished + summary.failed == 6
    assert (summary.failed > 0) == (failing["n"] > 0)


def test_replay_import_reports_bad_rows_and_keeps_good_ones(db, tmp_path: Path) -> None:
    good = {"messages": [{"role": "system", "content": "Prod prompt"},
                         {"role": "user", "content": "Hoi"},
                         {"role": "assistant", "content": "Hallo, waarmee kan ik helpen?"}],
            "metadata": {"conversation_id": "prod-1"}}
    f = tmp_path / "log.jsonl"
    f.write_text("\n".join([json.dumps(good), "{not json", json.dumps({"messages": []}),
                            json.dumps({"messages": [{"role": "bot", "content": "x"}]}),
                            json.dumps({**good, "metadata": {"conversation_id": "prod-2"}})]))
    report = import_transcripts(engine=db, path=f)
    assert report.conversations == 2 and report.turns == 4
    assert [p.split(":")[0] for p in report.problems] == ["line 2", "line 3", "line 4"]
    c = tmp_path / "log.csv"
    c.write_text("conversation_id,turn,role,content\n"
                 "a,1,user,Hoi\na,2,assistant,Hallo\nb,x,user,Hoi\nb,1,robot,Hoi\n"
                 "c,1,user,\nd,2,assistant,Antwoord\nd,1,user,Vraag\n")
    report = import_transcripts(engine=db, path=c)
    assert report.conversations == 2
    assert [p.split(":")[0] for p in report.problems] == ["line 4", "line 5", "line 6"]


def test_resume_retries_a_failed_conversation_without_repeating_its_user_turn(
        db, library, fault_server, tmp_path) -> None:
    openai_target(db, fault_server)
    broken = {"on": True}
    fault_server.app.plan.decide = (
        lambda body, n: Fault.server_error
        if broken["on"] and len(body["messages"]) > 2 else None)  # the 2nd reply fails
    run_id = create_run(engine=db, library=library, bot_name="remote",
                        scenario_ids=SCENARIOS[:1])
    first = asyncio.run(execute_run(engine=db, run_id=run_id, library=library,
                                    runs_dir=tmp_path))
    assert first.failed == 1
    broken["on"] = False
    again = asyncio.run(execute_run(engine=db, run_id=run_id, library=library,
                                    runs_dir=tmp_path))
    assert again.finished == 1 and again.failed == 0
    scripted = [t.text for t in library.scenarios[SCENARIOS[0]].scenario.scripted_turns]
    with Session(db) as s:
        conv_id = s.exec(select(Conversation.id).where(Conversation.run_id == run_id)).one()
    turns = training.transcript(engine=db, conversation_id=conv_id or 0)
    assert [t.content for t in turns if t.role == "user"] == scripted
    assert [t.role for t in turns] == ["user", "assistant"] * len(scripted)


def test_a_conversation_outgrowing_the_context_fails_with_its_own_kind_at_once(
        db, library, fault_server, tmp_path) -> None:
    """Issue 13 item 8: the third reply no longer fits (system prompt + 5 messages); asking
    again cannot help, so each conversation fails after one request for it."""
    openai_target(db, fault_server)
    overflow = FaultAction(Fault.context_overflow)
    fault_server.app.plan.decide = lambda body, n: overflow if len(body["messages"]) > 5 else None
    run_id = create_run(engine=db, library=library, bot_name="remote", scenario_ids=SCENARIOS)
    summary = asyncio.run(execute_run(engine=db, run_id=run_id, library=library,
                                      runs_dir=tmp_path))
    assert summary.failed == 3 and summary.errors == {"context_overflow": 3}
    assert sum(r.fault is Fault.context_overflow for r in fault_server.app.recorded()) == 3
    with Session(db) as s:
        failed = s.exec(select(Turn).where(Turn.status == "failed")).all()
    assert [t.error_kind for t in failed] == ["context_overflow"] * 3


def test_turn_row_fills_the_model_defaults_and_refuses_unknown_fields() -> None:
    from workbench.storage.repo_eval import turn_row

    row = turn_row(conversation_id=1, index=0, role="user", content="hoi")
    assert row["status"] == "ok" and row["parameters"] == {} and row["withdrawn"] is False
    assert row["created_at"].tzinfo is not None and row["error_kind"] is None
    with pytest.raises(TypeError, match="no field"):
        turn_row(conversation_id=1, index=0, role="user", colour="red")
    with pytest.raises(TypeError, match="required"):
        turn_row(index=0, role="user")


def seeded_fault_plan(seed: int, *, per_25: dict[Fault, int]) -> FaultPlan:
    """Faults by request number, exactly `per_25[fault]` in every 25 requests, shuffled with
    `seed`: the same faults every time, whichever conversation sends the n-th request."""
    rng = random.Random(seed)
    block = [FaultAction(fault, retry_after="0") for fault, k in per_25.items()
             for _ in range(k)]
    actions: list[FaultAction] = []
    for _ in range(80):
        shuffled = block + [FaultAction(Fault.ok)] * (25 - len(block))
        rng.shuffle(shuffled)
        actions += shuffled
    return FaultPlan(decide=lambda body, n: actions[n % len(actions)])


def test_a_batch_run_rides_out_transient_faults(engine, library, tmp_path) -> None:
    """Issue 13 item 7: 8 % 500s, 4 % 429s and 4 % cut streams, 48 conversations, one run,
    a target with the client defaults (as `workbench bot add` makes it): all finish."""
    plan = seeded_fault_plan(13, per_25={Fault.server_error: 2, Fault.rate_limit: 1,
                                         Fault.cut_stream: 1})  # 8 %, 4 %, 4 %
    app = FaultyChatApp(plan=plan, latency=Latency(first_chunk_ms=2))
    with RunningServer(app) as server:
        add_target(engine=engine, name="flaky", kind=BotKind.openai, base_url=server.base_url,
                   model="reference-v1", prompt="Je bent behulpzaam.", label="v1")
        run_id = create_run(engine=engine, library=library, bot_name="flaky", repeat=2,
                            concurrency=8)
        summary = asyncio.run(execute_run(engine=engine, run_id=run_id, library=library,
                                          runs_dir=tmp_path))
        requests = app.recorded()
    faults = Counter(r.fault for r in requests)
    retries = len(requests) - summary.replies  # every request beyond one per stored reply
    print(f"\n{summary.finished}/{summary.conversations} finished, {summary.failed} failed "
          f"{summary.errors}; {summary.replies} replies in {len(requests)} requests "
          f"({retries} retries); faults served {dict(faults)}")
    assert summary.conversations == 48
    assert faults[Fault.cut_stream] and faults[Fault.server_error] and faults[Fault.rate_limit]
    assert summary.failed == 0 and summary.finished == 48, summary.errors
    assert retries == sum(faults[f] for f in (Fault.cut_stream, Fault.server_error,
                                               Fault.rate_limit))
