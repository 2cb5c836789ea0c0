"""access: one locked rate-limit row per key, and server-side staff sessions

Revision ID: 0008_access
Revises: 0007_reply_excerpts
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision: str = "0008_access"
down_revision: str | None = "0007_reply_excerpts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", AutoString(length=128), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_started_at", UTCDateTime(), nullable=True),
        sa.Column("last_failure_at", UTCDateTime(), nullable=True),
        sa.Column("blocked_until", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_login_throttle_kind", "login_throttle", ["kind"])
    op.create_table(
        "staff_session",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("participant_id", sa.Integer, sa.ForeignKey("participant.id"), nullable=False),
        sa.Column("token_hash", AutoString(length=64), nullable=True, unique=True),
        sa.Column("claim_hash", AutoString(length=64), nullable=True, unique=True),
        sa.Column("claim_expires_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_staff_session_participant_id", "staff_session", ["participant_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_session_participant_id", table_name="staff_session")
    op.drop_table("staff_session")
    op.drop_index("ix_login_throttle_kind", table_name="login_throttle")
    op.drop_table("login_throttle")
