"""A benchmark, not a test: the CSV import, the API's single GET and lists, and the refund
executor on a school-sized PostgreSQL database, each beside its baseline on the same data.

- ``import_ratio``: rows per second of ``import_rows`` (students, then payments, which look up
  students, programmes, enrollments and earlier payments), against ``COPY`` of the same rows.
- ``single_get_ratio``: requests per second of ``GET /api/v1/students/<id>`` under gunicorn,
  against a raw psycopg WSGI endpoint answering the same JSON under the same gunicorn, each hit
  by one keep-alive client with the same requests.
- ``list_deep_ratio``: the time of the last page of each API list (by its ``next`` cursor, as a
  client pages) against its first page, the two asked in turn; the statements per page are
  printed beside it.
- ``registrar_list_deep_ratio``: the same for the registrar's enrollments page in each of its
  orders, its last page reached by the link the page before shows (``after`` its last row).
- ``executor_cpu_ratio``: the executor's CPU time for ``BENCH_REFUNDS`` refunds against a bare
  loop of the same provider calls through the same SDK (list the PaymentIntent's refunds, read
  the PaymentIntent, create the refund), on a local Stripe-compatible server.

The school is ``bench.school_data``'s, the one ``bench.school_bench`` measures the services on.
Settings: ``BENCH_DATABASE_URL`` (PostgreSQL), ``BENCH_SCHOOL_GRADUATIONS`` (default 200,000),
``BENCH_IMPORT_ROWS`` (default 20,000), ``BENCH_REQUESTS`` (default 2,000), ``BENCH_REFUNDS``
(default 100: the local provider slows down as it holds more PaymentIntents, to seconds per
request past a thousand, which would measure it rather than the executor), ``BENCH_RECORDS_ONLY``
(comma-separated measure names among ``import``, ``single_get``, ``lists``, ``registrar_lists``
and ``executor``; all of them when unset).
"""

from __future__ import annotations

import http.client
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, exists, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.auth.tokens import create_token
from app.imports import import_rows, read_csv
from app.models import (
    Role,
    TuitionPayment,
    User,
)
from bench import school_data
from bench.sweep_bench import DEFAULT_URL, _progress, _stop
from refunds.executor import execute_refunds
from refunds.models import Refund, RefundClaim
from refunds.states import ClaimState
from refunds.stripe_gateway import StripeGateway, make_stripe_client

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2020, 1, 1, tzinfo=UTC)

# --- the import -------------------------------------------------------------------------------


def import_ratio(engine: Engine, rows: int) -> float:
    """The slower of the students' and the payments' import, in rows/s, over COPY's."""
    students = "name,email,country\n" + "".join(
        f"Imported {n},imported{n}@example.org,fr\n" for n in range(rows)
    )
    copied = [
        (f"Copied {n}", f"copied{n}@example.org", "FR", datetime.now(UTC)) for n in range(rows)
    ]
    student_ratio = _import_against_copy(
        engine, "students", students, "students (name, email, country, created_at)", copied
    )
    enrollments = _single_enrollments(engine, rows)
    payments = "student_email,programme,amount_minor,currency,paid_at\n" + "".join(
        f"{email},{programme},1000,{currency},{_instant(n).isoformat()}\n"
        for n, (email, programme, currency, _) in enumerate(enrollments)
    )
    paid = [
        (enrollment_id, 1000, currency, _instant(n) + timedelta(days=1), "student", _instant(n))
        for n, (_, _, currency, enrollment_id) in enumerate(enrollments)
    ]
    payment_ratio = _import_against_copy(
        engine,
        "payments",
        payments,
        "tuition_payments (enrollment_id, amount_minor, currency, paid_at, payer_type, created_at)",
        paid,
    )
    print(f"import_students_ratio={student_ratio:.3f}")
    print(f"import_payments_ratio={payment_ratio:.3f}")
    return min(student_ratio, payment_ratio)


def _single_enrollments(engine: Engine, rows: int) -> list[tuple[str, str, str, int]]:
    """Email, programme, currency and id of ``rows`` enrollments, each its student's only one
    in its programme (so that a payment row names it)."""
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT s.email, p.name, p.currency, min(e.id) FROM enrollments e"
                " JOIN students s ON s.id = e.student_id JOIN programmes p ON p.id = e.programme_id"
                " GROUP BY s.email, p.name, p.currency HAVING count(*) = 1"
                " ORDER BY min(e.id) LIMIT :rows"
            ),
            {"rows": rows},
        ).all()


