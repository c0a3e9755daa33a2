"""Lending paper originals (借阅): loans, and the take-away choice of an application

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07

``paper_loans`` (an original handed out on a grant: due day, where it is read, the
return, the last overdue notice) and ``access_requests.take_away`` (a lending mode's
application allows taking the original out of the reading room).
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_paper_loans_{column}_{target}")
    )


def upgrade() -> None:
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("take_away", sa.Boolean(), nullable=False, server_default="0")
        )
    op.create_table(
        "paper_loans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("handed_out_by_id", sa.Integer(), nullable=False),
        sa.Column("handed_out_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_by_id", sa.Integer(), nullable=True),
        sa.Column("return_note", sa.String(length=500), nullable=True),
        sa.Column("overdue_notice_on", sa.Date(), nullable=True),
        _fk("item_id", "paper_items"),
        _fk("grant_id", "grants"),
        _fk("borrower_id", "users"),
        _fk("handed_out_by_id", "users"),
        _fk("returned_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_loans")),
    )
    for column in ("item_id", "grant_id", "borrower_id", "due_on", "returned_at"):
        op.create_index(op.f(f"ix_paper_loans_{column}"), "paper_loans", [column])


def downgrade() -> None:
    op.drop_table("paper_loans")
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.drop_column("take_away")
