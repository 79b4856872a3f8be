"""The scheduled jobs: each a thin function that opens what it needs and calls a service."""

from __future__ import annotations

import logging
from datetime import date

from flask import Flask

from app.database import database
from app.models.base import utc_now
from refunds.executor import ExecutorResult, execute_refunds
from refunds.provider import payment_gateway
from refunds.reconcile import ReconciliationReport, reconcile
from refunds.sweep import SweepResult, sweep

log = logging.getLogger(__name__)


def run_sweep(app: Flask, as_of: date | None = None, dry_run: bool = False) -> SweepResult:
    """Flag every graduate owed a refund as of ``as_of`` (today, UTC, by default)."""
    with app.app_context(), database().session() as session:
        result = sweep(session, as_of or utc_now().date(), dry_run=dry_run)
        if not dry_run:
            session.commit()
    log.info(
        "sweep as of %s: %s owed without a claim, %s flagged",
        result.as_of,
        result.owed,
        result.flagged,
    )
    return result


def run_executor(app: Flask) -> ExecutorResult:
    """Send the refunds that are due."""
    with app.app_context():
        result = execute_refunds(database().sessionmaker, payment_gateway(app))
    if result.sent or result.adopted or result.errors:
        log.info("executor: %s", result)
    return result


def run_reconciliation(app: Flask) -> ReconciliationReport:
    """Compare open claims' refunds with the provider's and repair what can be repaired."""
    with app.app_context(), database().session() as session:
        report = reconcile(session, payment_gateway(app))
    for line in report.unresolved:
        log.error("reconciliation: %s", line)
    log.info(
        "reconciliation: %s claims checked, %s repaired, %s unresolved",
        report.claims_checked,
        len(report.repaired),
        len(report.unresolved),
    )
    return report
