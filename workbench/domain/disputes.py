"""Per-item views of rating points for calibration and the disagreement queue: which replies to
discuss first (critical splits, then spread) and which ones raters agreed on (anchor examples).

Pure functions on plain inputs; α and the agreement table are in `agreement`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from workbench.domain.agreement import Id, RatingPoint


@dataclass(frozen=True, slots=True)
class DisagreementItem:
    item_id: Id
    critical_disagreement: bool
    spread: float  # largest max − min over the item's criteria (yes/no counts as 0/1)
    criteria_in_dispute: list[str]


def values_by_item(
    points: Iterable[RatingPoint], group: str | None = None
) -> dict[Id, dict[str, list[int | bool]]]:
    """item_id → criterion → the values raters gave (missing left out), the plain shape below."""
    out: dict[Id, dict[str, list[int | bool]]] = {}
    for p in points:
        if p.value is None or (group is not None and p.group != group):
            continue
        out.setdefault(p.item_id, {}).setdefault(p.criterion, []).append(p.value)
    return out


def _critical_split(values: Sequence[int | bool]) -> bool:
    """Did one rater give the worst score (1 or "no") and another not?

    A list is read as yes/no when it holds a bool or a 0 (0 is not on the 1–5 scale), so yes/no
    encoded as 0/1 is not mistaken for a Likert 1. Pass yes/no as bools to be safe.
    """
    yes_no = any(isinstance(v, bool) for v in values) or any(v == 0 for v in values)
    worst = [(v == 0) if yes_no else (v == 1) for v in values]
    return any(worst) and not all(worst)


def disagreement_order(
    items: Mapping[Id, Mapping[str, Sequence[int | bool | None]]],
    critical: Collection[str] = (),
) -> list[DisagreementItem]:
    """Items to discuss first: any critical split first, then by spread, then by std (desc).

    Spread is in scale units: a yes/no split counts as 1 (one Likert step); list a yes/no
    criterion as critical when its splits must come first. Ties keep the input order.
    """
    ranked: list[tuple[tuple[bool, float, float, int], DisagreementItem]] = []
    for position, (item_id, by_criterion) in enumerate(items.items()):
        spreads: dict[str, tuple[float, float]] = {}
        critical_hit: list[str] = []
        for criterion, given in by_criterion.items():
            values = [v for v in given if v is not None]
            numbers = np.asarray([float(v) for v in values])
            if len(numbers) < 2:
                continue
            spreads[criterion] = (float(numbers.max() - numbers.min()), float(numbers.std()))
            if criterion in critical and _critical_split(values):
                critical_hit.append(criterion)
        disputed = sorted((c for c, (s, _) in spreads.items() if s > 0),
                          key=lambda c: (c not in critical_hit, -spreads[c][0], c))
        spread = max((s for s, _ in spreads.values()), default=0.0)
        std = max((sd for _, sd in spreads.values()), default=0.0)
        entry = DisagreementItem(item_id, bool(critical_hit), spread, disputed)
        ranked.append(((not critical_hit, -spread, -std, position), entry))
    return [entry for _, entry in sorted(ranked, key=lambda pair: pair[0])]


def anchor_examples(
    items: Mapping[Id, Mapping[str, Sequence[int | bool | None]]],
    criterion: str,
    per_level: int = 2,
    *,
    min_raters: int = 2,
) -> dict[int | bool, list[Id]]:
    """Per score level, up to per_level items on which every rater gave that score.

    Items rated by more raters are preferred (a stronger consensus), then input order.
    """
    found: dict[int | bool, list[tuple[int, int, Id]]] = {}
    for position, (item_id, by_criterion) in enumerate(items.items()):
        values = [v for v in by_criterion.get(criterion, ()) if v is not None]
        if len(values) >= min_raters and len(set(values)) == 1:
            found.setdefault(values[0], []).append((-len(values), position, item_id))
    return {
        level: [item_id for *_, item_id in sorted(candidates)[:per_level]]
        for level, candidates in sorted(found.items())
    }


def unanimous(ratings: Sequence[Mapping[str, int | bool | None]], *, min_raters: int = 2) -> bool:
    """Did at least min_raters raters give exactly the same value on every criterion?

    The rule behind an automatic gold example: nothing to adjudicate when nobody differs.
    """
    if len(ratings) < min_raters:
        return False
    first = {k: v for k, v in ratings[0].items() if v is not None}
    return all({k: v for k, v in r.items() if v is not None} == first for r in ratings[1:])


def agreed_value(values: Sequence[object]) -> object | None:
    """The value every rater gave, or None when any two differ (or nobody answered).

    What an adjudication form may start from: a middle value or a majority where raters
    disagree would anchor the lead on a verdict nobody gave (a 5 and a 1 are not a 3).
    """
    given = [v for v in values if v is not None]
    if not given or any(v != given[0] for v in given[1:]):
        return None
    return given[0]
