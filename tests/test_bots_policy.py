"""The retry rule (bots/policy.py) as plain functions, against hand-computed waits."""

from __future__ import annotations

import random

import pytest

from workbench.bots import AuthFailed, RateLimited, RetryPolicy, ServerError, StreamCut

NO_JITTER = RetryPolicy(max_retries=2, batch_retries=5, backoff_base_s=1.0, backoff_max_s=5.0,
                        max_retry_after_s=10.0, jitter=0.0)


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [NO_JITTER.backoff(k) for k in range(6)] == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert NO_JITTER.backoff(10_000) == 5.0  # no float overflow on absurd attempt numbers


def test_jitter_takes_a_seeded_fraction_off() -> None:
    # random.Random(7) draws 0.32383..., 0.15085..., 0.65093...; the wait is
    # full * (1 - 0.5 * draw): 1 * 0.83808, 2 * 0.92458, 4 * 0.67453.
    policy = RetryPolicy(backoff_base_s=1.0, backoff_max_s=5.0, jitter=0.5,
                         rng=random.Random(7))
    waits = [policy.backoff(k) for k in range(3)]
    assert waits == pytest.approx([0.838084, 1.849151, 2.698131], abs=1e-6)
    wide = RetryPolicy(backoff_base_s=1.0, backoff_max_s=1.0, jitter=0.5, rng=random.Random(1))
    assert all(0.5 <= wide.backoff(0) <= 1.0 for _ in range(200))


def test_a_streamed_reply_is_retried_only_before_text() -> None:
    cut = StreamCut("dropped")
    assert NO_JITTER.delay(cut, attempt=0, whole_reply=False, text_shown=False) == 1.0
    assert NO_JITTER.delay(cut, attempt=0, whole_reply=False, text_shown=True) is None
    assert NO_JITTER.delay(cut, attempt=2, whole_reply=False, text_shown=False) is None


def test_a_whole_reply_is_retried_after_text_with_its_own_count() -> None:
    cut = StreamCut("dropped")
    waits = [NO_JITTER.delay(cut, attempt=k, whole_reply=True, text_shown=True)
             for k in range(6)]
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0, None]  # batch_retries=5, then give up


def test_what_cannot_help_is_never_retried() -> None:
    assert NO_JITTER.delay(AuthFailed("no"), attempt=0, whole_reply=True,
                           text_shown=False) is None
    assert NO_JITTER.delay(ServerError("x", retryable=False), attempt=0, whole_reply=True,
                           text_shown=False) is None


@pytest.mark.parametrize(("retry_after", "attempt", "expected"), [
    (0.0, 0, 1.0),  # "Retry-After: 0": our own backoff still spaces the retries out
    (3.0, 0, 3.0),  # longer than the backoff: the server's wait wins
    (3.0, 2, 4.0),  # shorter than the backoff by then: the backoff wins
    (10.0, 0, 10.0),  # at the cap: waited for
    (10.5, 0, None),  # above the cap (a daily quota, say): give up instead of freezing
])  # fmt: skip
def test_retry_after_is_a_floor_up_to_its_cap(
    retry_after: float, attempt: int, expected: float | None
) -> None:
    err = RateLimited("slow down", retry_after_s=retry_after)
    assert NO_JITTER.delay(err, attempt=attempt, whole_reply=True, text_shown=False) == expected


@pytest.mark.parametrize("bad", [{"max_retries": -1}, {"batch_retries": -1},
                                 {"backoff_base_s": -0.1}, {"jitter": 1.5}])
def test_nonsense_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)  # type: ignore[arg-type]


def test_never_retries_nothing() -> None:
    never = RetryPolicy.never()
    assert never.delay(StreamCut("x"), attempt=0, whole_reply=True, text_shown=False) is None
