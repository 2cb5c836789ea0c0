"""curation: lead experts, and who wrote a curated ideal reply under which rubric version

Revision ID: 0002_curation
Revises: 0001
Create Date: 2026-11-28
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_curation"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


NEW_REFERENCES = (  # (column, table it refers to, constraint name on PostgreSQL)
    ("ideal_reply_author_id", "participant", "fk_curated_example_ideal_reply_author_id"),
    ("rubric_version_id", "rubric_version", "fk_curated_example_rubric_version_id"),
)


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: a batch rebuild drops and recreates the table, which
    # SQLite refuses on a filled database while foreign keys are enforced.
    # server_default fills the rows that exist; nobody is a lead until a facilitator says so.
    op.add_column("participant", sa.Column("is_lead", sa.Boolean(), nullable=False,
                                           server_default=sa.false()))
    sqlite = op.get_bind().dialect.name == "sqlite"
    for column, table, name in NEW_REFERENCES:
        if sqlite:
            # SQLite takes a REFERENCES clause on an added nullable column, but alembic would
            # try a separate ALTER … ADD CONSTRAINT, which SQLite does not have.
            op.execute(f"ALTER TABLE curated_example ADD COLUMN {column} INTEGER "
                       f"REFERENCES {table} (id)")
        else:
            op.add_column("curated_example", sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(name, "curated_example", table, [column], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("curated_example", schema=None) as batch_op:
        if op.get_bind().dialect.name != "sqlite":
            for _, _, name in NEW_REFERENCES:
                batch_op.drop_constraint(name, type_="foreignkey")
        batch_op.drop_column("rubric_version_id")
        batch_op.drop_column("ideal_reply_author_id")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("is_lead")
