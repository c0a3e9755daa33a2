"""Filing deadlines (归档时限): each category's rule, each submission's due date and lateness

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07

``categories.filing_deadline`` (``{"days": N, "after": "document_date" | a date fact}``),
filled with the rules' defaults: contracts (``business.contract``) 3 working days after
their ``signing_date``; complaint records (``service.complaint``) 3 after the complaint's
closing, a new optional date fact ``closing_date`` (结案日期) of the category; every other
category 5 after the document date. ``documents`` gain ``filing_due_on``,
``filing_due_basis`` and ``filing_late_days`` (empty for documents submitted before: they
are not judged afterwards) and an index on ``submitted_at`` (the monthly statistics).
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

CLOSING = {"name": "closing_date", "type": "date", "required": False, "label_zh": "结案日期"}
RULES = {
    "business.contract": {"days": 3, "after": "signing_date"},
    "service.complaint": {"days": 3, "after": "closing_date"},
}
DEFAULT = {"days": 5, "after": "document_date"}


def _facts(raw: object) -> list:  # JSON comes back as text on SQLite
    if isinstance(raw, str):
        return list(json.loads(raw) or [])
    return list(raw or [])


def upgrade() -> None:
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filing_deadline", sa.JSON(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, code, facts FROM categories")).all()
    for ident, code, raw in rows:
        facts = _facts(raw)
        rule = RULES.get(code, DEFAULT)
        names = {f.get("name"): f.get("type") for f in facts}
        if code == "service.complaint" and "closing_date" not in names:
            facts.append(CLOSING)
            conn.execute(
                sa.text("UPDATE categories SET facts = :f WHERE id = :i"),
                {"f": json.dumps(facts, ensure_ascii=False), "i": ident},
            )
        elif rule["after"] != "document_date" and names.get(rule["after"]) != "date":
            rule = DEFAULT  # an install whose category lost the fact keeps a rule it can use
        conn.execute(
            sa.text("UPDATE categories SET filing_deadline = :r WHERE id = :i"),
            {"r": json.dumps(rule), "i": ident},
        )
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.alter_column("filing_deadline", existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filing_due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("filing_due_basis", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("filing_late_days", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_documents_submitted_at"), ["submitted_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_submitted_at"))
        batch_op.drop_column("filing_late_days")
        batch_op.drop_column("filing_due_basis")
        batch_op.drop_column("filing_due_on")
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.drop_column("filing_deadline")
    # The complaint category's closing_date stays: documents may carry the fact.
