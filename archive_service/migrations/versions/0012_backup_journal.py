"""Backups: each destruction record's backup horizon, and its entry in the destruction journal

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

``backup_horizon``: the day by which the last backup still holding the destroyed
documents' keys expires under the retention rule. ``journaled_at`` / ``journal_error``:
when the completed destruction reached the backup target's journal, or why it has not yet
(the sweep retries). Destructions completed before this revision are journaled by the
first sweep once a target is set.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("destructions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("backup_horizon", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("journaled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("journal_error", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("destructions", schema=None) as batch_op:
        for name in ("journal_error", "journaled_at", "backup_horizon"):
            batch_op.drop_column(name)