def _instant(n: int) -> datetime:
    # An instant no payment of the school has: the import refuses a payment recorded twice.
    return datetime(2030, 1, 1, tzinfo=UTC) + timedelta(seconds=n)


def _import_against_copy(
    engine: Engine, kind: str, csv_text: str, target: str, copied: list[tuple]
) -> float:
    """COPY's time over the import's for the same rows, each the median of rounds in turn after
    a warm-up; every round is rolled back, so that each writes the same rows to the same
    tables."""

    def imported() -> None:
        with Session(engine) as session:
            report = import_rows(session, kind, read_csv(csv_text.encode(), kind))
            if not report.ok:
                raise RuntimeError(f"the bench's {kind} file has problems: {report.errors[:3]}")
            session.rollback()

    def copy_them() -> None:
        raw = engine.raw_connection()
        try:
            with (
                raw.driver_connection.cursor() as cursor,
                cursor.copy(f"COPY {target} FROM STDIN") as copy,
            ):
                for row in copied:
                    copy.write_row(row)
        finally:
            raw.rollback()
            raw.close()

    import_seconds, copy_seconds = _alternating(imported, copy_them, runs=9)
    rows = len(copied)
    _progress(
        f"import {kind}: {rows / import_seconds:,.0f} rows/s;"
        f" COPY: {rows / copy_seconds:,.0f} rows/s"
    )
    return copy_seconds / import_seconds


# --- the API ----------------------------------------------------------------------------------


RAW_APP = """
import json, os
import psycopg

connection = psycopg.connect(os.environ["RAW_CONNINFO"], autocommit=True)


def app(environ, start_response):
    student_id = int(environ["PATH_INFO"].rsplit("/", 1)[1])
    row = connection.execute(
        "SELECT id, name, email, country FROM students WHERE id = %s", (student_id,)
    ).fetchone()
    body = json.dumps(dict(zip(("id", "name", "email", "country"), row))).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
"""


