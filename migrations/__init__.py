"""Alembic migrations: the only way the schema is built, in every environment and in the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

HERE = Path(__file__).resolve().parent


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic configuration for ``url`` (or an open ``connection``), no ini file needed."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(
    url: str | None = None, connection: Connection | None = None, revision: str = "head"
) -> None:
    """Migrate the database to ``revision`` (the latest by default)."""
    command.upgrade(alembic_config(url, connection), revision)
