"""The scheduled jobs: each a thin function that opens what it needs and calls a service."""

from __future__ import annotations

import logging
from datetime import date

from flask import Flask

from app.database import database
from app.models.base import utc_now
from app.services.claim_notices import send_claim_notices
from app.services.claim_review import ReviewResult, review_flagged_claims
from app.services.reminders import ReminderResult, send_reminders
from refunds.executor import ExecutorResult, execute_refunds
from refunds.provider import payment_gateway
from refunds.reconcile import ReconciliationReport, reconcile
from refunds.sweep import SweepResult, sweep

log = logging.getLogger(__name__)


def run_sweep(
    app: Flask, as_of: date | None = None, dry_run: bool = False, review: bool = True
) -> SweepResult:
    """Flag every graduate owed a refund as of ``as_of`` (today, UTC, by default), then (unless
    a dry run) review the flagged claims against the search obligations."""
    with app.app_context(), database().session() as session:
        result = sweep(session, as_of or utc_now().date(), dry_run=dry_run)
        if not dry_run:
            session.commit()
    log.info(
        "sweep as of %s: %s owed without a claim, %s flagged, %s closed claims reopened",
        result.as_of,
        result.owed,
        result.flagged,
        result.reopened,
    )
    if review and not dry_run:
        run_claim_review(app, result.as_of)
    return result


def run_claim_review(app: Flask, as_of: date | None = None) -> ReviewResult:
    """Judge each newly flagged claim against the search obligations: void ones are rejected,
    non-compliant ones go to review with their reasons, compliant ones stay flagged."""
    with app.app_context(), database().session() as session:
        result = review_flagged_claims(session, as_of or utc_now().date())
        session.commit()
    log.info(
        "claim review as of %s: %s checked, %s rejected as void, %s sent to review",
        result.as_of,
        result.checked,
        len(result.rejected),
        len(result.in_review),
    )
    return result


def run_reminders(app: Flask, as_of: date | None = None, dry_run: bool = False) -> ReminderResult:
    """Email the reminders due as of ``as_of`` (today, UTC, by default), each once."""
    now = utc_now()
    with app.app_context():
        result = send_reminders(
            database().sessionmaker,
            app.config["SETTINGS"],
            as_of or now.date(),
            now,
            dry_run=dry_run,
        )
    log.info(
        "reminders as of %s: %s due, %s sent, %s failed, %s retried",
        result.as_of,
        result.due.total(),
        result.sent.total(),
        result.failed.total(),
        result.retried.total(),
    )
    return result


def run_claim_notices(app: Flask) -> ReminderResult:
    """Email graduates the steps of their claims not emailed yet (the sweep's, the executor's,
    a webhook's), and retry those the mail server refused."""
    with app.app_context():
        result = send_claim_notices(database().sessionmaker, utc_now())
    if result.due or result.retried:
        log.info(
            "claim notices: %s due, %s sent, %s failed, %s retried",
            result.due.total(),
            result.sent.total(),
            result.failed.total(),
            result.retried.total(),
        )
    return result


def run_catch_up(app: Flask) -> None:
    """What the scheduler runs once at start: the reconciliation (the provider's record wins:
    after a crash or a restored backup, what it made is recorded before anything is judged),
    the sweep, then the reminders it may call for (a missed day loses nobody, and the claims
    the sweep flags are announced at once)."""
    try:
        run_reconciliation(app)
    except RuntimeError as error:  # no provider configured: nothing to compare with
        log.warning("reconciliation at start skipped: %s", error)
    run_sweep(app)
    run_reminders(app)


def run_executor(app: Flask) -> ExecutorResult:
    """Send the refunds that are due."""
    with app.app_context():
        result = execute_refunds(database().sessionmaker, payment_gateway(app))
    if result.sent or result.adopted or result.errors:
        log.info("executor: %s", result)
    return result


def run_reconciliation(app: Flask, after_restore: bool = False) -> ReconciliationReport:
    """Compare open claims' refunds with the provider's and repair what can be repaired."""
    with app.app_context(), database().session() as session:
        report = reconcile(session, payment_gateway(app), after_restore=after_restore)
    for line in report.unresolved:
        log.error("reconciliation: %s", line)
    log.info(
        "reconciliation: %s claims checked, %s repaired, %s unresolved",
        report.claims_checked,
        len(report.repaired),
        len(report.unresolved),
    )
    return report
