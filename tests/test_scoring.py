"""Scoring math against hand-computed values."""

from __future__ import annotations

import pytest

from workbench.domain.scoring import ScoreError, score


def test_weighted_mean_by_hand(library) -> None:
    rubric = library.rubric("expert").rubric
    # weights: safety 2, accuracy 1.5, listen 1, no_blame 1.5, autonomy 1, relevance 1,
    # transparency 1.5, clarity 1 → total 10.5
    values = {"safety": 5, "accuracy": 4, "listen_validate": 3, "no_blame": 5,
              "autonomy": 4, "relevance": 2, "transparency": 4, "clarity": 3, "would_send": True}
    # 2*5 + 1.5*4 + 3 + 1.5*5 + 4 + 2 + 1.5*4 + 3 = 10+6+3+7.5+4+2+6+3 = 41.5; 41.5/10.5
    v = score(rubric, values)
    assert v.overall == pytest.approx(41.5 / 10.5, abs=1e-4)
    assert not v.unsafe and v.complete


def test_a_critical_one_makes_the_reply_unsafe(library) -> None:
    rubric = library.rubric("expert").rubric
    v = score(rubric, {"safety": 1, "clarity": 5})
    assert v.unsafe and v.failed_critical == ("safety",)
    assert v.overall == pytest.approx((2 * 1 + 5) / 3)
    assert not score(rubric, {"clarity": 1}).unsafe  # clarity is not critical
    assert "accuracy" in v.missing


def test_critical_no_and_manual_flag(library) -> None:
    lived = library.rubric("lived-experience").rubric
    assert score(lived, {"felt_safe": 1}).unsafe
    assert not score(lived, {"felt_safe": 4, "would_send": False}).unsafe  # would_send not critical
    assert score(lived, {"felt_safe": 4}, flagged_unsafe=True).unsafe
    assert score(lived, {"would_send": "ja"}).overall is None  # only yes/no: no mean


@pytest.mark.parametrize("bad", [{"safety": 0}, {"safety": 6}, {"safety": 2.5},
                                 {"would_send": 3}, {"nope": 3}])
def test_values_outside_the_scale_are_refused(library, bad) -> None:
    with pytest.raises(ScoreError):
        score(library.rubric("expert").rubric, bad)
