"""dashboard stats kept by the database: marking triggers, integer counts

Revision ID: 0005_stats_by_triggers
Revises: 0004_dashboard_stats
Create Date: 2026-12-04

The stored sums were correct only while every write path remembered to mark its replies; now
triggers mark every write that changes what the dashboard counts (stats/triggers.py). The
cube's counts become integer columns. The four tables hold derived data only, so they are
made again and filled from the ratings, with the application's own rules (as 0004 did).
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0005_stats_by_triggers"
down_revision: str | None = "0004_dashboard_stats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("reply_stat_pending", "reply_stat", "dashboard_criterion_cube", "dashboard_cube")


def upgrade() -> None:
    from workbench.storage.stats.stored import rebuild
    from workbench.storage.stats.triggers import create_triggers
    from workbench.storage.tables import (
        dashboard_criterion_cube,
        dashboard_cube,
        reply_stat,
        reply_stat_pending,
    )

    bind = op.get_bind()
    for name in TABLES:
        op.drop_table(name)
    for table in (dashboard_cube, dashboard_criterion_cube, reply_stat, reply_stat_pending):
        table.create(bind)
    rebuild(bind)
    create_triggers(bind)


def downgrade() -> None:
    from workbench.storage.stats.triggers import drop_triggers

    drop_triggers(op.get_bind())  # the integer columns stay: 0004's code reads them alike
