"""The bot contract: request/result types, the `Bot` protocol and a shared base class.

Implementations only produce text chunks (`_iter_chunks`, optionally `_aiter_chunks`); timing,
assembly, provenance and the sync/async/complete variants live here once. The errors live in
errors.py and are importable from here as well.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from workbench.bots.errors import (
    AuthFailed,
    BotError,
    BotTimeout,
    ConnectionRefused,
    MalformedResponse,
    RateLimited,
    RequestRejected,
    ServerError,
    StreamCut,
)
from workbench.domain.enums import BotKind, TurnRole

_WORD_CHUNK = re.compile(r"\S+\s*|\s+")
_CHAT_ROLES = frozenset({TurnRole.user.value, TurnRole.assistant.value})


@dataclass(frozen=True)
class ReplyRequest:
    """What a bot needs to write one reply.

    `messages` are OpenAI-style role/content dicts (user/assistant only, oldest first); the system
    prompt travels separately so that it is versioned on its own (`prompt_version_hash`).
    """

    system_prompt: str
    messages: list[dict[str, str]]
    prompt_version_hash: str

    def __post_init__(self) -> None:
        for message in self.messages:
            role, content = message.get("role"), message.get("content")
            if role not in _CHAT_ROLES or not isinstance(content, str):
                raise ValueError(
                    "ReplyRequest.messages takes user/assistant dicts with str content, "
                    f"got keys {sorted(message)} with role {role!r}"
                )

    def user_texts(self) -> list[str]:
        """The user's messages, oldest first."""
        return [m["content"] for m in self.messages if m["role"] == TurnRole.user]


@dataclass(frozen=True)
class Provenance:
    """How a reply came about, stored with every bot turn so that results can be traced."""

    bot_kind: str
    model: str
    parameters: dict[str, Any]
    prompt_version_hash: str
    latency_first_token_ms: float | None
    latency_total_ms: float
    prompt_tokens: int | None
    completion_tokens: int | None


@dataclass(frozen=True)
class ReplyResult:
    text: str
    provenance: Provenance


