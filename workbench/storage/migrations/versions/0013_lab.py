"""lab: prompt lab candidates (a prompt version not yet current) and their comparisons

Revision ID: 0013_lab
Revises: 0012_panel
Create Date: 2026-12-04
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013_lab"
down_revision: str | None = "0012_panel"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prompt_candidate",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("bot_target_id", sa.Integer, sa.ForeignKey("bot_target.id"), nullable=False),
        sa.Column("prompt_version_id", sa.Integer, sa.ForeignKey("prompt_version.id"),
                  nullable=False),
        sa.Column("base_prompt_version_id", sa.Integer, sa.ForeignKey("prompt_version.id"),
                  nullable=False),
        sa.Column("diff", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("fewshot_example_ids", sa.JSON, nullable=False),
        sa.Column("fewshot_filters", sa.JSON, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("promoted_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("promoted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("promote_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.UniqueConstraint("prompt_version_id"),
    )
    op.create_index("ix_prompt_candidate_bot_target_id", "prompt_candidate", ["bot_target_id"])
    op.create_table(
        "lab_comparison",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("prompt_candidate.id"),
                  nullable=False),
        sa.Column("run_a", sqlmodel.sql.sqltypes.AutoString(length=40), sa.ForeignKey("run.id"),
                  nullable=False),
        sa.Column("run_b", sqlmodel.sql.sqltypes.AutoString(length=40), sa.ForeignKey("run.id"),
                  nullable=False),
        sa.Column("judge", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("job_id", sa.Integer, nullable=True),
        sa.Column("active_for", sa.Integer, nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("active_for"),
    )
    op.create_index("ix_lab_comparison_candidate_id", "lab_comparison", ["candidate_id"])


def downgrade() -> None:
    op.drop_index("ix_lab_comparison_candidate_id", table_name="lab_comparison")
    op.drop_table("lab_comparison")
    op.drop_index("ix_prompt_candidate_bot_target_id", table_name="prompt_candidate")
    op.drop_table("prompt_candidate")
