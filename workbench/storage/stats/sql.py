"""The dashboard's counting rules as SQL: which ratings and replies count, the per-reply sums.

SQLAlchemy Core on the table objects, identical on SQLite and PostgreSQL. Used by the
dashboard's reads (`stats.reads`, `stats.detail`) and by the stored statistics that keep those
sums current (`stats.stored`).

Which ratings count is `storage/rules.py` (purpose "figures": people and their simulated
stand-ins, never the LLM judge, on ok, not withdrawn bot replies). A rating's *group* is the
audience of its rubric version (the expert rubric is filled in by experts, the panel rubric by
the lived-experience panel); this spares a join on participant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from workbench.domain.enums import ScaleKind
from workbench.domain.rules import Purpose
from workbench.storage import rules
from workbench.storage.snapshots import parsed_rubric
from workbench.storage.tables import (
    CUBE_SUM_COLUMNS,
    CUBE_SUM_PREFIXES,
    GROUP_KEYS,
    Adjudication,
    Conversation,
    Rating,
    RatingScore,
    RubricVersion,
    Turn,
)


def _table(model: Any) -> sa.Table:
    return model.__table__  # type: ignore[no-any-return]


R = _table(Rating)
RS = _table(RatingScore)
T = _table(Turn)
C = _table(Conversation)
A = _table(Adjudication)

WOULD_SEND = "would_send"  # the yes/no question both shipped rubrics end with
ALL = "all"
GROUPS: tuple[str, ...] = GROUP_KEYS
# The prompt version of a reply: recorded on the turn; older rows have it on the conversation.
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


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def rating_conditions(filt: DashboardFilter) -> list[sa.ColumnElement[bool]]:
    conds = rules.rating_counts(Purpose.figures, rating=R)
    if filt.rubric_version_id is not None:
        conds.append(R.c.rubric_version_id == filt.rubric_version_id)
    return conds


def reply_conditions(filt: DashboardFilter) -> list[sa.ColumnElement[bool]]:
    """Conditions on the reply (turn) and its conversation; the query must join both."""
    conds = [*rules.reply_counts(turn=T), *rules.conversation_counts(Purpose.figures,
                                                                      conversation=C)]
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


def narrowed(q: sa.Select, filt: DashboardFilter) -> sa.Select:
    """Push reply filters into a ratings query as a semi-join, so a narrow filter (one training
    day) reads only its ratings through the (turn_id, status) index instead of all of them."""
    if not filt.narrows_replies:
        return q
    ids = sa.select(T.c.id).select_from(_replies_join()).where(*reply_conditions(filt))
    return q.where(R.c.turn_id.in_(ids))


def load_rubric_meta(conn: sa.Connection) -> dict[int, RubricMeta]:
    """Every stored rubric version's criteria by kind, parsed from its stored text (once per
    distinct text, `snapshots.parsed_rubric`); a text that no longer parses raises."""
    rv = _table(RubricVersion)
    out: dict[int, RubricMeta] = {}
    for row in conn.execute(sa.select(rv.c.id, rv.c.rubric_id, rv.c.version, rv.c.audience,
                                      rv.c.sha256)):
        kinds = _criteria_by_kind(conn, row.id, row.sha256)
        out[row.id] = RubricMeta(id=row.id, rubric_id=row.rubric_id, version=row.version,
                                 audience=str(row.audience), **kinds)
    return out


_KINDS_BY_SHA: dict[str, dict[str, Any]] = {}


def _criteria_by_kind(conn: sa.Connection, rubric_version_id: int, sha256: str
                      ) -> dict[str, Any]:
    if sha256 in _KINDS_BY_SHA:
        return _KINDS_BY_SHA[sha256]
    rv = _table(RubricVersion)
    content = conn.execute(sa.select(rv.c.content).where(rv.c.id == rubric_version_id)).scalar()
    rubric = parsed_rubric(sha256=sha256, content=content or "",
                           rubric_version_id=rubric_version_id)
    kinds: dict[ScaleKind, list[str]] = {ScaleKind.likert_5: [], ScaleKind.yes_no: []}
    critical: dict[ScaleKind, list[str]] = {ScaleKind.likert_5: [], ScaleKind.yes_no: []}
    for c in rubric.criteria:
        kinds[c.scale].append(c.key)
        if c.critical:
            critical[c.scale].append(c.key)
    _KINDS_BY_SHA[sha256] = found = {
        "likert": tuple(kinds[ScaleKind.likert_5]), "yes_no": tuple(kinds[ScaleKind.yes_no]),
        "critical_likert": tuple(critical[ScaleKind.likert_5]),
        "critical_yes_no": tuple(critical[ScaleKind.yes_no]),
        "names": {c.key: c.name for c in rubric.criteria},
    }
    return found


# --- the reply cube ---------------------------------------------------------------------------


def group_condition(group: str, meta: dict[int, RubricMeta]) -> sa.ColumnElement[bool] | None:
    if group == ALL:
        return None
    ids = [m.id for m in meta.values() if m.audience == group]
    return R.c.rubric_version_id.in_(ids) if ids else sa.false()


# Some replies by id: a list, or an expanding bind parameter in a statement built once.
TurnIds = list[int] | sa.BindParameter[Any] | None


def _and(cond: sa.ColumnElement[bool] | None, expr: sa.ColumnElement[bool]) -> Any:
    return expr if cond is None else sa.and_(cond, expr)


def critical_failures(meta: dict[int, RubricMeta], turn_ids: TurnIds = None
                      ) -> sa.Select | None:
    """(rating_id, rubric_version_id) of every rating with a critical criterion at its worst
    (a 1, or "no" for yes/no), under that rating's own rubric version; one row per rating.

    Read through the rating_score (criterion, value) index: critical failures are rare. Joined,
    not used as ``IN (subquery)``, so SQLite evaluates it once instead of once per use."""
    parts = []
    for m in meta.values():
        worst = []
        if m.critical_likert:
            worst.append(sa.and_(RS.c.criterion.in_(m.critical_likert), RS.c.value == 1))
        if m.critical_yes_no:
            worst.append(sa.and_(RS.c.criterion.in_(m.critical_yes_no), RS.c.value == 0))
        if worst:
            part = sa.select(RS.c.rating_id, sa.literal(m.id).label("rv")).where(sa.or_(*worst))
            if turn_ids is not None:  # a refresh of a few replies must not read every failure
                part = part.where(RS.c.rating_id.in_(
                    sa.select(R.c.id).where(R.c.turn_id.in_(turn_ids))))
            parts.append(part)
    if not parts:
        return None
    union = sa.union(*parts).subquery("worst")  # UNION, not UNION ALL: one row per rating
    return sa.select(union.c.rating_id, union.c.rv)


def worst_value(meta: dict[int, RubricMeta], criterion: str) -> Any:
    """On a joined rating_score row of ``criterion``: is it that criterion's worst value?"""
    yes_no = [m.id for m in meta.values() if criterion in m.yes_no]
    if not yes_no:
        return RS.c.value == 1
    return sa.or_(sa.and_(R.c.rubric_version_id.in_(yes_no), RS.c.value == 0),
                  sa.and_(R.c.rubric_version_id.not_in(yes_no), RS.c.value == 1))


