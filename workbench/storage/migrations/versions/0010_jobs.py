"""jobs: long work on the task queue (progress rows) and the workers that report themselves

Revision ID: 0010_jobs
Revises: 0009_dayadmin
`workbench migrate` reports one revision and refuses two heads)
Create Date: 2026-12-04
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010_jobs"
down_revision: str | None = "0009_dayadmin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("enqueued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("done", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=True),
        sa.Column("message", sa.String(500), nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("active_key", sa.String(128), nullable=True),
        sa.UniqueConstraint("active_key", name="uq_job_active_key"),
    )
    op.create_index("ix_job_created_at", "job", ["created_at"])
    op.create_index("ix_job_status_heartbeat", "job", ["status", "heartbeat_at"])
    op.create_table(
        "job_worker",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("threads", sa.Integer, nullable=False),
        sa.Column("queue", sa.String(255), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("stopped_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    )
    op.create_index("ix_job_worker_seen_at", "job_worker", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_job_worker_seen_at", table_name="job_worker")
    op.drop_table("job_worker")
    op.drop_index("ix_job_status_heartbeat", table_name="job")
    op.drop_index("ix_job_created_at", table_name="job")
    op.drop_table("job")
