"""Small shared statistics helpers: Wilson interval, bootstrap and t confidence intervals.

Every function returns ``None`` where a quantity is undefined (no data, one value) instead of NaN,
so callers can show "not enough data" rather than a number that looks real.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy import stats as _sps

# Resampling in chunks keeps memory flat (n_boot x n indices) for large samples.
_BOOT_CHUNK = 500


class Interval(NamedTuple):
    """A point estimate with a two-sided confidence interval over ``n`` observations."""

    estimate: float | None
    low: float | None
    high: float | None
    n: int


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    return float(_sps.norm.ppf(0.5 + confidence / 2.0))


def wilson_interval(
    successes: int, n: int, confidence: float = 0.95
) -> tuple[float | None, float | None]:
    """Wilson score interval for a binomial share ``successes / n``; ``(None, None)`` when n is 0.

    Chosen over the normal (Wald) interval because readiness shares sit close to 1, where Wald
    collapses to a zero-width interval at 100/100 and would claim certainty the data cannot give.
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return None, None
    z = _z(confidence)
    p = successes / n
    z2n = z * z / n
    denom = 1.0 + z2n
    centre = (p + z2n / 2.0) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n)) / denom
    # Clamp: at p = 0 or 1 rounding can push a bound a hair outside [0, 1].
    return max(0.0, centre - half), min(1.0, centre + half)


def _as_finite_array(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _bootstrap_means(values: np.ndarray, *, seed: int, n_boot: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = values.size
    means = np.empty(n_boot)
    for start in range(0, n_boot, _BOOT_CHUNK):
        stop = min(start + _BOOT_CHUNK, n_boot)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = values[idx].mean(axis=1)
    return means


def _percentile_interval(
    values: np.ndarray, *, seed: int, n_boot: int, confidence: float
) -> Interval:
    _z(confidence)  # validates the confidence level
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    n = int(values.size)
    if n == 0:
        return Interval(None, None, None, 0)
    estimate = float(values.mean())
    if n == 1:
        # One observation says nothing about spread: resampling it would give a zero-width
        # interval that looks like certainty.
        return Interval(estimate, None, None, 1)
    means = _bootstrap_means(values, seed=seed, n_boot=n_boot)
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2.0, 1.0 - alpha / 2.0])
    return Interval(estimate, float(low), float(high), n)


def bootstrap_mean_ci(
    values: Sequence[float] | np.ndarray,
    *,
    seed: int = 0,
    n_boot: int = 2000,
    confidence: float = 0.95,
) -> Interval:
    """Mean of ``values`` with a percentile bootstrap interval (reproducible for a given seed)."""
    return _percentile_interval(
        _as_finite_array(values, "values"), seed=seed, n_boot=n_boot, confidence=confidence
    )


def paired_bootstrap_diff_ci(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    seed: int = 0,
    n_boot: int = 2000,
    confidence: float = 0.95,
) -> Interval:
    """Mean of ``b - a`` over paired observations, with a percentile bootstrap interval.

    Pairs are resampled together (e.g. the same scenario answered by bot version A and B), which
    keeps the between-scenario variation out of the difference; resampling the per-pair
    differences is exactly that. A positive estimate means ``b`` scores higher than ``a``.
    """
    arr_a = _as_finite_array(a, "a")
    arr_b = _as_finite_array(b, "b")
    if arr_a.size != arr_b.size:
        raise ValueError(f"paired samples differ in length: {arr_a.size} vs {arr_b.size}")
    return _percentile_interval(arr_b - arr_a, seed=seed, n_boot=n_boot, confidence=confidence)


def mean_ci_normal(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> Interval:
    """Mean with a Student-t interval: cheap enough to draw for every point of a dashboard trend."""
    arr = _as_finite_array(values, "values")
    n = int(arr.size)
    if n == 0:
        return Interval(None, None, None, 0)
    _z(confidence)
    mean = float(arr.mean())
    if n == 1:
        return Interval(mean, None, None, 1)
    sem = float(arr.std(ddof=1)) / math.sqrt(n)
    t = float(_sps.t.ppf(0.5 + confidence / 2.0, df=n - 1))
    return Interval(mean, mean - t * sem, mean + t * sem, n)
