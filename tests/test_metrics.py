"""``/metrics``: behind its token, naming every figure operators alert on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.models import MessageKind, MessageState, SentMessage
from app.models.base import utc_now
from jobs.models import SchedulerHeartbeat, SchedulerJobRun
from refunds.states import ClaimState, RefundState
from tests.factories import RefundClaimFactory, RefundFactory

TOKEN = "metrics-test-token"


@pytest.fixture
def scrape(app, client):
    """``scrape()``: the metrics as ``{(name, labels): value}``."""
    app.config["METRICS_TOKEN"] = TOKEN

    def do() -> dict[tuple[str, frozenset], float]:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200, response.get_data(as_text=True)
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples
        }

    return do


def value(metrics, name: str, **labels) -> float:
    return metrics[(name, frozenset(labels.items()))]


def test_metrics_are_off_without_a_token_configured(app, client):
    app.config["METRICS_TOKEN"] = None
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", "Bearer "])
def test_metrics_without_the_right_token_are_401(app, client, header):
    app.config["METRICS_TOKEN"] = TOKEN
    headers = {"Authorization": header} if header else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert "jobguarantee" not in response.get_data(as_text=True)


def test_metrics_name_claims_refunds_lag_reminders_jobs_and_the_heartbeat(scrape, session):
    now = utc_now()
    RefundClaimFactory(state=ClaimState.FLAGGED)
    RefundClaimFactory(state=ClaimState.FLAGGED)
    RefundFactory(created_at=now - timedelta(hours=2))  # due, nobody sent it
    RefundFactory(state=RefundState.PROCESSING, created_at=now - timedelta(hours=5))
    RefundFactory(state=RefundState.SUCCEEDED, created_at=now - timedelta(days=9))
    session.add(
        SentMessage(
            kind=MessageKind.DEADLINE_APPROACHING,
            dedupe_key="deadline:1:2026-01-01:7",
            recipient="ada@example.org",
            subject="s",
            body="b",
            state=MessageState.FAILED,
        )
    )
    session.add_all(
        [
            SchedulerJobRun(
                job="executor",
                scheduler="host:1:a",
                started_at=now - timedelta(seconds=100),
                finished_at=now - timedelta(seconds=97),
                succeeded=True,
            ),
            SchedulerJobRun(
                job="executor",
                scheduler="host:1:a",
                started_at=now - timedelta(seconds=10),
                finished_at=now - timedelta(seconds=9.5),
                succeeded=False,
                error="RuntimeError: x",
            ),
            SchedulerJobRun(job="sweep", scheduler="host:1:a", started_at=now),
            SchedulerHeartbeat(
                scheduler="host:1:a", lock_taken_at=now - timedelta(hours=1), beat_at=now
            ),
        ]
    )
    session.flush()

    metrics = scrape()

    assert value(metrics, "jobguarantee_claims", state="flagged") >= 2
    assert value(metrics, "jobguarantee_claims", state="refunded") == 0
    assert value(metrics, "jobguarantee_refunds_unsettled", state="pending") == 1
    assert value(metrics, "jobguarantee_refunds_unsettled", state="processing") == 1
    oldest = value(metrics, "jobguarantee_refunds_unsettled_oldest_age_seconds")
    assert 5 * 3600 <= oldest < 5 * 3600 + 60
    lag = value(metrics, "jobguarantee_executor_lag_seconds")
    assert 2 * 3600 <= lag < 2 * 3600 + 60
    assert value(metrics, "jobguarantee_reminders_failed", kind="deadline_approaching") == 1
    assert value(metrics, "jobguarantee_job_runs_total", job="executor", outcome="succeeded") == 1
    assert value(metrics, "jobguarantee_job_runs_total", job="executor", outcome="failed") == 1
    assert value(metrics, "jobguarantee_job_runs_total", job="sweep", outcome="unfinished") == 1
    assert value(metrics, "jobguarantee_job_last_duration_seconds", job="executor") == 0.5
    last_success = value(metrics, "jobguarantee_job_last_success_timestamp_seconds", job="executor")
    assert last_success == pytest.approx((now - timedelta(seconds=97)).timestamp(), abs=0.01)
    assert value(metrics, "jobguarantee_scheduler_heartbeat_age_seconds") < 60
    assert value(metrics, "jobguarantee_scheduler_heartbeat_timestamp_seconds") == pytest.approx(
        now.timestamp(), abs=0.01
    )


def test_metrics_count_request_latency_by_route_template(scrape, client, session):
    claim = RefundClaimFactory()
    route = "/api/v1/claims/<id:claim_id>"
    before = scrape().get(
        (
            "jobguarantee_http_request_duration_seconds_count",
            frozenset({"route": route, "method": "GET", "status": "401"}.items()),
        ),
        0,
    )

    client.get(f"/api/v1/claims/{claim.id}")
    client.get(f"/api/v1/claims/{claim.id}")

    after = value(
        scrape(),
        "jobguarantee_http_request_duration_seconds_count",
        route=route,
        method="GET",
        status="401",
    )
    assert after == before + 2


def test_metrics_with_nothing_recorded_say_zero_and_never(scrape):
    metrics = scrape()

    assert value(metrics, "jobguarantee_executor_lag_seconds") == 0
    assert value(metrics, "jobguarantee_scheduler_heartbeat_age_seconds") == -1
