"""enrolment counts and presences, derived from the sessions and attendance: per enrolment
the sessions held within it, the first and last of their dates and the man's presents among
them (completion and dosage read one row per enrolment, not the raw history); each present
by man, group and date, and an index covering a group's held sessions by date (an
enrolment's sessions in part of a period, counted by two searches)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = ("held", "first_held", "last_held", "presents")


def upgrade() -> None:
    with op.batch_alter_table("enrollment") as batch:
        batch.add_column(sa.Column("held", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("first_held", sa.Date(), nullable=True))
        batch.add_column(sa.Column("last_held", sa.Date(), nullable=True))
        batch.add_column(sa.Column("presents", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "presence",
        sa.Column(
            "member_id",
            sa.Integer(),
            sa.ForeignKey("member.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("group.id"), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "group_id", "date"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_session_group_date_cancelled", "session", ["group_id", "date", "cancelled"]
    )
    from dashboard.derived import refresh_enrolment_counts, refresh_presence

    refresh_enrolment_counts(op.get_bind())
    refresh_presence(op.get_bind())
    _analyze("enrollment", "presence", "session")


def _analyze(*tables: str) -> None:
    """Planner statistics of the tables changed, as after an import (db.refresh_statistics):
    SQLite has none of its own, PostgreSQL's autovacuum would come later."""
    from dashboard.db import SQLITE_ANALYSIS_LIMIT

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
    for table in tables:
        bind.exec_driver_sql(f"ANALYZE {table}")


def downgrade() -> None:
    op.drop_index("ix_session_group_date_cancelled", table_name="session")
    op.drop_table("presence")
    with op.batch_alter_table("enrollment") as batch:
        for column in COLUMNS:
            batch.drop_column(column)
