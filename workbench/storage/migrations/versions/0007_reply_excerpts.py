"""scrubbed excerpts of unsafe replies, stored when they are made, not when a view needs them

Revision ID: 0007_reply_excerpts
Revises: 0006_one_open_roleplay
Create Date: 2026-12-04

The first dashboard view after a start waited for the Dutch scrubber (deduce, ~10 s to load)
to scrub its excerpts; now they are scrubbed ahead and stored here. A trigger forgets an
excerpt when its reply is withdrawn or its text changes.
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0007_reply_excerpts"
down_revision: str | None = "0006_one_open_roleplay"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from workbench.storage.stats.triggers import create_excerpt_triggers
    from workbench.storage.tables import reply_excerpt

    reply_excerpt.create(op.get_bind())
    create_excerpt_triggers(op.get_bind())


def downgrade() -> None:
    from workbench.storage.stats.triggers import drop_excerpt_triggers

    drop_excerpt_triggers(op.get_bind())
    op.drop_table("reply_excerpt")
