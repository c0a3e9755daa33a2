"""Notifications: the notification centre, deliveries, preferences, group robots, reminders

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07

Notifications and their deliveries (e-mail, WeCom, DingTalk), each person's channel
choices, the departments' group robots, the reminders sent for waiting approval steps; and
on every step table ``opened_at``, when the step began to wait. A step pending at upgrade
counts from the upgrade (its start was not recorded).
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

STEP_TABLES = (
    "approval_steps",
    "change_steps",
    "destruction_steps",
    "role_grant_steps",
    "transfer_steps",
)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=True),
        sa.Column("archive_number", sa.String(length=64), nullable=True),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        _fk("notifications", "recipient_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_recipient_read", "notifications", ["recipient_id", "read_at"])
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("notification_deliveries", "notification_id", "notifications"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
    )
    op.create_index(
        op.f("ix_notification_deliveries_notification_id"),
        "notification_deliveries",
        ["notification_id"],
    )
    op.create_index(
        "ix_notification_deliveries_due", "notification_deliveries", ["status", "next_try_at"]
    )
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _fk("notification_preferences", "user_id", "users"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "notification_webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _fk("notification_webhooks", "department_id", "departments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_webhooks")),
        sa.UniqueConstraint(
            "department_id", "channel", name=op.f("uq_notification_webhooks_department_id")
        ),
    )
    op.create_table(
        "step_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain", sa.String(length=16), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_reminders")),
        sa.UniqueConstraint("chain", "step_id", "stage", name=op.f("uq_step_reminders_chain")),
    )
    for table in STEP_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
        steps = sa.table(table, sa.column("status"), sa.column("opened_at"))
        op.execute(
            steps.update().where(steps.c.status == "pending").values(opened_at=sa.func.now())
        )


def downgrade() -> None:
    for table in STEP_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("opened_at")
    op.drop_table("step_reminders")
    op.drop_table("notification_webhooks")
    op.drop_table("notification_preferences")
    op.drop_index("ix_notification_deliveries_due", table_name="notification_deliveries")
    op.drop_index(
        op.f("ix_notification_deliveries_notification_id"), table_name="notification_deliveries"
    )
    op.drop_table("notification_deliveries")
    op.drop_index("ix_notifications_recipient_read", table_name="notifications")
    op.drop_table("notifications")