@contextmanager
def gunicorn(app: str, env: dict[str, str], chdir: Path) -> Iterator[int]:
    """Serve ``app`` under gunicorn (one sync worker) on a free port; yield the port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            # One thread of gthread: the sync worker closes every connection (no keep-alive).
            "--worker-class",
            "gthread",
            "--threads",
            "1",
            "--chdir",
            str(chdir),
            app,
        ],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # On a loaded machine the worker may not finish stopping in time.
            process.kill()
            process.wait()


def requests_per_second(port: int, paths: list[str], headers: dict[str, str]) -> float:
    """Throughput of one keep-alive client sending ``paths`` in turn (after a warm-up)."""
    connection = http.client.HTTPConnection("127.0.0.1", port)

    def get(path: str) -> bytes:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} -> {response.status}: {body[:200]!r}")
        return body

    for path in paths[:50]:
        get(path)
    started = time.perf_counter()
    for path in paths:
        get(path)
    return len(paths) / (time.perf_counter() - started)


def api_token(engine: Engine, role: Role) -> str:
    """A bearer token of a new ``role`` account (which cannot sign in: no password)."""
    with Session(engine) as session:
        user = User(
            email=f"bench-{role.value}@school.example",
            name="Bench",
            role=role,
            password_hash="!",  # noqa: S106 - no password matches it
        )
        session.add(user)
        session.flush()
        _, token = create_token(session, user=user, name="bench")
        session.commit()
    return token


def single_get_ratio(
    engine: Engine, url: str, token: str, graduations: int, requests: int
) -> float:
    """The API's GET of a student under gunicorn, in requests/s, over a raw psycopg endpoint's."""
    paths = [f"/api/v1/students/{1 + (n * 7919) % graduations}" for n in range(requests)]
    search_path = school_data.schema_of(engine)
    app_env = {
        "DATABASE_URL": school_data.with_schema(url, search_path),
        "JOB_GUARANTEE_ENV": "development",
        "LOG_FORMAT": "text",
    }
    with gunicorn("wsgi:app", app_env, ROOT) as port:
        api = requests_per_second(port, paths, {"Authorization": f"Bearer {token}"})
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "raw_app.py").write_text(RAW_APP)
        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        raw_env = {"RAW_CONNINFO": school_data.with_schema(conninfo, search_path)}
        with gunicorn("raw_app:app", raw_env, Path(directory)) as port:
            raw = requests_per_second(port, paths, {})
    _progress(f"GET /api/v1/students/<id>: {api:,.0f} req/s; raw psycopg: {raw:,.0f} req/s")
    return api / raw


def list_deep_ratio(engine: Engine, tokens: dict[Role, str], page_size: int = 25) -> float:
    """The worst of each API list's last page (reached by cursor) against its first page."""
    from wsgi import app  # noqa: PLC0415 - built only here, on the bench's schema

    client = app.test_client()
    statements: list[str] = []
    event.listen(Engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    worst = 0.0
    for path in ("/api/v1/enrollments", "/api/v1/graduations", "/api/v1/claims"):
        role = Role.FINANCE if path.endswith("claims") else Role.REGISTRAR
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        first_address = f"{path}?page_size={page_size}"
        first = client.get(first_address, headers=headers).json
        last_page = first["pagination"]["last_page"]
        # A client reaches the last page by following next; the bench asks for the cursor
        # of the page before it straight away, as a client there would hold it.
        deep_address = _cursor_address(engine, path, page_size, last_page)
        first_time, deep_time = _timed_pair(
            lambda a=first_address, h=headers: client.get(a, headers=h),
            lambda a=deep_address, h=headers: client.get(a, headers=h),
        )
        statements.clear()
        client.get(deep_address, headers=headers)
        per_page = len(statements)
        numbered_address = f"{path}?page_size={page_size}&page={last_page}"
        numbered = _timed(lambda a=numbered_address, h=headers: client.get(a, headers=h))
        ratio = deep_time / first_time
        worst = max(worst, ratio)
        _progress(
            f"{path}: first page {first_time * 1000:.1f} ms, page {last_page} by cursor"
            f" {deep_time * 1000:.1f} ms, by number {numbered * 1000:.1f} ms"
        )
        print(f"statements_per_page{path.replace('/api/v1/', '_')}={per_page}")
    return worst


def _cursor_address(engine: Engine, path: str, page_size: int, page: int) -> str:
    from app.api.claims import CLAIMS_ORDER  # noqa: PLC0415
    from app.api.enrollments import ENROLLMENTS_ORDER, GRADUATIONS_ORDER  # noqa: PLC0415

    keyset = {
        "/api/v1/enrollments": ENROLLMENTS_ORDER,
        "/api/v1/graduations": GRADUATIONS_ORDER,
        "/api/v1/claims": CLAIMS_ORDER,
    }[path]
    model = keyset.columns[0].class_
    with Session(engine) as session:
        before = session.scalar(
            select(model).order_by(*keyset.order_by()).offset((page - 1) * page_size - 1).limit(1)
        )
        cursor = keyset.cursor(page, before)
    return f"{path}?cursor={cursor}&page_size={page_size}"


def _timed(call: Callable[[], object], runs: int = 5) -> float:
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = call()
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.get_data()[:200]!r}")
    return sorted(times)[len(times) // 2]


def registrar_page_ratio(engine: Engine) -> float:
    """The registrar's enrollments page, its last page reached by its links, against its first
    page, for each order the page offers (newest signed first, by name, by expected
    graduation); the worst. The page's own links carry the key of the row a page follows, as a
    registrar clicking through would hold them; the page by number alone is printed beside."""
    import re  # noqa: PLC0415

    from app.auth.passwords import hash_password  # noqa: PLC0415
    from app.pages.registrar.enrollments import PER_PAGE  # noqa: PLC0415
    from wsgi import app  # noqa: PLC0415 - built only here, on the bench's schema

    password = "bench-registrar-page-password"  # noqa: S105 - an account of the bench schema
    with Session(engine) as session:
        user = User(
            email="bench-registrar-page@school.example",
            name="Bench",
            role=Role.REGISTRAR,
            password_hash=hash_password(password),
        )
        session.add(user)
        session.commit()
        email = user.email
    client = app.test_client()
    csrf = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
    token = csrf.search(client.get("/sign-in").get_data(as_text=True)).group(1)
    signed_in = client.post(
        "/sign-in", data={"email": email, "password": password, "csrf_token": token}
    )
    if signed_in.status_code != 302:
        raise RuntimeError(f"the bench registrar could not sign in: {signed_in.status_code}")
    statements: list[str] = []
    event.listen(Engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    worst = 0.0
    for sort in ("signed", "name", "expected_graduation"):
        first_address = f"/registrar/enrollments?sort={sort}&order=desc"
        with engine.connect() as connection:
            total = connection.scalar(text("SELECT count(*) FROM enrollments"))
        last_page = max(1, -(-total // PER_PAGE))
        # The link to the last page, as the page before it shows it.
        before_last = _address_of_page(client, first_address, last_page - 1)
        deep_address = _next_link(client.get(before_last).get_data(as_text=True))
        numbered_address = f"{first_address}&page={last_page}"
        first_time, deep_time = _timed_pair(
            lambda a=first_address: client.get(a), lambda a=deep_address: client.get(a)
        )
        statements.clear()
        client.get(deep_address)
        per_page = len(statements)
        numbered = _timed(lambda a=numbered_address: client.get(a), runs=3)
        ratio = deep_time / first_time
        worst = max(worst, ratio)
        _progress(
            f"/registrar/enrollments sort={sort}: first page {first_time * 1000:.1f} ms,"
            f" page {last_page} by its link {deep_time * 1000:.1f} ms,"
            f" by number alone {numbered * 1000:.1f} ms"
        )
        print(f"statements_per_page_registrar_enrollments_{sort}={per_page}")
        print(f"list_deep_registrar_enrollments_{sort}_ratio={ratio:.2f}")
    return worst


def _next_link(body: str) -> str:
    import html  # noqa: PLC0415
    import re  # noqa: PLC0415

    match = re.search(r'rel="next" href="([^"]+)"', body)
    if match is None:
        raise RuntimeError("the page has no next link")
    return html.unescape(match.group(1))


def _address_of_page(client, first_address: str, number: int) -> str:
    """The address of page ``number`` as the page before it (read by number) links to it."""
    before = client.get(f"{first_address}&page={number - 1}").get_data(as_text=True)
    address = _next_link(before)
    if f"page={number}" not in address or "after=" not in address:
        raise RuntimeError(f"page {number - 1} links to {address}, not page {number} by key")
    return address


def _timed_pair(
    first: Callable[[], Any], deep: Callable[[], Any], runs: int = 11
) -> tuple[float, float]:
    """``_alternating`` for two requests, each of which must answer 200."""

    def answered(call: Callable[[], Any]) -> Callable[[], None]:
        def checked() -> None:
            response = call()
            if response.status_code != 200:
                raise RuntimeError(f"{response.status_code}: {response.get_data()[:200]!r}")

        return checked

    return _alternating(answered(first), answered(deep), runs)


def _alternating(
    first: Callable[[], object], second: Callable[[], object], runs: int = 11
) -> tuple[float, float]:
    """The median times of ``first`` and ``second``, after one warm-up call each, called in
    turn, each going first in every other round (the machine's load, and whatever the call
    before leaves behind, then weigh on both alike)."""
    first(), second()
    times: tuple[list[float], list[float]] = ([], [])
    for round_number in range(runs):
        pair = [(first, times[0]), (second, times[1])]
        for call, kept in pair if round_number % 2 == 0 else pair[::-1]:
            started = time.perf_counter()
            call()
            kept.append(time.perf_counter() - started)
    return tuple(sorted(kept)[runs // 2] for kept in times)


# --- the executor -----------------------------------------------------------------------------


@contextmanager
def local_stripe() -> Iterator[str]:
    """The local Stripe-compatible server on a free port; yields its base address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "app.demo_provider",
                "serve",
                "--port",
                str(port),
                "--state",
                str(Path(directory, "state.pickle")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
                [sys.executable, "-m", "app.demo_provider", "wait", "--port", str(port)],
                check=True,
            )
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=30)


def executor_cpu_ratio(engine: Engine, refunds: int, rounds: int = 5) -> float:
    """The executor's CPU for ``refunds`` approved refunds over a bare SDK loop's making the
    same calls, each the median of ``rounds`` rounds, in turn, each going first in every other
    round (the CPU a process spends on the same work varies by a third from one batch to the
    next)."""
    # The application's logging (set up by the list measure) would log every SDK request.
    logging.getLogger("stripe").setLevel(logging.WARNING)
    with local_stripe() as base:
        client = make_stripe_client("sk_test_bench", api_base=base)
        customer = client.v1.customers.create(params={"email": "bench@example.org"}).id
        gateway = StripeGateway(client)

        def run_executor() -> float:
            claims = _claims_without_refunds(engine, refunds)
            _approve(engine, claims, [_paid_intent(client, customer, c) for _, c in claims])
            started = time.process_time()
            result = execute_refunds(sessionmaker(engine), gateway, limit=refunds + 1)
            cpu = time.process_time() - started
            if result.succeeded != refunds:
                raise RuntimeError(f"the executor paid {result.succeeded} of {refunds}: {result}")
            return cpu

        def run_bare(round_number: int) -> float:
            intents = [_paid_intent(client, customer, "eur") for _ in range(refunds)]
            started = time.process_time()
            for number, intent in enumerate(intents):
                list(client.v1.refunds.list(params={"payment_intent": intent}).auto_paging_iter())
                client.v1.payment_intents.retrieve(intent)
                client.v1.refunds.create(
                    params={
                        "payment_intent": intent,
                        "amount": 1000,
                        "metadata": {"n": str(number)},
                    },
                    options={"idempotency_key": f"bare-{round_number}-{number}"},
                )
            return time.process_time() - started

        executor_times, bare_times = [], []
        for round_number in range(rounds):
            pair = [
                lambda: executor_times.append(run_executor()),
                lambda n=round_number: bare_times.append(run_bare(n)),
            ]
            for run in pair if round_number % 2 == 0 else pair[::-1]:
                run()
    executor_cpu, bare_cpu = statistics.median(executor_times), statistics.median(bare_times)
    _progress(
        f"executor: {executor_cpu:.2f} s CPU for {refunds} refunds; bare SDK loop:"
        f" {bare_cpu:.2f} s CPU (medians of {rounds} rounds:"
        f" {', '.join(f'{t:.2f}' for t in executor_times)} against"
        f" {', '.join(f'{t:.2f}' for t in bare_times)})"
    )
    return executor_cpu / bare_cpu


def _paid_intent(client, customer: str, currency: str) -> str:
    return client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": currency.lower(),
            "customer": customer,
            "payment_method": "pm_card_visa",
            "payment_method_types": ["card"],
            "confirm": True,
        }
    ).id


def _claims_without_refunds(engine: Engine, count: int) -> list[tuple[int, str]]:
    with Session(engine) as session:
        return session.execute(
            select(RefundClaim.id, RefundClaim.currency)
            .where(~exists().where(Refund.claim_id == RefundClaim.id))
            .order_by(RefundClaim.id)
            .limit(count)
        ).all()


def _approve(engine: Engine, claims: list[tuple[int, str]], intents: list[str]) -> None:
    """Each claim approved with one pending refund of a new payment, as approval writes it."""
    with Session(engine) as session:
        for (claim_id, currency), intent in zip(claims, intents, strict=True):
            claim = session.get(RefundClaim, claim_id)
            payment = TuitionPayment(
                enrollment_id=claim.enrollment_id,
                amount_minor=1000,
                currency=currency,
                paid_at=datetime(2025, 1, 1, tzinfo=UTC),
                payer_type="student",
                stripe_payment_intent_id=intent,
            )
            session.add(payment)
            session.flush()
            claim.state = ClaimState.APPROVED
            session.add(
                Refund(
                    claim_id=claim.id,
                    payment_id=payment.id,
                    amount_minor=1000,
                    currency=currency,
                    idempotency_key=f"claim-{claim.id}-payment-{payment.id}-try-1",
                )
            )
        session.commit()


# --- the run ----------------------------------------------------------------------------------


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    graduations = int(os.environ.get("BENCH_SCHOOL_GRADUATIONS", "200000"))
    import_rows_count = int(os.environ.get("BENCH_IMPORT_ROWS", "20000"))
    requests = int(os.environ.get("BENCH_REQUESTS", "2000"))
    refunds = int(os.environ.get("BENCH_REFUNDS", "100"))
    only = [name for name in os.environ.get("BENCH_RECORDS_ONLY", "").split(",") if name] or [
        "import",
        "single_get",
        "lists",
        "registrar_lists",
        "executor",
    ]
    signal.signal(signal.SIGTERM, _stop)
    with school_data.built_school(url, graduations, _progress) as school:
        engine = school.engine
        os.environ["DATABASE_URL"] = school.url
        tokens = {role: api_token(engine, role) for role in (Role.REGISTRAR, Role.FINANCE)}
        measures: dict[str, tuple[str, Callable[[], float]]] = {
            "import": ("import_ratio", lambda: import_ratio(engine, import_rows_count)),
            "single_get": (
                "single_get_ratio",
                lambda: single_get_ratio(
                    engine, url, tokens[Role.REGISTRAR], graduations, requests
                ),
            ),
            "lists": ("list_deep_ratio", lambda: list_deep_ratio(engine, tokens)),
            "registrar_lists": ("registrar_list_deep_ratio", lambda: registrar_page_ratio(engine)),
            "executor": ("executor_cpu_ratio", lambda: executor_cpu_ratio(engine, refunds)),
        }
        ratios = {name: measure() for key, (name, measure) in measures.items() if key in only}
    for name, ratio in ratios.items():
        print(f"{name}={ratio:.2f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
