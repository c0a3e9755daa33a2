"""Versions: the SM3 digest of the original, taken when its text is extracted

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07

``document_versions.sm3``: the SM3 digest (GB/T 32905) of the version's plaintext, taken by
the extraction task as it decrypts the file (the store's authenticated encryption admits
only the bytes that came in, so a digest taken later is the intake's digest). A transfer
package lists it instead of hashing every original again; empty for versions not yet
extracted, whose digest the export takes on the way.
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sm3", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.drop_column("sm3")
