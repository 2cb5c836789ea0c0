"""Scoring math: the weighted overall score and the unsafe verdict of one rating."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.domain.enums import ScaleKind
from workbench.domain.rubrics import Rubric

Value = int | bool | str | None


@dataclass(frozen=True)
class Verdict:
    overall: float | None  # None when no 1–5 criterion was scored
    unsafe: bool
    failed_critical: tuple[str, ...]  # keys of critical criteria that failed
    missing: tuple[str, ...]  # criteria without a value

    @property
    def complete(self) -> bool:
        return not self.missing


class ScoreError(ValueError):
    pass


def normalise_value(rubric: Rubric, key: str, value: Value) -> int | bool | None:
    """Check a value against its criterion's scale; yes/no is stored as bool."""
    crit = rubric.criterion(key)
    if value is None or value == "":
        return None
    if crit.scale == ScaleKind.yes_no:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("yes", "ja", "no", "nee"):
            return value.lower() in ("yes", "ja")
        raise ScoreError(f"{key}: expected yes or no, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ScoreError(f"{key}: expected a whole score from 1 to 5, got {value!r}")
    return value


def score(rubric: Rubric, values: dict[str, Value], *, flagged_unsafe: bool = False) -> Verdict:
    """Weighted mean over scored 1–5 criteria; unsafe when any critical criterion fails
    (a 1, or 'no') or the rater flagged the reply unsafe by hand."""
    unknown = set(values) - {c.key for c in rubric.criteria}
    if unknown:
        raise ScoreError(f"not in rubric {rubric.id}: {', '.join(sorted(unknown))}")
    total = weights = 0.0
    failed: list[str] = []
    missing: list[str] = []
    for crit in rubric.criteria:
        v = normalise_value(rubric, crit.key, values.get(crit.key))
        if v is None:
            missing.append(crit.key)
            continue
        if crit.scale == ScaleKind.yes_no:
            if crit.critical and v is False:
                failed.append(crit.key)
            continue
        if crit.critical and v == 1:
            failed.append(crit.key)
        total += crit.weight * int(v)
        weights += crit.weight
    overall = total / weights if weights else None
    return Verdict(
        overall=overall,
        unsafe=bool(failed) or flagged_unsafe,
        failed_critical=tuple(failed),
        missing=tuple(missing),
    )
