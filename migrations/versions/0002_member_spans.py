"""member spans: first/last present and first group, derived from attendance

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch_op:
        batch_op.add_column(sa.Column("first_present", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("last_present", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("first_group_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_member_first_group", "group", ["first_group_id"], ["id"])
        batch_op.create_index("ix_member_first_present", ["first_present"])
    # Backfill from the attendance already stored.
    op.execute("""
        UPDATE member SET
          first_present = (SELECT MIN(s.date) FROM attendance a JOIN session s ON s.id = a.session_id
                           WHERE a.member_id = member.id AND a.status = 'present'
                             AND NOT s.cancelled),
          last_present = (SELECT MAX(s.date) FROM attendance a JOIN session s ON s.id = a.session_id
                          WHERE a.member_id = member.id AND a.status = 'present'
                            AND NOT s.cancelled)
    """)
    op.execute("""
        UPDATE member SET first_group_id = (
          SELECT MIN(s.group_id) FROM attendance a JOIN session s ON s.id = a.session_id
          WHERE a.member_id = member.id AND a.status = 'present' AND NOT s.cancelled
            AND s.date = member.first_present)
    """)


def downgrade() -> None:
    with op.batch_alter_table("member") as batch_op:
        batch_op.drop_index("ix_member_first_present")
        batch_op.drop_constraint("fk_member_first_group", type_="foreignkey")
        batch_op.drop_column("first_group_id")
        batch_op.drop_column("last_present")
        batch_op.drop_column("first_present")
