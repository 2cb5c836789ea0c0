"""A fault-injecting OpenAI-compatible server for tests and benchmarks.

It serves a bot like server.py does, but each request first draws an action from a FaultPlan
(ok, timeout, 429, 500, garbage, cut stream, missing choices, 401, context overflow, a reply
stopped at its length limit, a reply holding a NUL or a lone surrogate, usage figures no
database column holds), can be slowed down by a Latency (a trickle of tokens, say), and
is recorded for assertions. `refused_base_url()` gives an address where nothing
listens, for "connection refused".
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from workbench.bots.base import Bot, ReplyRequest
from workbench.bots.reference import ReferenceBot
from workbench.bots.server import (
    ChatApp,
    ChatHandler,
    ReplyFn,
    ResponseShape,
    RunningServer,
    to_reply_request,
)


class Fault(StrEnum):
    ok = "ok"
    timeout = "timeout"  # say nothing for `sleep_s` (beyond the client's read timeout)
    rate_limit = "rate_limit"  # 429 with Retry-After
    server_error = "server_error"  # 500 (or `status`)
    garbage = "garbage"  # 200 with an HTML page instead of JSON/SSE, as a broken proxy sends
    garbage_sse = "garbage_sse"  # 200 SSE whose data line is not JSON
    cut_stream = "cut_stream"  # some chunks, then hang up (or end the body, if `cut_cleanly`)
    missing_choices = "missing_choices"  # valid JSON without "choices"
    unauthorized = "unauthorized"  # 401
    context_overflow = "context_overflow"  # 400: the prompt exceeds the context, as `dialect` says
    # llama.cpp's server streams nothing at all for a prompt that exceeds its context (200, an
    # event stream with no event and no [DONE]); asked without streaming, it answers the 400.
    silent_overflow = "silent_overflow"
    length = "length"  # `cut_after_chunks` chunks, then finish_reason "length" (max_tokens hit)
    # A normal reply with `odd_text` inside its second chunk, sent as a JSON escape ("\u0000",
    # "\ud800") as a broken tokenizer or proxy sends it: valid JSON, text no database stores.
    nul_byte = "nul_byte"
    lone_surrogate = "lone_surrogate"
    huge_usage = "huge_usage"  # a normal reply whose usage says `usage_tokens` tokens


@dataclass(frozen=True)
class FaultAction:
    """One planned response. Fields other than `fault` only matter for the faults they name."""

    fault: Fault = Fault.ok
    retry_after: str | None = "1"  # rate_limit: the Retry-After header as sent (None: omit)
    status: int = 500  # server_error
    sleep_s: float = 30.0  # timeout
    cut_after_chunks: int = 3  # cut_stream, length: text chunks sent before stopping
    cut_cleanly: bool = False  # cut_stream: end the HTTP body properly, without finish_reason
    send_usage: bool = True  # ok: False leaves out the usage chunk even when asked for
    dialect: str = "llama.cpp"  # context_overflow: whose error body (see _OVERFLOW_BODIES)
    odd_text: str | None = None  # nul_byte, lone_surrogate: None means "\x00" or "\ud800"
    usage_tokens: int = 10**20  # huge_usage: beyond a 64-bit integer column

    def __post_init__(self) -> None:
        object.__setattr__(self, "fault", Fault(self.fault))  # accept "timeout" as well
        if self.dialect not in _OVERFLOW_BODIES:
            raise ValueError(f"dialect must be one of {sorted(_OVERFLOW_BODIES)}")


@dataclass(frozen=True)
class Latency:
    first_chunk_ms: float = 0.0
    per_chunk_ms: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the fault server saw it."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]  # lower-case names
    received_at: float  # time.monotonic()
    fault: Fault

    @property
    def model(self) -> str | None:
        return self.body.get("model")

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))


Decider = Callable[[dict[str, Any], int], "Fault | FaultAction | None"]


class FaultPlan:
    """Decides each request's fault: queued actions first, then `decide(body, n)`, then default.

    `n` counts requests from 0. Thread-safe, as the server handles requests in parallel.
    """

    def __init__(
        self,
        *queued: Fault | FaultAction,
        decide: Decider | None = None,
        default: Fault | FaultAction = Fault.ok,
    ) -> None:
        self._queue: deque[FaultAction] = deque(_action(q) for q in queued)
        self.decide = decide
        self.default = _action(default)
        self._count = 0
        self._lock = threading.Lock()

    def push(self, *actions: Fault | FaultAction) -> None:
        with self._lock:
            self._queue.extend(_action(a) for a in actions)

    def next_action(self, body: dict[str, Any]) -> FaultAction:
        with self._lock:
            n, self._count = self._count, self._count + 1
            if self._queue:
                return self._queue.popleft()
        decided = self.decide(body, n) if self.decide else None
        return self.default if decided is None else _action(decided)


def _action(value: Fault | FaultAction) -> FaultAction:
    return value if isinstance(value, FaultAction) else FaultAction(Fault(value))


_GARBAGE_HTML = b"<html><body><h1>502 Bad Gateway</h1>upstream went away</body></html>"

# HTTP 400 bodies for a prompt longer than the context, as each server words them.
_OVERFLOW_BODIES: dict[str, dict[str, Any]] = {
    "llama.cpp": {"error": {
        "code": 400, "type": "exceed_context_size_error", "n_prompt_tokens": 4476, "n_ctx": 4096,
        "message": "request (4476 tokens) exceeds the available context size (4096 tokens), "
                   "try increasing it",
    }},
    "openai": {"error": {
        "message": "This model's maximum context length is 4096 tokens. However, your messages "
                   "resulted in 4476 tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded",
    }},
    "vllm": {  # vLLM's older flat error object, without the "error" wrapper
        "object": "error", "type": "BadRequestError", "param": None, "code": 400,
        "message": "This model's maximum context length is 4096 tokens. However, you requested "
                   "5076 tokens (4476 in the messages, 600 in the completion). Please reduce the "
                   "length of the messages or completion.",
    },
}  # fmt: skip


class FaultyChatApp(ChatApp):
    """ChatApp that records every request and misbehaves according to its plan."""

    def __init__(
        self,
        bot: Bot | ReplyFn | None = None,
        *,
        plan: FaultPlan | None = None,
        latency: Latency | None = None,
    ) -> None:
        super().__init__(bot or ReferenceBot())
        self.plan = plan or FaultPlan()
        self.latency = latency or Latency()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def recorded(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def forget(self) -> None:
        with self._lock:
            self._requests.clear()

    def handle_chat(
        self, http: ChatHandler, body: dict[str, Any], shape: ResponseShape | None = None
    ) -> None:
        action = self.plan.next_action(body)
        record = RecordedRequest(
            path=http.path,
            body=body,
            headers={k.lower(): v for k, v in http.headers.items()},
            received_at=time.monotonic(),
            fault=action.fault,
        )
        with self._lock:
            self._requests.append(record)
        self._act(http, body, action)

    def _act(self, http: ChatHandler, body: dict[str, Any], action: FaultAction) -> None:
        fault = action.fault
        if fault is Fault.timeout:
            if not http.pause(action.sleep_s):
                return
            fault = Fault.ok  # a client that waited that long gets its answer
        if fault is Fault.rate_limit:
            headers = {} if action.retry_after is None else {"Retry-After": action.retry_after}
            message = "Rate limit reached, slow down"
            http.send_error_json(429, message, "rate_limit_exceeded", headers)
        elif fault is Fault.server_error:
            http.send_error_json(action.status, "The server had an error", "server_error")
        elif fault is Fault.unauthorized:
            http.send_error_json(401, "Incorrect API key provided", "invalid_api_key")
        elif fault is Fault.context_overflow:
            http.send_json(400, _OVERFLOW_BODIES[action.dialect])
        elif fault is Fault.silent_overflow:
            if body.get("stream"):
                http.start_stream()
                http.end_stream()
            else:
                http.send_json(400, _OVERFLOW_BODIES["openai"])
        elif fault is Fault.garbage:
            http.send_body(200, _GARBAGE_HTML, "text/html")
        elif fault is Fault.garbage_sse:
            http.start_stream()
            http.write_chunk(b"data: {this is not json\n\n")
            http.end_stream()
        elif fault is Fault.missing_choices:
            self._missing_choices(http, body)
        elif fault in _ODD_TEXT or fault is Fault.huge_usage:
            self._deliver_odd(http, body, action)
        else:
            self._deliver(http, body, action)

    def _deliver_odd(self, http: ChatHandler, body: dict[str, Any], action: FaultAction) -> None:
        """A normal reply, with odd text in its second chunk or odd usage figures, encoded with
        JSON escapes (ChatHandler writes UTF-8, which no lone surrogate survives)."""
        odd = action.odd_text if action.odd_text is not None else _ODD_TEXT.get(action.fault, "")
        escaping = _EscapingHandler(http, odd=odd, usage_tokens=(
            action.usage_tokens if action.fault is Fault.huge_usage else None))
        if body.get("stream"):
            super().handle_chat(escaping, body)  # type: ignore[arg-type]
            return
        request = to_reply_request(body)
        text = escaping.spoil("".join(self.reply(request)))
        usage = escaping.usage(ChatApp._usage(request, text))
        http.send_body(200, json.dumps({
            "id": "chatcmpl-odd", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model") or self.model_name, "usage": usage,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
        }).encode(), "application/json")

    def _deliver(self, http: ChatHandler, body: dict[str, Any], action: FaultAction) -> None:
        cut = action.fault is Fault.cut_stream
        length = action.fault is Fault.length
        shape = ResponseShape(
            first_chunk_delay_s=self.latency.first_chunk_ms / 1000.0,
            chunk_delay_s=self.latency.per_chunk_ms / 1000.0,
            cut_after_chunks=action.cut_after_chunks if cut else None,
            length_after_chunks=action.cut_after_chunks if length else None,
            cut_cleanly=action.cut_cleanly,
            send_usage=action.send_usage,
        )
        super().handle_chat(http, body, shape)

    @staticmethod
    def _missing_choices(http: ChatHandler, body: dict[str, Any]) -> None:
        payload = {"id": "chatcmpl-broken", "created": int(time.time()), "model": body.get("model")}
        if not body.get("stream"):
            http.send_json(200, {**payload, "object": "chat.completion"})
            return
        http.start_stream()
        http.send_event({**payload, "object": "chat.completion.chunk"})
        http.send_event("[DONE]")
        http.end_stream()


_ODD_TEXT = {Fault.nul_byte: "\x00", Fault.lone_surrogate: "\ud800"}


class _EscapingHandler:
    """A ChatHandler stand-in that sends events as ASCII JSON (escapes for everything else)
    and spoils the reply on the way: odd text into the second text chunk, odd usage."""

    def __init__(self, http: ChatHandler, *, odd: str, usage_tokens: int | None) -> None:
        self._http = http
        self._odd = odd
        self._usage_tokens = usage_tokens
        self._chunks = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http, name)

    def spoil(self, text: str) -> str:
        middle = len(text) // 2
        return text[:middle] + self._odd + text[middle:]

    def usage(self, usage: dict[str, int]) -> dict[str, int]:
        if self._usage_tokens is None:
            return usage
        n = self._usage_tokens
        return {"prompt_tokens": n, "completion_tokens": n, "total_tokens": 2 * n}

    def send_event(self, payload: object) -> None:
        if isinstance(payload, dict):
            if payload.get("usage"):
                payload = {**payload, "usage": self.usage(payload["usage"])}
            for choice in payload.get("choices") or []:
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    self._chunks += 1
                    if self._chunks == 2:
                        delta["content"] = self.spoil(delta["content"])
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._http.write_chunk(b"data: " + text.encode("ascii") + b"\n\n")


class FaultServer(RunningServer):
    """The fault-injecting server on a free port of 127.0.0.1, as a context manager.

    >>> with FaultServer(plan=FaultPlan(Fault.rate_limit)) as server:
    ...     bot = OpenAICompatBot(base_url=server.base_url, model="m")
    """

    app: FaultyChatApp

    def __init__(
        self,
        bot: Bot | ReplyFn | None = None,
        *,
        plan: FaultPlan | None = None,
        latency: Latency | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        app = FaultyChatApp(bot, plan=plan, latency=latency)
        super().__init__(app, host=host, port=port)

    @property
    def plan(self) -> FaultPlan:
        return self.app.plan

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests received so far, oldest first."""
        return self.app.recorded()

    def reset(self, *, plan: FaultPlan | None = None, latency: Latency | None = None) -> None:
        """Forget recorded requests and start a new plan (between tests of one session)."""
        self.app.forget()
        self.app.plan = plan or FaultPlan()
        self.app.latency = latency or Latency()


@contextlib.contextmanager
def refused_base_url(host: str = "127.0.0.1") -> Iterator[str]:
    """A base URL on a port that is bound but not listening: connecting is refused at once.

    Holding the port (instead of closing it) keeps another process from taking it meanwhile.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, 0))
        yield f"http://{host}:{sock.getsockname()[1]}/v1"
    finally:
        sock.close()


def sample_request(text: str = "Hallo", *, system_prompt: str = "") -> ReplyRequest:
    """A one-message ReplyRequest, handy in tests and benchmarks."""
    return ReplyRequest(
        system_prompt=system_prompt,
        messages=[{"role": "user", "content": text}],
        prompt_version_hash="test",
    )


__all__ = [
    "Fault",
    "FaultAction",
    "FaultPlan",
    "FaultServer",
    "FaultyChatApp",
    "Latency",
    "RecordedRequest",
    "refused_base_url",
    "sample_request",
]