def per_reply(filt: DashboardFilter, meta: dict[int, RubricMeta],
              turn_ids: TurnIds = None) -> sa.Select:
    """One row per rated reply: per group, the ratings, their mean overall, any unsafe verdict,
    any critical failure, and the "would you send this?" answers (yes count, answer count)."""
    ws = RS.alias("ws")
    failures = critical_failures(meta, turn_ids)
    source = R.outerjoin(ws, sa.and_(ws.c.rating_id == R.c.id, ws.c.criterion == WOULD_SEND))
    if failures is None:
        crit: Any = sa.false()
    else:
        cf = failures.subquery("cf")
        source = source.outerjoin(cf, sa.and_(cf.c.rating_id == R.c.id,
                                              cf.c.rv == R.c.rubric_version_id))
        crit = cf.c.rating_id.is_not(None)
    cols: list[Any] = [R.c.turn_id.label("turn_id")]
    for g in GROUPS:
        cond = group_condition(g, meta)
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
         .select_from(source)
         .where(*rating_conditions(filt))
         .group_by(R.c.turn_id))
    if turn_ids is not None:
        q = q.where(R.c.turn_id.in_(turn_ids))
    return narrowed(q, filt)


def adjudicated_unsafe(filt: DashboardFilter, turn_ids: TurnIds = None) -> sa.Select:
    """Per adjudicated reply: 1 when an adjudication calls it unsafe. A lead expert's decision
    replaces the raters' "any rater says unsafe" verdict of that reply."""
    q = sa.select(A.c.turn_id, sa.func.max(sa.case((A.c.unsafe == sa.true(), 1), else_=0))
                  .label("adj_unsafe")).group_by(A.c.turn_id)
    if filt.rubric_version_id is not None:
        q = q.where(A.c.rubric_version_id == filt.rubric_version_id)
    if turn_ids is not None:
        q = q.where(A.c.turn_id.in_(turn_ids))
    return q


