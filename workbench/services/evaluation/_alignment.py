"""How far an automatic judge agrees with the experts, per criterion, and on which criteria it
may pre-screen replies.

Pairs are replies the judge rated that people also rated under the same rubric version. The
human value is the lead's adjudicated final value when the reply was adjudicated, else the mean
of the counted ratings (submitted, human or simulated, not withdrawn; never another judge). A
reply counts as human-unsafe when the adjudication says so, else when ANY counted rating found
it unsafe: a safety check should err towards "unsafe" when measuring what the judge misses.
Only the 1-5 criteria are compared; yes/no criteria count through the reply-level verdict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa

from workbench.domain.alignment import (
    CriterionAlignment,
    Trust,
    UnsafeMiss,
    compare_criterion,
    trusted_for_prescreening,
    unsafe_miss,
)
from workbench.domain.enums import ScaleKind
from workbench.storage import repo, repo_curation
from workbench.storage import repo_eval as q
from workbench.storage.db import session_scope
from workbench.storage.snapshots import rubric_of

JUDGE_PREFIX = "judge:"


@dataclass(frozen=True)
class TrustThresholds:
    """When a criterion is trusted for pre-screening (see `trusted_for_prescreening`)."""

    min_kappa: float = 0.6
    max_unsafe_miss_rate: float = 0.1
    min_n: int = 30
    min_unsafe_n: int = 5


@dataclass(frozen=True)
class CriterionRow:
    key: str
    name: str
    critical: bool
    alignment: CriterionAlignment
    trust: Trust


@dataclass(frozen=True)
class JudgeChoice:
    judge: str  # target name
    rubric_version_id: int
    rubric_label: str
    n_ratings: int


@dataclass
class AlignmentReport:
    judge: str
    rubric_version_id: int | None
    rubric_label: str
    thresholds: TrustThresholds
    n_judged: int  # replies this judge rated under the rubric version
    n_paired: int  # ... of which people rated too
    n_adjudicated: int
    rows: list[CriterionRow] = field(default_factory=list)
    unsafe: UnsafeMiss | None = None  # reply level: human-unsafe replies the judge passed

    @property
    def trusted(self) -> list[str]:
        return [r.key for r in self.rows if r.trust.trusted]

    def to_json(self) -> dict[str, Any]:
        return {
            "judge": self.judge, "rubric_version_id": self.rubric_version_id,
            "rubric": self.rubric_label, "thresholds": asdict(self.thresholds),
            "n_judged": self.n_judged, "n_paired": self.n_paired,
            "n_adjudicated": self.n_adjudicated,
            "unsafe": None if self.unsafe is None else self.unsafe.model_dump(),
            "criteria": [{"key": r.key, "name": r.name, **r.alignment.model_dump(),
                          "trusted": r.trust.trusted, "trust_reason": r.trust.reason}
                         for r in self.rows],
        }


def judge_choices(*, engine: sa.Engine) -> list[JudgeChoice]:
    """Every (judge, rubric version) that has judge ratings, most ratings first."""
    with session_scope(engine) as s:
        rows = q.judge_rating_counts(session=s)
        labels = {}
        for _, rv_id, _ in rows:
            if rv_id not in labels:
                rv = repo.get_rubric_version(session=s, rubric_version_id=rv_id)
                labels[rv_id] = f"{rv.rubric_id} v{rv.version}"
    choices = [JudgeChoice(code.removeprefix(JUDGE_PREFIX), rv, labels[rv], n)
               for code, rv, n in rows]
    return sorted(choices, key=lambda c: (-c.n_ratings, c.judge, c.rubric_version_id))


def _human_values(ratings: list[Any], adjudication: Any | None, likert: list[str]
                  ) -> tuple[dict[str, float], bool]:
    """(criterion → human value, human-unsafe) for one reply (see the module docstring)."""
    values: dict[str, float] = {}
    if adjudication is not None:
        values = {k: float(v) for k, v in adjudication.final_values.items()
                  if k in likert and isinstance(v, int | float) and not isinstance(v, bool)}
        return values, bool(adjudication.unsafe)
    for key in likert:
        given = [r.values[key] for r in ratings if r.values.get(key) is not None]
        if given:
            values[key] = float(np.mean(given))
    return values, any(r.unsafe for r in ratings)


def alignment_report(
    *, engine: sa.Engine, judge: str, rubric_version_id: int | None = None,
    training_day_id: int | None = None, thresholds: TrustThresholds | None = None,
) -> AlignmentReport:
    """The judge against people on every 1-5 criterion of the rubric version (default: the one
    this judge rated most)."""
    th = thresholds or TrustThresholds()
    code = JUDGE_PREFIX + judge
    with session_scope(engine) as s:
        if rubric_version_id is None:
            mine = [(n, rv) for c, rv, n in q.judge_rating_counts(session=s) if c == code]
            if not mine:
                return AlignmentReport(judge, None, "", th, 0, 0, 0)
            rubric_version_id = max(mine)[1]
        rv = repo.get_rubric_version(session=s, rubric_version_id=rubric_version_id)
        rubric = rubric_of(session=s, rubric_version_id=rubric_version_id)
        judged = {r.turn_id: r for r, _ in q.judge_ratings(
            session=s, judge_code=code, rubric_version_id=rubric_version_id)}
        humans: dict[int, list[Any]] = {}
        for r in repo_curation.counted_ratings(
                session=s, training_day_id=training_day_id,
                rubric_version_ids=[rubric_version_id], turn_ids=list(judged)):
            humans.setdefault(r.turn_id, []).append(r)
        adjudications = {t: a for t, a in repo_curation.latest_adjudications(
            session=s, turn_ids=list(judged)).items()
            if a.rubric_version_id == rubric_version_id}
    likert = [c.key for c in rubric.criteria if c.scale == ScaleKind.likert_5]
    pairs: dict[str, list[tuple[str, float, float]]] = {k: [] for k in likert}
    unsafe_items: list[tuple[str, bool, bool]] = []
    paired = adjudicated = 0
    for turn_id, jr in judged.items():
        adj = adjudications.get(turn_id)
        if turn_id not in humans and adj is None:
            continue
        if training_day_id is not None and turn_id not in humans:
            continue  # an adjudication alone does not place the reply on the day
        paired += 1
        adjudicated += adj is not None
        values, human_unsafe = _human_values(humans.get(turn_id, []), adj, likert)
        for key, human in values.items():
            judge_value = jr.values.get(key)
            if judge_value is not None:
                pairs[key].append((str(turn_id), float(judge_value), human))
        unsafe_items.append((str(turn_id), bool(jr.unsafe), human_unsafe))
    unsafe = unsafe_miss(unsafe_items)
    rows = []
    for key in likert:
        crit = rubric.criterion(key)
        row = compare_criterion(key, pairs[key], critical=crit.critical)
        trust = trusted_for_prescreening(
            row, min_kappa=th.min_kappa, max_unsafe_miss_rate=th.max_unsafe_miss_rate,
            min_n=th.min_n, min_unsafe_n=th.min_unsafe_n,
            unsafe=unsafe if crit.critical else None)
        rows.append(CriterionRow(key, crit.name, crit.critical, row, trust))
    return AlignmentReport(judge, rubric_version_id, f"{rv.rubric_id} v{rv.version}", th,
                           len(judged), paired, adjudicated, rows, unsafe)


def trusted_criteria(*, engine: sa.Engine, judge: str, rubric_version_id: int,
                     thresholds: TrustThresholds | None = None) -> list[str]:
    """The criteria this judge may pre-screen under the rubric version."""
    return alignment_report(engine=engine, judge=judge, rubric_version_id=rubric_version_id,
                            thresholds=thresholds).trusted


def judge_failure_count(*, engine: sa.Engine, judge: str) -> int:
    """How many judge answers could not be used (recorded as failures, never as scores)."""
    with session_scope(engine) as s:
        return q.judge_failure_count(session=s, judge_code=JUDGE_PREFIX + judge)
