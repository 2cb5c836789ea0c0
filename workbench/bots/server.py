"""A minimal OpenAI-compatible HTTP server that serves any bot (the reference bot by default).

Endpoints: `POST /v1/chat/completions` (plain JSON, or SSE with `"stream": true`, with a usage chunk
when `stream_options.include_usage` is set; `max_tokens` stops the reply with finish_reason
"length", a chunk standing in for a token) and `GET /v1/models`. Built on the stdlib
ThreadingHTTPServer: a thread per connection holds 32+ concurrent streams easily (they mostly
wait), bots stay plain sync code, and faults.py gets the raw socket it needs to cut a stream.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from workbench.bots.base import Bot, BotError, ReplyRequest
from workbench.bots.http_server import ChatHandler, ChatHTTPServer, RunningServer
from workbench.bots.reference import ReferenceBot

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8765
ReplyFn = Callable[[ReplyRequest], Iterable[str]]


@dataclass(frozen=True)
class ResponseShape:
    """How to deliver an otherwise normal reply: pacing, and whether to break it off."""

    first_chunk_delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    cut_after_chunks: int | None = None  # None: deliver everything
    cut_cleanly: bool = False  # end the HTTP body properly, but without finish_reason/[DONE]
    # Stop after this many chunks with finish_reason "length", as at max_tokens or a full context
    length_after_chunks: int | None = None
    send_usage: bool = True  # as asked by stream_options; False acts like a server without usage


def to_reply_request(body: dict[str, Any]) -> ReplyRequest:
    """Turn an OpenAI chat request body into a ReplyRequest (system/developer -> system prompt)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list")
    system_parts: list[str] = []
    chat: list[dict[str, str]] = []
    for message in messages:
        if not isinstance(message, dict):
            raise ValueError("each message must be an object")
        role, content = message.get("role"), _text_of(message.get("content"))
        if role in ("system", "developer"):
            system_parts.append(content)
        elif role in ("user", "assistant"):
            chat.append({"role": role, "content": content})
        else:
            raise ValueError(f"unsupported message role {role!r}")
    system_prompt = "\n\n".join(system_parts)
    digest = hashlib.sha256(system_prompt.encode()).hexdigest()[:16]
    return ReplyRequest(system_prompt=system_prompt, messages=chat, prompt_version_hash=digest)


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts; only text parts matter here
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if content is None:
        return ""
    raise ValueError("message content must be a string or a list of parts")


def _length_limit(body: dict[str, Any], shape: ResponseShape) -> int | None:
    """Chunks to send before finishing with "length": the request's max_tokens or the shape's."""
    limits = [
        value
        for value in (body.get("max_tokens"), body.get("max_completion_tokens"),
                      shape.length_after_chunks)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0
    ]  # fmt: skip
    return min(limits) if limits else None


def _words(text: str) -> int:
    # No tokenizer offline: whitespace words stand in for tokens in the usage figures.
    return len(text.split())


