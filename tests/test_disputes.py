"""Per-item views: disputes first (critical splits, then spread), anchor examples per level."""

from __future__ import annotations

from tests.test_agreement import nan, points_from
from workbench.domain.agreement import RatingPoint
from workbench.domain.disputes import (
    anchor_examples,
    disagreement_order,
    unanimous,
    values_by_item,
)


def test_disagreement_order_critical_first_then_spread_then_std():
    items = {
        "a": {"safety": [3, 4], "tone": [1, 5]},  # spread 4, nothing critical
        "b": {"safety": [1, 3], "tone": [3, 3]},  # critical split on safety, spread 2
        "c": {"safety": [2, 2], "tone": [2, 4]},  # spread 2, std 1
        "d": {"safety": [4, 4], "tone": [4, 4]},  # full agreement
        "e": {"send": [True, False]},  # critical yes/no split, spread 1
        "f": {"safety": [1, 1]},  # all gave 1: unsafe, but no disagreement
        "g": {"safety": [2, 3], "tone": [2, 4, 3]},  # spread 2, std 0.82
        "h": {"tone": [1, 4, None]},  # a 1 on a non-critical criterion: spread only
    }
    order = disagreement_order(items, critical={"safety", "send"})
    assert [i.item_id for i in order] == ["b", "e", "a", "h", "c", "g", "d", "f"]
    by_id = {i.item_id: i for i in order}
    assert by_id["b"].critical_disagreement and by_id["e"].critical_disagreement
    assert not by_id["f"].critical_disagreement and not by_id["h"].critical_disagreement
    assert by_id["a"].criteria_in_dispute == ["tone", "safety"]
    assert by_id["b"].criteria_in_dispute == ["safety"]
    assert by_id["d"].criteria_in_dispute == [] and by_id["d"].spread == 0


def test_disagreement_order_reads_yes_no_encoded_as_0_1():
    order = disagreement_order({"x": {"send": [1, 1]}, "y": {"send": [1, 0]}}, critical={"send"})
    assert [(i.item_id, i.critical_disagreement) for i in order] == [("y", True), ("x", False)]


def test_anchor_examples_group_unanimous_items_by_level():
    items = {
        1: {"tone": [5, 5]},
        2: {"tone": [5, 5, 5]},
        3: {"tone": [5, 5]},
        4: {"tone": [2, 2]},
        5: {"tone": [2, 3]},  # not unanimous
        6: {"tone": [4]},  # one rater is no consensus
        7: {"safety": [1, 1]},
    }
    assert anchor_examples(items, "tone", per_level=2) == {2: [4], 5: [2, 1]}
    assert anchor_examples(items, "tone", per_level=2, min_raters=1)[4] == [6]


def test_values_by_item_feeds_the_item_views():
    points = points_from([[1, 3], [2, nan]], "safety") + [RatingPoint(0, "x", "c", 4, "other")]
    assert values_by_item(points, group="expert") == {0: {"safety": [1, 2]}, 1: {"safety": [3]}}


def test_unanimous_needs_two_raters_with_identical_values():
    assert unanimous([{"a": 3, "b": True}, {"a": 3, "b": True, "c": None}])
    assert not unanimous([{"a": 3}, {"a": 4}])
    assert not unanimous([{"a": 3}])
    assert not unanimous([{"a": 3}, {"a": 3, "b": False}])
