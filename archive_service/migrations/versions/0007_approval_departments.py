"""every approval step names a department; destruction records carry their format

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Steps recorded before this revision keep no department (anyone holding the step's role
decides them, as before). Destruction records signed before it are format 1.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

STEP_TABLES = ("change_steps", "destruction_steps")


def upgrade() -> None:
    for table in STEP_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_department_id_departments"),
                "departments",
                ["department_id"],
                ["id"],
            )
    with op.batch_alter_table("destructions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("record_format", sa.Integer(), nullable=False, server_default="1")
        )


def downgrade() -> None:
    with op.batch_alter_table("destructions", schema=None) as batch_op:
        batch_op.drop_column("record_format")
    for table in STEP_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_department_id_departments"), type_="foreignkey"
            )
            batch_op.drop_column("department_id")
