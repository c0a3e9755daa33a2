"""Import batches: an existing archive brought in from a manifest

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06

``import_batches`` holds one row per import of a manifest (its digest finds an open batch
to continue); ``imported_rows`` each row stored, by row key and file digest, so a run
again skips what is in.
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("manifest_name", sa.String(length=300), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_imported", sa.Integer(), nullable=False),
        sa.Column("rows_skipped", sa.Integer(), nullable=False),
        sa.Column("rows_failed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    op.create_index(
        op.f("ix_import_batches_manifest_sha256"),
        "import_batches",
        ["manifest_sha256"],
        unique=False,
    )
    op.create_table(
        "imported_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("row_key", sa.String(length=128), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_imported_rows_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_imported_rows_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_rows")),
        sa.UniqueConstraint("row_key", name=op.f("uq_imported_rows_row_key")),
    )
    op.create_index(op.f("ix_imported_rows_batch_id"), "imported_rows", ["batch_id"], unique=False)
    op.create_index(
        op.f("ix_imported_rows_document_id"), "imported_rows", ["document_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_imported_rows_document_id"), table_name="imported_rows")
    op.drop_index(op.f("ix_imported_rows_batch_id"), table_name="imported_rows")
    op.drop_table("imported_rows")
    op.drop_index(op.f("ix_import_batches_manifest_sha256"), table_name="import_batches")
    op.drop_table("import_batches")
