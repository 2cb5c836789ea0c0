"""one open role-play per panel member: a partial unique index

Revision ID: 0006_one_open_roleplay
Revises: 0005_stats_by_triggers
Create Date: 2026-12-04

Two tabs pressing "Begin" at once made two conversations. The service now decides and
creates in one locked transaction; this index makes the database refuse a second open one.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_one_open_roleplay"
down_revision: str | None = "0005_stats_by_triggers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = "kind = 'roleplay' AND status IN ('active', 'paused') AND participant_id IS NOT NULL"


def upgrade() -> None:
    # Older databases may hold duplicates from the race: the newer ones are stopped first.
    op.execute(f"""
        UPDATE conversation SET status = 'stopped' WHERE {WHERE} AND id NOT IN (
            SELECT max(id) FROM conversation WHERE {WHERE} GROUP BY participant_id)""")
    op.create_index("uq_conversation_one_open_roleplay", "conversation", ["participant_id"],
                    unique=True, sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))


def downgrade() -> None:
    op.drop_index("uq_conversation_one_open_roleplay", table_name="conversation")
