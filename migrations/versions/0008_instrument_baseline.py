"""instrument baseline spread: the count and squared deviations of every instrument's scored
baselines, derived when surveys are written (reliable change's SD_ref without a published one)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instrument_baseline",
        sa.Column(
            "instrument_id", sa.String(40), sa.ForeignKey("instrument.id"), primary_key=True
        ),
        sa.Column("baselines", sa.Integer(), nullable=False),
        sa.Column("squares", sa.Float(), nullable=True),
    )
    from dashboard.derived import refresh_baseline_spread

    refresh_baseline_spread(op.get_bind())


def downgrade() -> None:
    op.drop_table("instrument_baseline")
