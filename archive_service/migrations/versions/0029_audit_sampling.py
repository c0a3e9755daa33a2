"""Audit sampling (专项审计抽查): samplings and the archives each drew

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07

``audit_samplings`` (how a sample was drawn — size or percentage, strata, seed, population —
its auditor, and the report fixed at closing) and ``audit_sampled_archives`` (each drawn
customer archive with its checklist and findings).
"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "audit_samplings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("auditor_id", sa.Integer(), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seed", sa.String(length=24), nullable=False),
        sa.Column("seed_given", sa.Boolean(), nullable=False),
        sa.Column("requested_size", sa.Integer(), nullable=True),
        sa.Column("requested_percent", sa.Float(), nullable=True),
        sa.Column("stratified", sa.Boolean(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("population_digest", sa.String(length=64), nullable=False),
        sa.Column("strata", sa.JSON(), nullable=False),
        sa.Column("recommendations", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        _fk("audit_samplings", "auditor_id", "users"),
        _fk("audit_samplings", "closed_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_samplings")),
    )
    op.create_index(op.f("ix_audit_samplings_state"), "audit_samplings", ["state"])
    op.create_index(op.f("ix_audit_samplings_auditor_id"), "audit_samplings", ["auditor_id"])
    op.create_table(
        "audit_sampled_archives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sampling_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        _fk("audit_sampled_archives", "sampling_id", "audit_samplings"),
        _fk("audit_sampled_archives", "customer_id", "customers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_sampled_archives")),
        sa.UniqueConstraint(
            "sampling_id", "customer_id", name=op.f("uq_audit_sampled_archives_sampling_id")
        ),
    )
    op.create_index(
        op.f("ix_audit_sampled_archives_sampling_id"), "audit_sampled_archives", ["sampling_id"]
    )
    op.create_index(
        op.f("ix_audit_sampled_archives_customer_id"), "audit_sampled_archives", ["customer_id"]
    )


def downgrade() -> None:
    op.drop_table("audit_sampled_archives")
    op.drop_table("audit_samplings")
