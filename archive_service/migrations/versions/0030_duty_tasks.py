"""Recurring reviews (定期检查): one task per kind, period and department

Revision ID: 0030
Revises: 0027
Create Date: 2026-12-07

``duty_tasks``: the monthly ledger check, the yearly review of core customers and the
quarterly tier re-evaluation of each department, opened when their period ends, with the
due date, the completion record and when the late ones were chased.
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duty_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.String(length=2000), nullable=True),
        sa.Column("filed", sa.JSON(), nullable=True),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.Column("escalated_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"],
            name=op.f("fk_duty_tasks_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["done_by_id"], ["users.id"], name=op.f("fk_duty_tasks_done_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_tasks")),
        sa.UniqueConstraint("kind", "period", "department_id", name=op.f("uq_duty_tasks_kind")),
    )  # fmt: skip
    op.create_index(op.f("ix_duty_tasks_department_id"), "duty_tasks", ["department_id"])
    op.create_index(op.f("ix_duty_tasks_due_on"), "duty_tasks", ["due_on"])
    op.create_index(op.f("ix_duty_tasks_state"), "duty_tasks", ["state"])


def downgrade() -> None:
    op.drop_table("duty_tasks")
