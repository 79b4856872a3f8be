"""evidence trust (verified employer contacts, trusted answers, registrar revisions) and API
tokens that belong to an account and expire

Tokens made before this revision acted for a role, not a person: they are revoked (their owner
is the account that made them, for the record). Employer contacts recorded before it are not
verified (nobody can tell which a graduate typed): a registrar verifies them. Answers given
before it were applied as trusted and stay so.

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-05 01:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    api_tokens = sa.table(
        "api_tokens",
        sa.column("user_id", sa.Integer()),
        sa.column("created_by_id", sa.Integer()),
        sa.column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        api_tokens.update()
        .where(api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=sa.func.current_timestamp())
    )
    op.execute(api_tokens.update().values(user_id=api_tokens.c.created_by_id))
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_api_tokens_user_id_users"), "users", ["user_id"], ["id"]
        )
        batch_op.create_check_constraint(
            op.f("ck_api_tokens_live_token_has_owner_and_expiry"),
            "revoked_at IS NOT NULL OR (user_id IS NOT NULL AND expires_at IS NOT NULL)",
        )

    with op.batch_alter_table("employers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("contact_verified_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("contact_verified_by", sa.String(length=300), nullable=True))

    with op.batch_alter_table("hire_confirmations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("trusted", sa.Boolean(), server_default=sa.true(), nullable=False)
        )

    with op.batch_alter_table("job_outcomes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("revised_by", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_outcomes", schema=None) as batch_op:
        batch_op.drop_column("revised_by")
        batch_op.drop_column("revision_reason")
    with op.batch_alter_table("hire_confirmations", schema=None) as batch_op:
        batch_op.drop_column("trusted")
    with op.batch_alter_table("employers", schema=None) as batch_op:
        batch_op.drop_column("contact_verified_by")
        batch_op.drop_column("contact_verified_at")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_api_tokens_live_token_has_owner_and_expiry"), type_="check"
        )
        batch_op.drop_constraint(batch_op.f("fk_api_tokens_user_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))
        batch_op.drop_column("expires_at")
        batch_op.drop_column("user_id")
