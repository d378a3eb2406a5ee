"""derived summaries: attendance per man, group and month, quarter or fiscal year;
survey pair candidates

Both are derived from the raw rows (dashboard/derived.py) and filled here for an existing
database, so that the figures of long periods do not scan the raw history (issue 14).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attendance_summary",
        sa.Column("span", sa.String(8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("network_id", sa.Integer(), sa.ForeignKey("network.id"), nullable=False),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("group.id"), nullable=False),
        sa.Column(
            "member_id",
            sa.Integer(),
            sa.ForeignKey("member.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("record_key", sa.BigInteger(), nullable=False),
        sa.Column("presents", sa.Integer(), nullable=False),
        sa.Column("excused", sa.Integer(), nullable=False),
        sa.Column("recorded", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("span", "period_start", "network_id", "member_id", "group_id"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_attendance_summary_member", "attendance_summary", ["member_id"])
    op.create_table(
        "survey_pair",
        sa.Column(
            "later_id",
            sa.Integer(),
            sa.ForeignKey("survey_response.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "baseline_id",
            sa.Integer(),
            sa.ForeignKey("survey_response.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "member_id",
            sa.Integer(),
            sa.ForeignKey("member.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("instrument_id", sa.String(40), sa.ForeignKey("instrument.id"), nullable=False),
        sa.Column("later_date", sa.Date(), nullable=False),
        sa.Column("later_wave", sa.String(12), nullable=False),
        sa.Column("later_score", sa.Float(), nullable=False),
        sa.Column("baseline_date", sa.Date(), nullable=False),
        sa.Column("baseline_score", sa.Float(), nullable=False),
        sa.Column("next_later_date", sa.Date(), nullable=True),
    )
    op.create_index(
        "ix_survey_pair_instrument_date", "survey_pair", ["instrument_id", "later_date"]
    )
    op.create_index("ix_survey_pair_baseline_id", "survey_pair", ["baseline_id"])
    op.create_index("ix_survey_pair_member_id", "survey_pair", ["member_id"])
    from dashboard.derived import refresh_attendance_summary, refresh_survey_pairs

    refresh_attendance_summary(op.get_bind())
    refresh_survey_pairs(op.get_bind())


def downgrade() -> None:
    op.drop_table("survey_pair")
    op.drop_table("attendance_summary")
