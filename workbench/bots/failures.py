"""What a failure talking to a model server means: an exception from the openai client or httpx,
or an error body, becomes the BotError the rest of the workbench switches on."""

from __future__ import annotations

import json
import re

import httpx
import openai

from workbench.bots.errors import (
    AuthFailed,
    BotError,
    BotTimeout,
    ConnectionRefused,
    ContextOverflow,
    MalformedResponse,
    RateLimited,
    RequestRejected,
    ServerError,
    StreamCut,
)
from workbench.bots.wire import parse_retry_after

# How servers say that the prompt does not fit: OpenAI and vLLM send the code
# context_length_exceeded or "This model's maximum context length is N tokens"; llama.cpp's
# server sends type exceed_context_size_error, "request (N tokens) exceeds the available
# context size (M tokens)"; older llama.cpp, LM Studio and proxies word it their own way.
_OVERFLOW_CODES = frozenset({"context_length_exceeded", "exceed_context_size_error"})
_OVERFLOW_TEXT = re.compile(
    r"context[ _-]?(length|size|window)|maximum context|exceeds? the (available )?context",
    re.IGNORECASE,
)


def classify(exc: Exception, *, where: str) -> BotError | None:
    """Map an exception from the openai client or httpx to a BotError (None if unknown).

    `where` names the server in the message ("the model server at http://...").
    """
    if isinstance(exc, BotError):  # raised by the chunk reader, which does not know the server
        exc.message = f"{where} {exc.message}"
        exc.args = (exc.message,)
        return exc
    if isinstance(exc, openai.APIStatusError):
        return _from_status(exc, where)
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError):
        return MalformedResponse(f"{where} sent a response that is not valid JSON/SSE: {exc}")
    cause = exc.__cause__ if isinstance(exc, openai.APIConnectionError) else exc
    if isinstance(exc, openai.APITimeoutError) or isinstance(cause, httpx.TimeoutException):
        return BotTimeout(f"{where} did not answer in time ({type(cause).__name__})")
    if isinstance(cause, httpx.ConnectError):
        return ConnectionRefused(f"could not connect to {where} ({cause}); is it running?")
    if isinstance(cause, httpx.TransportError) or isinstance(exc, openai.APIConnectionError):
        return StreamCut(f"{where} dropped the connection ({type(cause).__name__}: {cause})")
    if isinstance(exc, openai.APIError):  # an {"error": ...} event inside the stream
        if is_context_overflow(exc.body, exc.message):
            return ContextOverflow(f"{where} ran out of context mid-reply: {exc.message}")
        return ServerError(f"{where} reported an error mid-stream: {exc.message}")
    return None


def is_context_overflow(body: object, message: str) -> bool:
    """Does an error (its JSON body and message) say that the prompt exceeds the context?"""
    error = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(error, dict):
        codes = {str(error.get(k)) for k in ("code", "type") if error.get(k) is not None}
        if codes & _OVERFLOW_CODES:
            return True
    return bool(_OVERFLOW_TEXT.search(message))


def _from_status(exc: openai.APIStatusError, where: str) -> BotError:
    status = exc.status_code
    detail = _error_detail(exc)
    if status in (401, 403):
        return AuthFailed(
            f"{where} refused the credentials (HTTP {status}): {detail}", status_code=status
        )
    if status == 429:
        retry_after = parse_retry_after(exc.response.headers)
        hint = "" if retry_after is None else f", retry after {retry_after:g} s"
        return RateLimited(
            f"{where} is rate limiting requests (HTTP 429{hint}): {detail}",
            status_code=status,
            retry_after_s=retry_after,
        )
    if status == 408:
        return BotTimeout(f"{where} timed out the request (HTTP 408)", status_code=status)
    if status >= 500:
        return ServerError(f"{where} failed (HTTP {status}): {detail}", status_code=status)
    # Only 4xx bodies are read for an overflow: Go servers answer a timeout with 5xx "context
    # deadline exceeded", which must stay a retryable server error.
    if is_context_overflow(exc.body, detail):
        return ContextOverflow(
            f"{where} cannot fit the conversation into the model's context (HTTP {status}): "
            f"{detail}",
            status_code=status,
        )
    return RequestRejected(
        f"{where} rejected the request (HTTP {status}): {detail}", status_code=status
    )


def _error_detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        message = error.get("message") if isinstance(error, dict) else error
        if message:
            return str(message)[:300]
    return exc.response.text[:300] if exc.response is not None else str(exc)[:300]
