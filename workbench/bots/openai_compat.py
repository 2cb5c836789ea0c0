"""A bot backed by any OpenAI-compatible chat completions server (OpenAI, Azure /openai/v1/, vLLM,
Ollama, LM Studio, llama.cpp), streaming, with explicit timeouts (each read, and a deadline for
each request as a whole) and error mapping (failures.py).

The openai client's own retries are switched off (`max_retries=0`): the workbench's RetryPolicy
(policy.py, applied in base.py) keeps the rule visible and testable, and refuses to retry once
text has reached the user.
"""

from __future__ import annotations

import asyncio
import os
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any, Self

import httpx
import openai

from workbench.bots.base import BaseBot, ReplyRequest, StreamMeta
from workbench.bots.errors import (
    AuthFailed,
    BotError,
    BotTimeout,
    ContextOverflow,
    DeadlineExceeded,
    MalformedResponse,
    StreamCut,
)
from workbench.bots.failures import classify
from workbench.bots.policy import RetryPolicy
from workbench.bots.wire import tls_context
from workbench.domain.enums import BotKind

LOCAL_DUMMY_KEY = "not-needed"  # local servers (vLLM, Ollama, LM Studio) ignore the key
# Long enough for a 600-token reply from a small model on a CPU (~5 tokens/s); short enough that
# a reply generating until the context is full (4.5 minutes seen on llama.cpp) is stopped.
DEFAULT_DEADLINE_S = 120.0

# Parameters go into the request body as given (temperature, top_k for vLLM...); these the
# bot sets itself.
_RESERVED_PARAMETERS = frozenset({"model", "messages", "stream", "stream_options", "n"})


