"""The service as production runs it, in small: two web instances (gunicorn, two workers each)
behind HAProxy, one PostgreSQL, rate limits in Redis, and two scheduler processes, one of them
the stand-by. Traffic goes through the proxy, on 127.0.0.1 only; the leader's database
connection is ended, then the next leader is killed. Every wait is bounded, and every process
is stopped at the end whatever happens.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import pyotp
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from app.auth.tokens import create_token
from app.models import Role
from jobs.leadership import lock_holder_pids
from jobs.models import SchedulerHeartbeat, SchedulerJobRun
from refunds.models import Refund, RefundClaim
from refunds.states import ClaimState
from refunds.sweep import sweep
from tests import factories
from tests.jobs.conftest import wait_for
from tests.refunds.conftest import AS_OF, QUALIFIED_ON, provider_refunds
from tests.stripe_harness import TEST_API_KEY, paid_payment_intent

ROOT = Path(__file__).resolve().parents[1]
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

HAPROXY_CONFIG = """
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    option forwardfor
frontend web
    bind 127.0.0.1:{port}
    http-request set-header X-Forwarded-Proto http
    default_backend instances
backend instances
    balance roundrobin
    http-response set-header X-Served-By %[srv_name]
    server a 127.0.0.1:{a}
    server b 127.0.0.1:{b}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Process:
    """A child process with its output in a file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], logs: Path):
        self.name = name
        self.log_path = logs / f"{name}.log"
        self._log_file = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log_file.close()


class Visitor:
    """One client address (a loopback address of its own), with its cookies."""

    def __init__(self, port: int, address: str):
        self.port, self.address = port, address
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body=None, headers=None):
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=30, source_address=(self.address, 0)
        )
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read().decode(errors="replace")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.headers, content

    def csrf_token(self) -> str:
        _status, _headers, page = self.request("GET", "/sign-in")
        return _CSRF.search(page).group(1)

    def sign_in(self, email: str, password: str, token: str | None = None):
        token = token or self.csrf_token()
        form = urlencode({"email": email, "password": password, "csrf_token": token})
        return self.request(
            "POST",
            "/sign-in",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )

    def give_code(self, secret: str):
        """The second step of signing in: the authenticator's current code."""
        _status, _headers, page = self.request("GET", "/sign-in/code")
        form = urlencode(
            {"code": pyotp.TOTP(secret).now(), "csrf_token": _CSRF.search(page).group(1)}
        )
        return self.request(
            "POST",
            "/sign-in/code",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )

    def api(self, method: str, path: str, token: str, payload: dict | None = None):
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        body = json.dumps(payload) if payload is not None else None
        status, _headers, content = self.request(method, path, body, headers)
        return status, json.loads(content) if content else None


def seed(engine, localstripe_client) -> dict:
    """Staff accounts, a finance API token and three flagged claims paid through Stripe."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        factories.use_session(session)
        try:
            finance = factories.UserFactory(role=Role.FINANCE)
            registrar = factories.UserFactory(role=Role.REGISTRAR)
            _record, token = create_token(session, user=finance, name="scale-out")
            graduations = []
            for _ in range(3):
                graduation = factories.GraduationFactory(
                    qualified_on=QUALIFIED_ON,
                    enrollment=factories.EnrollmentFactory(signed_on=date(2024, 1, 10)),
                )
                factories.TuitionPaymentFactory(
                    enrollment=graduation.enrollment,
                    amount_minor=300_000,
                    stripe_payment_intent_id=paid_payment_intent(localstripe_client, 300_000),
                )
                graduations.append(graduation.id)
            sweep(session, AS_OF)
            session.commit()
            claims = [
                session.scalar(select(RefundClaim.id).where(RefundClaim.graduation_id == g))
                for g in graduations
            ]
        finally:
            factories.use_session(None)
    return {
        "finance": finance.email,
        "registrar": registrar.email,
        "token": token,
        "claims": claims,
    }


def claim_state(engine, claim_id: int) -> ClaimState:
    with sessionmaker(engine)() as session:
        return session.get(RefundClaim, claim_id).state


def claim_version(engine, claim_id: int) -> int:
    with sessionmaker(engine)() as session:
        return session.get(RefundClaim, claim_id).version


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in reversed(started):
        process.stop()


def redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def limit_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the shared Redis; its keys are removed afterwards."""
    prefix = f"jg-scale-{uuid.uuid4().hex[:12]}"
    yield prefix
    if redis_answers():
        _forget_limits(prefix)


