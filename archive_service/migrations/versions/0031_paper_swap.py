"""Paper originals: the swap an applied file replacement asks for

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07

``paper_items.swap_change_id``: the change request whose new file the paper original is
to be swapped for (对纸质档案进行同步调整), until an archivist confirms the swap.
"""

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("paper_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("swap_change_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_paper_items_swap_change_id"), ["swap_change_id"])


def downgrade() -> None:
    with op.batch_alter_table("paper_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_items_swap_change_id"))
        batch_op.drop_column("swap_change_id")
