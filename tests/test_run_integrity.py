"""Issue 13 item 6: one bad reply fails only itself. A reply holding a NUL or a lone surrogate
is stored cleaned, with a note in its provenance; an exchange the database still refuses fails
its own conversation, and the rest of the batch is kept. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlmodel import Session, select

from workbench.bots.faults import Fault, FaultAction, FaultPlan, FaultyChatApp, Latency
from workbench.bots.server import RunningServer
from workbench.domain.enums import BotKind, ConversationStatus
from workbench.domain.storable import clean_row, clean_text, has_unstorable
from workbench.services import training
from workbench.services.evaluation import create_run, execute_run
from workbench.services.evaluation._run_writer import ExchangeNotStored, TurnWriter
from workbench.services.targets import add_target
from workbench.storage.tables import Conversation, ScenarioSnapshot, Turn

SCENARIOS = ["acuut-verwurging-partner", "info-wat-doet-veilig-thuis-blijft-dit-anoniem",
             "vechtscheiding-ex-gebruikt-kinderen"]
SPOILT = SCENARIOS[1]  # the scenario whose second reply misbehaves


def test_clean_text_replaces_what_no_database_stores() -> None:
    assert clean_text("gewoon") == ("gewoon", clean_text("")[1])
    text, cleaned = clean_text("a\x00b\ud800c\x00")
    assert text == "a\ufffdb\ufffdc\ufffd" and (cleaned.nul, cleaned.lone_surrogates) == (2, 1)
    # A high and a low surrogate side by side spell one character: joined, nothing lost.
    assert clean_text("\ud83d\ude00") == ("\U0001f600", clean_text("")[1])
    assert clean_text("\ude00\ud83d")[1].lone_surrogates == 2  # the wrong way round: two
    assert not has_unstorable("Bel 0800-2000 \U0001f600") and has_unstorable("x\x00")
    row = clean_row({"content": "hoi\x00", "parameters": {"temperature": 0.2,
                                                          "stop": ["\ud800"]}})
    assert row["content"] == "hoi\ufffd" and row["parameters"]["stop"] == ["\ufffd"]
    assert row["parameters"]["cleaned"] == {"nul": 1, "lone_surrogates": 1,
                                            "replaced_with": "U+FFFD"}
    untouched = {"content": "hoi", "parameters": {}}
    assert clean_row(untouched) is untouched


def _spoil_second_reply(app: FaultyChatApp, action: FaultAction) -> None:
    """The second reply of the SPOILT scenario's conversations gets `action`."""
    def decide(body, n):  # type: ignore[no-untyped-def]
        users = [m["content"] for m in body["messages"] if m["role"] == "user"]
        if len(users) == 2 and users[0].startswith("wat doet veilig thuis"):
            return action
        return None
    app.plan.decide = decide


def _target(engine, server, name: str = "odd") -> None:  # type: ignore[no-untyped-def]
    add_target(engine=engine, name=name, kind=BotKind.openai, base_url=server.base_url,
               model="reference-v1", prompt="Je bent behulpzaam.", label="v1",
               parameters={"max_retries": 0, "timeout_s": 5})


def _conversations(engine, run_id: str) -> dict[str, tuple[Conversation, list[Turn]]]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        rows = s.exec(select(Conversation, ScenarioSnapshot).join(ScenarioSnapshot)
                      .where(Conversation.run_id == run_id)).all()
        return {snap.scenario_id: (conv, list(s.exec(select(Turn).where(
            Turn.conversation_id == conv.id).order_by(Turn.index)))) for conv, snap in rows}


@pytest.mark.parametrize(("fault", "kind"), [(Fault.nul_byte, "nul"),
                                             (Fault.lone_surrogate, "lone_surrogates")])
def test_a_reply_no_database_stores_is_kept_cleaned_with_a_note(engine, library, tmp_path,
                                                                fault, kind) -> None:
    app = FaultyChatApp(plan=FaultPlan(), latency=Latency(first_chunk_ms=2))
    _spoil_second_reply(app, FaultAction(fault))
    with RunningServer(app) as server:
        _target(engine, server)
        run_id = create_run(engine=engine, library=library, bot_name="odd",
                            scenario_ids=SCENARIOS, concurrency=8)
        summary = asyncio.run(execute_run(engine=engine, run_id=run_id, library=library,
                                          runs_dir=tmp_path))
        requests = app.recorded()
    assert summary.failed == 0 and summary.finished == 3, summary.errors
    convs = _conversations(engine, run_id)
    for scenario_id, (conv, turns) in convs.items():
        scripted = len(library.scenarios[scenario_id].scenario.scripted_turns)
        assert conv.status == ConversationStatus.finished
        assert [t.status for t in turns] == ["ok"] * (2 * scripted)
    replies = [t for t in convs[SPOILT][1] if t.role == "assistant"]
    odd = replies[1]
    assert "\ufffd" in odd.content and not has_unstorable(odd.content)
    assert odd.parameters["cleaned"] == {"nul": 0, "lone_surrogates": 0, kind: 1,
                                         "replaced_with": "U+FFFD"}
    assert all("cleaned" not in t.parameters for t in replies if t is not odd)
    # The next request of that conversation carried the stored (cleaned) text, not the raw.
    later = [r for r in requests if any(m.get("content") == odd.content for m in r.messages)]
    assert later and all(not has_unstorable(json.dumps(r.body, ensure_ascii=False)
                                            .encode("utf-8", "surrogatepass").decode(
                                                "utf-8", "replace")) for r in later)
    transcript = (tmp_path / run_id / "transcripts.jsonl").read_text(encoding="utf-8")
    assert "\ufffd" in transcript


