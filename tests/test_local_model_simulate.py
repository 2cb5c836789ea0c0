"""`workbench simulate` against the real local model (llama.cpp + Gemma 3 270M, see
tests/local_model.py): the model plays the user against the bot, the persona prompt reaches it,
and a small context ends a conversation cleanly as `context_overflow`. Mechanics, not quality.
Skipped, with the reason, where the model is not installed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from tests.local_model import MODEL, LocalModelServer
from tests.test_local_model import SMALL_CTX, SYSTEM, _serve
from workbench.domain.enums import BotKind, ConversationKind, SimulationStop, TurnRole
from workbench.domain.library import Library, load_library
from workbench.domain.simulated_user import Persona, persona_prompt
from workbench.services.evaluation import create_simulation, execute_simulation
from workbench.services.targets import add_target
from workbench.storage.db import make_engine, migrate
from workbench.storage.tables import Conversation, Turn

pytestmark = [pytest.mark.local_model, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = "info-wat-doet-veilig-thuis-blijft-dit-anoniem"


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalModelServer]:
    from tests.local_model import N_CTX

    yield from _serve(tmp_path_factory, N_CTX)


@pytest.fixture(scope="module")
def tiny_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalModelServer]:
    yield from _serve(tmp_path_factory, SMALL_CTX)


@pytest.fixture(scope="module")
def lib() -> Library:
    return load_library([ROOT / "scenarios", ROOT / "rubrics"])


def fresh_engine(tmp_path: Path) -> sa.Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'sim.db'}")
    migrate(eng)
    return eng


def target(eng: sa.Engine, name: str, server: LocalModelServer, tokens: int) -> None:
    add_target(engine=eng, name=name, kind=BotKind.openai, base_url=server.base_url,
               model=MODEL, prompt=SYSTEM, label="v1",
               parameters={"max_tokens": tokens, "temperature": 0})


def turns_of(eng: sa.Engine, run_id: str) -> tuple[Conversation, list[Turn]]:
    with Session(eng) as s:
        conv = s.exec(select(Conversation).where(Conversation.run_id == run_id)).one()
        turns = list(s.exec(select(Turn).where(Turn.conversation_id == conv.id)
                            .order_by(col(Turn.index))).all())
    return conv, turns


def test_the_persona_prompt_reaches_the_model(model_server: LocalModelServer,
                                              lib: Library) -> None:
    prompt = persona_prompt(Persona.of(lib.scenarios[SCENARIO].scenario))

    def prompt_tokens(messages: list[dict[str, str]]) -> int:
        got = httpx.post(f"{model_server.base_url}/chat/completions", timeout=120.0,
                         json={"model": MODEL, "temperature": 0, "max_tokens": 1,
                               "messages": messages})
        assert got.status_code == 200, got.text
        return int(got.json()["usage"]["prompt_tokens"])

    hoi = [{"role": "user", "content": "Hoi"}]
    assert prompt_tokens([{"role": "system", "content": prompt}, *hoi]) - prompt_tokens(hoi) > 150


def test_the_model_plays_the_user_against_the_bot(model_server: LocalModelServer, lib: Library,
                                                  tmp_path: Path) -> None:
    eng = fresh_engine(tmp_path)
    target(eng, "bot", model_server, 32)
    target(eng, "user", model_server, 32)
    run_id = create_simulation(engine=eng, library=lib, bot_name="bot", user_model="user",
                               scenario_ids=[SCENARIO], max_turns=2, concurrency=1)
    summary = asyncio.run(execute_simulation(engine=eng, run_id=run_id, runs_dir=tmp_path))
    conv, turns = turns_of(eng, run_id)
    assert conv.kind == ConversationKind.simulated
    assert conv.meta["stop"] in {s.value for s in SimulationStop}
    said = [t for t in turns if t.role == TurnRole.user]
    # A 270M base model may say nothing usable: then the conversation says so, nothing else.
    if conv.meta["stop"] == SimulationStop.user_model_failed and not said:
        pytest.skip("the model wrote nothing usable as the user this time")
    assert said and all(t.content.strip() and t.model == "user" for t in said)
    replies = [t for t in turns if t.role == TurnRole.assistant and t.status == "ok"]
    assert replies and all(r.model == MODEL for r in replies)
    assert summary.run.conversations == 1
    eng.dispose()


def test_a_small_context_ends_the_conversation_cleanly_with_context_overflow(
        tiny_server: LocalModelServer, lib: Library, tmp_path: Path) -> None:
    eng = fresh_engine(tmp_path)
    target(eng, "bot", tiny_server, 48)
    run_id = create_simulation(engine=eng, library=lib, bot_name="bot",
                               scenario_ids=[SCENARIO], max_turns=40, concurrency=1)
    summary = asyncio.run(execute_simulation(engine=eng, run_id=run_id, runs_dir=tmp_path))
    conv, turns = turns_of(eng, run_id)
    assert conv.meta["stop"] == SimulationStop.context_overflow, (
        conv.meta, [(t.role, t.status, t.error_kind, t.error_message) for t in turns[-3:]])
    assert conv.status == "finished" and summary.run.failed == 0
    assert turns[-1].status == "failed" and turns[-1].error_kind == "context_overflow"
    eng.dispose()
