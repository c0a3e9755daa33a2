"""extraction retries: why an extraction failed, how often, when it is tried again

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Failures recorded before this revision get their reason class from the message they
were stored with; "error: …" was the sandbox itself failing (under a prefork worker:
"daemonic processes are not allowed to have children"). They are not retried
automatically: `archive search reextract --failed` re-queues them (README).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Message prefix of the first release -> reason class (search.extract.REASONS).
_PREFIXES = {
    "timeout:": "timeout",
    "memory:": "memory",
    "parse error:": "parse_error",
    "crashed:": "crashed",
    "unsupported:": "unsupported",
    "error:": "sandbox_start",
}


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extraction_reason", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("extraction_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("extraction_retry_at", sa.DateTime(timezone=True), nullable=True)
        )
    documents = sa.table(
        "documents",
        sa.column("extraction", sa.String),
        sa.column("extraction_error", sa.String),
        sa.column("extraction_reason", sa.String),
        sa.column("extraction_attempts", sa.Integer),
    )
    failed = documents.c.extraction == "failed"
    op.execute(documents.update().where(failed).values(extraction_attempts=1))
    for prefix, reason in _PREFIXES.items():
        op.execute(
            documents.update()
            .where(failed, documents.c.extraction_reason.is_(None))
            .where(documents.c.extraction_error.like(prefix + "%"))
            .values(extraction_reason=reason)
        )
    op.execute(
        documents.update()
        .where(failed, documents.c.extraction_reason.is_(None))
        .values(extraction_reason="parse_error")
    )


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("extraction_retry_at")
        batch_op.drop_column("extraction_attempts")
        batch_op.drop_column("extraction_reason")