CUBE_KEYS = ("prompt_version_id", "training_day_id", "scenario_snapshot_id")
SUM_PREFIXES = CUBE_SUM_PREFIXES
SUM_COLUMNS = CUBE_SUM_COLUMNS


def reply_sums(filt: DashboardFilter, meta: dict[int, RubricMeta], *, by: list[Any],
               turn_ids: TurnIds = None) -> sa.Select:
    """The additive sums (SUM_COLUMNS) of counted replies, grouped by ``by`` (columns of turn,
    conversation or PROMPT_VERSION).

    Per group g: n_g replies rated by g; nm_g, s_g, ss_g the count, sum and sum of squares of
    the per-reply mean overall (for a t-interval); unsafe_g and crit_g replies unsafe / with a
    critical failure; wsn_g replies with a would-send answer, wsy_g those where a strict
    majority said yes (a tie counts as no). Grouped by the turn id, this is what one reply
    adds to the cube (``turn_ids`` narrows it to some replies)."""
    pr = per_reply(filt, meta, turn_ids).subquery("pr")
    adj = adjudicated_unsafe(filt, turn_ids).subquery("adj")
    cols: list[Any] = [
        *by,
        sa.func.count().label("replies"),
        sa.func.sum(pr.c[f"cnt_{ALL}"]).label("ratings"),
        sa.func.sum(sa.case((C.c.is_demo == sa.true(), 1), else_=0)).label("demo_replies"),
    ]
    for g in GROUPS:
        has = pr.c[f"cnt_{g}"] > 0
        mean = pr.c[f"mean_{g}"]
        unsafe = (rules.reply_unsafe(adj.c.adj_unsafe, pr.c[f"unsafe_{g}"]) if g == ALL
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
         .group_by(*by))
    if turn_ids is not None:
        q = q.where(T.c.id.in_(turn_ids))
    return q


def criterion_sums(filt: DashboardFilter, *, by: list[Any], criteria: list[str] | None = None,
                   turn_ids: TurnIds = None) -> sa.Select:
    """Rating-level count and sum per criterion of counted ratings on counted replies."""
    q = (sa.select(*by, RS.c.criterion, sa.func.count().label("n"),
                   sa.func.sum(RS.c.value).label("s"))
         .select_from(RS.join(R, R.c.id == RS.c.rating_id)
                      .join(T, T.c.id == R.c.turn_id).join(C, C.c.id == T.c.conversation_id))
         .where(*rating_conditions(filt), *reply_conditions(filt))
         .group_by(*by, RS.c.criterion))
    if criteria is not None:
        q = q.where(RS.c.criterion.in_(criteria))
    if turn_ids is not None:
        q = q.where(R.c.turn_id.in_(turn_ids))
    return q
