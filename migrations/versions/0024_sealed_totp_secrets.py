"""authenticator secrets sealed under DATA_ENCRYPTION_KEYS, never kept in plain text

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 14:10:00.000000

``users.totp_secret`` (the plain base32 secret) becomes ``users.sealed_totp_secret``: a Fernet
token (``app.auth.sealing``), about 140 characters for a 32-character secret, hence TEXT. The
secrets already kept are sealed here with the first key of ``DATA_ENCRYPTION_KEYS``, which
``flask db upgrade`` hands the migrations; a database holding any, migrated without the keys,
is refused before anything changes. The downgrade opens them again (with any of the keys).

The column is added and dropped as such (SQLite 3.35 drops a column in place), not by copying
the table: other tables' rows refer to ``users``.
"""

import sqlalchemy as sa
from alembic import context, op
from cryptography.fernet import Fernet, MultiFernet

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

users = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("totp_secret", sa.String),
    sa.column("sealed_totp_secret", sa.Text),
)


def _keys(rows: int, doing: str) -> MultiFernet | None:
    """The keys of ``DATA_ENCRYPTION_KEYS``, or a refusal when ``rows`` need them and none
    were given; ``None`` when there is nothing to seal or open."""
    keys = context.config.attributes.get("data_encryption_keys")
    if not rows:
        return None
    if not keys:
        raise RuntimeError(
            f"migration 0024 {doing} {rows} authenticator secrets and needs DATA_ENCRYPTION_KEYS:"
            " run it with `flask --app wsgi db upgrade` (or pass data_encryption_keys)"
        )
    return MultiFernet([Fernet(key) for key in keys])


def upgrade() -> None:
    bind = op.get_bind()
    plain = bind.execute(
        sa.select(users.c.id, users.c.totp_secret).where(users.c.totp_secret.is_not(None))
    ).all()
    keys = _keys(len(plain), "seals")
    tokens = {user_id: keys.encrypt(secret.encode()).decode("ascii") for user_id, secret in plain}
    op.add_column("users", sa.Column("sealed_totp_secret", sa.Text(), nullable=True))
    for user_id, token in tokens.items():
        bind.execute(users.update().where(users.c.id == user_id).values(sealed_totp_secret=token))
    op.drop_column("users", "totp_secret")


def downgrade() -> None:
    bind = op.get_bind()
    sealed = bind.execute(
        sa.select(users.c.id, users.c.sealed_totp_secret).where(
            users.c.sealed_totp_secret.is_not(None)
        )
    ).all()
    keys = _keys(len(sealed), "opens")
    # Every one is opened before the schema changes: one no key opens stops the downgrade.
    secrets = {user_id: keys.decrypt(token.encode("ascii")).decode() for user_id, token in sealed}
    op.add_column("users", sa.Column("totp_secret", sa.String(length=64), nullable=True))
    for user_id, secret in secrets.items():
        bind.execute(users.update().where(users.c.id == user_id).values(totp_secret=secret))
    op.drop_column("users", "sealed_totp_secret")
