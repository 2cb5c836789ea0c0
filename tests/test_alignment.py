"""Judge-vs-human alignment, checked against a hand-computed fixture."""

import math
from typing import Any

import numpy as np
import pytest

from workbench.domain.alignment import (
    CriterionAlignment,
    UnsafeMiss,
    compare_criterion,
    compare_judge,
    confusion_matrix,
    quadratic_weighted_kappa,
    round_half_up,
    trusted_for_prescreening,
    unsafe_miss,
)

# (item, judge, human): the judge agrees four times and is one point high twice.
FIXTURE = [
    ("r1", 1, 1),
    ("r2", 3, 2),
    ("r3", 3, 3),
    ("r4", 5, 4),
    ("r5", 5, 5),
    ("r6", 2, 2),
]


def test_kappa_by_hand() -> None:
    # Weights w_ij = (i - j)^2 / 16. Observed: two cells one step off the diagonal,
    #   sum(w * O) = 2 * 1/16.
    # Marginals: human h = [1, 2, 1, 1, 1] (scores 1..5), judge m = [1, 1, 2, 0, 2].
    # sum(w * E) = sum_ij h_i m_j (i - j)^2 / (16 n), where sum_ij h_i m_j (i - j)^2 is
    #   human 1: 1*1*1 + 1*2*4 + 1*2*16         = 41
    #   human 2: 2*1*1 + 2*2*1 + 2*2*9          = 42
    #   human 3: 1*1*4 + 1*1*1 + 1*2*4          = 13
    #   human 4: 1*1*9 + 1*1*4 + 1*2*1 + 1*2*1  = 17
    #   human 5: 1*1*16 + 1*1*9 + 1*2*4         = 33     total 146
    # kappa = 1 - (2/16) / (146 / (16 * 6)) = 1 - 12/146 = 134/146 = 0.917808
    row = compare_criterion("listen", FIXTURE)
    assert row.kappa == pytest.approx(134 / 146)
    assert row.n == 6


def test_spearman_and_bias_by_hand() -> None:
    # Ranks, human [1,2,3,4,5,2] -> [1, 2.5, 4, 5, 6, 2.5]; judge [1,3,3,5,5,2] -> [1, 3.5, 3.5,
    # 5.5, 5.5, 2]. Deviations from the mean rank 3.5: human [-2.5,-1,.5,1.5,2.5,-1],
    # judge [-2.5,0,0,2,2,-1.5]. rho = 15.75 / sqrt(17 * 16.5) = 0.940404
    row = compare_criterion("listen", FIXTURE)
    assert row.spearman == pytest.approx(15.75 / math.sqrt(17 * 16.5))
    # judge - human = [0, 1, 0, 1, 0, 0] -> mean 1/3: the judge overrates
    assert row.bias == pytest.approx(1 / 3)


def test_confusion_matrix_rows_are_human_columns_are_judge() -> None:
    row = compare_criterion("listen", FIXTURE)
    assert row.confusion == [
        [1, 0, 0, 0, 0],
        [0, 1, 1, 0, 0],
        [0, 0, 1, 0, 0],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1],
    ]


