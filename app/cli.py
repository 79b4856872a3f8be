"""Command-line commands: ``flask --app wsgi db upgrade``, ``import``, ``demo load``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

import migrations

db_cli = AppGroup("db", help="The database schema.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Migrate the database to REVISION (the latest by default)."""
    migrations.upgrade(current_app.config["DATABASE_URL"], revision=revision)
    click.echo(f"database at {revision}")


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
