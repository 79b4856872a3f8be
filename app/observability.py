"""What operators see: a request id on every request and log line, one JSON line per request
when ``LOG_FORMAT=json``, and each request's latency by route for ``/metrics``.

The request id is the caller's ``X-Request-ID`` when it is a short plain token (a proxy's),
else a new one; it is sent back in ``X-Request-ID``. A scheduled job's log lines carry an id
of their own run (``job-<job>-<run id>``) the same way.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, current_app, g, request
from prometheus_client import Histogram

#: The id of the request (or job run) being handled, for every log line it writes.
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)

_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

#: Request latency by route template (``/api/v1/claims/<id:claim_id>``), method and status.
REQUEST_SECONDS = Histogram(
    "jobguarantee_http_request_duration_seconds",
    "Time to answer a request, by route template, method and status.",
    ["route", "method", "status"],
)

#: Fields of a log record that are not extras worth printing.
_STANDARD_FIELDS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


class RequestIdFilter(logging.Filter):
    """Puts the current request (or job run) id on every record as ``request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id and extras."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_FIELDS and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(log_format: str) -> None:
    """Plain lines (``text``, the default) or JSON lines (``json``) on standard error."""
    root = logging.getLogger()
    if log_format == "json":
        for handler in [h for h in root.handlers if getattr(h, "job_guarantee", False)]:
            root.removeHandler(handler)
        handler = logging.StreamHandler()
        handler.job_guarantee = True
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    else:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # The Stripe SDK writes two lines per request at INFO; the executor logs what it did.
    logging.getLogger("stripe").setLevel(logging.WARNING)


@contextmanager
def request_id_of(run_id: str):
    """Log lines written inside carry ``run_id`` (a scheduled job's run)."""
    token = current_request_id.set(run_id)
    try:
        yield
    finally:
        current_request_id.reset(token)


request_log = logging.getLogger("jobguarantee.request")


def _start() -> None:
    offered = request.headers.get("X-Request-ID", "")
    request_id = offered if _ACCEPTED_ID.fullmatch(offered) else uuid.uuid4().hex
    context = g._get_current_object()  # one look-up of the request's globals, not four
    context.request_id = request_id
    context.request_token = current_request_id.set(request_id)
    context.request_started = time.perf_counter()


def _finish(response):
    context = g._get_current_object()
    started = context.get("request_started")
    if started is None:
        return response
    duration = time.perf_counter() - started
    current = request._get_current_object()
    route = current.url_rule.rule if current.url_rule is not None else "<unmatched>"
    _latency(route, current.method, response.status_code).observe(duration)
    response.headers["X-Request-ID"] = context.request_id
    if current_app.config.get("LOG_FORMAT") == "json":
        principal = context.get("principal")
        request_log.info(
            "%s %s %s",
            current.method,
            route,
            response.status_code,
            extra={
                "request_id": context.request_id,
                "method": current.method,
                "route": route,
                "path": current.path,
                "status": response.status_code,
                "duration_ms": round(duration * 1000, 1),
                "user_id": getattr(principal, "user_id", None),
                "actor": getattr(principal, "actor", None),
                "client": current.remote_addr,
            },
        )
    return response


@functools.lru_cache(maxsize=1024)
def _latency(route: str, method: str, status: int):
    # The histogram of one route, method and status, looked up once rather than per request.
    return REQUEST_SECONDS.labels(route, method, str(status))


def _reset(_exc) -> None:
    token = g.pop("request_token", None)
    if token is not None:
        current_request_id.reset(token)


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_reset)
