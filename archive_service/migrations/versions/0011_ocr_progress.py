"""OCR progress: pages read by the background continuation past the OCR page limit

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

Documents extracted before this revision have no progress (null): their pages past the
limit stay unread until a new version is extracted (their `document.extract` audit events
count them in `ocr_pages_not_read`); no command re-queues them yet.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ocr_pages_read", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ocr_pages_total", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ocr_state", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("ocr_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("ocr_retry_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ocr_touched_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        for name in (
            "ocr_touched_at",
            "ocr_retry_at",
            "ocr_attempts",
            "ocr_state",
            "ocr_pages_total",
            "ocr_pages_read",
        ):
            batch_op.drop_column(name)
