"""``GET /metrics``: Prometheus metrics, for a scraper holding ``METRICS_TOKEN``.

Request latency is counted in each web process (``app.observability``); with several gunicorn
workers set ``PROMETHEUS_MULTIPROC_DIR`` so that every worker's counts are added up. Everything
else is read from the database at scrape time, so every instance reports the same figures:
claims by state, unsettled refunds and the oldest one's age, the executor's lag, failed
reminders, job runs and durations, and the scheduler's heartbeat.
"""

from __future__ import annotations

import hmac
import os
from datetime import datetime

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.database import db_session
from app.models import MessageState, SentMessage
from app.models.base import utc_now
from app.observability import REQUEST_SECONDS
from jobs.models import SchedulerHeartbeat, SchedulerJobRun
from refunds.models import Refund, RefundClaim
from refunds.states import ClaimState, RefundState

blueprint = Blueprint("metrics", __name__)

#: Refunds not settled yet: still to send, being sent, or accepted by the provider.
UNSETTLED = (RefundState.PENDING, RefundState.SUBMITTING, RefundState.PROCESSING)


def _seconds(instant: datetime | None) -> float:
    return instant.timestamp() if instant is not None else 0.0


def _age(now: datetime, instant: datetime | None) -> float:
    return max(0.0, (now - instant).total_seconds()) if instant is not None else 0.0


class DatabaseCollector:
    """The figures the database holds, read at each scrape."""

    def __init__(self, session: Session):
        self.session = session

    def collect(self):
        now = utc_now()
        yield from self._claims()
        yield from self._refunds(now)
        yield from self._reminders()
        yield from self._jobs()
        yield from self._heartbeat(now)

    def _claims(self):
        counts = dict(
            self.session.execute(
                select(RefundClaim.state, func.count()).group_by(RefundClaim.state)
            ).all()
        )
        claims = GaugeMetricFamily(
            "jobguarantee_claims", "Refund claims by state.", labels=["state"]
        )
        for state in ClaimState:
            claims.add_metric([state.value], counts.get(state, 0))
        yield claims

    def _refunds(self, now: datetime):
        counts = dict(
            self.session.execute(
                select(Refund.state, func.count())
                .where(Refund.state.in_(UNSETTLED))
                .group_by(Refund.state)
            ).all()
        )
        unsettled = GaugeMetricFamily(
            "jobguarantee_refunds_unsettled",
            "Refunds approved and not settled yet, by state.",
            labels=["state"],
        )
        for state in UNSETTLED:
            unsettled.add_metric([state.value], counts.get(state, 0))
        yield unsettled
        oldest = self.session.scalar(
            select(func.min(Refund.created_at)).where(Refund.state.in_(UNSETTLED))
        )
        yield GaugeMetricFamily(
            "jobguarantee_refunds_unsettled_oldest_age_seconds",
            "Age of the oldest unsettled refund (0 when none).",
            value=_age(now, oldest),
        )
        # Due to be sent: waiting, or taken by an executor whose lease ran out, and past any
        # backoff. The lag is how long the oldest has been due.
        due_since = func.coalesce(Refund.next_attempt_at, Refund.created_at)
        oldest_due = self.session.scalar(
            select(func.min(due_since)).where(
                or_(
                    Refund.state == RefundState.PENDING,
                    and_(Refund.state == RefundState.SUBMITTING, Refund.lease_until <= now),
                ),
                or_(Refund.next_attempt_at.is_(None), Refund.next_attempt_at <= now),
            )
        )
        yield GaugeMetricFamily(
            "jobguarantee_executor_lag_seconds",
            "How long the oldest refund due to be sent has waited for the executor (0: none).",
            value=_age(now, oldest_due),
        )

    def _reminders(self):
        counts = dict(
            self.session.execute(
                select(SentMessage.kind, func.count())
                .where(SentMessage.state == MessageState.FAILED)
                .group_by(SentMessage.kind)
            ).all()
        )
        failed = GaugeMetricFamily(
            "jobguarantee_reminders_failed",
            "Emails whose sending failed (retried up to three times), by kind.",
            labels=["kind"],
        )
        for kind, count in sorted(counts.items(), key=lambda item: str(item[0])):
            failed.add_metric([getattr(kind, "value", str(kind))], count)
        yield failed

    def _jobs(self):
        runs = CounterMetricFamily(
            "jobguarantee_job_runs",
            "Scheduled job runs by job and outcome (succeeded, failed, running or died).",
            labels=["job", "outcome"],
        )
        for job, succeeded, count in self.session.execute(
            select(SchedulerJobRun.job, SchedulerJobRun.succeeded, func.count()).group_by(
                SchedulerJobRun.job, SchedulerJobRun.succeeded
            )
        ):
            label = {True: "succeeded", False: "failed", None: "unfinished"}[succeeded]
            runs.add_metric([job, label], count)
        yield runs

        last_duration = GaugeMetricFamily(
            "jobguarantee_job_last_duration_seconds",
            "Duration of each job's latest finished run.",
            labels=["job"],
        )
        last_success = GaugeMetricFamily(
            "jobguarantee_job_last_success_timestamp_seconds",
            "When each job last finished without an error (Unix time).",
            labels=["job"],
        )
        latest_ids = (
            select(func.max(SchedulerJobRun.id))
            .where(SchedulerJobRun.finished_at.is_not(None))
            .group_by(SchedulerJobRun.job)
        )
        for run in self.session.scalars(
            select(SchedulerJobRun).where(SchedulerJobRun.id.in_(latest_ids))
        ):
            last_duration.add_metric(
                [run.job], max(0.0, (run.finished_at - run.started_at).total_seconds())
            )
        for job, finished_at in self.session.execute(
            select(SchedulerJobRun.job, func.max(SchedulerJobRun.finished_at))
            .where(SchedulerJobRun.succeeded.is_(True))
            .group_by(SchedulerJobRun.job)
        ):
            last_success.add_metric([job], _seconds(finished_at))
        yield last_duration
        yield last_success

    def _heartbeat(self, now: datetime):
        beat = self.session.scalars(
            select(SchedulerHeartbeat).order_by(SchedulerHeartbeat.beat_at.desc()).limit(1)
        ).first()
        yield GaugeMetricFamily(
            "jobguarantee_scheduler_heartbeat_timestamp_seconds",
            "When the lock-holding scheduler last proved it holds the lock (Unix time; 0: never).",
            value=_seconds(beat.beat_at if beat else None),
        )
        yield GaugeMetricFamily(
            "jobguarantee_scheduler_heartbeat_age_seconds",
            "Seconds since the scheduler's latest heartbeat (-1: never).",
            value=_age(now, beat.beat_at) if beat else -1.0,
        )


def _authorized() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    header = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


@blueprint.get("/metrics")
def metrics():
    """The metrics in Prometheus' text format; 404 while ``METRICS_TOKEN`` is unset, 401
    without it."""
    if not current_app.config.get("METRICS_TOKEN"):
        return {"code": 404, "status": "Not Found", "message": "metrics are off"}, 404
    if not _authorized():
        return (
            {"code": 401, "status": "Unauthorized", "message": "send the metrics token"},
            401,
            {"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_SECONDS)
    registry.register(DatabaseCollector(db_session()))
    return Response(generate_latest(registry), content_type="text/plain; version=0.0.4")


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
