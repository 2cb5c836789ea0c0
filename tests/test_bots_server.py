"""The OpenAI-compatible server: the official client gets what the bot says, over real HTTP."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from workbench.bots import BotTimeout, ReferenceBot, ReplyRequest, ServerError
from workbench.bots.faults import (
    Fault,
    FaultAction,
    FaultPlan,
    FaultServer,
    Latency,
    sample_request,
)
from workbench.bots.openai_compat import OpenAICompatBot
from workbench.bots.server import RunningServer, running_server, to_reply_request

SYSTEM_PROMPT = "Je bent de chatbot van Veilig Thuis.\nstijl: uitgebreid"
QUESTION = "Mijn vriend controleert mijn telefoon"
OPENAI_MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": SYSTEM_PROMPT},
    {"role": "user", "content": QUESTION},
]


@pytest.fixture(scope="module")
def reference_server() -> Iterator[RunningServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def client(reference_server: RunningServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=reference_server.base_url, api_key="-", max_retries=0) as client:
        yield client


def direct_reply() -> str:
    messages = [{"role": "user", "content": QUESTION}]
    request = ReplyRequest(system_prompt=SYSTEM_PROMPT, messages=messages, prompt_version_hash="x")
    return ReferenceBot().reply_text(request)


def test_streaming_client_gets_the_same_text_as_the_bot(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="reference-v1",
        messages=OPENAI_MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == direct_reply()
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_plain_client_gets_the_same_text_as_the_bot(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="reference-v1",
        messages=OPENAI_MESSAGES,
    )
    assert completion.choices[0].message.content == direct_reply()
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_models_endpoint_lists_the_bot(client: openai.OpenAI) -> None:
    models = client.models.list()
    assert [m.id for m in models.data] == ["reference-v1"]


def test_bad_requests_get_openai_style_errors(reference_server: RunningServer) -> None:
    base = reference_server.base_url
    not_json = httpx.post(f"{base}/chat/completions", content=b"{nope")
    assert not_json.status_code == 400 and "error" in not_json.json()
    no_messages = httpx.post(f"{base}/chat/completions", json={"model": "m", "messages": []})
    assert no_messages.status_code == 400
    assert httpx.get(f"{base}/nothing").status_code == 404


def test_serves_any_reply_function() -> None:
    def shout(request: ReplyRequest) -> list[str]:
        return [word.upper() + " " for word in request.messages[-1]["content"].split()]

    with (
        running_server(shout) as server,
        OpenAICompatBot(base_url=server.base_url, model="s") as bot,
    ):
        assert bot.complete(sample_request("hallo daar")).text == "HALLO DAAR "


def test_a_failing_bot_becomes_an_http_error() -> None:
    def broken(request: ReplyRequest) -> Iterator[str]:
        raise ServerError("upstream model is down")
        yield ""

    with running_server(broken) as server:
        bot = OpenAICompatBot(base_url=server.base_url, model="m", batch_retries=0)
        with bot, pytest.raises(ServerError, match="502"):
            bot.complete(sample_request())


def test_to_reply_request_folds_system_messages_and_content_parts() -> None:
    request = to_reply_request(
        {
            "messages": [
                {"role": "system", "content": "a"},
                {"role": "developer", "content": "b"},
                {"role": "user", "content": [{"type": "text", "text": "hoi"}]},
            ]
        }
    )
    assert request.system_prompt == "a\n\nb"
    assert request.messages == [{"role": "user", "content": "hoi"}]
    assert len(request.prompt_version_hash) == 16


def test_32_concurrent_streams_are_served_in_parallel() -> None:
    with FaultServer(latency=Latency(first_chunk_ms=300, per_chunk_ms=1)) as server:
        bot = OpenAICompatBot(base_url=server.base_url, model="m", max_retries=0)

        async def run() -> list[str]:
            requests = [sample_request(f"Mijn man slaat me {i}") for i in range(32)]
            async with bot:
                results = await asyncio.gather(*(bot.acomplete(r) for r in requests))
            return [r.text for r in results]

        started = time.monotonic()
        texts = asyncio.run(run())
        elapsed = time.monotonic() - started
    assert len(texts) == 32 and all(texts)
    assert elapsed < 32 * 0.3 / 2  # one after another would take at least 9.6 s


def test_stopping_does_not_wait_for_sleeping_faults() -> None:
    server = FaultServer(plan=FaultPlan(default=FaultAction(Fault.timeout, sleep_s=60)))
    server.start()
    bot = OpenAICompatBot(base_url=server.base_url, model="m", timeout_s=0.2, batch_retries=0)
    with bot, pytest.raises(BotTimeout):
        bot.complete(sample_request())
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2.0


def test_run_reference_server_blocks_serves_and_stops_on_ctrl_c() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = f"from workbench.bots.server import run_reference_server; run_reference_server({port})"
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.1)
        assert response.json()["data"][0]["id"] == "reference-v1"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
