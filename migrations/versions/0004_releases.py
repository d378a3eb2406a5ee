"""releases: frozen impact summaries for funders (SPEC §2 release, §4)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("breakdown", sa.JSON(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("prepared_by", sa.String(length=60), nullable=False),
        sa.Column("prepared_at", sa.DateTime(), nullable=False),
        sa.Column("published_by", sa.String(length=60), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["supersedes_id"], ["release.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("release") as batch_op:
        batch_op.create_index("ix_release_period_status", ["period", "status"])


def downgrade() -> None:
    with op.batch_alter_table("release") as batch_op:
        batch_op.drop_index("ix_release_period_status")
    op.drop_table("release")
