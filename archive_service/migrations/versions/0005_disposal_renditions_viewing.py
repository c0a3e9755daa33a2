"""disposal, text renditions, supervised viewing

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "retention_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("compiled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("compiled_by", sa.String(length=150), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"],
            ["users.id"],
            name=op.f("fk_retention_reviews_confirmed_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_reviews")),
    )
    with op.batch_alter_table("retention_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retention_reviews_status"), ["status"], unique=False)

    op.create_table(
        "destructions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("executor_id", sa.Integer(), nullable=True),
        sa.Column("supervisor_id", sa.Integer(), nullable=True),
        sa.Column("place", sa.String(length=300), nullable=True),
        sa.Column("method", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("progress_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure", sa.String(length=1000), nullable=True),
        sa.Column("keep_record_until", sa.Date(), nullable=True),
        sa.Column("signature", sa.Text(), nullable=True),
        sa.Column("signing_key_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["applicant_id"], ["users.id"], name=op.f("fk_destructions_applicant_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["executor_id"], ["users.id"], name=op.f("fk_destructions_executor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["retention_reviews.id"],
            name=op.f("fk_destructions_review_id_retention_reviews"),
        ),
        sa.ForeignKeyConstraint(
            ["supervisor_id"], ["users.id"], name=op.f("fk_destructions_supervisor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_destructions")),
    )
    with op.batch_alter_table("destructions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_destructions_review_id"), ["review_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_destructions_status"), ["status"], unique=False)

    op.create_table(
        "destruction_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destruction_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("archive_number", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("customer", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("result", sa.String(length=24), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["destruction_id"],
            ["destructions.id"],
            name=op.f("fk_destruction_items_destruction_id_destructions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_destruction_items")),
    )
    with op.batch_alter_table("destruction_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_destruction_items_destruction_id"), ["destruction_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_destruction_items_document_id"), ["document_id"], unique=False
        )

    op.create_table(
        "destruction_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destruction_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_destruction_steps_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["destruction_id"],
            ["destructions.id"],
            name=op.f("fk_destruction_steps_destruction_id_destructions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_destruction_steps")),
    )
    with op.batch_alter_table("destruction_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_destruction_steps_destruction_id"), ["destruction_id"], unique=False
        )

    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("archive_number", sa.String(length=64), nullable=True),
        sa.Column("disposal_date", sa.Date(), nullable=True),
        sa.Column("appraisal", sa.String(length=16), nullable=True),
        sa.Column("retain_until", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("appraised_by_id", sa.Integer(), nullable=True),
        sa.Column("appraised_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_review_items_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["retention_reviews.id"],
            name=op.f("fk_review_items_review_id_retention_reviews"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
        sa.UniqueConstraint("review_id", "document_id", name=op.f("uq_review_items_review_id")),
    )
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_items_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_review_items_review_id"), ["review_id"], unique=False)

    op.create_table(
        "viewing_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("regulator_id", sa.Integer(), nullable=False),
        sa.Column("supervisor_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=150), nullable=True),
        sa.Column("end_reason", sa.String(length=24), nullable=True),
        sa.Column("pages_viewed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_viewing_sessions_grant_id_grants")
        ),
        sa.ForeignKeyConstraint(
            ["regulator_id"], ["users.id"], name=op.f("fk_viewing_sessions_regulator_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["supervisor_id"], ["users.id"], name=op.f("fk_viewing_sessions_supervisor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_viewing_sessions")),
    )
    with op.batch_alter_table("viewing_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_viewing_sessions_closed_at"), ["closed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_viewing_sessions_grant_id"), ["grant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_viewing_sessions_regulator_id"), ["regulator_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_viewing_sessions_supervisor_id"), ["supervisor_id"], unique=False
        )

    with op.batch_alter_table("access_register", schema=None) as batch_op:
        batch_op.add_column(sa.Column("viewing_session_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("page", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("supervisor", sa.String(length=150), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_access_register_viewing_session_id"),
            ["viewing_session_id"],
            unique=False,
        )

    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legal_basis_object_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("legal_basis_filename", sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column("legal_basis_content_type", sa.String(length=128), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_access_requests_legal_basis_object_id_stored_objects"),
            "stored_objects",
            ["legal_basis_object_id"],
            ["id"],
        )

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_object_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("extraction", sa.String(length=16), nullable=False, server_default="pending")
        )
        batch_op.add_column(sa.Column("extraction_error", sa.String(length=300), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_documents_text_object_id_stored_objects"),
            "stored_objects",
            ["text_object_id"],
            ["id"],
        )

    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supervisor_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_grants_supervisor_id_users"), "users", ["supervisor_id"], ["id"]
        )


def downgrade() -> None:

    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_grants_supervisor_id_users"), type_="foreignkey")
        batch_op.drop_column("supervisor_id")

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_documents_text_object_id_stored_objects"), type_="foreignkey"
        )
        batch_op.drop_column("extraction_error")
        batch_op.drop_column("extraction")
        batch_op.drop_column("text_object_id")

    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_access_requests_legal_basis_object_id_stored_objects"),
            type_="foreignkey",
        )
        batch_op.drop_column("legal_basis_content_type")
        batch_op.drop_column("legal_basis_filename")
        batch_op.drop_column("legal_basis_object_id")

    with op.batch_alter_table("access_register", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_register_viewing_session_id"))
        batch_op.drop_column("supervisor")
        batch_op.drop_column("page")
        batch_op.drop_column("viewing_session_id")

    with op.batch_alter_table("viewing_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_viewing_sessions_supervisor_id"))
        batch_op.drop_index(batch_op.f("ix_viewing_sessions_regulator_id"))
        batch_op.drop_index(batch_op.f("ix_viewing_sessions_grant_id"))
        batch_op.drop_index(batch_op.f("ix_viewing_sessions_closed_at"))

    op.drop_table("viewing_sessions")
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_items_review_id"))
        batch_op.drop_index(batch_op.f("ix_review_items_document_id"))

    op.drop_table("review_items")
    with op.batch_alter_table("destruction_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_destruction_steps_destruction_id"))

    op.drop_table("destruction_steps")
    with op.batch_alter_table("destruction_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_destruction_items_document_id"))
        batch_op.drop_index(batch_op.f("ix_destruction_items_destruction_id"))

    op.drop_table("destruction_items")
    with op.batch_alter_table("destructions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_destructions_status"))
        batch_op.drop_index(batch_op.f("ix_destructions_review_id"))

    op.drop_table("destructions")
    with op.batch_alter_table("retention_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retention_reviews_status"))

    op.drop_table("retention_reviews")
