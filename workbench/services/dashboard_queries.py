"""SQL for the management dashboard: every figure is aggregated inside the database.

SQLAlchemy Core on the table objects, identical on SQLite and PostgreSQL. Only small results
leave the database: the *reply cube* (sums per prompt version × training day × scenario
snapshot), criterion sums per snapshot, a capped sample of per-rating values for the agreement
table, and a few lowest-scored replies for excerpts.

Which ratings count: submitted, not withdrawn, from people (source human or simulated, never
the LLM judge, which overrates and misses safety problems), on ok, not withdrawn bot replies.
A rating's *group* is the audience of its rubric version (the expert rubric is filled in by
experts, the panel rubric by the lived-experience panel); this spares a join on participant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pandas as pd
import sqlalchemy as sa
import yaml

from workbench.domain.enums import (
    Group,
    RatingSource,
    RatingStatus,
    RiskLevel,
    ScaleKind,
    TurnRole,
    TurnStatus,
)
from workbench.domain.rubrics import Rubric
from workbench.storage.tables import (
    Adjudication,
    BotTarget,
    Conversation,
    PromptVersion,
    Rating,
    RatingScore,
    RubricVersion,
    ScenarioSnapshot,
    TrainingDay,
    Turn,
)


def _table(model: Any) -> sa.Table:
    return model.__table__  # type: ignore[no-any-return]


R = _table(Rating)
RS = _table(RatingScore)
T = _table(Turn)
C = _table(Conversation)
A = _table(Adjudication)

HUMAN_SOURCES = (RatingSource.human.value, RatingSource.simulated.value)
WOULD_SEND = "would_send"  # the yes/no question both shipped rubrics end with
ALL = "all"
GROUPS: tuple[str, ...] = (ALL, *(g.value for g in Group))
# The prompt version that produced a reply: the turn records it; older rows only on the conversation.
PROMPT_VERSION = sa.func.coalesce(T.c.prompt_version_id, C.c.prompt_version_id)


@dataclass(frozen=True)
class DashboardFilter:
    """What the manager narrows the dashboard to; empty fields mean "all". Hashable for caching."""

    date_from: date | None = None  # by the date the bot reply was produced (UTC), inclusive
    date_to: date | None = None
    bot_target_id: int | None = None
    prompt_version_ids: tuple[int, ...] = ()
    rubric_version_id: int | None = None
    training_day_id: int | None = None

    @property
    def narrows_replies(self) -> bool:
        return any((self.date_from, self.date_to, self.bot_target_id, self.prompt_version_ids,
                    self.training_day_id))


@dataclass(frozen=True)
class RubricMeta:
    """What the queries need to know of one stored rubric version (parsed from its YAML)."""

    id: int
    rubric_id: str
    version: int
    audience: str
    likert: tuple[str, ...] = ()
    yes_no: tuple[str, ...] = ()
    critical_likert: tuple[str, ...] = ()
    critical_yes_no: tuple[str, ...] = ()
    names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SnapshotMeta:
    id: int
    scenario_id: str
    title: str
    risk_level: str
    writer: str
    tags: tuple[str, ...]


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def rating_conditions(filt: DashboardFilter) -> list[sa.ColumnElement[bool]]:
    conds = [
        R.c.status == RatingStatus.submitted.value,
        sa.not_(R.c.withdrawn),
        R.c.source.in_(HUMAN_SOURCES),
    ]
    if filt.rubric_version_id is not None:
        conds.append(R.c.rubric_version_id == filt.rubric_version_id)
    return conds


def reply_conditions(filt: DashboardFilter) -> list[sa.ColumnElement[bool]]:
    """Conditions on the reply (turn) and its conversation; the query must join both."""
    conds = [T.c.role == TurnRole.assistant.value, T.c.status == TurnStatus.ok.value,
             sa.not_(T.c.withdrawn)]
    if filt.date_from is not None:
        conds.append(T.c.created_at >= _utc_midnight(filt.date_from))
    if filt.date_to is not None:
        conds.append(T.c.created_at < _utc_midnight(filt.date_to + timedelta(days=1)))
    if filt.bot_target_id is not None:
        conds.append(C.c.bot_target_id == filt.bot_target_id)
    if filt.prompt_version_ids:
        conds.append(PROMPT_VERSION.in_(filt.prompt_version_ids))
    if filt.training_day_id is not None:
        conds.append(C.c.training_day_id == filt.training_day_id)
    return conds


def _replies_join() -> sa.Join:
    return T.join(C, C.c.id == T.c.conversation_id)


def _narrowed(q: sa.Select, filt: DashboardFilter) -> sa.Select:
    """Push reply filters into a ratings query as a semi-join, so a narrow filter (one training
    day) reads only its ratings through the (turn_id, status) index instead of all of them."""
    if not filt.narrows_replies:
        return q
    ids = sa.select(T.c.id).select_from(_replies_join()).where(*reply_conditions(filt))
    return q.where(R.c.turn_id.in_(ids))


# --- small lookup tables ---------------------------------------------------------------------


def load_rubric_meta(conn: sa.Connection) -> dict[int, RubricMeta]:
    rv = _table(RubricVersion)
    out: dict[int, RubricMeta] = {}
    for row in conn.execute(sa.select(rv.c.id, rv.c.rubric_id, rv.c.version, rv.c.audience,
                                      rv.c.content)):
        base = {"id": row.id, "rubric_id": row.rubric_id, "version": row.version,
                "audience": str(row.audience)}
        try:
            rubric = Rubric.model_validate(yaml.safe_load(row.content))
        except Exception:  # an unreadable stored rubric: its ratings still count, by overall
            out[row.id] = RubricMeta(**base)
            continue
        kinds = {ScaleKind.likert_5: [], ScaleKind.yes_no: []}  # type: dict[ScaleKind, list[str]]
        critical = {ScaleKind.likert_5: [], ScaleKind.yes_no: []}  # type: dict[ScaleKind, list[str]]
        for c in rubric.criteria:
            kinds[c.scale].append(c.key)
            if c.critical:
                critical[c.scale].append(c.key)
        out[row.id] = RubricMeta(
            **base, likert=tuple(kinds[ScaleKind.likert_5]), yes_no=tuple(kinds[ScaleKind.yes_no]),
            critical_likert=tuple(critical[ScaleKind.likert_5]),
            critical_yes_no=tuple(critical[ScaleKind.yes_no]),
            names={c.key: c.name for c in rubric.criteria},
        )
    return out


def load_snapshots(conn: sa.Connection) -> dict[int, SnapshotMeta]:
    """The library is small: snapshot id → risk, writer and tags, mapped in Python."""
    s = _table(ScenarioSnapshot)
    rows = conn.execute(sa.select(s.c.id, s.c.scenario_id, s.c.title, s.c.risk_level, s.c.writer,
                                  s.c.tags))
    return {r.id: SnapshotMeta(r.id, r.scenario_id, r.title, str(r.risk_level), str(r.writer),
                               tuple(str(t) for t in (r.tags or ()))) for r in rows}


def filter_options(conn: sa.Connection) -> dict[str, list[dict[str, Any]]]:
    """Choices for the filter widgets (labels only: no transcript text, no participant codes)."""
    bt, pv, td, rv = (_table(m) for m in (BotTarget, PromptVersion, TrainingDay, RubricVersion))

    def rows(q: sa.Select) -> list[dict[str, Any]]:
        return [dict(r) for r in conn.execute(q).mappings()]

    return {
        "bot_targets": rows(sa.select(bt.c.id, bt.c.name).order_by(bt.c.name)),
        "prompt_versions": rows(sa.select(pv.c.id, pv.c.label, pv.c.bot_target_id,
                                          pv.c.created_at).order_by(pv.c.id)),
        "training_days": rows(sa.select(td.c.id, td.c.name, td.c.day, td.c.is_demo)
                              .order_by(td.c.day, td.c.id)),
        "rubric_versions": rows(sa.select(rv.c.id, rv.c.rubric_id, rv.c.version, rv.c.audience)
                                .order_by(rv.c.rubric_id, rv.c.version)),
    }


# --- the reply cube ---------------------------------------------------------------------------


def _group_condition(group: str, meta: dict[int, RubricMeta]) -> sa.ColumnElement[bool] | None:
    if group == ALL:
        return None
    ids = [m.id for m in meta.values() if m.audience == group]
    return R.c.rubric_version_id.in_(ids) if ids else sa.false()


def _and(cond: sa.ColumnElement[bool] | None, expr: sa.ColumnElement[bool]) -> Any:
    return expr if cond is None else sa.and_(cond, expr)


def critical_failure(meta: dict[int, RubricMeta]) -> Any:
    """True for a rating with a critical criterion at its worst (a 1, or "no" for yes/no).

    One IN-subquery per rubric version, each an index range scan on rating_score
    (criterion, value): critical failures are rare, so the sets stay small."""
    parts = []
    for m in meta.values():
        worst = []
        if m.critical_likert:
            worst.append(sa.and_(RS.c.criterion.in_(m.critical_likert), RS.c.value == 1))
        if m.critical_yes_no:
            worst.append(sa.and_(RS.c.criterion.in_(m.critical_yes_no), RS.c.value == 0))
        if worst:
            ids = sa.select(RS.c.rating_id).where(sa.or_(*worst))
            parts.append(sa.and_(R.c.rubric_version_id == m.id, R.c.id.in_(ids)))
    return sa.or_(*parts) if parts else sa.false()


def _worst_value(meta: dict[int, RubricMeta], criterion: str) -> Any:
    """On a joined rating_score row of ``criterion``: is it that criterion's worst value?"""
    yes_no = [m.id for m in meta.values() if criterion in m.yes_no]
    if not yes_no:
        return RS.c.value == 1
    return sa.or_(sa.and_(R.c.rubric_version_id.in_(yes_no), RS.c.value == 0),
                  sa.and_(R.c.rubric_version_id.not_in(yes_no), RS.c.value == 1))