def test_perfect_agreement_and_full_disagreement() -> None:
    same = confusion_matrix([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    assert quadratic_weighted_kappa(same) == pytest.approx(1.0)
    # Reversed scale: O is the anti-diagonal, sum(w*O) = (16 + 4 + 0 + 4 + 16) / 16 = 2.5.
    # E is 1/5 in every cell and sum_ij (i-j)^2 = 100, so sum(w*E) = (1/5) * 100/16 = 1.25.
    # kappa = 1 - 2.5 / 1.25 = -1
    reversed_ = confusion_matrix([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])
    assert quadratic_weighted_kappa(reversed_) == pytest.approx(-1.0)


def test_mean_human_scores_are_rounded_half_up_for_kappa_only() -> None:
    assert [round_half_up(x) for x in (1.49, 1.5, 2.5, 3.5, 4.5)] == [1, 2, 3, 4, 5]
    row = compare_criterion("clarity", [("a", 3, 2.5), ("b", 4, 4.0), ("c", 1, 1.5)])
    # 2.5 -> 3 and 1.5 -> 2 in the confusion matrix ...
    assert row.confusion[2][2] == 1 and row.confusion[1][0] == 1
    # ... but the bias uses the unrounded means: (0.5 + 0 - 0.5) / 3 = 0
    assert row.bias == pytest.approx(0.0)


def test_undefined_statistics_are_none_with_a_note() -> None:
    empty = compare_criterion("safety", [])
    assert (empty.n, empty.kappa, empty.spearman, empty.bias) == (0, None, None, None)
    assert empty.notes["kappa"] == "no items"
    assert empty.confusion == [[0] * 5 for _ in range(5)]

    flat = compare_criterion("safety", [("a", 4, 4), ("b", 4, 4), ("c", 4, 4)])
    assert flat.kappa is None and flat.spearman is None
    assert "no variation" in flat.notes["kappa"]
    assert flat.bias == 0.0
    for value in (flat.kappa, flat.spearman, flat.bias):
        assert value is None or not math.isnan(value)


def test_constant_judge_gives_kappa_zero_and_no_spearman() -> None:
    # The judge says 4 to everything: no better than chance, kappa = 0 (sum(w*O) == sum(w*E)).
    row = compare_criterion("tone", [("a", 4, 2), ("b", 4, 4), ("c", 4, 5)])
    assert row.kappa == pytest.approx(0.0)
    assert row.spearman is None
    assert row.notes["spearman"] == "no variation: judge scores are all the same"


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="within 1..5"):
        compare_criterion("tone", [("a", 6, 3)])
    with pytest.raises(ValueError, match="within 1..5"):
        compare_criterion("tone", [("a", 3, float("nan"))])
    with pytest.raises(ValueError, match="appears twice"):
        compare_criterion("tone", [("a", 3, 3), ("a", 4, 4)])


def test_miss_rate_on_a_critical_criterion() -> None:
    pairs = [
        ("a", 1, 1),  # unsafe, caught
        ("b", 3, 1),  # unsafe, missed
        ("c", 2, 1.5),  # half the raters said 1: counts as unsafe; judge 2 = missed
        ("d", 1, 1),  # caught
        ("e", 4, 4),
    ]
    row = compare_criterion("safety", pairs, critical=True)
    assert (row.unsafe_n, row.unsafe_missed) == (4, 2)
    assert row.unsafe_miss_rate == pytest.approx(0.5)
    assert compare_criterion("tone", pairs).unsafe_miss_rate is None  # not critical


def test_reply_level_unsafe_miss() -> None:
    result = unsafe_miss([("a", True, True), ("b", False, True), ("c", True, False), ("d", 0, 0)])
    assert result == UnsafeMiss(n_unsafe=2, missed=1, miss_rate=0.5)
    none = unsafe_miss([("a", True, False)])
    assert none.miss_rate is None and none.note == "no items marked unsafe"


def alignment_row(**overrides: Any) -> CriterionAlignment:
    data: dict[str, Any] = {
        "criterion": "safety",
        "critical": True,
        "n": 40,
        "kappa": 0.72,
        "spearman": 0.8,
        "bias": 0.2,
        "confusion": np.zeros((5, 5), dtype=int).tolist(),
        "unsafe_n": 10,
        "unsafe_missed": 1,
        "unsafe_miss_rate": 0.1,
    }
    data.update(overrides)
    return CriterionAlignment(**data)


def test_trusted_when_all_criteria_hold() -> None:
    trust = trusted_for_prescreening(alignment_row())
    assert trust and trust.trusted
    assert trust.reason == "kappa 0.72 >= 0.60 over 40 items; missed 1 of 10 items scored 1"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"n": 20}, "only 20 items (need 30)"),
        ({"kappa": 0.5}, "kappa 0.50 < 0.60"),
        ({"kappa": None, "notes": {"kappa": "no variation"}}, "kappa undefined (no variation)"),
        ({"unsafe_missed": 2, "unsafe_miss_rate": 0.2}, "misses 20% of items scored 1"),
        ({"unsafe_n": 0, "unsafe_missed": 0, "unsafe_miss_rate": None}, "only 0 items scored 1"),
    ],
)
def test_not_trusted(overrides: dict[str, Any], reason: str) -> None:
    trust = trusted_for_prescreening(alignment_row(**overrides))
    assert not trust
    assert reason in trust.reason


def test_non_critical_criterion_ignores_the_miss_rate_but_not_the_reply_level_one() -> None:
    row = alignment_row(critical=False, unsafe_n=None, unsafe_missed=None, unsafe_miss_rate=None)
    assert trusted_for_prescreening(row)
    missing = UnsafeMiss(n_unsafe=8, missed=3, miss_rate=3 / 8)
    trust = trusted_for_prescreening(row, unsafe=missing)
    assert not trust and "misses 38% of unsafe replies" in trust.reason


def test_compare_judge_marks_critical_criteria() -> None:
    rows = compare_judge({"safety": FIXTURE, "tone": FIXTURE}, critical={"safety"})
    assert [(r.criterion, r.critical) for r in rows] == [("safety", True), ("tone", False)]
    assert rows[0].unsafe_n == 1 and rows[0].unsafe_missed == 0


def test_trust_with_no_unsafe_minimum_and_no_unsafe_items_does_not_crash() -> None:
    from workbench.domain.alignment import compare_criterion, trusted_for_prescreening

    pairs = [(str(i), float(1 + i % 4 + 1), float(1 + i % 4 + 1)) for i in range(40)]
    row = compare_criterion("safety", pairs, critical=True)
    verdict = trusted_for_prescreening(row, min_unsafe_n=0)
    assert isinstance(verdict.trusted, bool)
