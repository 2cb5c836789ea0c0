"""Agreement between raters, from the database: the α table per training day and rubric version
(within experts, within the lived-experience panel, between the two on shared criteria) and the
calibration view (drivers of disagreement, rater offsets, anchor examples).

Only counted ratings enter (see `repo_curation`): submitted, human or simulated — never an
automatic judge — and nothing withdrawn. How many withdrawn ratings were left out is reported, so
a figure that shrank after a withdrawal is explained rather than silently different.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain.agreement import (
    AlphaResult,
    Level,
    RatingPoint,
    agreement_table,
    rater_offsets,
)
from workbench.domain.disputes import anchor_examples, disagreement_order, values_by_item
from workbench.domain.enums import Group, ScaleKind
from workbench.domain.rubrics import Rubric
from workbench.storage import repo_curation
from workbench.storage.db import session_scope
from workbench.storage.snapshots import rubric_of
from workbench.storage.tables import RubricVersion

GROUPS = (str(Group.expert), str(Group.lived_experience))
EXCERPT_CHARS = 180
# A rater whose mean offset from colleagues is beyond this many scale points is shown as
# lenient or strict; within it, as in line. A quarter point is what calibration can act on.
OFFSET_MARGIN = 0.25


@dataclass(frozen=True)
class RubricInfo:
    id: int
    rubric_id: str
    version: int
    audience: str
    levels: dict[str, Level]  # criterion → ordinal (1–5) or nominal (yes/no), in rubric order
    names: dict[str, str]
    critical: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.rubric_id} v{self.version}"


@dataclass(frozen=True)
class AgreementEntry:
    scope: str  # expert | lived_experience | between
    rubric: str  # "expert v1", or "expert v1 × lived-experience v1" for between
    rubric_version_ids: tuple[int, ...]
    criterion: str
    level: Level
    result: AlphaResult

    def to_json(self) -> dict[str, Any]:
        r = self.result
        return {
            "scope": self.scope, "rubric": self.rubric,
            "rubric_version_ids": list(self.rubric_version_ids), "criterion": self.criterion,
            "level": self.level, "alpha": r.value, "undefined_reason": r.undefined_reason,
            "ci_low": r.ci_low, "ci_high": r.ci_high, "verdict": r.verdict,
            "n_items": r.n_items, "n_raters": r.n_raters,
            "n_pairable_values": r.n_pairable_values,
            "percent_agreement": r.percent_agreement, "warnings": list(r.warnings),
        }


@dataclass(frozen=True)
class AgreementReport:
    training_day_id: int | None
    rubric_version_id: int | None
    entries: list[AgreementEntry]
    n_ratings: int  # counted ratings the figures rest on
    n_replies: int
    excluded_withdrawn: int  # submitted ratings left out because they or their reply were withdrawn

    def to_json(self) -> dict[str, Any]:
        return {
            "training_day_id": self.training_day_id, "rubric_version_id": self.rubric_version_id,
            "n_ratings": self.n_ratings, "n_replies": self.n_replies,
            "excluded_withdrawn_ratings": self.excluded_withdrawn,
            "rows": [e.to_json() for e in self.entries],
        }


def rubric_info(rv: RubricVersion, rubric: Rubric) -> RubricInfo:
    return RubricInfo(
        id=rv.id or 0, rubric_id=rv.rubric_id, version=rv.version, audience=str(rv.audience),
        levels={c.key: ("nominal" if c.scale == ScaleKind.yes_no else "ordinal")
                for c in rubric.criteria},
        names={c.key: c.name for c in rubric.criteria}, critical=tuple(rubric.critical_keys),
    )


def _rubrics(session: Session, ids: set[int]) -> dict[int, RubricInfo]:
    return {rv.id or 0: rubric_info(rv, rubric_of(session=session, rubric_version_id=rv.id or 0))
            for rv in repo_curation.rubric_versions(session=session, ids=ids)}


def load_points(
    *, session: Session, training_day_id: int | None = None,
    rubric_version_id: int | None = None,
) -> tuple[dict[int, list[RatingPoint]], dict[int, RubricInfo]]:
    """Counted ratings as RatingPoints per rubric version (item = reply turn id, rater =
    participant id, group = the rater's group or else the rubric's audience; yes/no as bool)."""
    rows = repo_curation.counted_scores(
        session=session, training_day_id=training_day_id,
        rubric_version_ids=None if rubric_version_id is None else [rubric_version_id])
    rubrics = _rubrics(session, {r[3] for r in rows})
    points: dict[int, list[RatingPoint]] = defaultdict(list)
    for turn_id, rater_id, group, rv_id, criterion, value in rows:
        info = rubrics[rv_id]
        level = info.levels.get(criterion)
        if level is None:
            continue  # a key the rubric version does not have: never compare it
        v: int | bool = bool(value) if level == "nominal" else int(value)
        points[rv_id].append(RatingPoint(turn_id, rater_id, criterion, v,
                                         str(group or info.audience)))
    return dict(points), rubrics


def agreement_report(
    *, engine: sa.Engine, training_day_id: int | None = None,
    rubric_version_id: int | None = None, n_boot: int = 1000, seed: int = 0,
) -> AgreementReport:
    """α per criterion within each group per rubric version, and between the groups wherever an
    expert rubric and a lived-experience rubric share a criterion key and replies.

    Without a training day, all counted ratings are pooled per rubric version.
    """
    with session_scope(engine) as s:
        points, rubrics = load_points(session=s, training_day_id=training_day_id,
                                      rubric_version_id=rubric_version_id)
        excluded = repo_curation.withdrawn_rating_count(
            session=s, training_day_id=training_day_id,
            rubric_version_ids=None if rubric_version_id is None else [rubric_version_id])
    entries: list[AgreementEntry] = []
    for rv_id in sorted(points):
        info = rubrics[rv_id]
        for row in agreement_table(points[rv_id], info.levels, groups=GROUPS,
                                   between_groups=False, n_boot=n_boot, seed=seed):
            entries.append(AgreementEntry(row.scope, info.label, (rv_id,), row.criterion,
                                          row.level, row.result))
    entries += _between(points, rubrics, n_boot=n_boot, seed=seed)
    ratings = {(p.item_id, p.rater_id, rv) for rv, pts in points.items() for p in pts}
    return AgreementReport(
        training_day_id=training_day_id, rubric_version_id=rubric_version_id, entries=entries,
        n_ratings=len(ratings), n_replies=len({item for item, _, _ in ratings}),
        excluded_withdrawn=excluded,
    )


def _between(points: dict[int, list[RatingPoint]], rubrics: dict[int, RubricInfo], *,
             n_boot: int, seed: int) -> list[AgreementEntry]:
    """Per pair (rubric the experts used, rubric the panel used) with shared replies, α between
    the groups' verdicts on each criterion both rubrics have on the same scale."""
    by_group: dict[str, dict[int, list[RatingPoint]]] = {g: defaultdict(list) for g in GROUPS}
    for rv_id, pts in points.items():
        for p in pts:
            if p.group in by_group:
                by_group[p.group][rv_id].append(p)
    expert, panel = (by_group[g] for g in GROUPS)
    out: list[AgreementEntry] = []
    for rv_e in sorted(expert):
        for rv_l in sorted(panel):
            shared_items = ({p.item_id for p in expert[rv_e]}
                            & {p.item_id for p in panel[rv_l]})
            if not shared_items:
                continue
            e_info, l_info = rubrics[rv_e], rubrics[rv_l]
            label = (e_info.label if rv_e == rv_l
                     else f"{e_info.label} × {l_info.label}")
            for criterion, level in e_info.levels.items():
                if l_info.levels.get(criterion) != level:
                    continue
                both = ([p for p in expert[rv_e] if p.criterion == criterion]
                        + [p for p in panel[rv_l] if p.criterion == criterion])
                rows = agreement_table(both, {criterion: level}, groups=GROUPS,
                                       n_boot=n_boot, seed=seed)
                out += [AgreementEntry("between", label, tuple(sorted({rv_e, rv_l})),
                                       criterion, level, r.result)
                        for r in rows if r.scope == "between"]
    return out


