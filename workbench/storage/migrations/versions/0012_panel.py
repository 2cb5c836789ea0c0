"""panel: a panel member's "Ik wil even iemand spreken" signal for the facilitator, at most
one open (not yet handled) per panel member

Revision ID: 0012_panel
Revises: 0011_evalintegrity
Create Date: 2026-12-04
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision: str = "0012_panel"
down_revision: str | None = "0011_evalintegrity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "handled_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "support_signal",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("participant_id", sa.Integer, sa.ForeignKey("participant.id"),
                  nullable=False),
        sa.Column("training_day_id", sa.Integer, sa.ForeignKey("training_day.id"),
                  nullable=True),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("handled_at", UTCDateTime(), nullable=True),
        sa.Column("handled_by", AutoString(length=64), nullable=True),
    )
    op.create_index("ix_support_signal_participant_id", "support_signal", ["participant_id"])
    op.create_index("ix_support_signal_training_day_id", "support_signal", ["training_day_id"])
    # Pressing twice, or two tabs at once, cannot make a second open signal.
    op.create_index("uq_support_signal_one_open", "support_signal", ["participant_id"],
                    unique=True, sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index("uq_support_signal_one_open", table_name="support_signal")
    op.drop_index("ix_support_signal_training_day_id", table_name="support_signal")
    op.drop_index("ix_support_signal_participant_id", table_name="support_signal")
    op.drop_table("support_signal")
