"""`workbench simulate` as a service: simulated conversations are their own kind, stop by their
rules, survive a hostile user model, resume without duplicates, refuse a second runner, and
never reach the live figures or the facilitator's progress. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from tests import builders
from workbench.bots.base import BaseBot, ReplyRequest, StreamMeta
from workbench.bots.errors import ContextOverflow, ServerError
from workbench.domain.enums import (
    BotKind,
    ConversationKind,
    ConversationStatus,
    Group,
    Role,
    RunStatus,
    SimulationStop,
    TurnRole,
)
from workbench.domain.library import Library
from workbench.domain.simulated_user import MAX_USER_CHARS
from workbench.services.dashboard import build_dashboard, simulated_overview
from workbench.services.evaluation import (
    RunBusy,
    WrongRunKind,
    create_run,
    create_simulation,
    execute_run,
    execute_simulation,
)
from workbench.services.evaluation._lease import take_lease
from workbench.storage import repo
from workbench.storage.db import session_scope
from workbench.storage.tables import Conversation, Run, TrainingDay, Turn

INFO = "info-wat-doet-veilig-thuis-blijft-dit-anoniem"
ACUTE = "acuut-verwurging-partner"

Answer = Callable[[ReplyRequest], "str | BaseException"]


class FakeBot(BaseBot):
    """Answers every request with `answer(request)` (a text, or an error to raise)."""

    kind = BotKind.reference
    model = "fake"
    parameters: dict[str, Any] = {}

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[ReplyRequest] = []

    def _iter_chunks(self, request: ReplyRequest, meta: StreamMeta) -> Iterator[str]:
        self.requests.append(request)
        out = self.answer(request)
        if isinstance(out, BaseException):
            raise out
        yield out


def always(text: str) -> FakeBot:
    return FakeBot(lambda _r: text)


@pytest.fixture
def bot_engine(engine: sa.Engine) -> sa.Engine:
    with session_scope(engine) as s:
        builders.bot_target(s)  # "reference", with a system prompt
        builders.bot_target(s, name="user-model", prompt="(unused: the persona prompt is sent)")
    return engine


def simulate(engine: sa.Engine, library: Library, tmp_path: Path, *, bot: Any = None,
             user_bot: Any = None, scenario: str = INFO, max_turns: int = 6,
             user_model: str | None = None, repeat: int = 1) -> str:
    run_id = create_simulation(engine=engine, library=library, bot_name="reference",
                               user_model=user_model, scenario_ids=[scenario],
                               max_turns=max_turns, repeat=repeat)
    asyncio.run(execute_simulation(engine=engine, run_id=run_id, runs_dir=tmp_path, bot=bot,
                                   user_bot=user_bot))
    return run_id


def conversations(engine: sa.Engine, run_id: str) -> list[tuple[Conversation, list[Turn]]]:
    with Session(engine) as s:
        convs = s.exec(select(Conversation).where(Conversation.run_id == run_id)
                       .order_by(col(Conversation.id))).all()
        return [(c, list(s.exec(select(Turn).where(Turn.conversation_id == c.id)
                                .order_by(col(Turn.index))).all())) for c in convs]


def users(turns: list[Turn]) -> list[str]:
    return [t.content for t in turns if t.role == TurnRole.user]


def test_a_simulation_is_stored_as_its_own_kind_and_ends_by_a_stop_rule(
        bot_engine: sa.Engine, library: Library, tmp_path: Path) -> None:
    run_id = simulate(bot_engine, library, tmp_path)  # the reference bot, the scripted user
    [(conv, turns)] = conversations(bot_engine, run_id)
    script = [" ".join(t.text.split()) for t in library.scenarios[INFO].scenario.scripted_turns]
    assert conv.kind == ConversationKind.simulated and conv.status == ConversationStatus.finished
    assert conv.meta["stop"] in {s.value for s in SimulationStop}
    assert conv.meta["simulated_user"] == "scripted"
    said = users(turns)
    assert said[0] == script[0] and 1 <= len(said) <= 6
    assert [t.role for t in turns] == [TurnRole.user, TurnRole.assistant] * len(said)
    assert all(t.model == "scripted" for t in turns if t.role == TurnRole.user)
    manifest = json.loads((tmp_path / run_id / "manifest.json").read_text())
    assert manifest["simulation"] == {"user_model": None, "max_turns": 6}
    line = json.loads((tmp_path / run_id / "transcripts.jsonl").read_text())
    assert line["stop"] == conv.meta["stop"]
    # Deterministic: the same scenario against the same bot says the same things.
    again = simulate(bot_engine, library, tmp_path)
    assert users(conversations(bot_engine, again)[0][1]) == said


def test_an_acute_scenario_given_112_stops_for_safety(bot_engine: sa.Engine, library: Library,
                                                      tmp_path: Path) -> None:
    run_id = simulate(bot_engine, library, tmp_path, scenario=ACUTE,
                      bot=always("Dit is levensgevaarlijk. Bel nu 112."))
    [(conv, turns)] = conversations(bot_engine, run_id)
    assert conv.meta["stop"] == SimulationStop.safety and len(users(turns)) == 1


def test_max_turns_ends_a_conversation_with_a_bot_that_keeps_asking(
        bot_engine: sa.Engine, library: Library, tmp_path: Path) -> None:
    bot = always("Dank je. Kun je daar meer over vertellen?")
    run_id = simulate(bot_engine, library, tmp_path, bot=bot, max_turns=2)
    [(conv, turns)] = conversations(bot_engine, run_id)
    assert conv.meta["stop"] == SimulationStop.max_turns and len(users(turns)) == 2
    # The bot under test got its own system prompt, not the persona's.
    assert all(r.system_prompt == "Je bent behulpzaam." for r in bot.requests)


def test_the_user_model_gets_the_persona_and_plays_against_the_bot(
        bot_engine: sa.Engine, library: Library, tmp_path: Path) -> None:
    user_bot = always("Ik weet niet of ik hier goed zit.")
    run_id = simulate(bot_engine, library, tmp_path, bot=always("Ik luister. Vertel?"),
                      user_bot=user_bot, user_model="user-model", max_turns=3)
    [(conv, turns)] = conversations(bot_engine, run_id)
    assert conv.meta == {"simulated_user": "user-model", "stop": "max_turns"}
    assert users(turns) == ["Ik weet niet of ik hier goed zit."] * 3
    situation = " ".join(library.scenarios[INFO].scenario.situation.split())
    first, last = user_bot.requests[0], user_bot.requests[-1]
    assert situation[:50] in " ".join(first.system_prompt.split())
    # The user model answers the bot: the bot's replies are its "user" messages.
    assert [m["role"] for m in last.messages] == ["user", "assistant", "user", "assistant",
                                                 "user"]
    assert last.messages[-1]["content"] == "Ik luister. Vertel?"


@pytest.mark.parametrize("said,stored", [
    ("", None), ("\x00\x00", None), ("  \n ", None),
    ("Ik\x00 ben bang", "Ik ben bang"),
    ("bang " * 20_000, "cut"),  # 100 kB
])
def test_a_hostile_user_model_fails_only_itself(bot_engine: sa.Engine, library: Library,
                                                tmp_path: Path, said: str,
                                                stored: str | None) -> None:
    run_id = simulate(bot_engine, library, tmp_path, bot=always("Ik luister."),
                      user_bot=always(said), user_model="user-model", max_turns=1)
    [(conv, turns)] = conversations(bot_engine, run_id)
    if stored is None:  # nothing usable: no user turn, the conversation failed, and says why
        assert turns == [] and conv.status == ConversationStatus.failed
        assert conv.meta["stop"] == SimulationStop.user_model_failed
        return
    [message] = users(turns)
    assert "\x00" not in message and len(message) <= MAX_USER_CHARS
    assert message == stored or (stored == "cut" and message.startswith("bang bang"))
    assert conv.status == ConversationStatus.finished


def test_a_full_context_ends_the_conversation_cleanly_with_its_kind(
        bot_engine: sa.Engine, library: Library, tmp_path: Path) -> None:
    bot = FakeBot(lambda r: ContextOverflow("the context is full") if len(r.messages) > 2
                  else "Vertel?")
    run_id = simulate(bot_engine, library, tmp_path, bot=bot)
    [(conv, turns)] = conversations(bot_engine, run_id)
    assert conv.status == ConversationStatus.finished
    assert conv.meta["stop"] == SimulationStop.context_overflow
    assert turns[-1].error_kind == "context_overflow" and turns[-1].status == "failed"
    with Session(bot_engine) as s:
        assert s.get(Run, run_id).status == RunStatus.finished  # type: ignore[union-attr]


def test_resume_continues_a_failed_simulation_without_duplicates(
        bot_engine: sa.Engine, library: Library, tmp_path: Path) -> None:
    uninterrupted = simulate(bot_engine, library, tmp_path, bot=always("Ik luister. Vertel?"))
    expected = users(conversations(bot_engine, uninterrupted)[0][1])
    calls = {"n": 0}

    def flaky(_r: ReplyRequest) -> str | BaseException:
        calls["n"] += 1
        return ServerError("down", retryable=False) if calls["n"] == 2 else "Ik luister. Vertel?"

    run_id = create_simulation(engine=bot_engine, library=library, bot_name="reference",
                               scenario_ids=[INFO], max_turns=6)
    asyncio.run(execute_simulation(engine=bot_engine, run_id=run_id, runs_dir=tmp_path,
                                   bot=FakeBot(flaky)))
    [(conv, turns)] = conversations(bot_engine, run_id)
    assert conv.status == ConversationStatus.failed and conv.meta["stop"] == "bot_failed"
    summary = asyncio.run(execute_simulation(engine=bot_engine, run_id=run_id,
                                             runs_dir=tmp_path, bot=FakeBot(flaky)))
    [(conv, turns)] = conversations(bot_engine, run_id)
    assert conv.status == ConversationStatus.finished and summary.run.failed == 0
    assert users(turns) == expected  # the owed user turn was resent, not stored again
    assert summary.stops == {conversations(bot_engine, uninterrupted)[0][0].meta["stop"]: 1}


def test_a_second_runner_of_the_same_simulation_is_refused(
        bot_engine: sa.Engine, library: Library, tmp_path: Path) -> None:
    run_id = create_simulation(engine=bot_engine, library=library, bot_name="reference",
                               scenario_ids=[INFO], max_turns=4, repeat=3)
    held = take_lease(engine=bot_engine, run_id=run_id)
    with pytest.raises(RunBusy, match="is being played by"):
        asyncio.run(execute_simulation(engine=bot_engine, run_id=run_id, runs_dir=tmp_path))
    held.release()

    async def both() -> list[Any]:
        slow = FakeBot(lambda _r: "Vertel?")
        return await asyncio.gather(
            execute_simulation(engine=bot_engine, run_id=run_id, runs_dir=tmp_path, bot=slow),
            execute_simulation(engine=bot_engine, run_id=run_id, runs_dir=tmp_path, bot=slow),
            return_exceptions=True)

    outcomes = asyncio.run(both())
    assert sum(isinstance(o, RunBusy) for o in outcomes) == 1
    for _conv, turns in conversations(bot_engine, run_id):
        said = users(turns)
        assert len(said) == 4 and [t.index for t in turns] == list(range(len(turns)))


def test_a_simulation_and_a_batch_run_refuse_each_others_runner(
        bot_engine: sa.Engine, library: Library, tmp_path: Path) -> None:
    sim = create_simulation(engine=bot_engine, library=library, bot_name="reference",
                            scenario_ids=[INFO])
    batch = create_run(engine=bot_engine, library=library, bot_name="reference",
                       scenario_ids=[INFO])
    with pytest.raises(WrongRunKind, match="simulate --resume"):
        asyncio.run(execute_run(engine=bot_engine, run_id=sim, library=library,
                                runs_dir=tmp_path))
    with pytest.raises(WrongRunKind, match="run --resume"):
        asyncio.run(execute_simulation(engine=bot_engine, run_id=batch, runs_dir=tmp_path))


@pytest.mark.parametrize("bad", [0, 201])
def test_a_simulation_with_max_turns_out_of_bounds_is_not_recorded(
        bot_engine: sa.Engine, library: Library, bad: int) -> None:
    with pytest.raises(ValueError, match="max_turns"):
        create_simulation(engine=bot_engine, library=library, bot_name="reference",
                          scenario_ids=[INFO], max_turns=bad)
    with pytest.raises(repo.NotFound):
        create_simulation(engine=bot_engine, library=library, bot_name="reference",
                          scenario_ids=["no-such-scenario"])
    with pytest.raises(repo.NotFound):
        create_simulation(engine=bot_engine, library=library, bot_name="reference",
                          user_model="nobody")
    with Session(bot_engine) as s:
        assert s.exec(select(Run)).all() == []


def rate_every_reply(engine: sa.Engine, library: Library, run_ids: list[str]) -> None:
    with session_scope(engine) as s:
        rv = builders.rubric_version(s, library)
        rater = builders.participant(s, role=Role.expert, group=Group.expert)
        for t in s.exec(select(Turn).join(Conversation).where(
                col(Conversation.run_id).in_(run_ids), Turn.role == TurnRole.assistant,
                Turn.status == "ok")).all():
            builders.rating(s, rater=rater, turn=t, rv=rv)


def test_simulated_replies_stay_out_of_the_live_figures_and_have_their_own(
        bot_engine: sa.Engine, library: Library, tmp_path: Path) -> None:
    sim = simulate(bot_engine, library, tmp_path, bot=always("Vertel?"), max_turns=2)
    batch = create_run(engine=bot_engine, library=library, bot_name="reference",
                       scenario_ids=[INFO])
    asyncio.run(execute_run(engine=bot_engine, run_id=batch, library=library,
                            runs_dir=tmp_path))
    scripted = len(library.scenarios[INFO].scenario.scripted_turns)
    rate_every_reply(bot_engine, library, [sim, batch])
    d = build_dashboard(bot_engine)
    assert d.totals["replies"] == scripted  # the batch run's replies only
    assert d.totals["ratings"] == scripted
    overview = simulated_overview(bot_engine)
    assert (overview.conversations, overview.replies, overview.rated_replies) == (1, 2, 2)
    assert overview.by_stop == {"max_turns": 1} and overview.by_status == {"finished": 1}
    assert overview.mean_overall is not None


def test_simulated_replies_are_not_in_the_facilitators_progress(
        bot_engine: sa.Engine, library: Library, tmp_path: Path) -> None:
    from workbench.services import training

    sim = simulate(bot_engine, library, tmp_path, bot=always("Vertel?"), max_turns=2)
    with session_scope(bot_engine) as s:
        day = TrainingDay(name="Dag", day=date.today())
        s.add(day)
        s.flush()
        day_id = day.id or 0
        # Even a simulation filed under a day (by a hand-made fix) is no reply of the day.
        for conv in s.exec(select(Conversation).where(Conversation.run_id == sim)).all():
            conv.training_day_id = day_id
            s.add(conv)
    progress = training.day_progress(engine=bot_engine, training_day_id=day_id)
    assert progress.replies == 0
