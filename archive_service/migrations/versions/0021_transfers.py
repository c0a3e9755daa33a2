"""Transfers (移交): applications, their approvals and items; packages received

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

``transfers`` / ``transfer_steps`` / ``transfer_items`` hold the sending side;
``received_transfers`` / ``received_histories`` the receiving side. Documents gain
``transferred_on``, ``transfer_ref`` and ``transfer_disposal`` (the copy here goes once the
transfer is confirmed).
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receiver", sa.String(length=300), nullable=False),
        sa.Column("purpose", sa.String(length=1000), nullable=False),
        sa.Column("disposition", sa.String(length=16), nullable=False),
        sa.Column("selection", sa.JSON(), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exported_by_id", sa.Integer(), nullable=True),
        sa.Column("exports", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=True),
        sa.Column("signing_key_id", sa.String(length=64), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("receipt", sa.String(length=300), nullable=True),
        _fk("transfers", "applicant_id", "users"),
        _fk("transfers", "exported_by_id", "users"),
        _fk("transfers", "confirmed_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint("package_id", name=op.f("uq_transfers_package_id")),
    )
    op.create_index(op.f("ix_transfers_status"), "transfers", ["status"], unique=False)
    op.create_table(
        "transfer_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.String(length=1000), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        _fk("transfer_steps", "transfer_id", "transfers"),
        _fk("transfer_steps", "department_id", "departments"),
        _fk("transfer_steps", "decided_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_steps")),
    )
    op.create_index(
        op.f("ix_transfer_steps_transfer_id"), "transfer_steps", ["transfer_id"], unique=False
    )
    op.create_table(
        "transfer_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("archive_number", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("customer", sa.String(length=300), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        _fk("transfer_items", "transfer_id", "transfers"),
        _fk("transfer_items", "document_id", "documents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_items")),
    )
    op.create_index(
        op.f("ix_transfer_items_transfer_id"), "transfer_items", ["transfer_id"], unique=False
    )
    op.create_index(
        op.f("ix_transfer_items_document_id"), "transfer_items", ["document_id"], unique=False
    )
    op.create_table(
        "received_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.String(length=300), nullable=False),
        sa.Column("signing_key_id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by_id", sa.Integer(), nullable=True),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_transfers")),
        sa.UniqueConstraint("package_id", name=op.f("uq_received_transfers_package_id")),
    )
    op.create_table(
        "received_histories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("register", sa.JSON(), nullable=False),
        _fk("received_histories", "received_id", "received_transfers"),
        _fk("received_histories", "document_id", "documents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_histories")),
    )
    op.create_index(
        op.f("ix_received_histories_received_id"),
        "received_histories",
        ["received_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_received_histories_document_id"),
        "received_histories",
        ["document_id"],
        unique=False,
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transferred_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("transfer_ref", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("transfer_disposal", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("transfer_disposal")
        batch_op.drop_column("transfer_ref")
        batch_op.drop_column("transferred_on")
    op.drop_table("received_histories")
    op.drop_table("received_transfers")
    op.drop_table("transfer_items")
    op.drop_table("transfer_steps")
    op.drop_table("transfers")
