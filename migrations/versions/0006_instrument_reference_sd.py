"""instrument reference SD: an optional published reference SD for reliable change (SPEC §3)

Null (the shipped instruments' default) means the SD of all scored baseline responses to the
instrument in the database.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instrument") as batch:
        batch.add_column(sa.Column("reference_sd", sa.Float(), nullable=True))
        batch.add_column(sa.Column("reference_sd_source", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instrument") as batch:
        batch.drop_column("reference_sd_source")
        batch.drop_column("reference_sd")
