"""The workbench against a real inference server: llama.cpp's OpenAI-compatible server with Gemma 3
270M (see tests/local_model.py). These check mechanics over real HTTP, never quality: the model's
Dutch is poor. Replies are capped at a few dozen tokens to keep the suite fast.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from typer.testing import CliRunner

from tests.local_model import (
    MODEL,
    N_CTX,
    LocalModelServer,
    missing_reason,
    running_server,
)
from workbench.bots import BotError, OpenAICompatBot, ReplyRequest
from workbench.domain.enums import (
    BotErrorKind,
    BotKind,
    ConversationKind,
    RatingSource,
    TurnRole,
    TurnStatus,
)
from workbench.domain.library import Library
from workbench.domain.rubrics import Rubric
from workbench.services import training
from workbench.services.evaluation import (
    ajudge_turns,
    answer_schema,
    judge_code,
    judge_reasons,
    parse_judgement,
)
from workbench.services.targets import add_target
from workbench.storage.db import make_engine, migrate
from workbench.storage.tables import Conversation, Participant, Rating, Turn

pytestmark = [pytest.mark.local_model, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = "info-wat-doet-veilig-thuis-blijft-dit-anoniem"
SYSTEM = "Je bent de chatbot van Veilig Thuis. Antwoord kort, vriendelijk en in het Nederlands."
REPLY_TOKENS = 48
SMALL_CTX = 256  # llama.cpp pads a context to a multiple of 256
JUDGE_TOKENS = 600  # the schema bounds each reason (answer_schema): ~250 tokens seen for 9


def _serve(tmp_path_factory: pytest.TempPathFactory, n_ctx: int) -> Iterator[LocalModelServer]:
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    log = tmp_path_factory.mktemp(f"llama-server-{n_ctx}") / "server.log"
    with running_server(log, n_ctx=n_ctx) as running:
        yield running
        # Figures for the record (pytest -s shows them).
        print(f"\nllama_cpp.server n_ctx={n_ctx}: ready in {running.start_s:.1f} s, "
              f"peak RSS {running.peak_rss_mb() or 0:.0f} MB, log {log}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalModelServer]:
    yield from _serve(tmp_path_factory, N_CTX)


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalModelServer]:
    """A server with a tiny context, so that filling it takes seconds, not minutes."""
    yield from _serve(tmp_path_factory, SMALL_CTX)


def ask(text: str) -> ReplyRequest:
    return ReplyRequest(system_prompt=SYSTEM, messages=[{"role": "user", "content": text}],
                        prompt_version_hash="local-model-test")


def chat(server: LocalModelServer, **body: object) -> httpx.Response:
    """One raw, non-streamed request: what the server itself answers, before any adapter."""
    return httpx.post(f"{server.base_url}/chat/completions", timeout=120.0,
                      json={"model": MODEL, "temperature": 0, **body})


def stream_lines(server: LocalModelServer, **body: object) -> tuple[int, list[str]]:
    """One raw streamed request: the status and the SSE data lines."""
    with httpx.stream("POST", f"{server.base_url}/chat/completions", timeout=120.0,
                      json={"model": MODEL, "temperature": 0, "stream": True, **body}) as got:
        return got.status_code, [line.removeprefix("data: ") for line in got.iter_lines()
                                 if line.startswith("data: ")]


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def tokens_ok(count: int | None, cap: int) -> bool:
    # None: llama-cpp-python sends no usage in a stream (see the pinned test below).
    return count is None or 0 < count <= cap


# --- (a) the adapter and what the server answers ------------------------------------------------


def test_adapter_streams_a_capped_reply(server: LocalModelServer) -> None:
    bot = OpenAICompatBot(base_url=server.base_url, model=MODEL,
                          parameters={"max_tokens": REPLY_TOKENS, "temperature": 0})
    with bot:
        stream = bot.stream(ask("Hoi, mag ik iets vragen over mijn thuissituatie?"))
        chunks = list(stream)
    result = stream.result
    assert len(chunks) > 1 and result.text == "".join(chunks) and result.text.strip()
    p = result.provenance
    assert p.model == MODEL and p.parameters["max_tokens"] == REPLY_TOKENS
    assert tokens_ok(p.completion_tokens, REPLY_TOKENS)
    assert p.latency_first_token_ms is not None and 0 < p.latency_first_token_ms
    assert p.latency_first_token_ms <= p.latency_total_ms


def test_adapter_async_path_completes(server: LocalModelServer) -> None:
    # The batch runner and the judge use the async client (aiohttp transport).
    async def go() -> tuple[str, int | None]:
        async with OpenAICompatBot(base_url=server.base_url, model=MODEL,
                                   parameters={"max_tokens": 16, "temperature": 0}) as bot:
            result = await bot.acomplete(ask("Wat is het telefoonnummer?"))
        return result.text, result.provenance.completion_tokens

    text, tokens = asyncio.run(go())
    assert text.strip() and tokens_ok(tokens, 16)


def test_the_system_prompt_reaches_the_model(server: LocalModelServer) -> None:
    # The chat template (tests/data/gemma3-tokenizer-config.json) keeps the system prompt;
    # the server's own "gemma" format would silently drop it.
    alone = chat(server, max_tokens=1, messages=user("Hoi"))
    with_system = chat(server, max_tokens=1,
                       messages=[{"role": "system", "content": SYSTEM}, *user("Hoi")])
    grown = with_system.json()["usage"]["prompt_tokens"] - alone.json()["usage"]["prompt_tokens"]
    assert grown > 10


def test_streamed_replies_carry_no_token_usage(server: LocalModelServer) -> None:
    # Pinned: llama-cpp-python 0.3.36 ignores stream_options.include_usage, so the workbench
    # stores no token counts for replies streamed from it (it never guesses them).
    status, lines = stream_lines(server, max_tokens=4, messages=user("Hoi"),
                                 stream_options={"include_usage": True})
    assert status == 200 and lines[-1] == "[DONE]"
    chunks = [json.loads(line) for line in lines[:-1]]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert not any(chunk.get("usage") for chunk in chunks)


def test_max_tokens_ends_the_reply_with_finish_reason_length(server: LocalModelServer) -> None:
    got = chat(server, max_tokens=8, messages=user("Schrijf een lang verhaal over een boot."))
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 8


def test_without_max_tokens_a_reply_runs_until_the_context_is_full(
        small_server: LocalModelServer) -> None:
    # Issue 13 item 8: no max_tokens (or 0, or -1) means "until the context is full" here, not
    # a server default; with a 2048-token context on a slow CPU that is minutes per reply.
    got = chat(small_server, messages=user("Vertel een lang verhaal."))
    assert got.status_code == 200, got.text
    usage = got.json()["usage"]
    assert usage["prompt_tokens"] + usage["completion_tokens"] == SMALL_CTX
    assert got.json()["choices"][0]["finish_reason"] == "length"


OVERFLOW = "Hij schreeuwt elke avond tegen me. " * SMALL_CTX  # ~8 tokens a sentence


def test_context_overflow_unstreamed_is_a_400_context_length_exceeded(
        small_server: LocalModelServer) -> None:
    started = time.perf_counter()
    got = chat(small_server, max_tokens=16, messages=user(OVERFLOW))
    assert time.perf_counter() - started < 30  # refused before any token is generated
    assert got.status_code == 400, got.text
    error = got.json()["error"]
    assert error["code"] == "context_length_exceeded"
    assert error["type"] == "invalid_request_error"
    assert f"maximum context length is {SMALL_CTX} tokens" in error["message"]


def test_context_overflow_streamed_is_an_empty_200_stream(small_server: LocalModelServer) -> None:
    # Pinned, and the case an adapter meets: the server sends 200 and the SSE headers before it
    # looks at the prompt, then the error ends the stream without a single event (not even
    # [DONE]); the reason is only in the server's log.
    status, lines = stream_lines(small_server, max_tokens=16, messages=user(OVERFLOW))
    assert (status, lines) == (200, [])
    bot = OpenAICompatBot(base_url=small_server.base_url, model=MODEL, max_retries=2,
                          parameters={"max_tokens": 16})
    with bot, pytest.raises(BotError) as info:
        bot.complete(ask(OVERFLOW))
    # The adapter asks once without streaming, which gets the server's 400: a context overflow
    # by its own kind; asking again cannot help and is not tried.
    assert info.value.kind is BotErrorKind.context_overflow
    assert info.value.retryable is False and info.value.attempts == 1


def test_a_prompt_near_the_context_end_gets_a_shortened_reply(
        small_server: LocalModelServer) -> None:
    # prompt + max_tokens beyond the context is no error: the server lowers max_tokens to what
    # is left of the context.
    def prompt_tokens(n: int) -> int:
        got = chat(small_server, max_tokens=1, messages=user("Ik ben bang. " * n))
        return int(got.json()["usage"]["prompt_tokens"])

    base, per = prompt_tokens(10), (prompt_tokens(30) - prompt_tokens(10)) / 20
    n = 10 + int((SMALL_CTX - 20 - base) / per)
    left = SMALL_CTX - prompt_tokens(n)
    assert 0 < left < 40, f"adjust the probe: {left} tokens left"
    got = chat(small_server, max_tokens=500, messages=user("Ik ben bang. " * n))
    assert got.status_code == 200, got.text
    assert got.json()["usage"]["completion_tokens"] <= left


# --- (b) a scripted scenario through the workbench ----------------------------------------------


def test_scripted_scenario_plays_through_the_cli(server: LocalModelServer, settings,
                                                 library: Library) -> None:  # type: ignore[no-untyped-def]
    from workbench.cli import app
    from workbench.services.context import get_engine

    runner = CliRunner()
    added = runner.invoke(app, [
        "bot", "add", "local", "--kind", "openai", "--base-url", server.base_url,
        "--model", MODEL, "--prompt-file", str(ROOT / "workbench" / "prompts" / "basis.txt"),
        "--label", "basis", "--max-tokens", str(REPLY_TOKENS), "--temperature", "0"])
    assert added.exit_code == 0, added.output
    played = runner.invoke(app, ["run", "--bot", "local", "--scenario", SCENARIO,
                                 "--concurrency", "1"])
    assert played.exit_code == 0, played.output
    run_id = played.stdout.strip().splitlines()[-1]
    scripted = [t.text for t in library.scenarios[SCENARIO].scenario.scripted_turns]
    with Session(get_engine(settings)) as s:
        conv = s.exec(select(Conversation).where(Conversation.run_id == run_id)).one()
        turns = s.exec(select(Turn).where(Turn.conversation_id == conv.id)
                       .order_by(Turn.index)).all()  # type: ignore[arg-type]
    assert conv.status == "finished"
    assert [t.content for t in turns if t.role == TurnRole.user] == scripted
    replies = [t for t in turns if t.role == TurnRole.assistant]
    assert len(replies) == len(scripted)
    for reply in replies:
        assert reply.status == TurnStatus.ok and reply.content.strip()
        assert reply.model == MODEL and reply.parameters["max_tokens"] == REPLY_TOKENS
        assert reply.prompt_version_id is not None
        assert reply.latency_first_token_ms is not None and reply.latency_total_ms
        assert 0 < reply.latency_first_token_ms <= reply.latency_total_ms
        assert tokens_ok(reply.completion_tokens, REPLY_TOKENS)
    lines = (settings.runs_dir / run_id / "transcripts.jsonl").read_text().splitlines()
    assert len(lines) == 1


# --- (c) the judge with JSON-schema-constrained output ------------------------------------------


def expert_rubric(library: Library) -> Rubric:
    loaded = library.rubric("expert")
    assert loaded is not None
    return loaded.rubric


@pytest.fixture(scope="module")
def judged(server: LocalModelServer,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sa.Engine, int]]:
    """A database holding one bot reply of a scripted scenario; (engine, its turn id).

    Shared by the judge tests: the judge's prompt (rubric, scenario, conversation, reply) is
    then the same each time and the server reuses its evaluation, the slow part on 2 cores.
    """
    from workbench.domain.library import load_library

    library = load_library([ROOT / "scenarios", ROOT / "rubrics"])
    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('judged') / 'judged.db'}")
    migrate(eng)
    bot = add_target(engine=eng, name="local", kind=BotKind.openai, base_url=server.base_url,
                     model=MODEL, prompt=SYSTEM, label="v1",
                     parameters={"max_tokens": 32, "temperature": 0})
    cid = training.start_conversation(engine=eng, kind=ConversationKind.scripted,
                                      bot_target_id=bot.id, scenario_id=SCENARIO,
                                      library=library)
    first = library.scenarios[SCENARIO].scenario.scripted_turns[0].text
    training.add_user_turn(engine=eng, conversation_id=cid, text=first)
    turn = training.complete_reply(engine=eng, conversation_id=cid)
    assert turn.status == TurnStatus.ok and turn.id
    yield eng, turn.id
    eng.dispose()


def test_server_constrains_the_answer_to_the_rubric_schema(server: LocalModelServer,
                                                           library: Library) -> None:
    # The panel's rubric (4 criteria) keeps this one short; the judge test below takes the
    # experts' 9.
    loaded = library.rubric("lived-experience")
    assert loaded is not None
    rubric = loaded.rubric
    got = chat(server, max_tokens=JUDGE_TOKENS, response_format={
        "type": "json_object", "schema": answer_schema(rubric, reason_chars=40)}, messages=[
        {"role": "system", "content": "Beoordeel het antwoord van de bot met de rubric."},
        *user("Antwoord van de bot: 'Bel 112 als je in gevaar bent.'")])
    assert got.status_code == 200, got.text
    choice = got.json()["choices"][0]
    assert choice["finish_reason"] == "stop", "the answer was cut off: raise JUDGE_TOKENS"
    judgement = parse_judgement(rubric, choice["message"]["content"])  # raises if it does not fit
    assert set(judgement.values) == {c.key for c in rubric.criteria}


def test_openai_json_schema_form_is_a_server_error_here(server: LocalModelServer,
                                                        library: Library) -> None:
    # Pinned: llama-cpp-python 0.3.36 types response_format as {"type": "text" | "json_object",
    # "schema": ...}. OpenAI's own form, which vLLM and Ollama take, fails its validation, and
    # the failure comes back as HTTP 500 internal_server_error, which an adapter would retry.
    schema = answer_schema(expert_rubric(library), reason_chars=40)
    got = chat(server, max_tokens=8, messages=user("Hoi"), response_format={
        "type": "json_schema", "json_schema": {"name": "judge", "schema": schema,
                                               "strict": True}})
    assert got.status_code == 500, got.text
    error = got.json()["error"]
    assert error["type"] == "internal_server_error"
    assert "literal_error" in error["message"] and "response_format" in error["message"]


def test_workbench_judge_scores_a_reply_with_the_schema(
        judged: tuple[sa.Engine, int], server: LocalModelServer, library: Library) -> None:
    db, turn_id = judged
    rubric = expert_rubric(library)
    # The workbench builds the rubric's answer schema in the form llama.cpp's server takes.
    add_target(engine=db, name="gemma-judge", kind=BotKind.openai, base_url=server.base_url,
               model=MODEL, prompt="(judge)", label="judge", parameters={
                   "max_tokens": JUDGE_TOKENS, "temperature": 0, "timeout_s": 300,
                   "deadline_s": 900})
    summary = asyncio.run(ajudge_turns(db, [turn_id], "gemma-judge", concurrency=1,
                                       library=library, retries=0, json_schema="llama-cpp",
                                       reason_chars=40))
    assert (summary.judged, summary.failed) == (1, 0), summary.failure_kinds
    with Session(db) as s:
        rating = s.exec(select(Rating).where(Rating.turn_id == turn_id)).one()
    assert rating.source == RatingSource.judge and rating.judge_model == MODEL
    assert set(rating.values) == {c.key for c in rubric.criteria}
    assert set(judge_reasons(rating.comment)) == {c.key for c in rubric.criteria}


def test_workbench_judge_json_mode_alone_never_turns_a_bad_answer_into_a_score(
        judged: tuple[sa.Engine, int], server: LocalModelServer, library: Library) -> None:
    # json_mode sends {"type": "json_object"} without a schema: the server then promises only
    # some JSON. Whatever this small model makes of the instructions, the judge either stores a
    # valid judgement or records a failure, never a partial score.
    db, turn_id = judged
    add_target(engine=db, name="gemma-json", kind=BotKind.openai, base_url=server.base_url,
               model=MODEL, prompt="(judge)", label="judge",
               parameters={"max_tokens": 128, "temperature": 0, "timeout_s": 300,
                           "deadline_s": 900})
    summary = asyncio.run(ajudge_turns(db, [turn_id], "gemma-json", concurrency=1,
                                       library=library, retries=0, json_mode=True))
    assert summary.judged + summary.failed == 1
    if summary.failed:
        assert summary.failure_kinds == {"invalid_output": 1}
    with Session(db) as s:
        rater = s.exec(select(Participant).where(
            Participant.code == judge_code("gemma-json"))).one()
        ratings = s.exec(select(Rating).where(Rating.turn_id == turn_id,
                                              Rating.rater_id == rater.id)).all()
    assert len(ratings) == summary.judged


def test_an_unknown_model_name_is_answered_by_the_loaded_model(server: LocalModelServer) -> None:
    # A typo in a bot target's --model is not caught by this server (OpenAI would answer 404):
    # llama-cpp-python serves any name with its default model. Pinned so that nobody relies on
    # the server to check it.
    client = openai.OpenAI(base_url=server.base_url, api_key="not-needed", max_retries=0)
    got = client.chat.completions.create(model="no-such-model", max_tokens=4,
                                         messages=user("Hoi"))  # type: ignore[arg-type]
    assert got.choices[0].message.content is not None
