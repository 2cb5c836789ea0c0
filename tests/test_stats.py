"""Small statistics helpers, checked against values computed by hand from the formulas."""

import math

import pytest

from workbench.domain.stats import (
    Interval,
    bootstrap_mean_ci,
    mean_ci_normal,
    paired_bootstrap_diff_ci,
    wilson_interval,
)

Z95 = 1.959963984540054  # standard normal quantile at 0.975


def test_wilson_95_of_100() -> None:
    # p = 0.95, n = 100, z^2 = 3.841459, z^2/n = 0.0384146
    # denom  = 1 + z^2/n                                  = 1.0384146
    # centre = (p + z^2/2n) / denom = 0.9692073 / 1.0384146 = 0.9333529
    # half   = z * sqrt(p(1-p)/n + z^2/4n^2) / denom
    #        = 1.959964 * sqrt(0.000475 + 0.0000960365) / 1.0384146
    #        = 1.959964 * 0.0238963 / 1.0384146           = 0.0451034
    # low = 0.8882495, high = 0.9784563
    low, high = wilson_interval(95, 100)
    assert low == pytest.approx(0.8882, abs=1e-4)
    assert high == pytest.approx(0.9785, abs=1e-4)


def test_wilson_all_successes_and_none() -> None:
    # 100/100: low = 1 / (1 + z^2/n) = 1 / 1.0384146 = 0.9630065; high = 1
    assert wilson_interval(100, 100) == pytest.approx((0.9630065, 1.0), abs=1e-7)
    # 0/10: low = 0; high = (z^2/n) / (1 + z^2/n) = 0.3841459 / 1.3841459 = 0.2775328
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775328), abs=1e-7)


def test_wilson_no_data_and_bad_input() -> None:
    assert wilson_interval(0, 0) == (None, None)
    with pytest.raises(ValueError):
        wilson_interval(5, 4)
    with pytest.raises(ValueError):
        wilson_interval(-1, 4)
    with pytest.raises(ValueError):
        wilson_interval(1, 4, confidence=1.5)


def test_wilson_wider_at_higher_confidence() -> None:
    low95, high95 = wilson_interval(30, 40)
    low99, high99 = wilson_interval(30, 40, confidence=0.99)
    assert low99 < low95 < 0.75 < high95 < high99


def test_mean_ci_normal_by_hand() -> None:
    # values 1..5: mean 3, sd = sqrt(10/4) = 1.5811388, sem = sd / sqrt(5) = 0.7071068
    # t(0.975, df=4) = 2.7764451 -> half width 1.9632432
    ci = mean_ci_normal([1, 2, 3, 4, 5])
    assert ci == pytest.approx(Interval(3.0, 3.0 - 1.9632432, 3.0 + 1.9632432, 5), abs=1e-6)


def test_mean_ci_normal_undefined_cases() -> None:
    assert mean_ci_normal([]) == Interval(None, None, None, 0)
    assert mean_ci_normal([4.0]) == Interval(4.0, None, None, 1)
    # No spread is a real zero-width interval, not an undefined one.
    assert mean_ci_normal([2, 2, 2]) == Interval(2.0, 2.0, 2.0, 3)
    with pytest.raises(ValueError):
        mean_ci_normal([1.0, math.nan])


def test_bootstrap_mean_ci_is_reproducible_and_brackets_the_mean() -> None:
    values = [1, 2, 2, 3, 3, 3, 4, 4, 5, 5]
    ci = bootstrap_mean_ci(values, seed=7, n_boot=4000)
    assert ci.estimate == pytest.approx(3.2)
    assert ci.n == 10
    assert ci.low is not None and ci.high is not None
    assert ci.low < 3.2 < ci.high
    # The percentile interval is close to the normal one for a symmetric sample like this.
    normal = mean_ci_normal(values)
    assert ci.low == pytest.approx(normal.low, abs=0.35)
    assert ci.high == pytest.approx(normal.high, abs=0.35)
    assert bootstrap_mean_ci(values, seed=7, n_boot=4000) == ci


def test_bootstrap_seed_changes_the_draws() -> None:
    values = [0.13, 0.57, 1.91, 2.4, 3.33, 4.05, 4.71]
    first = bootstrap_mean_ci(values, seed=1, n_boot=300)
    assert bootstrap_mean_ci(values, seed=1, n_boot=300) == first
    assert bootstrap_mean_ci(values, seed=2, n_boot=300) != first


def test_bootstrap_more_draws_than_one_chunk() -> None:
    # 1200 > the internal chunk of 500: still a valid, bracketed interval.
    ci = bootstrap_mean_ci([0.0, 1.0] * 20, seed=1, n_boot=1200)
    assert ci.low is not None and ci.high is not None
    assert ci.low < 0.5 < ci.high


def test_bootstrap_undefined_cases() -> None:
    assert bootstrap_mean_ci([], seed=0, n_boot=100) == Interval(None, None, None, 0)
    assert bootstrap_mean_ci([3.0], seed=0, n_boot=100) == Interval(3.0, None, None, 1)
    assert bootstrap_mean_ci([3.0, 3.0], seed=0, n_boot=100) == Interval(3.0, 3.0, 3.0, 2)
    with pytest.raises(ValueError):
        bootstrap_mean_ci([1.0, 2.0], seed=0, n_boot=0)


def test_paired_bootstrap_diff_is_mean_of_b_minus_a() -> None:
    a = [2, 3, 3, 4, 2, 3]
    b = [3, 4, 3, 5, 3, 4]  # differences 1,1,0,1,1,1 -> mean 5/6
    ci = paired_bootstrap_diff_ci(a, b, seed=3, n_boot=2000)
    assert ci.estimate == pytest.approx(5 / 6)
    assert ci.low is not None and ci.high is not None
    # Resampled means of six 0/1 differences can only be k/6; the upper bound is 6/6.
    assert 0.0 <= ci.low <= 5 / 6 <= ci.high == pytest.approx(1.0)


def test_paired_bootstrap_pairs_keep_between_item_variation_out() -> None:
    # Item levels differ a lot, but b is always a + 1: the paired interval is exactly [1, 1].
    a = [1.0, 5.0, 2.0, 4.0, 3.0]
    b = [x + 1 for x in a]
    assert paired_bootstrap_diff_ci(a, b, seed=0, n_boot=500) == Interval(1.0, 1.0, 1.0, 5)


def test_paired_bootstrap_rejects_unpaired_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap_diff_ci([1, 2], [1, 2, 3], seed=0, n_boot=10)
