"""When a failed request to a model server is asked again, and how long to wait first.

One rule for every bot, applied by the reply streams in base.py: a reply that is streamed to a
person is retried only before its first text (a retry would show a different reply after the
words already read); a whole reply (`complete`, `acomplete`: batch runs, the judge) is seen by
nobody until it is done, so it is retried after a cut stream as well, with its own count.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from workbench.bots.errors import BotError


@dataclass(frozen=True)
class RetryPolicy:
    """Retry counts and backoff for one bot.

    The wait before retry `k` (0-based) is `backoff_base_s * 2**k`, capped at `backoff_max_s`,
    of which a random fraction up to `jitter` is taken off, so that conversations failing
    together do not all come back together. A server's Retry-After is waited for if longer;
    one above `max_retry_after_s` (a daily quota, say) is not waited for at all.
    """

    max_retries: int = 2  # a streamed reply, before any text was shown
    batch_retries: int = 5  # a whole reply, also after text arrived
    backoff_base_s: float = 0.5
    backoff_max_s: float = 20.0
    max_retry_after_s: float = 60.0
    jitter: float = 0.5
    # Pass random.Random(seed) for waits that are the same on every run (tests, benchmarks).
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("max_retries", "batch_retries"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.backoff_base_s < 0 or self.backoff_max_s < 0 or self.max_retry_after_s < 0:
            raise ValueError("backoff and Retry-After limits must be >= 0")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")

    @classmethod
    def never(cls) -> RetryPolicy:
        """No retries at all: for bots that do no I/O (the reference bot)."""
        return cls(max_retries=0, batch_retries=0)

    def retries(self, *, whole_reply: bool) -> int:
        return self.batch_retries if whole_reply else self.max_retries

    def backoff(self, attempt: int) -> float:
        """The jittered wait after failed attempt number `attempt` (0-based)."""
        full = min(self.backoff_base_s * 2.0 ** min(attempt, 60), self.backoff_max_s)
        return full * (1.0 - self.jitter * self.rng.random())

    def delay(
        self, err: BotError, *, attempt: int, whole_reply: bool, text_shown: bool
    ) -> float | None:
        """Seconds to wait before asking again after failed attempt `attempt` (0-based), or
        None to give up with `err`."""
        if not err.retryable or attempt >= self.retries(whole_reply=whole_reply):
            return None
        if text_shown and not whole_reply:
            return None
        if err.retry_after_s is not None and err.retry_after_s > self.max_retry_after_s:
            return None
        return max(err.retry_after_s or 0.0, self.backoff(attempt))
