"""The bot contract: request/result types, the `Bot` protocol and a shared base class.

Implementations only produce the text chunks of one attempt (`_iter_chunks`, optionally
`_aiter_chunks`); retries (policy.py), timing, assembly, provenance and the sync/async/complete
variants live here once. The errors live in errors.py and are importable from here as well.
"""

from __future__ import annotations

import asyncio
import logging
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
    ContextOverflow,
    DeadlineExceeded,
    MalformedResponse,
    RateLimited,
    RequestRejected,
    ServerError,
    StreamCut,
)
from workbench.bots.policy import RetryPolicy
from workbench.domain.enums import BotKind, TurnRole

logger = logging.getLogger(__name__)

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
    """How a reply came about, stored with every bot turn so that results can be traced.

    After retries, the latencies count from the first request, waits included: they are what
    the reply cost, not what its last attempt did.
    """

    bot_kind: str
    model: str
    parameters: dict[str, Any]
    prompt_version_hash: str
    latency_first_token_ms: float | None
    latency_total_ms: float
    prompt_tokens: int | None
    completion_tokens: int | None
    attempts: int = 1  # requests it took: 1 + the failed attempts that were retried
    finish_reason: str | None = None  # as the server said; None for bots without one

    @property
    def truncated(self) -> bool:
        """The server stopped the reply at a length limit (`max_tokens`, or a full context)."""
        return self.finish_reason == "length"


@dataclass(frozen=True)
class ReplyResult:
    text: str
    provenance: Provenance


