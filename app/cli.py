"""Command-line commands: ``flask --app wsgi db upgrade``, ``import``, ``accounts create-admin``,
``accounts reseal-secrets``, ``demo load``."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

import migrations
from app import imports
from app.auth import second_factor
from app.auth.access import Principal
from app.database import db_session
from app.models import Role
from app.services import accounts
from app.services.errors import Conflict, Invalid

db_cli = AppGroup("db", help="The database schema.")
accounts_cli = AppGroup("accounts", help="Accounts of a new installation.")

#: Who the audit log says opened an account from the command line (someone with the server).
COMMAND_LINE = Principal(actor="system:command-line", role=Role.ADMIN)

#: Files with more rows than this show a progress bar while they are checked and written.
PROGRESS_BAR_ABOVE_ROWS = 200


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Migrate the database to REVISION (the latest by default).

    The migrations get DATA_ENCRYPTION_KEYS: one seals the authenticator secrets kept before.
    """
    migrations.upgrade(
        current_app.config["DATABASE_URL"],
        revision=revision,
        data_encryption_keys=current_app.config["DATA_ENCRYPTION_KEYS"],
    )
    click.echo(f"database at {revision}")


@click.command("import")
@click.argument("kind", type=click.Choice(imports.KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(kind: str, file: Path) -> None:
    """Import KIND (students, enrollments, payments or graduations) from the CSV FILE.

    Every row is checked first and each problem reported with its line; nothing is written
    unless every row is valid, and then all rows are written in one transaction.
    """
    try:
        csv_file = imports.read_csv_file(file.read_bytes(), kind)
    except OSError as error:
        raise click.FileError(str(file), error.strerror) from error
    except imports.ImportFileError as error:
        raise click.ClickException(f"{file}: {error}") from error
    for warning in csv_file.warnings:
        click.echo(f"{file}: warning: {warning}", err=True)
    rows = csv_file.rows
    track = _progress_bar if len(rows) > PROGRESS_BAR_ABOVE_ROWS else imports.untracked
    session = db_session()
    report = imports.import_rows(session, kind, rows, track=track)
    if not report.ok:
        session.rollback()
        for error in report.errors:
            click.echo(f"{file}: {error}", err=True)
        raise click.ClickException(
            f"{len(report.bad_lines)} of {report.rows} rows have problems; nothing was written"
        )
    session.commit()
    click.echo(f"imported {report.written} {kind} from {file}")


@accounts_cli.command("create-admin")
@click.option("--email", required=True, help="The admin's email: their sign-in name.")
@click.option("--name", default="Administrator", show_default=True, help="The admin's name.")
@click.option(
    "--invite",
    is_flag=True,
    help="Print (and email) a link to choose the password instead of typing one here.",
)
def create_admin_command(email: str, name: str, invite: bool) -> None:
    """Open an admin account on a new installation, who then opens everyone else's.

    The password is asked for here (never an argument, which shells keep in their history), or,
    with --invite, the admin chooses it through a single-use link. Either way the admin sets up
    an authenticator app (the second factor) at their first sign-in.
    """
    session = db_session()
    try:
        if invite:
            user, invitation = accounts.invite_account(
                session, COMMAND_LINE, email=email, name=name, role=Role.ADMIN
            )
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
            user = accounts.create_account(
                session,
                COMMAND_LINE,
                email=email,
                name=name,
                role=Role.ADMIN,
                password=password,
                check=False,
            )
    except Conflict as error:
        raise click.ClickException(error.message) from error
    except Invalid as error:
        reasons = "; ".join(f"{name}: {', '.join(why)}" for name, why in error.errors.items())
        raise click.ClickException(reasons) from error
    session.commit()
    click.echo(f"admin account {user.email} opened")
    if invite:
        sent = accounts.send([invitation])
        click.echo(f"invitation {'emailed' if sent else 'NOT emailed (see the log)'}; its link:")
        click.echo(invitation.link)


@accounts_cli.command("reseal-secrets")
@with_appcontext
def reseal_secrets_command() -> None:
    """Seal every authenticator secret again with the first key of DATA_ENCRYPTION_KEYS.

    Run it after putting a new key first (every process restarted with the new list): once it
    has run, the old keys can leave the list. Exits 1 when some secret opens with no key.
    """
    session = db_session()
    resealed, unopenable = second_factor.reseal_secrets(session)
    session.commit()
    click.echo(f"{resealed} authenticator secrets sealed again with the first key")
    if unopenable:
        raise click.ClickException(
            f"{len(unopenable)} authenticator secrets open with no key of DATA_ENCRYPTION_KEYS"
            f" (accounts {', '.join(map(str, unopenable))}); they are left as they are"
        )


def _progress_bar(items: Sequence, label: str) -> AbstractContextManager[Iterable]:
    return click.progressbar(items, label=label, file=sys.stderr)


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(accounts_cli)
    app.cli.add_command(import_command)