@dataclass
class StreamMeta:
    """What an implementation learns while streaming (token usage), read when the stream ends."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None


# Called once the chunks are exhausted: (text, first-token ms, total ms) -> result.
Finisher = Callable[[str, float | None, float], ReplyResult]


@dataclass
class _Recorder:
    """Bookkeeping shared by the sync and async streams: clock, text so far, result."""

    finish: Finisher
    parts: list[str] = field(default_factory=list)
    started: float | None = None
    first_token_ms: float | None = None
    result: ReplyResult | None = None

    def start(self) -> None:
        # The clock starts at the first pull, not at construction: generators are lazy and
        # no request is sent before someone iterates.
        if self.started is None:
            self.started = time.perf_counter()

    def _elapsed_ms(self) -> float:
        assert self.started is not None
        return (time.perf_counter() - self.started) * 1000.0

    def add(self, chunk: str) -> None:
        if self.first_token_ms is None:
            self.first_token_ms = self._elapsed_ms()
        self.parts.append(chunk)

    def done(self) -> None:
        self.result = self.finish("".join(self.parts), self.first_token_ms, self._elapsed_ms())

    def failed(self, err: BotError) -> None:
        if not err.partial_text:
            err.partial_text = "".join(self.parts)

    def get_result(self) -> ReplyResult:
        if self.result is None:
            raise RuntimeError("the reply stream has not been consumed to the end yet")
        return self.result


class ReplyStream(Iterator[str]):
    """Text chunks of one reply; after exhaustion `.result` holds the ReplyResult.

    Plain iterator, so `st.write_stream(bot.stream(request))` works. A BotError raised while
    iterating carries the text received so far in `partial_text`.
    """

    def __init__(self, chunks: Iterator[str], finish: Finisher) -> None:
        self._chunks = chunks
        self._rec = _Recorder(finish)

    def __next__(self) -> str:
        self._rec.start()
        while True:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._rec.done()
                raise
            except BotError as err:
                self._rec.failed(err)
                raise
            if chunk:
                self._rec.add(chunk)
                return chunk

    def close(self) -> None:
        """Stop early and release the connection (if the implementation holds one)."""
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()

    @property
    def result(self) -> ReplyResult:
        return self._rec.get_result()


class AsyncReplyStream(AsyncIterator[str]):
    """Async twin of ReplyStream.

    Both `async for chunk in bot.astream(r)` and `stream = await bot.astream(r)` work: awaiting
    the stream returns the stream itself, so callers that treat astream as a coroutine are fine.
    """

    def __init__(self, chunks: AsyncIterator[str], finish: Finisher) -> None:
        self._chunks = chunks
        self._rec = _Recorder(finish)

    def __await__(self) -> Generator[Any, None, AsyncReplyStream]:
        async def itself() -> AsyncReplyStream:
            return self

        return itself().__await__()

    async def __anext__(self) -> str:
        self._rec.start()
        while True:
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                self._rec.done()
                raise
            except BotError as err:
                self._rec.failed(err)
                raise
            if chunk:
                self._rec.add(chunk)
                return chunk

    async def aclose(self) -> None:
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            await aclose()

    @property
    def result(self) -> ReplyResult:
        return self._rec.get_result()


@runtime_checkable
class Bot(Protocol):
    """Anything that can reply to a conversation, streaming or not, sync or async."""

    def stream(self, request: ReplyRequest) -> ReplyStream: ...

    def astream(self, request: ReplyRequest) -> AsyncReplyStream: ...

    def complete(self, request: ReplyRequest) -> ReplyResult: ...

    async def acomplete(self, request: ReplyRequest) -> ReplyResult: ...


class BaseBot:
    """Shared implementation of the Bot protocol.

    Subclasses set `kind`, `model`, `parameters` and implement `_iter_chunks`; bots doing real
    I/O also override `_aiter_chunks` (the default runs the sync generator on the event loop,
    which suits CPU-only bots such as the reference bot).
    """

    kind: ClassVar[BotKind]
    model: str
    parameters: dict[str, Any]

    def _iter_chunks(self, request: ReplyRequest, meta: StreamMeta) -> Iterator[str]:
        raise NotImplementedError

    async def _aiter_chunks(self, request: ReplyRequest, meta: StreamMeta) -> AsyncIterator[str]:
        for chunk in self._iter_chunks(request, meta):
            yield chunk
            await asyncio.sleep(0)  # let other conversations of a batch run in between

    def _provenance_parameters(self, request: ReplyRequest) -> dict[str, Any]:
        return dict(self.parameters)

    def _finisher(self, request: ReplyRequest, meta: StreamMeta) -> Finisher:
        def finish(text: str, first_token_ms: float | None, total_ms: float) -> ReplyResult:
            provenance = Provenance(
                bot_kind=self.kind.value,
                model=self.model,
                parameters=self._provenance_parameters(request),
                prompt_version_hash=request.prompt_version_hash,
                latency_first_token_ms=first_token_ms,
                latency_total_ms=total_ms,
                prompt_tokens=meta.prompt_tokens,
                completion_tokens=meta.completion_tokens,
            )
            return ReplyResult(text=text, provenance=provenance)

        return finish

    def stream(self, request: ReplyRequest) -> ReplyStream:
        meta = StreamMeta()
        return ReplyStream(self._iter_chunks(request, meta), self._finisher(request, meta))

    def astream(self, request: ReplyRequest) -> AsyncReplyStream:
        meta = StreamMeta()
        return AsyncReplyStream(self._aiter_chunks(request, meta), self._finisher(request, meta))

    def complete(self, request: ReplyRequest) -> ReplyResult:
        stream = self.stream(request)
        for _ in stream:
            pass
        return stream.result

    async def acomplete(self, request: ReplyRequest) -> ReplyResult:
        stream = self.astream(request)
        async for _ in stream:
            pass
        return stream.result

    def close(self) -> None:
        """Release held connections; a no-op unless the bot holds any."""

    async def aclose(self) -> None:
        """Release the running event loop's connections; call before the loop ends."""


__all__ = [
    "AsyncReplyStream", "AuthFailed", "BaseBot", "Bot", "BotError", "BotTimeout",
    "ConnectionRefused", "MalformedResponse", "Provenance", "RateLimited", "ReplyRequest",
    "ReplyResult", "ReplyStream", "RequestRejected", "ServerError", "StreamCut", "StreamMeta",
    "split_words",
]  # fmt: skip


def split_words(text: str) -> list[str]:
    """Split text into word chunks (a word plus its trailing space) that join back to `text`."""
    return _WORD_CHUNK.findall(text)
