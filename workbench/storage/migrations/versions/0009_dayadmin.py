"""dayadmin: a training day can be archived (hidden from every day picker, its data kept)

Revision ID: 0009_dayadmin
Revises: 0008_access
Create Date: 2026-12-04
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0009_dayadmin"
down_revision: str | None = "0008_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A flag next to open/closed, not a third status: an archived day stays closed (its codes
    # stop), and restoring it brings it back as it was. Plain ADD COLUMN (no batch rebuild),
    # which SQLite does in place on a filled database; every existing day stays visible.
    op.add_column("training_day", sa.Column("archived_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("training_day") as batch_op:
        batch_op.drop_column("archived_at")
