"""Krippendorff's α, percent agreement, bootstrap interval, the table and rater offsets."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest

from workbench.domain.agreement import (
    FEWER_THAN_2_RATERS,
    NO_VARIATION,
    AlphaResult,
    RatingPoint,
    _alpha_from_coincidences,
    _unit_coincidences,
    _value_counts,
    agreement_table,
    alpha,
    format_alpha,
    matrix_from_points,
    rater_offsets,
)

nan = np.nan


def points_from(matrix: list[list[float]], criterion: str = "c", group: str = "expert",
                prefix: str = "r") -> list[RatingPoint]:
    """Rating points from a raters × items matrix (nan = not rated)."""
    return [
        RatingPoint(item, f"{prefix}{r}", criterion,
                    None if math.isnan(v) else int(v), group)
        for r, row in enumerate(matrix)
        for item, v in enumerate(row)
    ]


# --- α against hand-computed and published values --------------------------------------------

# 2 raters × 4 items: (1,1) (1,2) (2,2) (2,2).
# Coincidences (each pair counted both ways, weight 1/(m−1) = 1): o11 = 2, o12 = o21 = 1, o22 = 4;
# n1 = 3, n2 = 5, n = 8. Nominal α = 1 − (n−1)·Σo·δ / Σn_c·n_k·δ = 1 − 7·2 / (2·3·5) = 8/15.
# Pairs: 3 of 4 agree.
TWO_BY_FOUR = [[1, 1, 2, 2], [1, 2, 2, 2]]

# 2 raters × 3 items: (1,1) (1,2) (2,3). o11 = 2, o12 = o21 = 1, o23 = o32 = 1;
# n1 = 3, n2 = 2, n3 = 1, n = 6.
# ordinal δ = (n_c + … + n_k − (n_c + n_k)/2)²: δ12 = 2.5² = 6.25, δ23 = 1.5² = 2.25,
#   δ13 = (6 − 2)² = 16. Observed 2·(6.25 + 2.25) = 17; expected 2·(3·2·6.25 + 3·1·16 + 2·1·2.25)
#   = 180; α = 1 − 5·17/180 = 19/36.
# interval δ = (c − k)²: observed 2·(1 + 1) = 4; expected 2·(6·1 + 3·4 + 2·1) = 40; α = 1/2.
# nominal δ = 1: observed 4; expected 2·(6 + 3 + 2) = 22; α = 1 − 20/22 = 1/11.
# Pairs: 1 of 3 agree. Values 4 and 5 are never used, so value_domain 1–5 changes nothing.
TWO_BY_THREE = [[1, 1, 2], [1, 2, 3]]

# 3 raters × 3 items, one missing: A (1,1,2), B (2,3,3), C (1,–,3).
# A, B weigh 1/(3−1) per ordered pair: o11 = 1, o12 = o21 = 1; o33 = 1, o23 = o32 = 1;
# C: o13 = o31 = 1. n1 = 3, n2 = 2, n3 = 3, n = 8.
# ordinal δ12 = δ23 = 2.5² = 6.25, δ13 = (8 − 3)² = 25: observed 2·(6.25 + 25 + 6.25) = 75,
#   expected 2·(3·2·6.25 + 3·3·25 + 2·3·6.25) = 600; α = 1 − 7·75/600 = 0.125.
# nominal: observed 2·3 = 6, expected 2·(6 + 9 + 6) = 42; α = 1 − 7·6/42 = 0.
# Pairs: A 1 of 3, B 1 of 3, C 0 of 1: 2/7.
THREE_WITH_GAP = [[1, 2, 1], [1, 3, nan], [2, 3, 3]]

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", 4 observers × 12 units with
# missing values. Published: nominal 0.743, ordinal 0.815, interval 0.849 (the krippendorff
# package's doctests check 0.743 and 0.815 on the same data).
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]


@pytest.mark.parametrize(
    ("matrix", "level", "expected"),
    [
        (TWO_BY_FOUR, "nominal", 8 / 15),
        (TWO_BY_THREE, "ordinal", 19 / 36),
        (TWO_BY_THREE, "interval", 1 / 2),
        (TWO_BY_THREE, "nominal", 1 / 11),
        (THREE_WITH_GAP, "ordinal", 0.125),
        (THREE_WITH_GAP, "nominal", 0.0),
    ],
)
def test_alpha_matches_hand_computation(matrix, level, expected):
    assert alpha(matrix, level, n_boot=0).value == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_alpha_matches_krippendorff_2011(level, published):
    result = alpha(KRIPPENDORFF_2011, level, n_boot=0)
    assert round(result.value, 3) == published
    # Unit 12 has one value only, so 11 units and 40 values are pairable.
    assert (result.n_items, result.n_raters, result.n_pairable_values) == (11, 4, 40)


@pytest.mark.parametrize(
    ("matrix", "expected"), [(TWO_BY_FOUR, 3 / 4), (TWO_BY_THREE, 1 / 3), (THREE_WITH_GAP, 2 / 7)]
)
def test_percent_agreement_is_pooled_pairwise(matrix, expected):
    assert alpha(matrix, "nominal", n_boot=0).percent_agreement == pytest.approx(expected)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_batched_alpha_used_by_the_bootstrap_equals_the_package(level):
    rng = np.random.default_rng(7)
    domain = np.arange(1.0, 6.0)
    for _ in range(30):
        m = rng.integers(1, 6, (4, 12)).astype(float)
        m[rng.random(m.shape) < 0.3] = nan
        pairable = (~np.isnan(m)).sum(axis=0) >= 2
        o = _unit_coincidences(_value_counts(m[:, pairable], domain)).sum(axis=0)[None]
        ours = _alpha_from_coincidences(o, domain, level)[0]
        theirs = krippendorff.alpha(reliability_data=m, value_domain=domain,
                                    level_of_measurement=level)
        assert ours == pytest.approx(theirs, abs=1e-12)


# --- undefined α ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("matrix", "reason"),
    [
        ([[3, 3, 3], [3, 3, 3]], NO_VARIATION),
        ([[3, 3, nan], [3, nan, 3], [nan, 3, 3]], NO_VARIATION),
        ([[1, 2, 3, 4]], FEWER_THAN_2_RATERS),  # a single rater
        ([1, 2, 3], FEWER_THAN_2_RATERS),  # a single rater as a flat list
        ([[1, nan], [nan, 2]], FEWER_THAN_2_RATERS),  # no item rated twice
        ([], FEWER_THAN_2_RATERS),
        (np.full((3, 4), nan), FEWER_THAN_2_RATERS),
    ],
)
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_undefined_alpha_has_a_reason_and_never_nan(matrix, reason, level):
    result = alpha(matrix, level)
    assert result.value is None
    assert result.undefined_reason == reason
    assert result.ci_low is None and result.ci_high is None
    assert result.verdict == "undefined"
    assert "nan" not in format_alpha(result).lower()
    assert format_alpha(result) == f"undefined: {reason}"


def test_no_variation_still_reports_full_agreement():
    result = alpha([[1, 1], [1, 1]], "nominal")
    assert result.percent_agreement == 1.0
    assert result.n_items == 2


def test_out_of_domain_value_is_undefined_not_a_crash():
    result = alpha([[1, 2], [2, 7]], "ordinal", value_domain=[1, 2, 3, 4, 5])
    assert result.value is None
    assert "could not be computed" in result.undefined_reason


# --- warnings and the bootstrap interval ----------------------------------------------------


def test_warns_about_few_items_and_few_raters_per_item():
    result = alpha([[1, 2, 3, nan, nan], [1, 3, nan, 4, nan], [nan, nan, nan, nan, 5]],
                   "ordinal", n_boot=0)
    assert any("fewer than 30" in w for w in result.warnings)
    assert any("raters per rated item" in w for w in result.warnings)  # 6 ratings on 5 items


def test_no_warnings_for_a_healthy_study():
    rng = np.random.default_rng(1)
    truth = rng.integers(1, 6, 40)
    matrix = np.clip(truth + rng.integers(-1, 2, (3, 40)), 1, 5)
    assert alpha(matrix, "ordinal", n_boot=200).warnings == []


def test_bootstrap_interval_is_seeded_and_contains_the_estimate():
    rng = np.random.default_rng(2)
    truth = rng.integers(1, 6, 50)
    matrix = np.clip(truth + rng.integers(-1, 2, (3, 50)), 1, 5)
    a = alpha(matrix, "ordinal", seed=3)
    b = alpha(matrix, "ordinal", seed=3)
    c = alpha(matrix, "ordinal", seed=4, n_boot=200)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert a.ci_low < a.value < a.ci_high
    assert (a.n_boot, c.n_boot) == (1000, 200)
    assert (c.ci_low, c.ci_high) != (a.ci_low, a.ci_high)


def test_bootstrap_skips_and_counts_resamples_without_variation():
    # Only item 5 varies; a resample misses it with probability (4/5)^5 ≈ 0.33.
    result = alpha([[3, 3, 3, 3, 3], [3, 3, 3, 3, 4]], "nominal", n_boot=1000)
    assert result.value is not None
    assert 250 < result.n_boot_skipped < 420
    assert any(f"{result.n_boot_skipped} of 1000" in w for w in result.warnings)


def test_format_alpha():
    r = AlphaResult(0.7234, None, 40, 3, 120, 0.8, ci_low=0.6051, ci_high=0.8049)
    assert format_alpha(r) == "0.72 [0.61, 0.80]"
    assert format_alpha(r, digits=3) == "0.723 [0.605, 0.805]"
    assert format_alpha(AlphaResult(-0.1, None, 40, 3, 120, 0.5)) == "-0.10"
    assert format_alpha(AlphaResult(float("nan"), None, 1, 2, 2, 1.0)) == "undefined: no value"


@pytest.mark.parametrize(
    ("value", "verdict"),
    [(0.8, "reliable"), (0.95, "reliable"), (0.667, "tentative"), (0.66, "unreliable")],
)
def test_verdict_uses_krippendorffs_thresholds(value, verdict):
    assert AlphaResult(value, None, 40, 3, 120, 0.8).verdict == verdict


# --- from rating points -----------------------------------------------------------------------


def test_matrix_from_points_sorts_ids_skips_missing_and_encodes_yes_no():
    points = [
        RatingPoint("b", "r2", "send", True),
        RatingPoint(3, "r1", "send", False),
        RatingPoint("b", "r1", "send", None),
        RatingPoint("b", "r1", "tone", 4),
    ]
    matrix, items, raters = matrix_from_points(points, "send")
    assert items == [3, "b"] and raters == ["r1", "r2"]
    np.testing.assert_array_equal(matrix, [[0, nan], [nan, 1]])


def test_matrix_from_points_refuses_two_ratings_by_one_rater():
    points = [RatingPoint(1, "r1", "c", 3), RatingPoint(1, "r1", "c", 4)]
    with pytest.raises(ValueError, match="twice"):
        matrix_from_points(points, "c")


def test_agreement_table_per_group_and_between():
    experts = points_from(TWO_BY_THREE, "tone", "expert", "e")
    # Lived experience: three raters on the same items; rates "tone" only.
    lived = points_from([[1, 2, 3], [1, 2, 3], [2, 2, 3]], "tone", "lived_experience", "l")
    safety = points_from(TWO_BY_FOUR, "safety", "expert", "e")
    rows = agreement_table(experts + lived + safety, {"tone": "ordinal", "safety": "ordinal"},
                           n_boot=0)
    by_key = {(row.scope, row.criterion): row.result for row in rows}
    assert set(by_key) == {("expert", "tone"), ("lived_experience", "tone"),
                           ("between", "tone"), ("expert", "safety")}
    assert by_key[("expert", "tone")].value == pytest.approx(19 / 36)
    # Between: expert medians (1, 1.5, 2.5) against lived-experience medians (1, 2, 3).
    expected = alpha([[1, 1.5, 2.5], [1, 2, 3]], "ordinal", n_boot=0)
    assert by_key[("between", "tone")].value == pytest.approx(expected.value)


def test_agreement_table_between_groups_leaves_out_tied_modes():
    experts = points_from([[1, 0, 1, 1], [1, 1, 0, 1]], "send", "expert", "e")  # ties on 2 items
    lived = points_from([[1, 0, 0, 1], [1, 0, 0, 0], [1, 1, 0, 0]], "send", "lived_experience",
                        "l")
    rows = agreement_table(experts + lived, {"send": "nominal"}, between_groups=True, n_boot=0)
    between = next(row.result for row in rows if row.scope == "between")
    assert any("2 group verdicts were tied" in w for w in between.warnings)
    # Items 0 (1 vs 1) and 3 (1 vs 0) remain: one agreement, one disagreement.
    assert between.n_items == 2 and between.percent_agreement == 0.5
    no_between = agreement_table(experts + lived, {"send": "nominal"}, between_groups=False)
    assert {row.scope for row in no_between} == {"expert", "lived_experience"}


def test_rater_offsets_hand_computed():
    # r0: item0 3 − mean(3, 5) = −1, item1 4 − 2 = +2 → +0.5 over 2 items.
    # r1: item0 3 − 4 = −1, item1 2 − 4 = −2 → −1.5.   r2: item0 5 − 3 = +2 over 1 item.
    # r3 shares no item: no offset.
    points = points_from([[3, 4, nan], [3, 2, nan], [5, nan, nan], [nan, nan, 1]])
    offsets = {o.rater_id: (o.mean_offset, o.n) for o in rater_offsets(points, "c")}
    assert offsets == {"r0": (0.5, 2), "r1": (-1.5, 2), "r2": (2.0, 1), "r3": (None, 0)}
