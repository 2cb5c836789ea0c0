"""Detail queries of the dashboard: criterion sums for the heatmap, criterion-level readiness
counts, the capped per-rating sample for agreement, the newest unsafe replies and their stored
scrubbed excerpts.

Same counting rules as `dashboard_queries` (whose filters and helpers these reuse).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa

from workbench.storage.stats.reads import stored_filter
from workbench.storage.stats.sql import (
    ALL,
    PROMPT_VERSION,
    RS,
    C,
    DashboardFilter,
    R,
    RubricMeta,
    T,
    group_condition,
    narrowed,
    rating_conditions,
    reply_conditions,
    worst_value,
)
from workbench.storage.tables import dashboard_criterion_cube, reply_excerpt

X = reply_excerpt


def criterion_sums(conn: sa.Connection, filt: DashboardFilter, criteria: Sequence[str]
                   ) -> pd.DataFrame:
    """Per (snapshot, criterion): how many ratings scored it and their sum (rating level),
    from the stored criterion cube (storage/dashboard_stats.py keeps it current)."""
    cols = ["scenario_snapshot_id", "criterion", "n", "s"]
    if not criteria:
        return pd.DataFrame(columns=cols)
    d = dashboard_criterion_cube
    conds = stored_filter(d, filt)
    if filt.rubric_version_id is not None:
        conds.append(d.c.rubric_version_id == filt.rubric_version_id)
    q = (sa.select(d.c.scenario_snapshot_id, d.c.criterion, sa.func.sum(d.c.n).label("n"),
                   sa.func.sum(d.c.s).label("s"))
         .where(*conds, d.c.criterion.in_(list(criteria)))
         .group_by(d.c.scenario_snapshot_id, d.c.criterion).having(sa.func.sum(d.c.n) > 0))
    frame = pd.DataFrame(conn.execute(q).mappings().all(), columns=cols)
    frame[["n", "s"]] = frame[["n", "s"]].apply(pd.to_numeric).astype(float)
    return frame


def criterion_reply_stats(conn: sa.Connection, filt: DashboardFilter,
                          meta: dict[int, RubricMeta], *, criterion: str, group: str | None,
                          snapshot_ids: Sequence[int] | None) -> tuple[int, float, int]:
    """For one criterion, per reply: mean value and whether any rating had it at its worst.

    Returns (replies, sum of per-reply means, replies with a worst score)."""
    cond = group_condition(group or ALL, meta)
    worst = worst_value(meta, criterion)
    pr = narrowed(
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


def _newest_replies(filt: DashboardFilter, *having: Any, where: Sequence[Any] = (),
                    limit: int) -> sa.Select:
    """Turn ids of the newest replies (highest id first) whose counted ratings meet ``having``.

    Shaped so both databases can walk the rating index backwards and stop after ``limit``
    replies, instead of grouping every rating first."""
    return (sa.select(R.c.turn_id)
            .select_from(R.join(T, T.c.id == R.c.turn_id).join(C, C.c.id == T.c.conversation_id))
            .where(*rating_conditions(filt), *reply_conditions(filt), *where)
            .group_by(R.c.turn_id).having(*having).order_by(R.c.turn_id.desc()).limit(limit))


def agreement_sample(conn: sa.Connection, filt: DashboardFilter, *, max_items: int
                     ) -> pd.DataFrame:
    """Per-rating values of the newest ``max_items`` replies with 2 or more ratings.

    Agreement needs single ratings, not sums; the cap bounds its cost on a large database."""
    items = [r[0] for r in conn.execute(
        _newest_replies(filt, sa.func.count() >= 2, limit=max_items))]
    q = (sa.select(R.c.turn_id, R.c.rater_id, R.c.rubric_version_id, RS.c.criterion, RS.c.value)
         .select_from(RS.join(R, R.c.id == RS.c.rating_id))
         .where(*rating_conditions(filt), R.c.turn_id.in_(items)))
    return pd.DataFrame.from_records(
        conn.execute(q).all(),
        columns=["turn_id", "rater_id", "rubric_version_id", "criterion", "value"])


def unsafe_replies(conn: sa.Connection, filt: DashboardFilter, *, limit: int) -> pd.DataFrame:
    """The newest replies that a counted rating called unsafe, with their stored scrubbed
    excerpt (None while none is made), ratings, unsafe votes and mean overall. The raw text
    comes along only for the service to scrub an excerpt that is still missing; it must never
    reach a page as is."""
    ids = [r[0] for r in conn.execute(
        _newest_replies(filt, where=[R.c.unsafe == sa.true()], limit=limit))]
    q = (sa.select(T.c.id.label("turn_id"), T.c.content, X.c.text.label("excerpt"),
                   X.c.scrubber_version, C.c.scenario_snapshot_id,
                   PROMPT_VERSION.label("prompt_version_id"), sa.func.count().label("ratings"),
                   sa.func.sum(sa.case((R.c.unsafe == sa.true(), 1), else_=0)).label("unsafe"),
                   sa.func.avg(R.c.overall).label("mean"))
         .select_from(R.join(T, T.c.id == R.c.turn_id).join(C, C.c.id == T.c.conversation_id)
                      .outerjoin(X, X.c.turn_id == T.c.id))
         .where(*rating_conditions(filt), R.c.turn_id.in_(ids))
         .group_by(T.c.id, T.c.content, X.c.text, X.c.scrubber_version,
                   C.c.scenario_snapshot_id, PROMPT_VERSION)
         .order_by(T.c.id.desc()))
    return pd.DataFrame(conn.execute(q).mappings().all(),
                        columns=["turn_id", "content", "excerpt", "scrubber_version",
                                 "scenario_snapshot_id", "prompt_version_id", "ratings",
                                 "unsafe", "mean"])


def replies_needing_excerpts(conn: sa.Connection, *, scrubber_version: str, limit: int
                             ) -> list[tuple[int, str]]:
    """(turn id, text) of counted replies a counted rating called unsafe that have no excerpt
    of this scrubber version yet, newest first."""
    has = sa.exists().where(X.c.turn_id == T.c.id, X.c.scrubber_version == scrubber_version)
    q = (sa.select(T.c.id, T.c.content)
         .select_from(T.join(C, C.c.id == T.c.conversation_id))
         .where(*reply_conditions(DashboardFilter()), ~has,
                T.c.id.in_(sa.select(R.c.turn_id).where(
                    *rating_conditions(DashboardFilter()), R.c.unsafe == sa.true())))
         .order_by(T.c.id.desc()).limit(limit))
    return [(int(i), str(text or "")) for i, text in conn.execute(q)]


def save_excerpts(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Store excerpts ({turn_id, text, scrubber_version, created_at}), replacing older ones."""
    if not rows:
        return
    conn.execute(sa.delete(X).where(X.c.turn_id.in_([r["turn_id"] for r in rows])))
    conn.execute(sa.insert(X), rows)
