"""Run each scheduled job by hand: ``flask --app wsgi guarantee sweep``, ``refunds execute``,
``refunds reconcile``."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from jobs import tasks

guarantee_cli = AppGroup("guarantee", help="The guarantee sweep.")
refunds_cli = AppGroup("refunds", help="Sending and reconciling refunds.")


@guarantee_cli.command("sweep")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Evaluate as of this day (YYYY-MM-DD); today in UTC by default.",
)
@click.option("--dry-run", is_flag=True, help="Count who would be flagged; write nothing.")
def sweep_command(as_of, dry_run: bool) -> None:
    """Flag every graduate owed a refund who has no claim yet."""
    as_of_day: date | None = as_of.date() if as_of else None
    result = tasks.run_sweep(current_app._get_current_object(), as_of_day, dry_run)
    done = f"would flag {result.owed}" if dry_run else f"flagged {result.flagged}"
    click.echo(f"as of {result.as_of}: {result.owed} owed without a claim; {done}")


@refunds_cli.command("execute")
def execute_command() -> None:
    """Send the approved refunds that are due to the payment provider."""
    result = tasks.run_executor(current_app._get_current_object())
    click.echo(
        f"sent {result.sent}, adopted {result.adopted}, succeeded {result.succeeded},"
        f" failed {result.failed}, to retry {result.retrying}"
    )
    for error in result.errors:
        click.echo(f"  {error}")


@refunds_cli.command("reconcile")
def reconcile_command() -> None:
    """Compare open claims' refunds with the provider's; repair, and report the rest."""
    report = tasks.run_reconciliation(current_app._get_current_object())
    click.echo(f"{report.claims_checked} claims checked")
    for line in report.repaired:
        click.echo(f"repaired: {line}")
    for line in report.unresolved:
        click.echo(f"UNRESOLVED: {line}")
    if report.unresolved:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(guarantee_cli)
    app.cli.add_command(refunds_cli)