def per_reply(filt: DashboardFilter, meta: dict[int, RubricMeta]) -> sa.Select:
    """One row per rated reply: per group, the ratings, their mean overall, any unsafe verdict,
    any critical failure, and the "would you send this?" answers (yes count, answer count)."""
    ws = RS.alias("ws")
    crit = critical_failure(meta)
    cols: list[Any] = [R.c.turn_id.label("turn_id")]
    for g in GROUPS:
        cond = _group_condition(g, meta)
        cols += [
            (sa.func.count(R.c.id) if cond is None
             else sa.func.sum(sa.case((cond, 1), else_=0))).label(f"cnt_{g}"),
            sa.func.avg(R.c.overall if cond is None
                        else sa.case((cond, R.c.overall))).label(f"mean_{g}"),
            sa.func.max(sa.case((_and(cond, R.c.unsafe == sa.true()), 1), else_=0))
            .label(f"unsafe_{g}"),
            sa.func.max(sa.case((_and(cond, crit), 1), else_=0)).label(f"crit_{g}"),
            sa.func.sum(sa.case((_and(cond, ws.c.value.is_not(None)), 1), else_=0))
            .label(f"wsn_{g}"),
            sa.func.sum(sa.case((_and(cond, ws.c.value == 1), 1), else_=0)).label(f"wsy_{g}"),
        ]
    q = (sa.select(*cols)
         .select_from(R.outerjoin(ws, sa.and_(ws.c.rating_id == R.c.id,
                                              ws.c.criterion == WOULD_SEND)))
         .where(*rating_conditions(filt))
         .group_by(R.c.turn_id))
    return _narrowed(q, filt)


