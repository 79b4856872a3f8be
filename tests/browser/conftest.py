"""Fixtures for the browser tests: the real app on a loopback port, driven by Debian's Chromium.

- ``live_server``: ``create_app`` on a database of the test's own whose commits are real, served
  by werkzeug in a background thread, sending email to the run's SMTP server and refunds to
  localstripe. Seed it with ``live_server.seeding()``.
- ``open_window``: ``open_window()`` opens a browser window (a context of its own, so its own
  cookies: one person) on the live server; every page it shows is screenshotted, full page, into
  ``tests/artifacts/<test name>/<NN>-<step>.png``.

The browser is pytest-playwright's ``browser``, launched from ``/usr/bin/chromium`` (``make
test`` installs it); Playwright never downloads one here.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, Response, expect
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from app import create_app
from tests import factories
from tests.factories import TEST_PASSWORD, TEST_TOTP_SECRET
from tests.stripe_harness import TEST_API_KEY

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

#: How long one step (a click, a page load, an expectation) may take: generous, since a
#: loaded two-core machine (the suite beside other work) can take seconds to hash a password
#: and render; a step that never happens still fails.
STEP_TIMEOUT_MS = 15_000

#: Claims above this (minor units) need two approvers: low, so that a seeded claim does.
DUAL_APPROVAL_THRESHOLD_MINOR = 100_000

expect.set_options(timeout=STEP_TIMEOUT_MS)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args) -> dict:
    """Launch Debian's Chromium, never a browser Playwright would download."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"The browser tests need Chromium at {CHROMIUM}, which is missing: `make test` "
            "installs it (apt-get install chromium). Never run `playwright install`.",
            pytrace=False,
        )
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@dataclass
class LiveServer:
    """The application being served, and where."""

    app: Flask
    url: str

    @property
    def sessionmaker(self) -> sessionmaker:
        """The application's own session factory (the refund executor runs on it)."""
        return self.app.extensions["database"].sessionmaker

    @contextmanager
    def seeding(self) -> Iterator[Session]:
        """A session the factories write through, really committed when the block ends, in the
        app's context (its keys seal what the demo's accounts keep)."""
        with self.app.app_context(), self.sessionmaker() as session:
            factories.use_session(session)
            try:
                yield session
                session.commit()
            finally:
                factories.use_session(None)


@pytest.fixture
def live_server(committed_database, mail_server, localstripe_url, tmp_path) -> Iterator[LiveServer]:
    """The real application served on a free loopback port for the length of one test."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": committed_database[0],
            # Fixed, so that a link signed by one request verifies in another.
            "SECRET_KEY": "browser-tests-secret-key",
            "SMTP_HOST": mail_server.host,
            "SMTP_PORT": mail_server.port,
            "SMTP_STARTTLS": False,
            "SMTP_USERNAME": None,
            "STRIPE_API_KEY": TEST_API_KEY,
            "STRIPE_API_BASE": localstripe_url,
            "DUAL_APPROVAL_THRESHOLD_MINOR": DUAL_APPROVAL_THRESHOLD_MINOR,
            # Every test signs in from 127.0.0.1 in one process: a limit nobody reaches.
            "SIGN_IN_RATE_LIMIT": "100000 per minute",
            "DOCUMENTS_DIR": str(tmp_path / "documents"),
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.port}"
    app.config["BASE_URL"] = url  # emailed links lead back to this server
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server"
    )
    thread.start()
    mail_server.clear()
    try:
        yield LiveServer(app, url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.extensions["database"].dispose()


class Screenshots:
    """Full-page screenshots of one test, numbered in the order they were taken."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.taken = 0

    def take(self, page: Page, step: str) -> Path:
        self.taken += 1
        path = self.directory / f"{self.taken:02d}-{step}.png"
        page.wait_for_load_state()
        page.screenshot(path=path, full_page=True)
        return path


@pytest.fixture
def screenshots(request) -> Screenshots:
    """This test's screenshot folder, emptied of an earlier run's pictures."""
    directory = ARTIFACTS / request.node.originalname
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return Screenshots(directory)


class Window:
    """One person's browser window on the live server: a page, and what they do on it."""

    def __init__(self, page: Page, screenshots: Screenshots):
        self.page = page
        self.screenshots = screenshots

    def visit(self, path_or_url: str, step: str) -> Response:
        """Open a page (a path on the live server, or a full URL) and screenshot it."""
        response = self.page.goto(path_or_url)
        assert response is not None, f"no response from {path_or_url}"
        self.shot(step)
        return response

    def shot(self, step: str) -> Path:
        """Screenshot the page as it is now."""
        return self.screenshots.take(self.page, step)

    def sign_in(
        self,
        email: str,
        step: str,
        password: str = TEST_PASSWORD,
        totp_secret: str = TEST_TOTP_SECRET,
    ) -> None:
        """Sign in through the form, typing into the labelled fields; when the app asks for the
        second factor, type the code an authenticator with ``totp_secret`` shows."""
        self.visit("/sign-in", f"{step}-form")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        signed_in = self.page.get_by_role("button", name="Sign out")
        asks_code = self.page.get_by_role("heading", name="Your code")
        expect(signed_in.or_(asks_code)).to_be_visible()
        if asks_code.is_visible():
            self.give_code(totp_secret, step)
        expect(signed_in).to_be_visible()
        self.shot(step)

    def give_code(self, totp_secret: str, step: str) -> None:
        """Type the authenticator's code; the next step's code if this one was used already (a
        code signs in once)."""
        totp = pyotp.TOTP(totp_secret)
        now = totp.timecode(datetime.now(UTC))
        for counter in (now, now + 1):
            self.page.get_by_label("Code from your app, or a recovery code").fill(
                totp.generate_otp(counter)
            )
            self.shot(f"{step}-code")
            self.page.get_by_role("button", name="Sign in").click()
            if not self.page.get_by_role("heading", name="Your code").is_visible():
                return

    def sign_out(self, step: str) -> None:
        """Sign out from the header's button."""
        self.page.get_by_role("button", name="Sign out").click()
        expect(self.page.get_by_text("You are signed out.")).to_be_visible()
        self.shot(step)


@pytest.fixture
def open_window(
    browser: Browser, live_server: LiveServer, screenshots: Screenshots
) -> Iterator[Callable[..., Window]]:
    """``open_window(**context_options)``: a new browser window, closed before the server stops.

    The browser asks for British English unless told otherwise (``locale="fr-CA"``): the
    journeys read dates and amounts as en_GB writes them."""
    contexts = []

    def open_(**options) -> Window:
        options.setdefault("locale", "en-GB")
        context = browser.new_context(base_url=live_server.url, **options)
        contexts.append(context)
        context.set_default_timeout(STEP_TIMEOUT_MS)
        context.set_default_navigation_timeout(2 * STEP_TIMEOUT_MS)
        return Window(context.new_page(), screenshots)

    yield open_
    for context in contexts:
        context.close()
