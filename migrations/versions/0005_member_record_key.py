"""member record key: the cell-key method's secret per-member key (SPEC §4)

Existing members get a random key here; new members get one from the model's default.

Revision ID: 0005
Revises: 0004
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

KEY_SPACE = 2**40  # as dashboard.cellkey.KEY_SPACE, frozen here for this migration


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("record_key", sa.BigInteger(), nullable=True))
    member = sa.table("member", sa.column("id", sa.Integer), sa.column("record_key", sa.BigInteger))
    conn = op.get_bind()
    ids = [row[0] for row in conn.execute(sa.select(member.c.id))]
    if ids:
        conn.execute(
            member.update().where(member.c.id == sa.bindparam("b_id"))
            .values(record_key=sa.bindparam("b_key")),
            [{"b_id": i, "b_key": 1 + secrets.randbelow(KEY_SPACE - 1)} for i in ids],
        )
    with op.batch_alter_table("member") as batch:
        batch.alter_column("record_key", existing_type=sa.BigInteger(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.drop_column("record_key")
