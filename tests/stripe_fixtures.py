"""Fixtures for tests that drive the real Stripe SDK against localstripe.

Loaded from ``tests/conftest.py`` with ``pytest_plugins = ["tests.stripe_fixtures"]``.

- ``localstripe_url``: one localstripe per test run, started from scratch, stopped at the end.
- ``stripe_proxy``: the fault-injecting proxy in front of it, its script and records reset for
  each test; a fault scripted for a limited number of requests but not used up fails the test.
- ``stripe_client_factory``: makes ``StripeClient`` objects aimed at a URL and closes their
  connections after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
import stripe

from tests.stripe_harness import (
    FaultInjectingProxy,
    LocalstripeServer,
    LocalstripeStartError,
    make_stripe_client,
)

StripeClientFactory = Callable[..., stripe.StripeClient]


@pytest.fixture(scope="session")
def localstripe_server(tmp_path_factory) -> Iterator[LocalstripeServer]:
    """localstripe for the whole run, in a private directory; a failure to start fails loudly."""
    try:
        server = LocalstripeServer.start(tmp_path_factory.mktemp("localstripe"))
    except LocalstripeStartError as error:
        failure = f"localstripe could not start: {error}"
    else:
        failure = None
    if failure is not None:  # outside the except block, so the message is not shown twice
        pytest.fail(failure, pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def localstripe_url(localstripe_server) -> str:
    """The base URL of localstripe (``http://127.0.0.1:<port>``)."""
    return localstripe_server.url


@pytest.fixture(scope="session")
def stripe_proxy_server(localstripe_url) -> Iterator[FaultInjectingProxy]:
    """The proxy, serving for the whole run; tests use ``stripe_proxy``."""
    with FaultInjectingProxy(localstripe_url) as proxy:
        yield proxy


@pytest.fixture
def stripe_proxy(stripe_proxy_server) -> Iterator[FaultInjectingProxy]:
    """The proxy with no faults, no records and idempotent replay off."""
    stripe_proxy_server.reset()
    yield stripe_proxy_server
    unused = stripe_proxy_server.unused_faults()
    stripe_proxy_server.reset()
    if unused:
        pytest.fail(
            "faults scripted but never reached: " + "; ".join(map(str, unused)), pytrace=False
        )


@pytest.fixture
def stripe_client_factory() -> Iterator[StripeClientFactory]:
    """``make(base_url, max_network_retries=0, timeout=5.0)`` -> a ``StripeClient``.

    Each client gets its own HTTP session, closed after the test.
    """
    sessions: list[requests.Session] = []

    def make(base_url: str, **options) -> stripe.StripeClient:
        session = requests.Session()
        sessions.append(session)
        return make_stripe_client(base_url, session=session, **options)

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def localstripe_client(stripe_client_factory, localstripe_url) -> stripe.StripeClient:
    """A client talking to localstripe directly: for setting up and checking, never faulted."""
    return stripe_client_factory(localstripe_url)
