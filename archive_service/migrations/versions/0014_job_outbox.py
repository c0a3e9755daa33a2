"""The job outbox: background jobs written with the change that needs them

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

A job is a row here from the commit of its change until the broker has taken it; the
relay deletes it after a successful send, and the sweep sends what is left (broker down,
process crashed). Nothing to carry over: jobs of before this revision were sent already.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_tried_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_outbox")),
    )


def downgrade() -> None:
    op.drop_table("job_outbox")
