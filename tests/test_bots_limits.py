"""A reply cannot run away (issue 13 item 8): the deadline per reply, the length limit made
visible, and a context overflow reported as its own kind. Real HTTP against the fault server."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from workbench.bots import (
    BotTimeout,
    ContextOverflow,
    DeadlineExceeded,
    MalformedResponse,
    OpenAICompatBot,
    ReferenceBot,
    ReplyRequest,
    ReplyResult,
    ServerError,
)
from workbench.bots.base import split_words
from workbench.bots.faults import (
    Fault,
    FaultAction,
    FaultPlan,
    FaultServer,
    Latency,
    sample_request,
)
from workbench.domain.enums import BotErrorKind

REQUEST = sample_request("Mijn man slaat me", system_prompt="Je bent een hulpzame bot.")
EXPECTED = ReferenceBot().reply_text(REQUEST)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def server(shared_server: FaultServer) -> FaultServer:
    shared_server.reset()
    return shared_server


def make_bot(server: FaultServer, **overrides: Any) -> OpenAICompatBot:
    options: dict[str, Any] = {"base_url": server.base_url, "model": "m", "timeout_s": 2.0,
                               "backoff_base_s": 0.01, **overrides}
    return OpenAICompatBot(**options)


def whole_reply(bot: OpenAICompatBot, *, use_async: bool) -> ReplyResult:
    if not use_async:
        with bot:
            return bot.complete(REQUEST)

    async def run() -> ReplyResult:
        async with bot:
            return await bot.acomplete(REQUEST)

    return asyncio.run(run())


# --- the deadline ------------------------------------------------------------------------------


def test_a_trickle_never_trips_the_read_timeout() -> None:
    """The problem: a token every 150 ms keeps a 0.5 s read timeout happy for as long as the
    server likes; without a deadline the reply takes what it takes."""
    words = split_words("Een woord per keer, langzaam maar zeker, tot het klaar is.")
    with FaultServer(lambda request: iter(words), latency=Latency(per_chunk_ms=150)) as server:
        result = whole_reply(make_bot(server, timeout_s=0.5, deadline_s=None), use_async=True)
    assert result.text == "".join(words)
    assert result.provenance.latency_total_ms > 2 * 500  # more than twice the read timeout


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_trickling_reply_stops_at_its_deadline(server: FaultServer, use_async: bool) -> None:
    server.reset(latency=Latency(per_chunk_ms=150))  # the whole reply would take > 2 s
    bot = make_bot(server, timeout_s=2.0, deadline_s=0.6, batch_retries=3)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as caught:
        whole_reply(bot, use_async=use_async)
    elapsed = time.monotonic() - started
    assert 0.6 <= elapsed < 0.6 + 0.15 + 1.0  # at most one chunk gap late, generously
    err = caught.value
    assert isinstance(err, BotTimeout) and err.kind is BotErrorKind.timeout
    assert not err.retryable and len(server.requests) == 1  # it would run away again
    assert err.partial_text and EXPECTED.startswith(err.partial_text)
    assert "0.6 s deadline" in str(err) and server.base_url in str(err)


def test_a_streamed_reply_keeps_what_was_shown_when_the_deadline_passes(
    server: FaultServer,
) -> None:
    server.reset(latency=Latency(per_chunk_ms=150))
    shown: list[str] = []
    with make_bot(server, deadline_s=0.6) as bot, pytest.raises(DeadlineExceeded) as caught:
        for chunk in bot.stream(REQUEST):
            shown.append(chunk)
    assert shown and caught.value.partial_text == "".join(shown)


def test_a_runaway_generation_is_stopped_and_the_server_is_free_again() -> None:
    """As seen on llama.cpp: a reply that generates until the context is full. The deadline
    hangs up, the server stops generating, and the next request is answered."""
    stopped = threading.Event()

    def endless(request: ReplyRequest) -> Iterator[str]:
        try:
            for n in itertools.count():
                yield f"woord{n} "
        finally:
            stopped.set()

    with FaultServer(endless, latency=Latency(per_chunk_ms=20)) as server:
        bot = make_bot(server, deadline_s=0.5)
        with pytest.raises(DeadlineExceeded):
            whole_reply(bot, use_async=True)
        assert stopped.wait(3.0), "the server kept generating after the client hung up"
        with make_bot(server, max_retries=0) as again:
            stream = again.stream(REQUEST)
            assert next(stream) == "woord0 "  # answered at once, not after a queue
            stream.close()


def test_new_bots_have_a_deadline_by_default() -> None:
    bot = OpenAICompatBot(base_url="http://127.0.0.1:9/v1", model="m")
    assert bot.deadline_s == 120.0
    with pytest.raises(ValueError, match="deadline_s"):
        OpenAICompatBot(base_url="http://127.0.0.1:9/v1", model="m", deadline_s=0)
    bot.close()


# --- the length limit --------------------------------------------------------------------------


def test_max_tokens_is_sent_and_a_reply_stopped_by_it_is_marked_truncated(
    server: FaultServer,
) -> None:
    with make_bot(server, parameters={"max_tokens": 5}) as bot:
        result = bot.complete(REQUEST)
    assert server.requests[0].body["max_tokens"] == 5
    assert len(result.text.split()) == 5 and EXPECTED.startswith(result.text)
    assert result.provenance.finish_reason == "length" and result.provenance.truncated
    assert result.provenance.attempts == 1  # a truncated reply is a reply, not a failure


def test_a_complete_reply_is_not_truncated(server: FaultServer) -> None:
    server.plan.push(Fault.ok, FaultAction(Fault.length, cut_after_chunks=4))
    with make_bot(server) as bot:
        whole, cut = bot.complete(REQUEST), bot.complete(REQUEST)
    assert whole.provenance.finish_reason == "stop" and not whole.provenance.truncated
    assert cut.provenance.truncated and len(cut.text.split()) == 4


# --- context overflow --------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["llama.cpp", "openai", "vllm"])
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_context_overflow_is_its_own_kind_and_not_retried(
    server: FaultServer, dialect: str, use_async: bool
) -> None:
    server.reset(plan=FaultPlan(default=FaultAction(Fault.context_overflow, dialect=dialect)))
    with pytest.raises(ContextOverflow) as caught:
        whole_reply(make_bot(server, batch_retries=3), use_async=use_async)
    err = caught.value
    assert err.kind is BotErrorKind.context_overflow and not err.retryable
    assert err.status_code == 400 and len(server.requests) == 1
    assert "context" in str(err) and "4096" in str(err)


def test_running_out_of_context_mid_stream_keeps_the_text_and_the_kind() -> None:
    def fills_up(request: ReplyRequest) -> Iterator[str]:
        yield from ("Ik ", "hoor ", "je. ")
        raise ServerError("context is full: the request exceeds the available context size")

    with FaultServer(fills_up) as server, make_bot(server) as bot:
        with pytest.raises(ContextOverflow) as caught:
            list(bot.stream(REQUEST))
    assert caught.value.partial_text == "Ik hoor je. "


def test_a_5xx_about_a_context_deadline_stays_a_retryable_server_error() -> None:
    """Go servers and proxies say "context deadline exceeded" for a timeout: not an overflow."""

    def go_proxy(request: ReplyRequest) -> Iterator[str]:
        raise ServerError("upstream: context deadline exceeded")
        yield ""

    with FaultServer(go_proxy) as server, make_bot(server, batch_retries=1) as bot:
        with pytest.raises(ServerError) as caught:
            bot.complete(REQUEST)
        assert caught.value.retryable and len(server.requests) == 2


@pytest.mark.parametrize("use_async", [False, True])
def test_an_empty_stream_is_explained_by_one_unstreamed_probe(server: FaultServer,
                                                             use_async: bool) -> None:
    """llama.cpp streams nothing for a prompt over its context; the probe (stream off, one
    token) gets the 400 that says so, and it is reported as a context overflow, not retried."""
    server.reset(plan=FaultPlan(default=FaultAction(Fault.silent_overflow)))
    with pytest.raises(ContextOverflow) as caught:
        whole_reply(make_bot(server, batch_retries=3), use_async=use_async)
    assert caught.value.kind is BotErrorKind.context_overflow
    probe = server.requests[-1].body
    assert len(server.requests) == 2 and probe["stream"] is False and probe["max_tokens"] == 1


def test_an_empty_stream_without_a_reason_stays_malformed(server: FaultServer) -> None:
    server.reset(plan=FaultPlan(FaultAction(Fault.silent_overflow), Fault.ok,
                                default=FaultAction(Fault.server_error)))
    with pytest.raises(MalformedResponse) as caught, make_bot(server) as bot:
        list(bot.stream(REQUEST))
    assert caught.value.kind is BotErrorKind.malformed and len(server.requests) == 2


def test_a_reset_before_the_first_chunk_is_explained_too(server: FaultServer) -> None:
    """A connection reset before any text (llama.cpp does that as well) ends as the overflow
    the server reports, not as a cut stream."""
    server.reset(plan=FaultPlan(FaultAction(Fault.cut_stream, cut_after_chunks=0),
                                FaultAction(Fault.context_overflow, dialect="openai"),
                                default=FaultAction(Fault.server_error)))
    with pytest.raises(ContextOverflow), make_bot(server) as bot:
        list(bot.stream(REQUEST))
    assert len(server.requests) == 2
