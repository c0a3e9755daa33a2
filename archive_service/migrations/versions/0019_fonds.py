"""Fonds (全宗): an optional top level for groups, one per legal entity

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06

``fonds`` (code, name) and ``customers.fonds_id``: a customer without one stays in the
default fonds of ``ARCHIVE_FONDS``, as every customer was before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fonds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fonds")),
        sa.UniqueConstraint("code", name=op.f("uq_fonds_code")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fonds_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_customers_fonds_id"), ["fonds_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_customers_fonds_id_fonds"), "fonds", ["fonds_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_customers_fonds_id_fonds"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_customers_fonds_id"))
        batch_op.drop_column("fonds_id")
    op.drop_table("fonds")
