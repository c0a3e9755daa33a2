"""Paper originals (纸质原件): storage places, the originals, stocktakes (清查) and their finds

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07

``paper_locations`` (room → cabinet → shelf → box, as data), ``paper_items`` (a document's
paper original: place, state, pages), ``paper_stocktakes`` (a count of a place, its report
and sign-off) and ``paper_stocktake_finds`` (each item found, and where).
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "paper_locations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        _fk("paper_locations", "parent_id", "paper_locations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_locations")),
        sa.UniqueConstraint("code", name=op.f("uq_paper_locations_code")),
    )
    op.create_index(
        op.f("ix_paper_locations_parent_id"), "paper_locations", ["parent_id"], unique=False
    )
    op.create_table(
        "paper_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=True),
        _fk("paper_items", "document_id", "documents"),
        _fk("paper_items", "location_id", "paper_locations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_items")),
        sa.UniqueConstraint("document_id", name=op.f("uq_paper_items_document_id")),
    )
    op.create_index(op.f("ix_paper_items_location_id"), "paper_items", ["location_id"])
    op.create_index(op.f("ix_paper_items_state"), "paper_items", ["state"])
    op.create_table(
        "paper_stocktakes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_by_id", sa.Integer(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("sign_comment", sa.String(length=1000), nullable=True),
        _fk("paper_stocktakes", "location_id", "paper_locations"),
        _fk("paper_stocktakes", "started_by_id", "users"),
        _fk("paper_stocktakes", "finished_by_id", "users"),
        _fk("paper_stocktakes", "signed_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_stocktakes")),
    )
    op.create_index(op.f("ix_paper_stocktakes_state"), "paper_stocktakes", ["state"])
    op.create_table(
        "paper_stocktake_finds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stocktake_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("found_by_id", sa.Integer(), nullable=True),
        _fk("paper_stocktake_finds", "stocktake_id", "paper_stocktakes"),
        _fk("paper_stocktake_finds", "item_id", "paper_items"),
        _fk("paper_stocktake_finds", "location_id", "paper_locations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_stocktake_finds")),
        sa.UniqueConstraint(
            "stocktake_id", "item_id", name=op.f("uq_paper_stocktake_finds_stocktake_id")
        ),
    )
    op.create_index(
        op.f("ix_paper_stocktake_finds_stocktake_id"), "paper_stocktake_finds", ["stocktake_id"]
    )


def downgrade() -> None:
    op.drop_table("paper_stocktake_finds")
    op.drop_table("paper_stocktakes")
    op.drop_table("paper_items")
    op.drop_table("paper_locations")