# --- calibration --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Excerpt:
    turn_id: int
    text: str  # the bot reply, cut to EXCERPT_CHARS
    scenario_title: str | None


@dataclass(frozen=True)
class Driver:
    """A reply that drives disagreement: critical splits first, then the widest spread."""

    excerpt: Excerpt
    critical_disagreement: bool
    spread: float
    criteria_in_dispute: list[str]
    values: dict[str, list[int | bool]]


@dataclass(frozen=True)
class OffsetRow:
    rater: str  # participant code
    mean_offset: float | None  # over the 1–5 criteria; + is lenient, − is strict
    per_criterion: dict[str, float | None]
    n_items: int

    @property
    def label(self) -> str:
        if self.mean_offset is None:
            return "unknown"
        if self.mean_offset > OFFSET_MARGIN:
            return "lenient"
        return "strict" if self.mean_offset < -OFFSET_MARGIN else "in_line"


@dataclass(frozen=True)
class CalibrationView:
    rubric: RubricInfo
    group: str
    entries: list[AgreementEntry]  # α per criterion of this group under this rubric
    drivers: list[Driver]
    offsets: list[OffsetRow]
    anchors: dict[str, dict[int | bool, list[Excerpt]]]  # criterion → level → replies


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def rubric_choices(*, engine: sa.Engine, training_day_id: int | None = None
                   ) -> list[RubricInfo]:
    """Rubric versions that have counted ratings (on this day), oldest first."""
    with session_scope(engine) as s:
        rows = repo_curation.counted_scores(session=s, training_day_id=training_day_id)
        infos = _rubrics(s, {r[3] for r in rows})
    return [infos[k] for k in sorted(infos)]


