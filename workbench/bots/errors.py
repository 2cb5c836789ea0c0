"""What can go wrong when a bot replies: one BotError class per `BotErrorKind`, each saying
whether asking again may help."""

from __future__ import annotations

from typing import ClassVar

from workbench.domain.enums import BotErrorKind


class BotError(Exception):
    """A bot could not deliver a (complete) reply.

    `kind` is what the UI and the batch runner switch on; `retryable` says whether asking again
    may help; `partial_text` holds what arrived before a stream broke off (else ""). Messages are
    English and meant for logs and facilitators; the UI should translate `kind`.
    """

    kind: ClassVar[BotErrorKind]
    default_retryable: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        partial_text: str = "",
        status_code: int | None = None,
        retry_after_s: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.partial_text = partial_text
        self.status_code = status_code
        self.retry_after_s = retry_after_s
        self.retryable = self.default_retryable if retryable is None else retryable
        self.attempts = 1  # how many requests were made before giving up

    def __str__(self) -> str:
        suffix = f" (gave up after {self.attempts} attempts)" if self.attempts > 1 else ""
        return self.message + suffix

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind.value!r}, message={self.message!r})"


class BotTimeout(BotError):
    kind = BotErrorKind.timeout


class DeadlineExceeded(BotTimeout):
    """The reply took longer than its total deadline, although data kept coming.

    Not retried: a reply that runs away (a model generating until its context is full, a
    server trickling a token a second) would most likely run away again, for as long again.
    """

    default_retryable = False


class RateLimited(BotError):
    kind = BotErrorKind.rate_limit


class ServerError(BotError):
    kind = BotErrorKind.server_error


class RequestRejected(BotError):
    """The server refused the request itself (HTTP 400/404/422...): asking again will not help."""

    kind = BotErrorKind.rejected
    default_retryable = False


class ContextOverflow(BotError):
    """The prompt (system prompt + conversation so far) does not fit the model's context window.

    Its own kind because the cure is not "try again" but a shorter conversation, a smaller
    `max_tokens` or a server started with a larger context.
    """

    kind = BotErrorKind.context_overflow
    default_retryable = False


class MalformedResponse(BotError):
    kind = BotErrorKind.malformed
    default_retryable = False


class StreamCut(BotError):
    kind = BotErrorKind.stream_cut


class ConnectionRefused(BotError):
    kind = BotErrorKind.connection_refused


class AuthFailed(BotError):
    kind = BotErrorKind.auth
    default_retryable = False
