"""dashboard indexes: covering indexes for the dashboard's SQL aggregation

Revision ID: 0003_dashboard
Revises: 0002_curation
Create Date: 2026-11-28
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0003_dashboard"
down_revision: str | None = "0002_curation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every rating column the per-reply aggregation reads, in reply order: an index-only scan.
    op.create_index("ix_rating_dashboard", "rating",
                    ["turn_id", "status", "withdrawn", "source", "rubric_version_id", "unsafe",
                     "overall"])
    # Critical failures (a rare criterion/value pair) without scanning rating_score.
    op.create_index("ix_rating_score_criterion_value", "rating_score",
                    ["criterion", "value", "rating_id"])
    # A rating's values (would-send, heatmap, agreement) without reading the table.
    op.create_index("ix_rating_score_values", "rating_score", ["rating_id", "criterion", "value"])
    # The bot replies a filter selects, without reading the wide rows that hold the text.
    op.create_index("ix_turn_dashboard", "turn",
                    ["role", "status", "withdrawn", "prompt_version_id", "conversation_id",
                     "created_at"])


def downgrade() -> None:
    op.drop_index("ix_turn_dashboard", table_name="turn")
    op.drop_index("ix_rating_score_values", table_name="rating_score")
    op.drop_index("ix_rating_score_criterion_value", table_name="rating_score")
    op.drop_index("ix_rating_dashboard", table_name="rating")
