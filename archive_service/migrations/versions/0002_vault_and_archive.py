"""vault and archive

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Also seeds the default two-level category tree of the product brief; an
admin extends it as data.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "access_register",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("archive_number", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=1000), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_register")),
    )
    with op.batch_alter_table("access_register", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_register_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_access_register_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_access_register_user_id"), ["user_id"], unique=False)

    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("parent_code", sa.String(length=64), nullable=True),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("letter", sa.String(length=8), nullable=False),
        sa.Column("retention_trigger", sa.String(length=64), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("code", name=op.f("uq_categories_code")),
    )
    op.create_table(
        "number_counters",
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_number_counters")),
    )
    op.create_table(
        "stored_objects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("object_name", sa.String(length=64), nullable=False),
        sa.Column("wrapped_key", sa.Text(), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("stored_size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_objects")),
        sa.UniqueConstraint("object_name", name=op.f("uq_stored_objects_object_name")),
    )
    with op.batch_alter_table("stored_objects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stored_objects_key_id"), ["key_id"], unique=False)

    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("customer_type", sa.String(length=16), nullable=False),
        sa.Column("credit_code", sa.String(length=64), nullable=True),
        sa.Column("legal_representative", sa.String(length=200), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("fax", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("business_scope", sa.Text(), nullable=True),
        sa.Column("registered_capital", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column("industry", sa.String(length=200), nullable=True),
        sa.Column("business_domain", sa.String(length=200), nullable=True),
        sa.Column("scale", sa.String(length=16), nullable=True),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("credit_rating", sa.String(length=32), nullable=True),
        sa.Column("credit_limit", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("responsible_clerk_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_customers_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["responsible_clerk_id"],
            ["users.id"],
            name=op.f("fk_customers_responsible_clerk_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("seq", name=op.f("uq_customers_seq")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_credit_code"), ["credit_code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_customers_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_customers_name"), ["name"], unique=False)

    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("document_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("archive_number", sa.String(length=64), nullable=True),
        sa.Column("retention_class", sa.String(length=16), nullable=False),
        sa.Column("filing_date", sa.Date(), nullable=True),
        sa.Column("disposal_date", sa.Date(), nullable=True),
        sa.Column("on_hold", sa.Boolean(), nullable=False),
        sa.Column("hold_released_on", sa.Date(), nullable=True),
        sa.Column("retain_until", sa.Date(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("needs_joint_review", sa.Boolean(), nullable=False),
        sa.Column("first_reviewer_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("returned_reason", sa.String(length=1000), nullable=True),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("destruction_ref", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_documents_category_id_categories")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_documents_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_documents_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("archive_number", name=op.f("uq_documents_archive_number")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_documents_category_id"), ["category_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_documents_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_documents_disposal_date"), ["disposal_date"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_documents_status"), ["status"], unique=False)

    op.create_table(
        "archive_numbers",
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_archive_numbers_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_archive_numbers")),
    )
    with op.batch_alter_table("archive_numbers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_archive_numbers_document_id"), ["document_id"], unique=False
        )

    op.create_table(
        "document_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("stored_object_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_versions_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["stored_object_id"],
            ["stored_objects.id"],
            name=op.f("fk_document_versions_stored_object_id_stored_objects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_versions")),
        sa.UniqueConstraint("document_id", "number", name=op.f("uq_document_versions_document_id")),
    )
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_versions_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_document_versions_sha256"), ["sha256"], unique=False)

    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("placed_by_id", sa.Integer(), nullable=True),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_holds_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holds_document_id"), ["document_id"], unique=False)

    op.create_table(
        "retention_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("cause", sa.String(length=200), nullable=False),
        sa.Column("old_date", sa.Date(), nullable=True),
        sa.Column("new_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_retention_changes_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_changes")),
    )
    with op.batch_alter_table("retention_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retention_changes_document_id"), ["document_id"], unique=False
        )

    _seed_categories()


CATEGORIES = [
    # (code, parent, 中文, English, retention trigger, facts)
    ("basic", None, "基本信息", "Basic information", "filing", []),
    (
        "basic.profile",
        "basic",
        "基本资料（证照）",
        "Basic data (licences, certificates)",
        "filing",
        [],
    ),
    ("basic.organisation", "basic", "组织结构", "Organisation structure", "filing", []),
    ("basic.credit", "basic", "信用信息", "Credit information", "filing", []),
    ("business", None, "业务记录", "Business records", "filing", []),
    ("business.transaction", "business", "交易记录", "Transactions", "filing", []),
    (
        "business.contract",
        "business",
        "合同协议",
        "Contracts and agreements",
        "valid_until",
        [
            {"name": "contract_number", "type": "text", "required": True, "label_zh": "合同编号"},
            {"name": "signing_date", "type": "date", "required": False, "label_zh": "签订日期"},
            {"name": "valid_until", "type": "date", "required": False, "label_zh": "有效期至"},
        ],
    ),
    (
        "business.project",
        "business",
        "项目记录",
        "Projects",
        "filing",
        [
            {"name": "project_name", "type": "text", "required": False, "label_zh": "项目名称"},
            {"name": "start_date", "type": "date", "required": False, "label_zh": "开始日期"},
            {"name": "end_date", "type": "date", "required": False, "label_zh": "结束日期"},
            {"name": "progress", "type": "text", "required": False, "label_zh": "进度"},
            {"name": "result", "type": "text", "required": False, "label_zh": "成果"},
        ],
    ),
    ("service", None, "服务记录", "Service records", "filing", []),
    ("service.inquiry", "service", "咨询记录", "Inquiries", "filing", []),
    ("service.complaint", "service", "投诉及处理", "Complaints and their handling", "filing", []),
    (
        "service.followup",
        "service",
        "服务回访",
        "Service follow-ups",
        "filing",
        [
            {"name": "satisfaction", "type": "text", "required": False, "label_zh": "满意度"},
        ],
    ),
    ("research", None, "市场调研", "Market research", "filing", []),
    ("research.needs", "research", "客户需求", "Customer needs", "filing", []),
    ("research.competition", "research", "竞争情况", "Competition", "filing", []),
    ("other", None, "其他", "Other", "filing", []),
    ("other.dynamics", "other", "客户动态", "Customer dynamics", "filing", []),
    ("other.event", "other", "重要事件", "Important events", "filing", []),
]


def _seed_categories() -> None:
    table = sa.table(
        "categories",
        sa.column("code"),
        sa.column("parent_code"),
        sa.column("name_zh"),
        sa.column("name_en"),
        sa.column("letter"),
        sa.column("retention_trigger"),
        sa.column("facts", sa.JSON),
        sa.column("position"),
    )
    op.bulk_insert(
        table,
        [
            {
                "code": c,
                "parent_code": p,
                "name_zh": zh,
                "name_en": en,
                "letter": "K",
                "retention_trigger": trig,
                "facts": facts,
                "position": i,
            }
            for i, (c, p, zh, en, trig, facts) in enumerate(CATEGORIES)
        ],
    )


def downgrade() -> None:

    with op.batch_alter_table("retention_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retention_changes_document_id"))

    op.drop_table("retention_changes")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holds_document_id"))

    op.drop_table("holds")
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_versions_sha256"))
        batch_op.drop_index(batch_op.f("ix_document_versions_document_id"))

    op.drop_table("document_versions")
    with op.batch_alter_table("archive_numbers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_archive_numbers_document_id"))

    op.drop_table("archive_numbers")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_status"))
        batch_op.drop_index(batch_op.f("ix_documents_disposal_date"))
        batch_op.drop_index(batch_op.f("ix_documents_customer_id"))
        batch_op.drop_index(batch_op.f("ix_documents_category_id"))

    op.drop_table("documents")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_name"))
        batch_op.drop_index(batch_op.f("ix_customers_department_id"))
        batch_op.drop_index(batch_op.f("ix_customers_credit_code"))

    op.drop_table("customers")
    with op.batch_alter_table("stored_objects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stored_objects_key_id"))

    op.drop_table("stored_objects")
    op.drop_table("number_counters")
    op.drop_table("categories")
    with op.batch_alter_table("access_register", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_register_user_id"))
        batch_op.drop_index(batch_op.f("ix_access_register_document_id"))
        batch_op.drop_index(batch_op.f("ix_access_register_at"))

    op.drop_table("access_register")