class _Secret:
    """Holds the API key so that repr(), vars() and tracebacks never show it."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "_Secret('***')"


class _ChunkReader:
    """Checks the chunks of one streamed completion and pulls out text, usage and why it ended.

    Also keeps the attempt's deadline: the per-read timeout never trips on a server that sends
    a token every second, so the time since the request was sent is checked at every chunk.
    """

    def __init__(self, deadline_s: float | None) -> None:
        self.started = time.monotonic()
        self.deadline_s = deadline_s
        self.chunks = 0
        self.text_chars = 0
        self.finish_reason: str | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None

    def feed(self, chunk: object) -> str:
        # Chunks arrive as plain JSON objects (see _post_stream): reading dicts directly is
        # several times cheaper than the client's typed models, per chunk, for every token.
        self.chunks += 1
        if self.deadline_s is not None and time.monotonic() - self.started > self.deadline_s:
            raise DeadlineExceeded(
                f"was still sending the reply after the {self.deadline_s:g} s deadline "
                f"({self.text_chars} characters so far)"
            )
        if not isinstance(chunk, dict):
            raise MalformedResponse(f"sent a stream chunk that is not JSON: {_short(chunk)}")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.prompt_tokens = _int_or_none(usage.get("prompt_tokens"))
            self.completion_tokens = _int_or_none(usage.get("completion_tokens"))
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            raise MalformedResponse(f"sent a chunk without a 'choices' list: {_short(chunk)}")
        if not choices:  # the final usage chunk, or Azure's empty first chunk
            return ""
        choice = choices[0] if isinstance(choices[0], dict) else {}
        finish_reason = choice.get("finish_reason")
        if finish_reason:
            self.finish_reason = str(finish_reason)
        delta = choice.get("delta")
        content = delta.get("content") if isinstance(delta, dict) else None
        if not isinstance(content, str):
            return ""
        self.text_chars += len(content)
        return content

    def finish(self, meta: StreamMeta, *, event_stream: bool = True) -> None:
        if self.chunks == 0:
            raise (_EmptyStream if event_stream else MalformedResponse)(
                "answered without a single completion chunk (not an OpenAI-compatible stream?)"
            )
        if self.finish_reason is None:
            raise StreamCut("ended the stream without a finish_reason")
        meta.prompt_tokens = self.prompt_tokens
        meta.completion_tokens = self.completion_tokens
        meta.finish_reason = self.finish_reason


class _EmptyStream(MalformedResponse):
    """A 200 event stream with no event at all (llama.cpp's answer to a prompt over its
    context; see OpenAICompatBot._explained)."""


def _is_event_stream(response: Any) -> bool:
    """An SSE answer (as opposed to, say, a proxy's HTML page, which parses to no event too)."""
    return "text/event-stream" in str(response.headers.get("content-type", ""))


def _nothing_arrived(reader: _ChunkReader, err: BotError) -> bool:
    return reader.chunks == 0 and isinstance(err, StreamCut | _EmptyStream)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _short(value: object, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


class OpenAICompatBot(BaseBot):
    """Streams replies from an OpenAI-compatible `/chat/completions` endpoint."""

    kind = BotKind.openai

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        parameters: dict[str, Any] | None = None,
        api_key_env: str | None = None,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 5.0,
        deadline_s: float | None = DEFAULT_DEADLINE_S,
        max_retries: int = 2,
        batch_retries: int = 5,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 20.0,
        max_retry_after_s: float = 60.0,
    ) -> None:
        """`timeout_s` bounds each wait for data (read), `connect_timeout_s` the TCP connect,
        `deadline_s` one attempt from sending the request to its last chunk (None: no limit).
        The deadline is checked as chunks arrive, so a silent server is caught by `timeout_s`
        instead: an attempt ends within `deadline_s + timeout_s` whatever the server does.

        Retries follow `self.retry` (a RetryPolicy, see policy.py): `max_retries` for a
        streamed reply before its first text, `batch_retries` for a whole reply (`complete`,
        `acomplete`), also after a cut stream; waits back off from `backoff_base_s` up to
        `backoff_max_s`, or follow the server's Retry-After up to `max_retry_after_s`.
        """
        self.parameters = dict(parameters or {})
        clash = _RESERVED_PARAMETERS & self.parameters.keys()
        if clash:
            raise ValueError(f"parameters may not set {sorted(clash)}; the bot sets them itself")
        if deadline_s is not None and deadline_s <= 0:
            raise ValueError("deadline_s must be > 0 (or None for no deadline)")
        self.base_url = base_url
        self.model = model
        self.api_key_env = api_key_env
        self.deadline_s = deadline_s
        self.retry = RetryPolicy(
            max_retries=max_retries, batch_retries=batch_retries, backoff_base_s=backoff_base_s,
            backoff_max_s=backoff_max_s, max_retry_after_s=max_retry_after_s,
        )  # fmt: skip
        self._key = _Secret(self._read_key(api_key_env))
        self._timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        self._client = openai.OpenAI(
            **self._client_options(),
            http_client=openai.DefaultHttpxClient(timeout=self._timeout, verify=tls_context()),
        )
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, openai.AsyncOpenAI
        ] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return (
            f"OpenAICompatBot(base_url={self.base_url!r}, model={self.model!r}, "
            f"api_key_env={self.api_key_env!r})"
        )

    @staticmethod
    def _read_key(api_key_env: str | None) -> str:
        if not api_key_env:
            return LOCAL_DUMMY_KEY
        key = os.environ.get(api_key_env, "")
        if not key:
            raise AuthFailed(f"the API key environment variable {api_key_env!r} is not set")
        return key

    def _client_options(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "api_key": self._key.reveal(),
            "timeout": self._timeout,
            "max_retries": 0,
        }

    def _async_client(self) -> openai.AsyncOpenAI:
        # An async client's pooled connections belong to one event loop; reusing them from
        # another loop (each asyncio.run) fails, so keep one client per loop. It runs on the
        # SDK's aiohttp transport: httpcore's pool scans every connection for every queued
        # request, which made the client's CPU per reply grow with the requests in flight;
        # aiohttp halves the CPU per request at 32 in flight (bench/runner_throughput.py).
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            client = openai.AsyncOpenAI(
                **self._client_options(),
                http_client=openai.DefaultAioHttpClient(
                    timeout=self._timeout, verify=tls_context()
                ),
            )
            self._async_clients[loop] = client
        return client

    def close(self) -> None:
        """Release the sync client's pooled connections."""
        self._client.close()

    async def aclose(self) -> None:
        """Release the running event loop's pooled connections; call before the loop ends."""
        client = self._async_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _body(self, request: ReplyRequest) -> dict[str, Any]:
        messages: list[dict[str, str]] = []
        if request.system_prompt:
            messages.append({"role": "system", "content": request.system_prompt})
        messages.extend(request.messages)
        return {
            **self.parameters,
            "model": self.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }

    # Why `client.post` and not `client.chat.completions.create`: `create` first walks the whole
    # request through its typed-params transform and then builds a pydantic model per streamed
    # chunk; together about 4 ms of CPU per reply, which caps a batch run on one core. `post`
    # keeps everything else of the client (base URL, auth headers, timeouts, error classes,
    # SSE parsing and in-stream error events) and hands us each chunk as parsed JSON.
    def _iter_chunks(self, request: ReplyRequest, meta: StreamMeta) -> Iterator[str]:
        # One attempt; retrying is the base class's job (RetryPolicy).
        reader = _ChunkReader(self.deadline_s)
        try:
            stream = self._client.post(
                "/chat/completions",
                body=self._body(request),
                cast_to=object,
                stream=True,
                stream_cls=openai.Stream[object],
            )
            with stream:
                for chunk in stream:
                    if text := reader.feed(chunk):
                        yield text
            reader.finish(meta, event_stream=_is_event_stream(stream.response))
        except Exception as exc:  # narrowed by _to_bot_error, which re-raises the unknown
            err = self._to_bot_error(exc)
            if _nothing_arrived(reader, err):
                err = self._explained(err, self._probe, request)
            raise err from _cause(exc)

    def _probe_body(self, request: ReplyRequest) -> dict[str, Any]:
        body = self._body(request)
        body.pop("stream_options", None)
        return {**body, "stream": False, "max_tokens": 1}

    def _probe(self, request: ReplyRequest) -> None:
        self._client.post("/chat/completions", body=self._probe_body(request), cast_to=object)

    async def _aprobe(self, request: ReplyRequest) -> None:
        await self._async_client().post("/chat/completions", body=self._probe_body(request),
                                        cast_to=object)

    def _explained(self, err: BotError, probe: Any, request: ReplyRequest) -> BotError:
        """Ask once without streaming (one token at most) what a stream that delivered nothing
        hid: llama.cpp's server answers a prompt over its context with an empty stream or a
        reset connection, and the unstreamed request with the 400 that says so. Only that
        answer replaces the original error. A second try is for the pooled connection that
        the failed stream left broken (seen against llama.cpp: "connection error", then the 400)
        or for a server still busy with it (seen: the async client's connect timed out once)."""
        for _ in range(2):
            try:
                probe(request)
            except Exception as exc:  # narrowed as any other answer of the server
                found = self._to_bot_error(exc)
                if isinstance(found, ContextOverflow):
                    return found
                if isinstance(found, StreamCut | BotTimeout):
                    continue
            break
        return err

    async def _aexplained(self, err: BotError, request: ReplyRequest) -> BotError:
        for _ in range(2):
            try:
                await self._aprobe(request)
            except Exception as exc:
                found = self._to_bot_error(exc)
                if isinstance(found, ContextOverflow):
                    return found
                if isinstance(found, StreamCut | BotTimeout):
                    continue
            break
        return err

    async def _aiter_chunks(self, request: ReplyRequest, meta: StreamMeta) -> AsyncIterator[str]:
        reader = _ChunkReader(self.deadline_s)
        try:
            stream = await self._async_client().post(
                "/chat/completions",
                body=self._body(request),
                cast_to=object,
                stream=True,
                stream_cls=openai.AsyncStream[object],
            )
            async with stream:
                async for chunk in stream:
                    if text := reader.feed(chunk):
                        yield text
            reader.finish(meta, event_stream=_is_event_stream(stream.response))
        except Exception as exc:  # narrowed by _to_bot_error, which re-raises the unknown
            err = self._to_bot_error(exc)
            if _nothing_arrived(reader, err):
                err = await self._aexplained(err, request)
            raise err from _cause(exc)

    def _to_bot_error(self, exc: Exception) -> BotError:
        err = classify(exc, where=f"the model server at {self.base_url}")
        if err is None:
            raise exc  # a bug, not a bot failure: let it surface unchanged
        key = self._key.reveal()
        if key != LOCAL_DUMMY_KEY and key in err.message:
            err.message = err.message.replace(key, "***")
            err.args = (err.message,)
        return err


def _cause(exc: Exception) -> BaseException | None:
    # Our own BotErrors (from the chunk reader) are re-raised as they are: no cause of their own.
    return None if isinstance(exc, BotError) else exc
