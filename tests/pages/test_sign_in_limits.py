"""Sign-in limits that a guesser cannot turn against the account's owner, counted on the client
address a trusted proxy reports, and shared by every instance through Redis."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from app import create_app
from app.auth import limiter
from app.models import AuditEvent
from tests.factories import TEST_PASSWORD, UserFactory
from tests.pages.conftest import post_form

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")


def attempt(client, email: str, password: str, address: str = "127.0.0.1", **headers):
    return post_form(
        client,
        "/sign-in",
        {"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
        headers=headers,
    )


def fail(client, email: str, times: int, address: str) -> list[int]:
    return [attempt(client, email, "not the password!", address).status_code for _ in range(times)]


def test_failures_from_one_address_lock_out_that_address_but_not_the_owner_elsewhere(
    client, session
):
    user = UserFactory()
    assert fail(client, user.email, 10, "203.0.113.66") == [401] * 10

    guesser = attempt(client, user.email, TEST_PASSWORD, "203.0.113.66")
    owner = attempt(client, user.email, TEST_PASSWORD, "198.51.100.7")

    assert guesser.status_code == 429
    assert "15 minutes" in guesser.get_data(as_text=True)
    assert owner.status_code == 302


def test_failures_from_many_addresses_slow_every_attempt_progressively_up_to_a_minute(
    client, session
):
    user = UserFactory()
    for address in ("203.0.113.1", "203.0.113.2"):
        assert fail(client, user.email, 10, address) == [401] * 10

    # 20 failures: one second after the latest; a refused attempt is no failure.
    refused = attempt(client, user.email, TEST_PASSWORD, "198.51.100.7")
    assert refused.status_code == 429
    assert wait_asked(refused) == 1
    time.sleep(1.1)
    assert fail(client, user.email, 1, "203.0.113.3") == [401]
    # 21 failures: two seconds.
    assert wait_asked(attempt(client, user.email, TEST_PASSWORD, "198.51.100.7")) in (1, 2)
    for _ in range(10):  # the guesser's failures keep coming, were they allowed
        session.add(
            AuditEvent(
                actor="anonymous",
                action="sign_in.failed",
                target=f"email:{user.email}",
                ip_address="203.0.113.4",
            )
        )
    session.flush()
    # 31 failures: at most a minute, never the 15-minute lockout.
    capped = attempt(client, user.email, TEST_PASSWORD, "198.51.100.7")
    assert capped.status_code == 429
    assert 55 <= wait_asked(capped) <= 60


def wait_asked(response) -> int:
    """The seconds the refusal asks to wait."""
    found = re.search(r"Try again in (\d+) seconds?\.", response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[:2000]
    return int(found[1])


@pytest.fixture
def limited_app(database_url, session_factory):
    """An app with the real per-address limit (10 a minute), behind one trusted proxy."""

    def make(**config):
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": database_url,
                "SIGN_IN_RATE_LIMIT": "10 per minute",
                **config,
            }
        )
        app.extensions["database"].sessionmaker = session_factory
        made.append(app)
        return app

    made = []
    limiter.reset()
    yield make
    limiter.reset()
    for app in made:
        app.extensions["database"].dispose()


def test_behind_a_trusted_proxy_the_limit_counts_the_address_the_proxy_reports(limited_app):
    client = limited_app(PROXY_COUNT=1).test_client()
    one, other = {"X-Forwarded-For": "203.0.113.9"}, {"X-Forwarded-For": "198.51.100.9"}

    statuses = [
        attempt(client, f"n{n}@example.org", "wrong password!!", **one).status_code
        for n in range(11)
    ]

    assert statuses == [401] * 10 + [429]
    assert attempt(client, "n@example.org", "wrong password!!", **other).status_code == 401


def test_without_a_proxy_a_forwarded_for_header_is_ignored(limited_app, session):
    client = limited_app().test_client()

    statuses = [
        attempt(
            client, f"n{n}@example.org", "wrong password!!", **{"X-Forwarded-For": f"10.0.0.{n}"}
        ).status_code
        for n in range(11)
    ]

    assert statuses == [401] * 10 + [429]


def redis_answers() -> bool:
    import redis

    try:
        return redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError:
        return False


SIGN_IN_TEN_TIMES = """
import sys
from app import create_app
from tests.pages.conftest import post_form
app = create_app({"TESTING": True, "SIGN_IN_RATE_LIMIT": "10 per minute",
                  "RATELIMIT_STORAGE_URI": sys.argv[1], "RATELIMIT_KEY_PREFIX": sys.argv[2]})
client = app.test_client()
for n in range(10):
    status = post_form(client, "/sign-in", {"email": f"n{n}@example.org",
                       "password": "wrong password!!"}).status_code
    assert status == 401, status
"""


def test_rate_limits_in_redis_hold_across_processes(committed_database, database_url):
    if not redis_answers():
        pytest.skip(f"no Redis answers at {REDIS_URL} (TEST_REDIS_URL): shared limits untested")
    url, _engine = committed_database
    prefix = f"jg-test-{uuid.uuid4().hex[:12]}"
    # Another instance (a process of its own) takes ten failed sign-ins from 127.0.0.1 ...
    subprocess.run(
        [sys.executable, "-c", SIGN_IN_TEN_TIMES, REDIS_URL, prefix],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        timeout=60,
    )
    # ... and this one refuses the eleventh.
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SIGN_IN_RATE_LIMIT": "10 per minute",
            "RATELIMIT_STORAGE_URI": REDIS_URL,
            "RATELIMIT_KEY_PREFIX": prefix,
        }
    )
    try:
        eleventh = attempt(app.test_client(), "n10@example.org", "wrong password!!")
    finally:
        app.extensions["database"].dispose()
        import redis

        connection = redis.Redis.from_url(REDIS_URL)
        for key in connection.scan_iter(f"*{prefix}*"):
            connection.delete(key)
    assert eleventh.status_code == 429
