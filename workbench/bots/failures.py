"""What a failure talking to a model server means: an exception from the openai client or httpx,
or an error body, becomes the BotError the rest of the workbench switches on."""

from __future__ import annotations

import json

import httpx
import openai

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
from workbench.bots.wire import parse_retry_after


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
        return ServerError(f"{where} reported an error mid-stream: {exc.message}")
    return None


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
