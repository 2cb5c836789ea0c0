"""Queries of the management dashboard: every figure is aggregated inside the database.

Only small results leave the database: the *reply cube* (sums per prompt version × training
day × scenario snapshot), criterion sums per snapshot, a capped sample of per-rating values for
the agreement table, and the newest replies called unsafe, for excerpts. The cube and the
criterion sums are read from stored tables that every write marks as changed and each
dashboard view brings up to date first (storage/dashboard_stats.py); the counting rules
themselves are in storage/dashboard_sql.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd
import sqlalchemy as sa

from workbench.domain.enums import RiskLevel
from workbench.storage.stats.sql import (  # noqa: F401  (used through this module too)
    ALL,
    CUBE_KEYS,
    GROUPS,
    SUM_COLUMNS,
    DashboardFilter,
    RubricMeta,
    load_rubric_meta,
)
from workbench.storage.tables import (
    BotTarget,
    PromptVersion,
    RubricVersion,
    ScenarioSnapshot,
    TrainingDay,
    dashboard_cube,
    reply_stat_pending,
)


def _table(model: Any) -> sa.Table:
    return model.__table__  # type: ignore[no-any-return]

@dataclass(frozen=True)
class SnapshotMeta:
    id: int
    scenario_id: str
    title: str
    risk_level: str
    writer: str
    tags: tuple[str, ...]


@lru_cache(maxsize=8)
def _sqlite_reader(url: str, timeout_s: float) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"check_same_thread": False,
                                                 "timeout": timeout_s})

    @sa.event.listens_for(engine, "connect")
    def _read_only(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.execute("PRAGMA query_only=ON")

    return engine


def reader(engine: sa.Engine) -> sa.Engine:
    """An engine for the dashboard's reads. On SQLite a plain read-only one: the app's engine
    opens every transaction with BEGIN IMMEDIATE (the write lock), and seconds of aggregation
    under that lock would make raters' submissions wait. WAL lets these reads run beside them."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return engine
    return _sqlite_reader(engine.url.render_as_string(hide_password=False), 10.0)


def tune(conn: sa.Connection) -> None:
    """Per-transaction settings for the aggregation: on PostgreSQL enough work_mem that the
    per-reply hash aggregate (200k replies × 18 sums) stays in memory instead of spilling."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")


# --- small lookup tables ---------------------------------------------------------------------


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


def stored_filter(table: sa.Table, filt: DashboardFilter) -> list[sa.ColumnElement[bool]]:
    """The reply filters on a stored cube's dimensions (reply_day is the reply's UTC date)."""
    conds: list[sa.ColumnElement[bool]] = []
    if filt.date_from is not None:
        conds.append(table.c.reply_day >= filt.date_from)
    if filt.date_to is not None:
        conds.append(table.c.reply_day <= filt.date_to)
    if filt.bot_target_id is not None:
        conds.append(table.c.bot_target_id == filt.bot_target_id)
    if filt.prompt_version_ids:
        conds.append(table.c.prompt_version_id.in_(filt.prompt_version_ids))
    if filt.training_day_id is not None:
        conds.append(table.c.training_day_id == filt.training_day_id)
    return conds

def reply_cube(conn: sa.Connection, filt: DashboardFilter) -> pd.DataFrame:
    """Sums (SUM_COLUMNS, see ``dashboard_sql.reply_sums``) per (prompt version, training day,
    scenario snapshot); additive, so every trend, breakdown, coverage count and readiness input
    is a sum over some of its rows. Read from the stored cube (storage/dashboard_stats.py):
    current once the marks of recent writes are folded in (the dashboard service does that
    first). With a rubric version chosen, from its rows for that version."""
    d = dashboard_cube
    keys = [d.c[k] for k in CUBE_KEYS]
    q = (sa.select(*keys, *(sa.func.sum(d.c[c]).label(c) for c in SUM_COLUMNS))
         .where(*stored_filter(d, filt), d.c.rubric_version_id == (filt.rubric_version_id or 0))
         .group_by(*keys).having(sa.func.sum(d.c.replies) > 0))
    frame = pd.DataFrame(conn.execute(q).mappings().all(), columns=[*CUBE_KEYS, *SUM_COLUMNS])
    # PostgreSQL returns sums of integers as Decimal; the frame is small, so convert here.
    for name in SUM_COLUMNS:
        frame[name] = pd.to_numeric(frame[name]).fillna(0).astype(float)
    for name in CUBE_KEYS:
        frame[name] = frame[name].astype("Int64")
    return frame


def snapshots_at_risk(snapshots: dict[int, SnapshotMeta], risk: RiskLevel | str) -> list[int]:
    return [s.id for s in snapshots.values() if s.risk_level == str(risk)]


def has_pending(conn: sa.Connection) -> bool:
    """Are there marks the cubes do not show yet?"""
    return conn.execute(sa.select(reply_stat_pending.c.id).limit(1)).first() is not None
