"""eval integrity: a lease on each run (one runner at a time) and a content hash per imported
conversation (an import adds a conversation once per replay target)

Revision ID: 0011_evalintegrity
Revises: 0010_jobs
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011_evalintegrity"
down_revision: str | None = "0010_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE INDEX, not batch mode: a batch rebuild drops and recreates
    # the table, which SQLite refuses on a filled database while foreign keys are enforced.
    # Every column is nullable, so the rows that exist need no value: no run is held, and
    # conversations imported before this have no hash (NULLs never collide in a unique index).
    op.add_column("run", sa.Column("lease_holder", sqlmodel.sql.sqltypes.AutoString(length=160),
                                   nullable=True))
    op.add_column("run", sa.Column("lease_taken_at", sqlmodel.sql.sqltypes.UTCDateTime(),
                                   nullable=True))
    op.add_column("run", sa.Column("lease_expires_at", sqlmodel.sql.sqltypes.UTCDateTime(),
                                   nullable=True))
    op.add_column("conversation", sa.Column(
        "content_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.create_index("uq_conversation_content", "conversation",
                    ["bot_target_id", "content_sha256"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_conversation_content", table_name="conversation")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("content_sha256")
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("lease_taken_at")
        batch_op.drop_column("lease_holder")