def adjudicated_unsafe(filt: DashboardFilter) -> sa.Select:
    """Per adjudicated reply: 1 when an adjudication calls it unsafe. A lead expert's decision
    replaces the raters' "any rater says unsafe" verdict of that reply."""
    q = sa.select(A.c.turn_id, sa.func.max(sa.case((A.c.unsafe == sa.true(), 1), else_=0))
                  .label("adj_unsafe")).group_by(A.c.turn_id)
    if filt.rubric_version_id is not None:
        q = q.where(A.c.rubric_version_id == filt.rubric_version_id)
    return q


CUBE_KEYS = ("prompt_version_id", "training_day_id", "scenario_snapshot_id")
SUM_PREFIXES = ("n", "nm", "s", "ss", "unsafe", "crit", "wsn", "wsy")
SUM_COLUMNS = ("replies", "ratings", "demo_replies",
               *(f"{p}_{g}" for g in GROUPS for p in SUM_PREFIXES))


def reply_cube(conn: sa.Connection, filt: DashboardFilter,
               meta: dict[int, RubricMeta]) -> pd.DataFrame:
    """Sums per (prompt version, training day, scenario snapshot); additive, so every trend,
    breakdown, coverage count and readiness input is a sum over some of its rows.

    Per group g: n_g replies rated by g; nm_g, s_g, ss_g the count, sum and sum of squares of
    the per-reply mean overall (for a t-interval); unsafe_g and crit_g replies unsafe / with a
    critical failure; wsn_g replies with a would-send answer, wsy_g those where a strict
    majority said yes (a tie counts as no).
    """
    pr = per_reply(filt, meta).subquery("pr")
    adj = adjudicated_unsafe(filt).subquery("adj")
    cols: list[Any] = [
        PROMPT_VERSION.label("prompt_version_id"), C.c.training_day_id, C.c.scenario_snapshot_id,
        sa.func.count().label("replies"),
        sa.func.sum(pr.c[f"cnt_{ALL}"]).label("ratings"),
        sa.func.sum(sa.case((C.c.is_demo == sa.true(), 1), else_=0)).label("demo_replies"),
    ]
    for g in GROUPS:
        has = pr.c[f"cnt_{g}"] > 0
        mean = pr.c[f"mean_{g}"]
        unsafe = (sa.func.coalesce(adj.c.adj_unsafe, pr.c[f"unsafe_{g}"]) if g == ALL
                  else pr.c[f"unsafe_{g}"])
        cols += [
            sa.func.sum(sa.case((has, 1), else_=0)).label(f"n_{g}"),
            sa.func.count(mean).label(f"nm_{g}"),
            sa.func.sum(mean).label(f"s_{g}"),
            sa.func.sum(mean * mean).label(f"ss_{g}"),
            sa.func.sum(sa.case((sa.and_(has, unsafe == 1), 1), else_=0)).label(f"unsafe_{g}"),
            sa.func.sum(pr.c[f"crit_{g}"]).label(f"crit_{g}"),
            sa.func.sum(sa.case((pr.c[f"wsn_{g}"] > 0, 1), else_=0)).label(f"wsn_{g}"),
            sa.func.sum(sa.case((pr.c[f"wsy_{g}"] * 2 > pr.c[f"wsn_{g}"], 1), else_=0))
            .label(f"wsy_{g}"),
        ]
    q = (sa.select(*cols)
         .select_from(pr.join(T, T.c.id == pr.c.turn_id)
                      .join(C, C.c.id == T.c.conversation_id)
                      .outerjoin(adj, adj.c.turn_id == pr.c.turn_id))
         .where(*reply_conditions(filt))
         .group_by(PROMPT_VERSION, C.c.training_day_id, C.c.scenario_snapshot_id))
    frame = pd.DataFrame(conn.execute(q).mappings().all(), columns=[*CUBE_KEYS, *SUM_COLUMNS])
    # PostgreSQL returns sums of integers as Decimal; the frame is small, so convert here.
    for name in SUM_COLUMNS:
        frame[name] = pd.to_numeric(frame[name]).fillna(0).astype(float)
    for name in CUBE_KEYS:
        frame[name] = frame[name].astype("Int64")
    return frame


