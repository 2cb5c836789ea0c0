"""The OpenAI-compatible adapter, driven over real HTTP against the fault-injecting server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import workbench.bots as bots
from workbench.bots import (
    AuthFailed,
    Bot,
    BotError,
    BotTimeout,
    ConnectionRefused,
    ContextOverflow,
    MalformedResponse,
    OpenAICompatBot,
    RateLimited,
    ReferenceBot,
    RequestRejected,
    ServerError,
    StreamCut,
    make_bot,
)
from workbench.bots.base import split_words
from workbench.bots.faults import (
    Fault,
    FaultAction,
    FaultPlan,
    FaultServer,
    Latency,
    refused_base_url,
    sample_request,
)
from workbench.bots.wire import parse_retry_after
from workbench.domain.enums import BotErrorKind

REQUEST = sample_request("Mijn man slaat me", system_prompt="Je bent een hulpzame bot.")


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def server(shared_server: FaultServer) -> FaultServer:
    shared_server.reset()
    return shared_server


AdapterFactory = Callable[..., OpenAICompatBot]


@pytest.fixture
def adapter() -> Iterator[AdapterFactory]:
    """Builds bots with test-sized timeouts and backoff (`overrides` win); closes them after."""
    made: list[OpenAICompatBot] = []

    def make(server_or_url: FaultServer | str, **overrides: Any) -> OpenAICompatBot:
        base_url = server_or_url if isinstance(server_or_url, str) else server_or_url.base_url
        options: dict[str, Any] = {
            "base_url": base_url,
            "model": "test-model",
            "timeout_s": 2.0,
            "connect_timeout_s": 1.0,
            "max_retries": 2,
            "batch_retries": 3,
            "backoff_base_s": 0.01,
        }
        made.append(OpenAICompatBot(**{**options, **overrides}))
        return made[-1]

    yield make
    for bot in made:
        bot.close()


def expected_text() -> str:
    return ReferenceBot().reply_text(REQUEST)


def streamed(bot: OpenAICompatBot) -> str:
    """The reply read chunk by chunk, as a person does: the live rule for retries."""
    return "".join(bot.stream(REQUEST))


def test_stream_arrives_in_chunks_and_assembles(
    server: FaultServer, adapter: AdapterFactory
) -> None:
    stream = adapter(server).stream(REQUEST)
    chunks = list(stream)
    assert len(chunks) > 10
    assert "".join(chunks) == stream.result.text == expected_text()


def test_provenance_has_latency_usage_and_parameters(
    server: FaultServer, adapter: AdapterFactory
) -> None:
    server.reset(latency=Latency(first_chunk_ms=40, per_chunk_ms=1))
    bot = adapter(server, parameters={"temperature": 0.2, "max_tokens": 300})
    provenance = bot.complete(REQUEST).provenance
    assert provenance.bot_kind == "openai"
    assert provenance.model == "test-model"
    assert provenance.parameters == {"temperature": 0.2, "max_tokens": 300}
    assert provenance.prompt_version_hash == REQUEST.prompt_version_hash
    assert provenance.latency_first_token_ms is not None
    assert 40 <= provenance.latency_first_token_ms <= provenance.latency_total_ms
    assert provenance.prompt_tokens and provenance.prompt_tokens > 0
    assert provenance.completion_tokens == len(expected_text().split())


def test_request_carries_system_prompt_stream_options_and_parameters(
    server: FaultServer, adapter: AdapterFactory
) -> None:
    adapter(server, parameters={"temperature": 0.0, "top_k": 5}).complete(REQUEST)
    (recorded,) = server.requests
    assert recorded.model == "test-model"
    assert recorded.stream
    assert recorded.body["stream_options"] == {"include_usage": True}
    assert recorded.messages == [
        {"role": "system", "content": REQUEST.system_prompt},
        *REQUEST.messages,
    ]
    assert recorded.body["temperature"] == 0.0
    assert recorded.body["top_k"] == 5  # not an openai keyword: sent through extra_body


def test_server_without_usage_is_tolerated(server: FaultServer, adapter: AdapterFactory) -> None:
    server.plan.push(FaultAction(Fault.ok, send_usage=False))
    result = adapter(server).complete(REQUEST)
    assert result.text == expected_text()
    assert result.provenance.prompt_tokens is None
    assert result.provenance.completion_tokens is None


CUT_CLEANLY = FaultAction(Fault.cut_stream, cut_cleanly=True)


# Requests made with max_retries=2 and batch_retries=3: streamed, then as a whole reply.
@pytest.mark.parametrize(
    ("action", "error_type", "kind", "streamed_requests", "whole_requests"),
    [
        (Fault.server_error, ServerError, BotErrorKind.server_error, 3, 4),
        (FaultAction(Fault.server_error, status=503), ServerError, BotErrorKind.server_error,
         3, 4),
        (FaultAction(Fault.server_error, status=404), RequestRejected, BotErrorKind.rejected,
         1, 1),
        (Fault.garbage, MalformedResponse, BotErrorKind.malformed, 1, 1),
        (Fault.garbage_sse, MalformedResponse, BotErrorKind.malformed, 1, 1),
        (Fault.missing_choices, MalformedResponse, BotErrorKind.malformed, 1, 1),
        (Fault.unauthorized, AuthFailed, BotErrorKind.auth, 1, 1),
        (Fault.context_overflow, ContextOverflow, BotErrorKind.context_overflow, 1, 1),
        # Cut after text: shown to a person, so not retried; in a whole reply nobody saw it.
        (Fault.cut_stream, StreamCut, BotErrorKind.stream_cut, 1, 4),
        (CUT_CLEANLY, StreamCut, BotErrorKind.stream_cut, 1, 4),
    ],
)  # fmt: skip
def test_each_fault_maps_to_its_error_kind(
    server: FaultServer,
    action: Fault | FaultAction,
    error_type: type[BotError],
    kind: BotErrorKind,
    streamed_requests: int,
    whole_requests: int,
    adapter: AdapterFactory,
) -> None:
    bot = adapter(server)
    reads = ((lambda: streamed(bot), streamed_requests),
             (lambda: bot.complete(REQUEST).text, whole_requests))
    for read, requests in reads:
        server.reset(plan=FaultPlan(default=action))
        with pytest.raises(error_type) as caught:
            read()
        assert caught.value.kind is kind
        assert len(server.requests) == requests  # retried only when retrying can help
        assert caught.value.attempts == requests
        assert server.base_url in str(caught.value)


def test_timeout_is_retried_then_reported(server: FaultServer, adapter: AdapterFactory) -> None:
    server.reset(plan=FaultPlan(default=FaultAction(Fault.timeout, sleep_s=10)))
    with pytest.raises(BotTimeout) as caught:
        adapter(server, timeout_s=0.3, batch_retries=1).complete(REQUEST)
    assert caught.value.retryable
    assert len(server.requests) == 2


def test_429_waits_for_retry_after_then_succeeds(
    server: FaultServer, adapter: AdapterFactory
) -> None:
    server.plan.push(FaultAction(Fault.rate_limit, retry_after="1"))
    result = adapter(server).complete(REQUEST)
    assert result.text == expected_text()
    first, second = server.requests
    assert first.fault is Fault.rate_limit
    assert second.received_at - first.received_at >= 1.0


def test_429_retries_exhausted_raises_rate_limited(
    server: FaultServer, adapter: AdapterFactory
) -> None:
    server.reset(plan=FaultPlan(default=FaultAction(Fault.rate_limit, retry_after=None)))
    with pytest.raises(RateLimited) as caught:
        adapter(server, batch_retries=3).complete(REQUEST)
    assert caught.value.retryable
    assert caught.value.status_code == 429
    assert len(server.requests) == 4


def test_retry_after_beyond_the_limit_is_not_waited_for(
    server: FaultServer, adapter: AdapterFactory
) -> None:
    server.reset(plan=FaultPlan(default=FaultAction(Fault.rate_limit, retry_after="3600")))
    with pytest.raises(RateLimited) as caught:
        adapter(server, max_retry_after_s=5).complete(REQUEST)
    assert caught.value.retry_after_s == 3600
    assert len(server.requests) == 1


def test_cut_stream_keeps_partial_text_and_is_not_retried(
    server: FaultServer, adapter: AdapterFactory
) -> None:
    server.plan.push(FaultAction(Fault.cut_stream, cut_after_chunks=4))
    stream = adapter(server).stream(REQUEST)
    received: list[str] = []
    with pytest.raises(StreamCut) as caught:
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 4
    assert caught.value.partial_text == "".join(received)
    assert expected_text().startswith(caught.value.partial_text)
    assert len(server.requests) == 1
    with pytest.raises(RuntimeError):
        _ = stream.result


def test_cut_before_any_text_is_retried(server: FaultServer, adapter: AdapterFactory) -> None:
    server.plan.push(FaultAction(Fault.cut_stream, cut_after_chunks=0))
    assert streamed(adapter(server)) == expected_text()
    assert len(server.requests) == 2


def test_a_whole_reply_is_asked_again_after_a_cut_stream(
    server: FaultServer, adapter: AdapterFactory
) -> None:
    """Issue 13 item 7: in a batch nobody has seen the text, so a cut stream is retried."""
    bot = adapter(server, max_retries=0)  # the live rule would not retry at all
    server.plan.push(FaultAction(Fault.cut_stream, cut_after_chunks=4),
                     FaultAction(Fault.cut_stream, cut_after_chunks=2, cut_cleanly=True))

    async def run() -> bots.ReplyResult:
        async with bot:
            return await bot.acomplete(REQUEST)

    result = asyncio.run(run())
    assert result.text == expected_text()  # not the broken-off start glued to a new reply
    assert result.provenance.attempts == 3
    assert [r.fault for r in server.requests] == [Fault.cut_stream, Fault.cut_stream, Fault.ok]
    assert result.provenance.latency_first_token_ms is not None
    assert result.provenance.latency_first_token_ms <= result.provenance.latency_total_ms
    assert bot.complete(REQUEST).provenance.attempts == 1


def test_a_whole_reply_gives_up_after_batch_retries_with_the_last_partial_text(
    server: FaultServer, adapter: AdapterFactory
) -> None:
    server.reset(plan=FaultPlan(default=FaultAction(Fault.cut_stream, cut_after_chunks=3)))

    async def run() -> bots.ReplyResult:
        async with (bot := adapter(server, batch_retries=2)):
            return await bot.acomplete(REQUEST)

    with pytest.raises(StreamCut) as caught:
        asyncio.run(run())
    assert caught.value.attempts == len(server.requests) == 3
    assert expected_text().startswith(caught.value.partial_text)
    assert len(split_words(caught.value.partial_text)) == 3  # one attempt's text, not three


def test_a_whole_reply_honours_retry_after_between_attempts(
    server: FaultServer, adapter: AdapterFactory
) -> None:
    server.plan.push(FaultAction(Fault.rate_limit, retry_after="0.5"),
                     FaultAction(Fault.cut_stream, cut_after_chunks=2))

    async def run() -> bots.ReplyResult:
        async with (bot := adapter(server, backoff_base_s=0.01)):
            return await bot.acomplete(REQUEST)

    assert asyncio.run(run()).provenance.attempts == 3
    limited, cut, ok = server.requests
    assert 0.5 <= cut.received_at - limited.received_at < 3.0  # the server's wait, not 0.01 s
    assert ok.received_at - cut.received_at < 0.5


def test_connection_refused(adapter: AdapterFactory) -> None:
    with refused_base_url() as url:
        with pytest.raises(ConnectionRefused) as caught:
            adapter(url, batch_retries=1).complete(REQUEST)
    assert caught.value.kind is BotErrorKind.connection_refused
    assert caught.value.attempts == 2


def test_async_stream_and_await_form(server: FaultServer, adapter: AdapterFactory) -> None:
    bot = adapter(server)

    async def run() -> tuple[list[str], str, str]:
        stream = bot.astream(REQUEST)
        chunks = [chunk async for chunk in stream]
        awaited = await bot.astream(REQUEST)  # also usable as a coroutine
        async for _ in awaited:
            pass
        await bot.aclose()
        return chunks, stream.result.text, awaited.result.text

    chunks, text, awaited_text = asyncio.run(run())
    assert len(chunks) > 10
    assert "".join(chunks) == text == awaited_text == expected_text()


def test_async_stream_retries_429_and_maps_faults(
    server: FaultServer, adapter: AdapterFactory
) -> None:
    bot = adapter(server, timeout_s=0.3, max_retries=1)
    server.plan.push(FaultAction(Fault.rate_limit, retry_after="0.2"), Fault.ok)
    server.plan.push(FaultAction(Fault.cut_stream, cut_after_chunks=2))
    server.plan.push(FaultAction(Fault.timeout, sleep_s=10), FaultAction(Fault.timeout, sleep_s=10))

    async def run() -> list[BotError | str]:
        outcomes: list[BotError | str] = []
        for _ in range(3):
            try:
                outcomes.append("".join([chunk async for chunk in bot.astream(REQUEST)]))
            except BotError as err:
                outcomes.append(err)
        await bot.aclose()
        return outcomes

    ok, cut, timeout = asyncio.run(run())
    assert ok == expected_text()
    assert isinstance(cut, StreamCut) and cut.partial_text
    assert isinstance(timeout, BotTimeout)
    assert [r.fault for r in server.requests] == [
        Fault.rate_limit, Fault.ok, Fault.cut_stream, Fault.timeout, Fault.timeout,
    ]  # fmt: skip


def test_async_clients_survive_separate_event_loops(
    server: FaultServer, adapter: AdapterFactory
) -> None:
    bot = adapter(server)

    async def run() -> str:
        async with bot:  # closes this loop's pooled connections on the way out
            return (await bot.acomplete(REQUEST)).text

    for _ in range(2):  # one client per loop: pooled connections must not cross loops
        assert asyncio.run(run()) == expected_text()


def test_api_key_comes_from_the_named_env_var_and_is_never_shown(
    server: FaultServer, monkeypatch: pytest.MonkeyPatch, adapter: AdapterFactory
) -> None:
    monkeypatch.setenv("WB_TEST_KEY", "sk-secret-123")
    bot = adapter(server, api_key_env="WB_TEST_KEY")
    bot.complete(REQUEST)
    adapter(server).complete(REQUEST)
    with_key, without_key = server.requests
    assert with_key.headers["authorization"] == "Bearer sk-secret-123"
    assert without_key.headers["authorization"] == "Bearer not-needed"
    assert "sk-secret" not in repr(bot)
    assert "sk-secret" not in repr(vars(bot))


def test_missing_key_env_var_is_an_auth_error(
    monkeypatch: pytest.MonkeyPatch, adapter: AdapterFactory
) -> None:
    monkeypatch.delenv("WB_TEST_ABSENT", raising=False)
    with pytest.raises(AuthFailed, match="WB_TEST_ABSENT"):
        adapter("http://127.0.0.1:9/v1", api_key_env="WB_TEST_ABSENT")


def test_reserved_parameters_are_refused(adapter: AdapterFactory) -> None:
    with pytest.raises(ValueError, match="stream"):
        adapter("http://127.0.0.1:9/v1", parameters={"stream": False})


def test_error_messages_never_contain_the_key(
    server: FaultServer, monkeypatch: pytest.MonkeyPatch, adapter: AdapterFactory
) -> None:
    def echo_key(request: Any) -> Iterator[str]:
        raise ServerError("bad key sk-echoed-999")  # a server that echoes the key back
        yield ""

    monkeypatch.setenv("WB_TEST_KEY", "sk-echoed-999")
    with FaultServer(echo_key) as echoing:
        with pytest.raises(ServerError) as caught:
            adapter(echoing, api_key_env="WB_TEST_KEY", batch_retries=0).complete(REQUEST)
    assert "sk-echoed-999" not in str(caught.value)
    assert "***" in str(caught.value)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"Retry-After": "0.5"}, 0.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(httpx.Headers(headers)) == expected


def test_bots_satisfy_the_protocol_and_the_factory_builds_them() -> None:
    reference = make_bot("reference")
    remote = make_bot("openai", base_url="http://127.0.0.1:9/v1", model="m")
    assert isinstance(reference, ReferenceBot) and isinstance(reference, Bot)
    assert isinstance(remote, OpenAICompatBot) and isinstance(remote, Bot)
    remote.close()
    with pytest.raises(ValueError):
        make_bot("replay")


def test_public_surface() -> None:
    assert set(bots.__all__) == {
        "BASELINE_LABEL", "AsyncReplyStream", "AuthFailed", "Bot", "BotError", "BotTimeout",
        "ConnectionRefused", "ContextOverflow", "DeadlineExceeded", "MalformedResponse",
        "OpenAICompatBot", "Provenance", "RateLimited", "ReferenceBot", "ReplyRequest",
        "ReplyResult", "ReplyStream", "RequestRejected", "RetryPolicy", "ServerError", "StreamCut",
        "make_bot",
    }  # fmt: skip
    assert {cls.kind for cls in BotError.__subclasses__()} == set(BotErrorKind)


def test_every_client_shares_one_verifying_tls_context(fault_server: FaultServer) -> None:
    """Loading the CA bundle per client cost each batch run ~45 ms before its first request;
    the shared context must still verify certificates and host names like httpx's default."""
    import ssl

    from workbench.bots.wire import tls_context

    context = tls_context()
    assert context is tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # a CA bundle is loaded

    async def two_loops_two_clients() -> list[str]:
        bot = OpenAICompatBot(base_url=fault_server.base_url, model="m", max_retries=0)
        try:
            return [(await bot.acomplete(REQUEST)).text]
        finally:
            await bot.aclose()

    assert asyncio.run(two_loops_two_clients())[0]
    assert asyncio.run(two_loops_two_clients())[0]