@dataclass
class StreamMeta:
    """What an implementation learns while streaming one attempt, read when the stream ends."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None


@dataclass
class _Recorder:
    """Bookkeeping shared by the sync and async streams: clock, attempts, text so far, result."""

    finish: Callable[[_Recorder], ReplyResult]
    retry: RetryPolicy
    whole_reply: bool  # True: nobody sees the chunks before the reply is complete
    label: str  # names the bot in log lines
    parts: list[str] = field(default_factory=list)
    started: float | None = None
    first_token_ms: float | None = None
    result: ReplyResult | None = None
    attempts: int = 1
    meta: StreamMeta = field(default_factory=StreamMeta)

    def start(self) -> None:
        # The clock starts at the first pull, not at construction: generators are lazy and
        # no request is sent before someone iterates.
        if self.started is None:
            self.started = time.perf_counter()

    def elapsed_ms(self) -> float:
        assert self.started is not None
        return (time.perf_counter() - self.started) * 1000.0

    def text(self) -> str:
        return "".join(self.parts)

    def add(self, chunk: str) -> None:
        if self.first_token_ms is None:
            self.first_token_ms = self.elapsed_ms()
        self.parts.append(chunk)

    def done(self) -> None:
        if self.result is None:
            self.result = self.finish(self)

    def wait_before_retry(self, err: BotError) -> float:
        """Seconds to wait before the next attempt; raises the error to give up with."""
        text = self.text()
        delay = self.retry.delay(
            err, attempt=self.attempts - 1, whole_reply=self.whole_reply, text_shown=bool(text)
        )
        if delay is None:
            raise self._giving_up(err, text)
        logger.warning(
            "bot %s attempt %d/%d failed (%s%s), retrying in %.2f s",
            self.label, self.attempts, self.retry.retries(whole_reply=self.whole_reply) + 1,
            err.kind.value, f" after {len(text)} characters" if text else "", delay,
        )  # fmt: skip
        self.attempts += 1
        self.parts.clear()  # nobody saw them (else delay would be None): start afresh
        self.first_token_ms = None
        self.meta = StreamMeta()
        return delay

    def _giving_up(self, err: BotError, text: str) -> BotError:
        if text and err.retryable and not self.whole_reply:
            # Text has reached the user: a retry would show a different reply after it.
            cut = StreamCut(
                f"{err.message}; the reply broke off after {len(text)} characters",
                status_code=err.status_code,
            )
            cut.__cause__ = err
            err = cut
        if not err.partial_text:
            err.partial_text = text
        err.attempts = self.attempts
        return err

    def get_result(self) -> ReplyResult:
        if self.result is None:
            raise RuntimeError("the reply stream has not been consumed to the end yet")
        return self.result


class ReplyStream(Iterator[str]):
    """Text chunks of one reply; after exhaustion `.result` holds the ReplyResult.

    Plain iterator, so `st.write_stream(bot.stream(request))` works. A BotError raised while
    iterating carries the text received so far in `partial_text`. Failed attempts are retried
    here, as the bot's RetryPolicy allows.
    """

    def __init__(self, attempt: Callable[[StreamMeta], Iterator[str]], rec: _Recorder) -> None:
        self._attempt = attempt
        self._chunks: Iterator[str] | None = None
        self._rec = rec

    def __next__(self) -> str:
        rec = self._rec
        rec.start()
        while True:
            if self._chunks is None:
                self._chunks = self._attempt(rec.meta)
            try:
                chunk = next(self._chunks)
            except StopIteration:
                rec.done()
                raise
            except BotError as err:
                self._chunks = None
                time.sleep(rec.wait_before_retry(err))
                continue
            if chunk:
                rec.add(chunk)
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

    def __init__(self, attempt: Callable[[StreamMeta], AsyncIterator[str]], rec: _Recorder) -> None:
        self._attempt = attempt
        self._chunks: AsyncIterator[str] | None = None
        self._rec = rec

    def __await__(self) -> Generator[Any, None, AsyncReplyStream]:
        async def itself() -> AsyncReplyStream:
            return self

        return itself().__await__()

    async def __anext__(self) -> str:
        rec = self._rec
        rec.start()
        while True:
            if self._chunks is None:
                self._chunks = self._attempt(rec.meta)
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                rec.done()
                raise
            except BotError as err:
                self._chunks = None
                await asyncio.sleep(rec.wait_before_retry(err))
                continue
            if chunk:
                rec.add(chunk)
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
    retry: RetryPolicy = RetryPolicy.never()

    def _iter_chunks(self, request: ReplyRequest, meta: StreamMeta) -> Iterator[str]:
        raise NotImplementedError

    async def _aiter_chunks(self, request: ReplyRequest, meta: StreamMeta) -> AsyncIterator[str]:
        for chunk in self._iter_chunks(request, meta):
            yield chunk
            await asyncio.sleep(0)  # let other conversations of a batch run in between

    def _provenance_parameters(self, request: ReplyRequest) -> dict[str, Any]:
        return dict(self.parameters)

    def _recorder(self, request: ReplyRequest, *, whole_reply: bool) -> _Recorder:
        def finish(rec: _Recorder) -> ReplyResult:
            provenance = Provenance(
                bot_kind=self.kind.value,
                model=self.model,
                parameters=self._provenance_parameters(request),
                prompt_version_hash=request.prompt_version_hash,
                latency_first_token_ms=rec.first_token_ms,
                latency_total_ms=rec.elapsed_ms(),
                prompt_tokens=rec.meta.prompt_tokens,
                completion_tokens=rec.meta.completion_tokens,
                attempts=rec.attempts,
                finish_reason=rec.meta.finish_reason,
            )
            return ReplyResult(text=rec.text(), provenance=provenance)

        return _Recorder(finish, self.retry, whole_reply, self.model)

    def _reply_stream(self, request: ReplyRequest, *, whole_reply: bool) -> ReplyStream:
        return ReplyStream(
            lambda meta: self._iter_chunks(request, meta),
            self._recorder(request, whole_reply=whole_reply),
        )

    def _async_reply_stream(self, request: ReplyRequest, *, whole_reply: bool) -> AsyncReplyStream:
        return AsyncReplyStream(
            lambda meta: self._aiter_chunks(request, meta),
            self._recorder(request, whole_reply=whole_reply),
        )

    def stream(self, request: ReplyRequest) -> ReplyStream:
        """The reply chunk by chunk, for a person to read as it arrives: once text has been
        shown, a failure is not retried (`retry.max_retries` covers the failures before)."""
        return self._reply_stream(request, whole_reply=False)

    def astream(self, request: ReplyRequest) -> AsyncReplyStream:
        return self._async_reply_stream(request, whole_reply=False)

    def complete(self, request: ReplyRequest) -> ReplyResult:
        """The whole reply. Nobody has seen part of it, so a stream cut off halfway is asked
        again as well (`retry.batch_retries`)."""
        stream = self._reply_stream(request, whole_reply=True)
        for _ in stream:
            pass
        return stream.result

    async def acomplete(self, request: ReplyRequest) -> ReplyResult:
        """Async `complete`: what the batch runner and the judge use."""
        stream = self._async_reply_stream(request, whole_reply=True)
        async for _ in stream:
            pass
        return stream.result

    def close(self) -> None:
        """Release held connections; a no-op unless the bot holds any."""

    async def aclose(self) -> None:
        """Release the running event loop's connections; call before the loop ends."""


__all__ = [
    "AsyncReplyStream", "AuthFailed", "BaseBot", "Bot", "BotError", "BotTimeout",
    "ConnectionRefused", "ContextOverflow", "DeadlineExceeded", "MalformedResponse", "Provenance",
    "RateLimited", "ReplyRequest", "ReplyResult", "ReplyStream", "RequestRejected",
    "RetryPolicy", "ServerError", "StreamCut", "StreamMeta", "split_words",
]  # fmt: skip


def split_words(text: str) -> list[str]:
    """Split text into word chunks (a word plus its trailing space) that join back to `text`."""
    return _WORD_CHUNK.findall(text)