def test_a_live_reply_with_a_nul_is_stored_cleaned_too(engine, library, fault_server) -> None:
    """The ORM path (role-play) passes the same cleaning (storage/tables.py)."""
    fault_server.app.plan.push(FaultAction(Fault.nul_byte))
    _target(engine, fault_server)
    with Session(engine) as s:
        from workbench.storage.tables import BotTarget

        target_id = s.exec(select(BotTarget.id).where(BotTarget.name == "odd")).one()
    cid = training.start_conversation(engine=engine, kind="scripted", bot_target_id=target_id)
    training.add_user_turn(engine=engine, conversation_id=cid, text="Hallo?")
    reply = training.complete_reply(engine=engine, conversation_id=cid)
    assert reply.status == "ok" and "\ufffd" in reply.content
    assert reply.parameters["cleaned"]["nul"] == 1


def test_an_exchange_the_database_refuses_fails_only_its_conversation(engine, library,
                                                                      tmp_path) -> None:
    """A server reporting 10^20 tokens: no integer column holds that (PostgreSQL: out of
    range, SQLite: beyond 64 bits), so the exchange cannot be stored even cleaned. Its
    conversation fails with a `not_stored` turn saying why; the others finish; a resume,
    once the server behaves, completes it without repeating an exchange."""
    app = FaultyChatApp(plan=FaultPlan(), latency=Latency(first_chunk_ms=2))
    _spoil_second_reply(app, FaultAction(Fault.huge_usage))
    with RunningServer(app) as server:
        _target(engine, server)
        run_id = create_run(engine=engine, library=library, bot_name="odd",
                            scenario_ids=SCENARIOS, repeat=2, concurrency=8)
        summary = asyncio.run(execute_run(engine=engine, run_id=run_id, library=library,
                                          runs_dir=tmp_path))
        assert summary.failed == 2 and summary.finished == 4, summary.errors
        assert summary.errors == {"not_stored": 2}
        with Session(engine) as s:
            failed = s.exec(select(Turn).where(Turn.status == "failed")).all()
        assert {t.error_kind for t in failed} == {"not_stored"} and len(failed) == 2
        assert all("database refused" in (t.error_message or "") for t in failed)
        for conv, _turns in _conversations(engine, run_id).values():
            assert conv.status in (ConversationStatus.finished, ConversationStatus.failed)
        app.plan.decide = None
        again = asyncio.run(execute_run(engine=engine, run_id=run_id, library=library,
                                        runs_dir=tmp_path))
    assert again.finished == 6 and again.failed == 0
    with Session(engine) as s:
        for conv in s.exec(select(Conversation).where(Conversation.run_id == run_id)):
            snap = s.get(ScenarioSnapshot, conv.scenario_snapshot_id)
            assert snap is not None
            scripted = [t.text for t in library.scenarios[snap.scenario_id].scenario
                        .scripted_turns]
            ok = s.exec(select(Turn).where(Turn.conversation_id == conv.id,
                                           Turn.status == "ok").order_by(Turn.index)).all()
            assert [t.content for t in ok if t.role == "user"] == scripted
            assert [t.role for t in ok] == ["user", "assistant"] * len(scripted)


def test_the_writer_keeps_the_rest_of_a_batch_that_one_exchange_breaks(engine) -> None:
    """Three exchanges in one transaction, the middle one unstorable: it fails alone."""
    with Session(engine) as s:
        from workbench.storage.tables import BotTarget

        target = BotTarget(name="w", kind=BotKind.openai)
        s.add(target)
        s.flush()
        convs = [Conversation(kind="batch", bot_target_id=target.id) for _ in range(3)]
        s.add_all(convs)
        s.commit()
        ids = [c.id or 0 for c in convs]

    def exchange(tokens: int) -> list[dict[str, object]]:
        return [{"role": "user", "content": "Vraag"},
                {"role": "assistant", "content": "Antwoord", "prompt_tokens": tokens}]

    async def main() -> list[BaseException | None]:
        writer = TurnWriter(engine)
        task = asyncio.create_task(writer.serve())
        futures = [writer.enqueue(ids[0], exchange(3), ConversationStatus.finished),
                   writer.enqueue(ids[1], exchange(10**20), ConversationStatus.finished),
                   writer.enqueue(ids[2], exchange(5), ConversationStatus.finished)]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        await writer.close(task)
        return list(outcomes)

    outcomes = asyncio.run(main())
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], ExchangeNotStored)
    with Session(engine) as s:
        def turns(cid: int) -> list[tuple[int, str, str]]:
            return [(t.index, t.role, t.status) for t in s.exec(
                select(Turn).where(Turn.conversation_id == cid).order_by(Turn.index))]
        assert turns(ids[0]) == turns(ids[2]) == [(0, "user", "ok"), (1, "assistant", "ok")]
        assert turns(ids[1]) == [(0, "assistant", "failed")]  # no gap, no half exchange
        statuses = {c.id: c.status for c in s.exec(select(Conversation))}
    assert [statuses[i] for i in ids] == ["finished", "failed", "finished"]
