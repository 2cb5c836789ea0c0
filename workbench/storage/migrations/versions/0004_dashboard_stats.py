"""dashboard stats: the reply cube and criterion sums, stored and kept current on every write

Revision ID: 0004_dashboard_stats
Revises: 0003_dashboard
Create Date: 2026-11-28
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_dashboard_stats"
down_revision: str | None = "0003_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GROUPS = ("all", "expert", "lived_experience")
SUMS = ("replies", "ratings", "demo_replies",
        *(f"{p}_{g}" for g in GROUPS for p in ("n", "nm", "s", "ss", "unsafe", "crit", "wsn",
                                                  "wsy")))


def _dimensions() -> list[sa.Column]:
    return [sa.Column("cube_key", sa.String(96), primary_key=True),
            sa.Column("prompt_version_id", sa.Integer),
            sa.Column("training_day_id", sa.Integer),
            sa.Column("scenario_snapshot_id", sa.Integer),
            sa.Column("bot_target_id", sa.Integer),
            sa.Column("reply_day", sa.Date)]


def upgrade() -> None:
    op.create_table("dashboard_cube", *_dimensions(),
                    sa.Column("rubric_version_id", sa.Integer, primary_key=True),
                    *(sa.Column(c, sa.Float, nullable=False, server_default="0") for c in SUMS))
    op.create_index("ix_dashboard_cube_prompt_version_id", "dashboard_cube",
                    ["prompt_version_id"])
    op.create_table("dashboard_criterion_cube", *_dimensions(),
                    sa.Column("rubric_version_id", sa.Integer, primary_key=True),
                    sa.Column("criterion", sa.String(64), primary_key=True),
                    sa.Column("n", sa.Float, nullable=False, server_default="0"),
                    sa.Column("s", sa.Float, nullable=False, server_default="0"))
    op.create_index("ix_dashboard_criterion_cube_prompt_version_id",
                    "dashboard_criterion_cube", ["prompt_version_id"])
    op.create_table("reply_stat",
                    sa.Column("turn_id", sa.Integer, sa.ForeignKey("turn.id"), primary_key=True),
                    sa.Column("cube_key", sa.String(96), nullable=False),
                    sa.Column("sums", sa.JSON, nullable=False),
                    sa.Column("criteria", sa.JSON, nullable=False))
    op.create_table("reply_stat_pending",
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("turn_id", sa.Integer, nullable=False))
    # Fill them from the ratings already there. This uses the application's own counting
    # rules (a migration that copied them would drift from them); it is the one data step.
    from workbench.storage.stats.stored import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("reply_stat_pending")
    op.drop_table("reply_stat")
    op.drop_index("ix_dashboard_criterion_cube_prompt_version_id",
                  table_name="dashboard_criterion_cube")
    op.drop_table("dashboard_criterion_cube")
    op.drop_index("ix_dashboard_cube_prompt_version_id", table_name="dashboard_cube")
    op.drop_table("dashboard_cube")