# --- criterion means, criterion-level readiness, agreement sample, excerpts -----------------


def criterion_sums(conn: sa.Connection, filt: DashboardFilter, criteria: Sequence[str]
                   ) -> pd.DataFrame:
    """Per (snapshot, criterion): how many ratings scored it and their sum (rating level)."""
    if not criteria:
        return pd.DataFrame(columns=["scenario_snapshot_id", "criterion", "n", "s"])
    q = (sa.select(C.c.scenario_snapshot_id, RS.c.criterion, sa.func.count().label("n"),
                   sa.func.sum(RS.c.value).label("s"))
         .select_from(RS.join(R, R.c.id == RS.c.rating_id)
                      .join(T, T.c.id == R.c.turn_id).join(C, C.c.id == T.c.conversation_id))
         .where(*rating_conditions(filt), *reply_conditions(filt), RS.c.criterion.in_(criteria))
         .group_by(C.c.scenario_snapshot_id, RS.c.criterion))
    frame = pd.DataFrame(conn.execute(q).mappings().all(),
                         columns=["scenario_snapshot_id", "criterion", "n", "s"])
    frame[["n", "s"]] = frame[["n", "s"]].apply(pd.to_numeric).astype(float)
    return frame


def criterion_reply_stats(conn: sa.Connection, filt: DashboardFilter,
                          meta: dict[int, RubricMeta], *, criterion: str, group: str | None,
                          snapshot_ids: Sequence[int] | None) -> tuple[int, float, int]:
    """For one criterion, per reply: mean value and whether any rating had it at its worst.

    Returns (replies, sum of per-reply means, replies with a worst score)."""
    cond = _group_condition(group or ALL, meta)
    worst = _worst_value(meta, criterion)
    pr = _narrowed(
        sa.select(R.c.turn_id, sa.func.avg(sa.cast(RS.c.value, sa.Float)).label("mean"),
                  sa.func.max(sa.case((worst, 1), else_=0)).label("worst"))
        .select_from(RS.join(R, R.c.id == RS.c.rating_id))
        .where(*rating_conditions(filt), RS.c.criterion == criterion,
               *([] if cond is None else [cond]))
        .group_by(R.c.turn_id), filt).subquery("pr")
    q = (sa.select(sa.func.count(), sa.func.sum(pr.c.mean), sa.func.sum(pr.c.worst))
         .select_from(pr.join(T, T.c.id == pr.c.turn_id).join(C, C.c.id == T.c.conversation_id))
         .where(*reply_conditions(filt)))
    if snapshot_ids is not None:
        q = q.where(C.c.scenario_snapshot_id.in_(list(snapshot_ids)))
    n, s, k = conn.execute(q).one()
    return int(n or 0), float(s or 0.0), int(k or 0)


