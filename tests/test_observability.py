"""Request ids, and one JSON log line per request when ``LOG_FORMAT=json``."""

from __future__ import annotations

import io
import json
import logging

import pytest

from app import observability
from tests.factories import RefundClaimFactory, UserFactory


@pytest.fixture
def json_lines(app):
    """The JSON lines the app logs during the test."""
    app.config["LOG_FORMAT"] = "json"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.JsonFormatter())
    handler.addFilter(observability.RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def test_every_response_carries_a_request_id(client):
    first, second = client.get("/healthz"), client.get("/healthz")

    assert len(first.headers["X-Request-ID"]) == 32
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize(
    "offered, kept",
    [("req-123.abc", True), ("a" * 65, False), ("bad id", False), ("<script>", False)],
)
def test_a_plain_request_id_from_the_proxy_is_kept_and_anything_else_replaced(
    client, offered, kept
):
    response = client.get("/healthz", headers={"X-Request-ID": offered})
    assert (response.headers["X-Request-ID"] == offered) is kept


def test_json_logs_have_one_line_per_request_with_id_user_route_status_and_duration(
    client, json_lines, session
):
    claim = RefundClaimFactory()

    response = client.get(f"/api/v1/claims/{claim.id}", headers={"X-Request-ID": "req-42"})

    [line] = [line for line in json_lines() if line["logger"] == "jobguarantee.request"]
    assert response.status_code == 401
    assert line["request_id"] == "req-42"
    assert line["route"] == "/api/v1/claims/<id:claim_id>"
    assert line["path"] == f"/api/v1/claims/{claim.id}"
    assert (line["method"], line["status"], line["user_id"]) == ("GET", 401, None)
    assert line["actor"] == "anonymous"
    assert line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["time"].endswith("+00:00")


def test_json_logs_name_the_signed_in_user(client, json_lines, session):
    from app.auth.tokens import create_token
    from app.models import Role

    person = UserFactory(role=Role.FINANCE)
    token, secret = create_token(session, user=person, name="logs")

    client.get("/api/v1/claims", headers={"Authorization": f"Bearer {secret}"})

    [line] = [line for line in json_lines() if line["logger"] == "jobguarantee.request"]
    assert line["status"] == 200
    assert line["actor"] == person.actor  # a token acts as the person who owns it


def test_log_lines_written_during_a_request_carry_its_id(app, client, json_lines):
    @app.get("/test-only/log")
    def writes_a_line():
        logging.getLogger("jobguarantee.test").warning("something worth a look")
        return "ok"

    client.get("/test-only/log", headers={"X-Request-ID": "req-7"})

    [line] = [line for line in json_lines() if line["logger"] == "jobguarantee.test"]
    assert (line["request_id"], line["level"]) == ("req-7", "WARNING")


def test_without_json_logging_no_request_line_is_written(app, client, json_lines):
    app.config["LOG_FORMAT"] = "text"
    client.get("/healthz")
    assert [line for line in json_lines() if line["logger"] == "jobguarantee.request"] == []


def test_a_job_run_logs_under_an_id_of_its_own(app, json_lines, session):
    from jobs.leadership import Leadership
    from jobs.scheduler import run_job

    leadership = Leadership(app, "scheduler-under-test")

    run_job(leadership, "executor", lambda _app: logging.getLogger("jobs.t").info("ran"), app)

    [line] = [line for line in json_lines() if line["logger"] == "jobs.t"]
    assert line["request_id"].startswith("job-executor-")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_stripe_sdks_request_lines_are_left_out_and_its_warnings_kept(log_format):
    root, stripe_log = logging.getLogger(), logging.getLogger("stripe")
    handlers, levels = list(root.handlers), (root.level, stripe_log.level)
    try:
        stripe_log.setLevel(logging.NOTSET)
        observability.configure_logging(log_format)

        assert not stripe_log.isEnabledFor(logging.INFO)
        assert stripe_log.isEnabledFor(logging.WARNING)
    finally:
        root.handlers[:] = handlers
        root.setLevel(levels[0])
        stripe_log.setLevel(levels[1])
