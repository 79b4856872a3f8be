"""A benchmark, not a test: every page and API read of a school of 200,000 graduations, each
timed against the web worker's timeout and watched for how much memory it holds.

Builds ``bench.school_data``'s school, gives it one account of each role, then, as each role
(in one process, as one worker would serve them), follows every link from the role's home the
way the crawl test does (``tests.crawl``: each endpoint with a few of its addresses), each page
also with ``page`` past the end (the last page: the deepest a list goes), and every GET of the
API with the first record's id. Each request is timed, and the process's resident memory is
sampled during it and compared with its idle size (after the application answered one page).

Printed, last: ``pages_timeout_ratio=<x>`` (the slowest request over the worker timeout,
``BENCH_WORKER_TIMEOUT``, default gunicorn's 30 s: below 1 means none is cut off),
``pages_memory_ratio=<x>`` (the most memory any request held above the idle size, over
``BENCH_WORKER_MEMORY_MB``, default 200 MB: below 1 means within it), and before them the
slowest requests and the totals.

Run with ``make bench`` or ``.venv/bin/python -m bench.pages_bench``. Environment:
``BENCH_DATABASE_URL`` (PostgreSQL), ``BENCH_SCHOOL_GRADUATIONS`` (default 200,000).
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app import create_app
from app.auth.sealing import Keyring
from app.auth.tokens import create_token
from app.models import Employer, Enrollment, Role, Student, User, UserSession
from bench import school_data
from bench.school_bench import _rss
from bench.sweep_bench import DEFAULT_URL, _progress, _stop
from refunds.models import RefundClaim
from tests.crawl import crawl, endpoint_of, example_url, get_rules, parameters_read

#: The authenticator key of the staff who need one (never used: sessions are made directly).
BENCH_KEY = "JBSWY3DPEHPK3PXP"  # noqa: S105 - a bench account's, in a schema dropped after

#: A page number past the end of any list: the page shows the last page, the deepest one.
PAST_THE_END = "1000000"


@dataclass(frozen=True)
class Request:
    who: str
    url: str
    status: int
    seconds: float
    held_bytes: int


class PeakRss:
    """The highest resident memory of the process while the block runs (sampled every 10 ms)."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self.peak = _rss()
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    def _sample(self):
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, _rss())


def accounts(engine: Engine, keyring: Keyring) -> dict[str, int]:
    """One account of each role on the school (ids): staff, a graduate with a claim, an
    employer contact. Staff who need a second factor have one on (sealed with ``keyring``)."""
    now = datetime.now(UTC)
    sealed = keyring.seal(BENCH_KEY)
    with Session(engine) as session:
        student = session.scalars(
            select(Student).where(Student.id == _student_with_a_claim(session))
        ).one()
        employer = session.scalars(select(Employer).order_by(Employer.id).offset(1)).first()
        made = {
            "registrar": User(role=Role.REGISTRAR),
            "finance": User(role=Role.FINANCE, sealed_totp_secret=sealed, totp_enabled_at=now),
            "admin": User(role=Role.ADMIN, sealed_totp_secret=sealed, totp_enabled_at=now),
            "graduate": User(role=Role.GRADUATE, student_id=student.id),
            "employer": User(role=Role.EMPLOYER, employer_id=employer.id),
        }
        for who, user in made.items():
            user.email = f"bench-pages-{who}@school.example"
            user.name = f"Bench {who}"
            user.password_hash = "!"  # noqa: S105 - no password matches it: signed in below
            session.add(user)
        session.commit()
        return {who: user.id for who, user in made.items()}


def _student_with_a_claim(session: Session) -> int:
    return session.scalars(
        select(Enrollment.student_id).join(RefundClaim, RefundClaim.enrollment_id == Enrollment.id)
    ).first()


def signed_in_client(app, engine: Engine, user_id: int):
    """A test client with a live session of the account (as after signing in)."""
    session_id = secrets.token_urlsafe(32)
    with Session(engine) as session:
        session.add(UserSession(id=session_id, user_id=user_id))
        session.commit()
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = session_id
        cookie["_fresh"] = True
    return client