def agreement_sample(conn: sa.Connection, filt: DashboardFilter, *, max_items: int
                     ) -> pd.DataFrame:
    """Per-rating values of the newest ``max_items`` replies with 2 or more ratings.

    Agreement needs single ratings, not sums; the cap bounds its cost on a large database."""
    items = _narrowed(
        sa.select(R.c.turn_id).where(*rating_conditions(filt)).group_by(R.c.turn_id)
        .having(sa.func.count() >= 2).order_by(R.c.turn_id.desc()).limit(max_items), filt)
    q = (sa.select(R.c.turn_id, R.c.rater_id, R.c.rubric_version_id, RS.c.criterion, RS.c.value)
         .select_from(RS.join(R, R.c.id == RS.c.rating_id)
                      .join(T, T.c.id == R.c.turn_id).join(C, C.c.id == T.c.conversation_id))
         .where(*rating_conditions(filt), *reply_conditions(filt), R.c.turn_id.in_(items)))
    return pd.DataFrame(conn.execute(q).mappings().all(),
                        columns=["turn_id", "rater_id", "rubric_version_id", "criterion", "value"])


def lowest_replies(conn: sa.Connection, filt: DashboardFilter, *, limit: int) -> pd.DataFrame:
    """The replies most often called unsafe, then lowest mean overall, with their raw text.

    The text is for the service to scrub and shorten; it must never reach a page as is."""
    pr = _narrowed(
        sa.select(R.c.turn_id, sa.func.count().label("ratings"),
                  sa.func.sum(sa.case((R.c.unsafe == sa.true(), 1), else_=0)).label("unsafe"),
                  sa.func.avg(R.c.overall).label("mean"))
        .where(*rating_conditions(filt)).group_by(R.c.turn_id), filt).subquery("pr")
    q = (sa.select(T.c.id.label("turn_id"), T.c.content, C.c.scenario_snapshot_id,
                   PROMPT_VERSION.label("prompt_version_id"), pr.c.ratings, pr.c.unsafe,
                   pr.c.mean)
         .select_from(pr.join(T, T.c.id == pr.c.turn_id).join(C, C.c.id == T.c.conversation_id))
         .where(*reply_conditions(filt))
         .order_by(pr.c.unsafe.desc(), pr.c.mean.asc().nulls_last(), T.c.id)
         .limit(limit))
    return pd.DataFrame(conn.execute(q).mappings().all(),
                        columns=["turn_id", "content", "scenario_snapshot_id",
                                 "prompt_version_id", "ratings", "unsafe", "mean"])


def snapshots_at_risk(snapshots: dict[int, SnapshotMeta], risk: RiskLevel | str) -> list[int]:
    return [s.id for s in snapshots.values() if s.risk_level == str(risk)]
