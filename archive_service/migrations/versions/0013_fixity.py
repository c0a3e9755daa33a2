"""fixity: the sweep's cursor (one row) and the failures it found

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

The row of the sweep is made by its first run; the first round starts then.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fixity_sweep",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("round_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("checked_bytes", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_round_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_round_checked", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fixity_sweep")),
    )
    op.create_table(
        "fixity_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stored_object_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("found_by", sa.String(length=16), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("times_seen", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("repair", sa.String(length=16), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["stored_object_id"],
            ["stored_objects.id"],
            name=op.f("fk_fixity_failures_stored_object_id_stored_objects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fixity_failures")),
    )
    with op.batch_alter_table("fixity_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fixity_failures_stored_object_id"), ["stored_object_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_fixity_failures_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fixity_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fixity_failures_status"))
        batch_op.drop_index(batch_op.f("ix_fixity_failures_stored_object_id"))
    op.drop_table("fixity_failures")
    op.drop_table("fixity_sweep")
