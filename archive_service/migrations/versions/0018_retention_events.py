"""Event-driven retention: a category's retention runs from the latest of several dates;
customers record the end of the relationship

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

``categories.retention_trigger`` (one name: ``filing`` or a date fact, which replaced the
filing date when recorded) becomes ``retention_triggers``, a list whose latest date
counts: ``["filing"]``, or ``["filing", fact]`` for a category that named a fact (so a
contract recorded as expiring before it was filed now runs from its filing: periods only
grow). ``customers`` gain ``relationship_ended_on`` and ``relationship_end_reason``.
A downgrade keeps the first trigger after ``filing`` (or ``filing``).
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("relationship_ended_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("relationship_end_reason", sa.String(length=1000), nullable=True)
        )
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_triggers", sa.JSON(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, retention_trigger FROM categories")).all()
    for ident, trigger in rows:
        triggers = ["filing"] if trigger in (None, "", "filing") else ["filing", trigger]
        conn.execute(
            sa.text("UPDATE categories SET retention_triggers = :t WHERE id = :i"),
            {"t": json.dumps(triggers), "i": ident},
        )
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.alter_column("retention_triggers", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("retention_trigger")


def downgrade() -> None:
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_trigger", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, retention_triggers FROM categories")).all()
    for ident, triggers in rows:
        names = json.loads(triggers) if isinstance(triggers, str) else (triggers or [])
        facts = [n for n in names if n not in ("filing", "relationship_end", "hold_release")]
        conn.execute(
            sa.text("UPDATE categories SET retention_trigger = :t WHERE id = :i"),
            {"t": facts[0] if facts else "filing", "i": ident},
        )
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.alter_column("retention_trigger", existing_type=sa.String(64), nullable=False)
        batch_op.drop_column("retention_triggers")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("relationship_end_reason")
        batch_op.drop_column("relationship_ended_on")