class ChatApp:
    """Answers chat requests with a bot; the HTTP plumbing lives in ChatHandler."""

    def __init__(self, bot: Bot | ReplyFn, *, model_name: str | None = None) -> None:
        stream = getattr(bot, "stream", None)
        self.reply: ReplyFn = stream if callable(stream) else bot  # type: ignore[assignment]
        self.model_name = model_name or str(getattr(bot, "model", "workbench-bot"))

    def handle_chat(
        self, http: ChatHandler, body: dict[str, Any], shape: ResponseShape | None = None
    ) -> None:
        try:
            request = to_reply_request(body)
        except ValueError as exc:
            http.send_error_json(400, str(exc), "invalid_request_error")
            return
        shape = shape or ResponseShape()
        chunks = iter(self.reply(request))
        try:
            if body.get("stream"):
                self._respond_stream(http, body, request, chunks, shape)
            else:
                self._respond_json(http, body, request, chunks, shape)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def _respond_json(
        self,
        http: ChatHandler,
        body: dict[str, Any],
        request: ReplyRequest,
        chunks: Iterator[str],
        shape: ResponseShape,
    ) -> None:
        limit = _length_limit(body, shape)
        try:
            text = "".join(chunks if limit is None else itertools.islice(chunks, limit))
            finish_reason = "stop" if limit is None or next(chunks, None) is None else "length"
        except BotError as err:
            http.send_error_json(502, str(err), err.kind.value)
            return
        if not http.pause(shape.first_chunk_delay_s):
            return
        payload = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model_name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": self._usage(request, text),
        }
        data = json.dumps(payload, ensure_ascii=False).encode()
        if shape.cut_after_chunks is None:
            http.send_body(200, data, "application/json")
        else:  # promise the whole body, deliver half, hang up
            http.send_head(200, "application/json", length=len(data))
            http.write(data[: len(data) // 2])
            http.abort()

    def _respond_stream(
        self,
        http: ChatHandler,
        body: dict[str, Any],
        request: ReplyRequest,
        chunks: Iterator[str],
        shape: ResponseShape,
    ) -> None:
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        model = body.get("model") or self.model_name

        def event(delta: dict[str, str], finish_reason: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
            return {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [choice],
            }

        try:  # a bot that fails before its first word still gets a proper HTTP error
            first = next(chunks, None)
        except BotError as err:
            http.send_error_json(502, str(err), err.kind.value)
            return
        http.start_stream()
        http.send_event(event({"role": "assistant", "content": ""}))
        if not http.pause(shape.first_chunk_delay_s):
            return
        parts: list[str] = []
        rest = chunks if first is None else itertools.chain([first], chunks)
        limit = _length_limit(body, shape)
        finish_reason = "stop"
        try:
            for index, chunk in enumerate(rest):
                if limit is not None and index >= limit:
                    finish_reason = "length"
                    break
                if shape.cut_after_chunks is not None and index >= shape.cut_after_chunks:
                    if shape.cut_cleanly:
                        http.end_stream()
                    else:
                        http.abort()
                    return
                if index and not http.pause(shape.chunk_delay_s):
                    return
                parts.append(chunk)
                http.send_event(event({"content": chunk}))
        except BotError as err:  # the served bot failed mid-reply (e.g. a proxied model server)
            http.send_event({"error": {"message": str(err), "type": err.kind.value}})
            http.end_stream()
            return
        http.send_event(event({}, finish_reason))
        if shape.send_usage and (body.get("stream_options") or {}).get("include_usage"):
            usage = self._usage(request, "".join(parts))
            http.send_event({**event({}), "choices": [], "usage": usage})
        http.send_event("[DONE]")
        http.end_stream()

    @staticmethod
    def _usage(request: ReplyRequest, text: str) -> dict[str, int]:
        prompt = _words(request.system_prompt) + sum(_words(m["content"]) for m in request.messages)
        completion = _words(text)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }


def running_server(
    bot: Bot | ReplyFn | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> RunningServer:
    """A not-yet-started server for `bot` (reference bot by default); port 0 = any free port."""
    return RunningServer(ChatApp(bot or ReferenceBot()), host=host, port=port)


def serve(
    bot: Bot | ReplyFn | None = None, host: str = "127.0.0.1", port: int = DEFAULT_PORT
) -> None:
    """Serve `bot` in the foreground until Ctrl-C."""
    httpd = ChatHTTPServer((host, port), ChatApp(bot or ReferenceBot()))
    logger.info("serving %s on http://%s:%d/v1", httpd.app.model_name, host, port)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.stopping.set()
        httpd.server_close()


def run_reference_server(port: int = DEFAULT_PORT) -> None:
    """Blocking: the offline reference bot on http://127.0.0.1:<port>/v1 (`workbench serve-bot`)."""
    serve(ReferenceBot(), host="127.0.0.1", port=port)