def _past_the_end(app, url: str) -> str | None:
    """``url`` with its list's page number past the end, when its view reads one."""
    endpoint, _ = endpoint_of(app, url)
    if endpoint is None or "page" not in parameters_read(app, endpoint):
        return None
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if "page" in query and query["page"] == PAST_THE_END:
        return None
    return f"{parts.path}?{urlencode({**query, 'page': PAST_THE_END})}"


def timed(client, who: str, url: str, headers: dict | None = None) -> Request:
    with PeakRss() as watch:
        started = time.perf_counter()
        response = client.get(url, headers=headers or {})
        response.get_data()
        seconds = time.perf_counter() - started
    return Request(who, url, response.status_code, seconds, watch.peak)


def visit_everything(app, engine: Engine, ids: dict[str, int]) -> tuple[list[Request], int]:
    """Every page each role reaches (and each list past its end), and every API read; with
    the process's idle size, taken after one page was served."""
    requests: list[Request] = []
    clients = {who: signed_in_client(app, engine, user_id) for who, user_id in ids.items()}
    clients["registrar"].get("/registrar")  # imports and first connections: the idle size
    idle = _rss()
    for who, client in clients.items():
        started = time.perf_counter()
        visits = crawl(client, ["/"], limit=200)
        urls = [visit.url for visit in visits]
        urls += [deep for url in urls if (deep := _past_the_end(app, url))]
        for url in dict.fromkeys(urls):
            requests.append(timed(client, who, url))
        _progress(f"  {who}: {len(urls)} pages in {time.perf_counter() - started:.0f}s")
    with Session(engine) as session:
        tokens = {
            who: create_token(session, user=session.get(User, ids[who]), name="bench")[1]
            for who in ("registrar", "finance", "admin")
        }
        session.commit()
    api = [rule for rule in get_rules(app) if rule.rule.startswith("/api/")]
    for rule in api:
        url = example_url(rule)
        if url is None or endpoint_of(app, url)[0] != rule.endpoint:
            continue
        for who, token in tokens.items():
            request = timed(
                clients[who], f"api as {who}", url, {"Authorization": f"Bearer {token}"}
            )
            requests.append(request)
            if request.status == 200:
                break
    return requests, idle


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    graduations = int(os.environ.get("BENCH_SCHOOL_GRADUATIONS", "200000"))
    timeout = float(os.environ.get("BENCH_WORKER_TIMEOUT", "30"))
    memory_mb = float(os.environ.get("BENCH_WORKER_MEMORY_MB", "200"))
    signal.signal(signal.SIGTERM, _stop)
    with school_data.built_school(url, graduations, _progress) as school:
        app = create_app({"DATABASE_URL": school.url, "SIGN_IN_RATE_LIMIT": "100000 per minute"})
        requests, idle = visit_everything(
            app, school.engine, accounts(school.engine, app.extensions["keyring"])
        )
    failed = [r for r in requests if r.status >= 500]
    slowest = sorted(requests, key=lambda r: r.seconds, reverse=True)[:8]
    heaviest = max(requests, key=lambda r: r.held_bytes)
    for request in slowest:
        _progress(f"  {request.seconds:6.2f}s {request.status} {request.who}: {request.url[:150]}")
    held_mb = max(0, heaviest.held_bytes - idle) / 2**20
    print(f"pages_requests={len(requests)}", flush=True)
    print(f"pages_server_errors={len(failed)}", flush=True)
    print(f"pages_slowest_seconds={slowest[0].seconds:.2f}", flush=True)
    print(f"pages_peak_mb={held_mb:.1f} ({heaviest.who}: {heaviest.url[:100]})", flush=True)
    print(f"pages_timeout_ratio={slowest[0].seconds / timeout:.2f}", flush=True)
    print(f"pages_memory_ratio={held_mb / memory_mb:.2f}", flush=True)
    for request in failed:
        print(f"server error: {request.status} {request.who}: {request.url[:150]}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