def calibration_view(
    *, engine: sa.Engine, rubric_version_id: int, training_day_id: int | None = None,
    group: str | None = None, n_drivers: int = 10, anchors_per_level: int = 2,
    n_boot: int = 1000, seed: int = 0,
) -> CalibrationView:
    """Everything a calibration discussion needs for one rubric version and one rater group
    (default: the rubric's audience)."""
    with session_scope(engine) as s:
        points_by_rv, rubrics = load_points(session=s, training_day_id=training_day_id,
                                            rubric_version_id=rubric_version_id)
        if rubric_version_id not in rubrics:
            rubrics = _rubrics(s, {rubric_version_id})
        info = rubrics[rubric_version_id]
        who = group or info.audience
        points = [p for p in points_by_rv.get(rubric_version_id, []) if p.group == who]
        items = values_by_item(points)
        ranked = [d for d in disagreement_order(items, critical=info.critical)
                  if d.spread > 0 or d.critical_disagreement][:n_drivers]
        anchor_ids = {c: anchor_examples(items, c, anchors_per_level) for c in info.levels}
        wanted = {int(d.item_id) for d in ranked} | {
            int(i) for levels in anchor_ids.values() for ids in levels.values() for i in ids}
        facts = repo_curation.reply_facts(session=s, turn_ids=wanted)
        codes = repo_curation.participant_codes(session=s, ids={int(p.rater_id) for p in points})

    def cut(turn_id: Any) -> Excerpt:
        text, _, title = facts.get(int(turn_id), ("", None, None))
        return Excerpt(int(turn_id), excerpt(text), title)

    rows = agreement_table(points, info.levels, groups=(who,), between_groups=False,
                           n_boot=n_boot, seed=seed)
    return CalibrationView(
        rubric=info, group=who,
        entries=[AgreementEntry(r.scope, info.label, (info.id,), r.criterion, r.level, r.result)
                 for r in rows],
        drivers=[Driver(cut(d.item_id), d.critical_disagreement, d.spread,
                        d.criteria_in_dispute, items[d.item_id]) for d in ranked],
        offsets=_offsets(points, info, codes),
        anchors={c: {lvl: [cut(i) for i in ids] for lvl, ids in levels.items()}
                 for c, levels in anchor_ids.items() if levels},
    )


def _offsets(points: Sequence[RatingPoint], info: RubricInfo, codes: dict[int, str]
             ) -> list[OffsetRow]:
    """Per rater, offsets per 1–5 criterion and their item-weighted mean."""
    per: dict[Any, dict[str, tuple[float | None, int]]] = defaultdict(dict)
    for criterion, level in info.levels.items():
        if level != "ordinal":
            continue
        for o in rater_offsets(points, criterion):
            per[o.rater_id][criterion] = (o.mean_offset, o.n)
    out: list[OffsetRow] = []
    for rater, by_c in per.items():
        known = [(v, n) for v, n in by_c.values() if v is not None and n > 0]
        mean = (float(np.average([v for v, _ in known], weights=[n for _, n in known]))
                if known else None)
        out.append(OffsetRow(codes.get(int(rater), str(rater)), mean,
                             {c: v for c, (v, _) in by_c.items()},
                             max((n for _, n in by_c.values()), default=0)))
    return sorted(out, key=lambda r: (r.mean_offset is None, -(r.mean_offset or 0.0), r.rater))
