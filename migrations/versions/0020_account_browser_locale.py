"""the locale each account's browser asked for when it last signed in

Revision ID: 0020
Revises: 0015
Create Date: 2026-12-05 07:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL until the person signs in from a browser that asks for a language we write.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("browser_locale", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("browser_locale")
