"""Number series: how far the completeness check found the series whole

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

``number_counters.checked_through``: every number 1 … this of the scope was found present,
so the acceptance's gap check (四性检测, 完整性) looks only at what came after, instead of
the whole series each time.
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("number_counters", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("checked_through", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("number_counters", schema=None) as batch_op:
        batch_op.drop_column("checked_through")
