"""Run each scheduled job by hand: ``flask --app wsgi guarantee sweep``, ``refunds execute``,
``refunds reconcile``, ``reminders send``."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.models import MessageKind
from jobs import tasks

guarantee_cli = AppGroup("guarantee", help="The guarantee sweep.")
refunds_cli = AppGroup("refunds", help="Sending and reconciling refunds.")
reminders_cli = AppGroup("reminders", help="Reminder emails.")


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
    app = current_app._get_current_object()
    result = tasks.run_sweep(app, as_of_day, dry_run, review=False)
    done = f"would flag {result.owed}" if dry_run else f"flagged {result.flagged}"
    click.echo(f"as of {result.as_of}: {result.owed} owed without a claim; {done}")
    if not dry_run:
        review = tasks.run_claim_review(app, result.as_of)
        click.echo(
            f"search obligations: checked {review.checked}, rejected as void"
            f" {len(review.rejected)}, sent to review {len(review.in_review)}"
        )


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
@click.option(
    "--after-restore",
    is_flag=True,
    help="The database was restored from a backup: compare every claim, ignore stale leases.",
)
def reconcile_command(after_restore: bool) -> None:
    """Compare open claims' refunds with the provider's; repair, and report the rest."""
    report = tasks.run_reconciliation(current_app._get_current_object(), after_restore)
    click.echo(f"{report.claims_checked} claims checked")
    for line in report.repaired:
        click.echo(f"repaired: {line}")
    for line in report.unresolved:
        click.echo(f"UNRESOLVED: {line}")
    if report.unresolved:
        raise SystemExit(1)


@reminders_cli.command("send")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Judge deadlines and search weeks as of this day (YYYY-MM-DD); today in UTC by default.",
)
@click.option("--dry-run", is_flag=True, help="Count what would be sent; write and send nothing.")
def send_reminders_command(as_of, dry_run: bool) -> None:
    """Email every reminder that is due and was not sent yet; retry failed ones."""
    as_of_day: date | None = as_of.date() if as_of else None
    result = tasks.run_reminders(current_app._get_current_object(), as_of_day, dry_run)
    click.echo(f"as of {result.as_of}:")
    for kind in MessageKind:
        if dry_run:
            click.echo(
                f"  {kind.value}: would send {result.due[kind]} new, retry {result.retried[kind]}"
            )
        else:
            click.echo(
                f"  {kind.value}: {result.due[kind]} new, {result.sent[kind]} sent,"
                f" {result.failed[kind]} failed, {result.retried[kind]} retried"
            )
    if result.failed.total():
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(guarantee_cli)
    app.cli.add_command(refunds_cli)
    app.cli.add_command(reminders_cli)
