"""Alembic migrations: the only way the schema is built, in every environment and in the tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

HERE = Path(__file__).resolve().parent


def alembic_config(
    url: str | None = None,
    connection: Connection | None = None,
    data_encryption_keys: Sequence[str] | None = None,
) -> Config:
    """An Alembic configuration for ``url`` (or an open ``connection``), no ini file needed.

    ``data_encryption_keys`` (the setting ``DATA_ENCRYPTION_KEYS``) is for the migrations that
    seal or open secrets kept in rows (``0024`` seals the authenticator secrets kept before);
    without them such a migration refuses to run on a database holding such rows."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    if data_encryption_keys:
        config.attributes["data_encryption_keys"] = tuple(data_encryption_keys)
    return config


def upgrade(
    url: str | None = None,
    connection: Connection | None = None,
    revision: str = "head",
    data_encryption_keys: Sequence[str] | None = None,
) -> None:
    """Migrate the database to ``revision`` (the latest by default)."""
    command.upgrade(alembic_config(url, connection, data_encryption_keys), revision)
