"""Directory accounts: the person's entry in LDAP / Active Directory

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

``users.directory_dn``: set when the account is the directory's (its password, the roles
of mapped groups and its department come from there, and the leaver sync closes it);
None for a local account.
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("directory_dn", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("directory_dn")
