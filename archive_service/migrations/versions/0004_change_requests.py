"""change requests

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "change_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("target_revision", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("replacement_object_id", sa.Integer(), nullable=True),
        sa.Column("replacement_filename", sa.String(length=300), nullable=True),
        sa.Column("replacement_content_type", sa.String(length=128), nullable=True),
        sa.Column("important", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome_reason", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["replacement_object_id"],
            ["stored_objects.id"],
            name=op.f("fk_change_requests_replacement_object_id_stored_objects"),
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"], ["users.id"], name=op.f("fk_change_requests_requester_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_requests")),
    )
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_change_requests_requester_id"), ["requester_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_change_requests_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_change_requests_target_id"), ["target_id"], unique=False
        )

    op.create_table(
        "change_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("stored_object_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["change_requests.id"],
            name=op.f("fk_change_evidence_change_id_change_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["stored_object_id"],
            ["stored_objects.id"],
            name=op.f("fk_change_evidence_stored_object_id_stored_objects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_evidence")),
    )
    with op.batch_alter_table("change_evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_change_evidence_change_id"), ["change_id"], unique=False
        )

    op.create_table(
        "change_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["change_requests.id"],
            name=op.f("fk_change_steps_change_id_change_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_change_steps_decided_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_steps")),
    )
    with op.batch_alter_table("change_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_steps_change_id"), ["change_id"], unique=False)

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("revision")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("revision")

    with op.batch_alter_table("change_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_steps_change_id"))

    op.drop_table("change_steps")
    with op.batch_alter_table("change_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_evidence_change_id"))

    op.drop_table("change_evidence")
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_requests_target_id"))
        batch_op.drop_index(batch_op.f("ix_change_requests_status"))
        batch_op.drop_index(batch_op.f("ix_change_requests_requester_id"))

    op.drop_table("change_requests")
