"""intake check reports (四性检测): one per document version and stage

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Documents submitted before this revision have no report: acceptance runs the checks when
it finds none, and the hourly repair job (``workers.tasks.check_repair``) fills them in.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("override_reason", sa.String(length=1000), nullable=True),
        sa.Column("override_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_check_reports_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["document_versions.id"],
            name=op.f("fk_check_reports_version_id_document_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_reports")),
        sa.UniqueConstraint("version_id", "stage", name=op.f("uq_check_reports_version_id")),
    )
    with op.batch_alter_table("check_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_check_reports_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_check_reports_version_id"), ["version_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("check_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_reports_version_id"))
        batch_op.drop_index(batch_op.f("ix_check_reports_document_id"))
    op.drop_table("check_reports")
