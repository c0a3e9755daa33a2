"""Hold cases: named holds on documents and whole customers

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

A hold is now a case (``hold_cases``) holding documents and customers (``hold_items``).
Each row of the old per-document ``holds`` table becomes a single-document case
(``per_document``), named by its reason, with its placing and release kept; then the
old table goes. ``documents.on_hold`` is unchanged: it already says what the open cases
hold. A downgrade keeps the single-document cases only (named cases have no place in
the old table).
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _holds_table() -> None:
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
    op.create_index(op.f("ix_holds_document_id"), "holds", ["document_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "hold_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("per_document", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.Column("release_reason", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_hold_cases_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_hold_cases_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["released_by_id"], ["users.id"], name=op.f("fk_hold_cases_released_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hold_cases")),
    )
    op.create_index(op.f("ix_hold_cases_released_at"), "hold_cases", ["released_at"], unique=False)
    op.create_table(
        "hold_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["users.id"], name=op.f("fk_hold_items_added_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["hold_cases.id"], name=op.f("fk_hold_items_case_id_hold_cases")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_hold_items_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_hold_items_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hold_items")),
        sa.UniqueConstraint("customer_id", "case_id", name=op.f("uq_hold_items_customer_id")),
        sa.UniqueConstraint("document_id", "case_id", name=op.f("uq_hold_items_document_id")),
    )
    op.create_index(op.f("ix_hold_items_case_id"), "hold_items", ["case_id"], unique=False)

    conn = op.get_bind()
    meta = sa.MetaData()
    holds = sa.Table("holds", meta, autoload_with=conn)
    users = sa.Table("users", meta, autoload_with=conn)
    cases = sa.Table("hold_cases", meta, autoload_with=conn)
    items = sa.Table("hold_items", meta, autoload_with=conn)
    known = {row[0] for row in conn.execute(sa.select(users.c.id))}
    for h in conn.execute(sa.select(holds).order_by(holds.c.id)).mappings().all():
        placed_by = h["placed_by_id"] if h["placed_by_id"] in known else None
        released_by = h["released_by_id"] if h["released_by_id"] in known else None
        case_id = conn.execute(
            cases.insert().values(
                name=(h["reason"] or "")[:200],
                basis="open_matter",
                reason=h["reason"],
                owner_id=placed_by,
                per_document=True,
                created_at=h["placed_at"],
                created_by_id=placed_by,
                released_at=h["released_at"],
                released_by_id=released_by,
                release_reason=h["release_reason"],
            )
        ).inserted_primary_key[0]
        conn.execute(
            items.insert().values(
                case_id=case_id,
                document_id=h["document_id"],
                added_at=h["placed_at"],
                added_by_id=placed_by,
            )
        )
    op.drop_index(op.f("ix_holds_document_id"), table_name="holds")
    op.drop_table("holds")


def downgrade() -> None:
    _holds_table()
    conn = op.get_bind()
    meta = sa.MetaData()
    holds = sa.Table("holds", meta, autoload_with=conn)
    cases = sa.Table("hold_cases", meta, autoload_with=conn)
    items = sa.Table("hold_items", meta, autoload_with=conn)
    rows = conn.execute(
        sa.select(cases, items.c.document_id)
        .join(items, items.c.case_id == cases.c.id)
        .where(cases.c.per_document.is_(True), items.c.document_id.is_not(None))
        .order_by(cases.c.id)
    ).mappings()
    for r in rows.all():
        conn.execute(
            holds.insert().values(
                document_id=r["document_id"],
                reason=r["reason"],
                placed_by_id=r["created_by_id"],
                placed_at=r["created_at"],
                released_by_id=r["released_by_id"],
                released_at=r["released_at"],
                release_reason=r["release_reason"],
            )
        )
    op.drop_index(op.f("ix_hold_items_case_id"), table_name="hold_items")
    op.drop_table("hold_items")
    op.drop_index(op.f("ix_hold_cases_released_at"), table_name="hold_cases")
    op.drop_table("hold_cases")
