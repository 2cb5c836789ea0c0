"""The dashboard's stored statistics and scrubbed excerpts (Core tables, kept by storage/stats)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from workbench.domain.enums import (
    Group,
)

# --- dashboard statistics: what each counted reply adds to the dashboard's figures, stored.
# At 1M ratings, aggregating the ratings on every dashboard view took seconds; these hold the
# same sums, so a view reads a few thousand rows. Database triggers mark every write that
# changes them (storage/stats/triggers.py); the next read folds the marks in
# (storage/stats/stored.py); `workbench check-stats` compares them with a recomputation.

GROUP_KEYS: tuple[str, ...] = ("all", *(g.value for g in Group))
CUBE_SUM_PREFIXES = ("n", "nm", "s", "ss", "unsafe", "crit", "wsn", "wsy")
# Sums of per-reply mean scores and of their squares are real numbers; everything else counts.
CUBE_REAL_PREFIXES = frozenset({"s", "ss"})
CUBE_SUM_COLUMNS: tuple[str, ...] = (
    "replies", "ratings", "demo_replies",
    *(f"{p}_{g}" for g in GROUP_KEYS for p in CUBE_SUM_PREFIXES))
CUBE_COUNT_COLUMNS: frozenset[str] = frozenset(
    c for c in CUBE_SUM_COLUMNS if c.split("_", 1)[0] not in CUBE_REAL_PREFIXES)


def _cube_dimensions() -> list[sa.Column[Any]]:
    """Where a reply's figures are added up: everything a dashboard filter or axis selects."""
    return [sa.Column("cube_key", sa.String(96), primary_key=True),
            sa.Column("prompt_version_id", sa.Integer, index=True),
            sa.Column("training_day_id", sa.Integer),
            sa.Column("scenario_snapshot_id", sa.Integer),
            sa.Column("bot_target_id", sa.Integer),
            sa.Column("reply_day", sa.Date)]


def _sum_column(name: str) -> sa.Column[Any]:
    kind: Any = sa.BigInteger if name in CUBE_COUNT_COLUMNS else sa.Float
    return sa.Column(name, kind, nullable=False, server_default="0")


# Sums over counted replies per (prompt version, training day, scenario snapshot, bot target,
# reply day): the additive "reply cube", stored. Once over every rubric version
# (rubric_version_id 0), and once per version for the rubric filter: a reply's mean and
# verdicts over all its ratings are not sums of its per-version ones.
dashboard_cube = sa.Table(
    "dashboard_cube", SQLModel.metadata, *_cube_dimensions(),
    sa.Column("rubric_version_id", sa.Integer, primary_key=True),
    *(_sum_column(name) for name in CUBE_SUM_COLUMNS))

# Rating-level sums per criterion, for the heatmap: the same dimensions plus rubric version.
# Values are whole numbers (1-5, or 1/0 for yes/no), so both sums are counts.
dashboard_criterion_cube = sa.Table(
    "dashboard_criterion_cube", SQLModel.metadata, *_cube_dimensions(),
    sa.Column("rubric_version_id", sa.Integer, primary_key=True),
    sa.Column("criterion", sa.String(64), primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("s", sa.BigInteger, nullable=False, server_default="0"))

# What each reply has added to the two cubes, so that a change can take it out again.
reply_stat = sa.Table(
    "reply_stat", SQLModel.metadata,
    sa.Column("turn_id", sa.Integer, sa.ForeignKey("turn.id"), primary_key=True),
    sa.Column("cube_key", sa.String(96), nullable=False),
    sa.Column("sums", sa.JSON, nullable=False),  # {rubric version or 0: CUBE_SUM_COLUMNS}
    sa.Column("criteria", sa.JSON, nullable=False))  # [[rubric_version_id, criterion, n, s]]

# Replies whose figures a write changed and the cubes do not show yet, inserted by the
# triggers; whoever reads the cubes next applies them (stats.stored.apply_pending). Updating
# the shared cube rows inside every submit made 50 concurrent raters queue on one row.
reply_stat_pending = sa.Table(
    "reply_stat_pending", SQLModel.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("turn_id", sa.Integer, nullable=False, index=True))

# Scrubbed excerpts of bot replies that raters called unsafe, for the dashboard and the board
# report. Scrubbed soon after the rating (by the worker or the app's warm-up thread), never
# while a person waits for a view; a trigger forgets one when its reply is withdrawn or edited.
reply_excerpt = sa.Table(
    "reply_excerpt", SQLModel.metadata,
    sa.Column("turn_id", sa.Integer, sa.ForeignKey("turn.id"), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("scrubber_version", sa.String(40), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False))
