"""renditions: a version's preview PDF and first-page thumbnail, encrypted like the version

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Documents stored before this revision have no rows; the hourly preview repair queues them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "renditions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stored_object_id", sa.Integer(), nullable=True),
        sa.Column("shares_original", sa.Boolean(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_renditions_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["document_versions.id"],
            name=op.f("fk_renditions_version_id_document_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["stored_object_id"],
            ["stored_objects.id"],
            name=op.f("fk_renditions_stored_object_id_stored_objects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renditions")),
        sa.UniqueConstraint("version_id", "kind", name=op.f("uq_renditions_version_id")),
    )
    with op.batch_alter_table("renditions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_renditions_document_id"), ["document_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("renditions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renditions_document_id"))
    op.drop_table("renditions")