def test_two_instances_behind_haproxy_and_two_schedulers_agree_and_pay_each_refund_once(
    committed_database,
    localstripe_url,
    localstripe_client,
    mail_server,
    processes,
    limit_prefix,
    tmp_path,
):
    url, engine = committed_database
    if not url.startswith("postgresql"):
        pytest.skip("production runs one PostgreSQL for every instance; SQLite is one machine's")
    if not Path(HAPROXY).exists():
        pytest.skip(f"no HAProxy at {HAPROXY}: `make test` installs Debian's haproxy package")
    if not redis_answers():
        pytest.skip(f"no Redis answers at {REDIS_URL} (TEST_REDIS_URL): shared limits untested")
    school = seed(engine, localstripe_client)
    prefix = limit_prefix
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": uuid.uuid4().hex,
        "STRIPE_API_KEY": TEST_API_KEY,
        "STRIPE_API_BASE": localstripe_url,
        "SMTP_HOST": mail_server.host,
        "SMTP_PORT": str(mail_server.port),
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": prefix,
        "PROXY_COUNT": "1",
        "LOG_FORMAT": "json",
        "EXECUTOR_INTERVAL_SECONDS": "1",
        "SCHEDULER_HEARTBEAT_SECONDS": "1",
        "PYTHONWARNINGS": "ignore",
    }
    web_ports = {"a": free_port(), "b": free_port()}
    proxy_port = free_port()
    for name, port in web_ports.items():
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
        processes.append(
            Process(f"web-{name}", [*command, "--workers", "2", "wsgi:app"], env, tmp_path)
        )
    schedulers = [
        Process(f"scheduler-{n}", [sys.executable, "-m", "jobs"], env, tmp_path) for n in (1, 2)
    ]
    processes.extend(schedulers)
    config = tmp_path / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(port=proxy_port, **web_ports))
    processes.append(Process("haproxy", [HAPROXY, "-db", "-f", str(config)], env, tmp_path))

    try:
        for port in web_ports.values():
            wait_for(lambda port=port: _answers(port), "a web instance", timeout=60)
        wait_for(lambda: _leader(schedulers) is not None, "a scheduler's lock", timeout=60)

        # Sign-ins, reports and the finance queue, each person from an address of their own.
        registrar = Visitor(proxy_port, "127.0.0.11")
        assert registrar.sign_in(school["registrar"], factories.TEST_PASSWORD)[0] == 302
        assert registrar.request("GET", "/reports/outcomes")[0] == 200
        finance = Visitor(proxy_port, "127.0.0.12")
        assert finance.sign_in(school["finance"], factories.TEST_PASSWORD)[0] == 302
        assert finance.give_code(factories.TEST_TOTP_SECRET)[0] == 302
        status, _headers, _page = finance.request(
            "GET", "/finance", headers={"X-Request-ID": f"{prefix}-queue"}
        )
        assert status == 200

        # The rate limit holds across instances: the 11th failed sign-in from one address.
        guesser = Visitor(proxy_port, "127.0.0.13")
        token = guesser.csrf_token()
        answers = [
            guesser.sign_in(f"nobody{n}@example.org", "not the password!", token) for n in range(11)
        ]
        assert [status for status, _h, _b in answers] == [401] * 10 + [429]
        assert {headers["X-Served-By"] for _s, headers, _b in answers} == {"a", "b"}

        def approve_and_wait(claim_id: int) -> None:
            status, body = finance.api(
                "POST",
                f"/api/v1/claims/{claim_id}/approve",
                school["token"],
                {"reason": "window closed, no job", "version": claim_version(engine, claim_id)},
            )
            assert status == 200, body
            wait_for(
                lambda: claim_state(engine, claim_id) is ClaimState.REFUNDED,
                f"claim {claim_id} refunded",
                timeout=30,
            )

        first_claim, second_claim, third_claim = school["claims"]
        approve_and_wait(first_claim)

        # The leader's database connection ends: the stand-by takes over, the first waits.
        first = _leader(schedulers)
        second = next(s for s in schedulers if s is not first)
        with engine.connect() as connection:
            [pid] = lock_holder_pids(connection)
            assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        wait_for(lambda: "scheduler lock taken" in second.log, "the stand-by's takeover", 30)
        wait_for(lambda: "scheduler lock lost" in first.log, "the first to notice", 30)
        approve_and_wait(second_claim)

        # The new leader dies: the first, waiting again, takes over.
        second.kill()
        wait_for(lambda: first.log.count("scheduler lock taken") == 2, "the first's return", 30)
        approve_and_wait(third_claim)
        time.sleep(1.5)  # a heartbeat and an executor run more for the records
    except AssertionError:
        for process in processes:
            print(f"--- {process.name}\n{process.log[-3000:]}")
        raise

    with sessionmaker(engine, expire_on_commit=False)() as session:
        epochs = list(
            session.scalars(select(SchedulerHeartbeat).order_by(SchedulerHeartbeat.lock_taken_at))
        )
        runs = list(session.scalars(select(SchedulerJobRun)))
        refunds = list(session.scalars(select(Refund)))
        intents = [refund.payment.stripe_payment_intent_id for refund in refunds]

    # Exactly one scheduler ran jobs at every moment: each leadership's runs started after it
    # took the lock and before the next one took it.
    assert len(epochs) == 3
    window = {
        epoch.scheduler: (epoch.lock_taken_at, later.lock_taken_at if later else None)
        for epoch, later in zip(epochs, [*epochs[1:], None], strict=True)
    }
    for run in runs:
        begins, ends = window[run.scheduler]
        assert begins <= run.started_at, run.job
        assert ends is None or run.started_at < ends, (run.job, run.scheduler)
    assert {run.scheduler for run in runs if run.job == "executor"} == set(window)
    # No refund was sent twice.
    assert len(refunds) == 3
    for intent in intents:
        assert len(provider_refunds(localstripe_client, intent)) == 1
    # One JSON line per request, with the id the caller sent, whichever instance answered.
    web_logs = "".join(p.log for p in processes if p.name.startswith("web-"))
    [line] = [json.loads(row) for row in web_logs.splitlines() if f"{prefix}-queue" in row]
    assert (line["route"], line["status"], line["client"]) == ("/finance", 200, "127.0.0.12")


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _leader(schedulers: list[Process]) -> Process | None:
    for scheduler in schedulers:
        assert scheduler.alive() or "scheduler lock taken" in scheduler.log, scheduler.log
    holders = [s for s in schedulers if s.alive() and "scheduler lock taken" in s.log]
    return holders[0] if len(holders) == 1 else None


def _forget_limits(prefix: str) -> None:
    import redis

    connection = redis.Redis.from_url(REDIS_URL)
    for key in connection.scan_iter(f"*{prefix}*"):
        connection.delete(key)
