"""The API served over real HTTP on a loopback port, against a database of the test's own."""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy.orm import Session
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from app.auth.tokens import create_token
from app.models import Role
from tests import factories

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class LiveApi:
    """A running server: its address, and what the test set up in its database."""

    url: str
    app: object
    session: Session

    def bearer(self, role: Role) -> dict[str, str]:
        """The header of a fresh API token of a new account of ``role``."""
        person = factories.UserFactory.build(role=role)
        self.session.add(person)
        self.session.flush()
        _token, secret = create_token(self.session, user=person, name=f"live {role.value}")
        self.session.commit()
        return {"Authorization": f"Bearer {secret}"}

    def session_cookie(self, user) -> dict[str, str]:
        """The cookies of ``user`` signed in through the sign-in page."""
        with httpx.Client(base_url=self.url) as browser:
            token = _CSRF.search(browser.get("/sign-in").text).group(1)
            signed = browser.post(
                "/sign-in",
                data={
                    "email": user.email,
                    "password": factories.TEST_PASSWORD,
                    "csrf_token": token,
                },
            )
            assert signed.status_code == 302, "could not sign in"
            if signed.headers["Location"].endswith("/sign-in/code"):
                page = browser.get("/sign-in/code").text
                signed = browser.post(
                    "/sign-in/code",
                    data={
                        "code": factories.second_factor_code(user.id, self.session),
                        "csrf_token": _CSRF.search(page).group(1),
                    },
                )
                assert signed.status_code == 302, "could not give the second factor's code"
            return dict(browser.cookies)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


@contextmanager
def serving(app) -> Iterator[str]:
    """Serve ``app`` on a free loopback port, one request at a time, until the block ends."""
    server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-api", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@contextmanager
def live_api(database_url: str, engine) -> Iterator[LiveApi]:
    """The app over HTTP on ``database_url`` (migrated, commits real), and a session on it."""
    documents = tempfile.TemporaryDirectory(prefix="documents-")
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SIGN_IN_RATE_LIMIT": "100000 per minute",
            "DOCUMENTS_DIR": documents.name,
        }
    )
    session = Session(engine, expire_on_commit=False)
    factories.use_session(session)
    try:
        with serving(app) as url:
            yield LiveApi(url=url, app=app, session=session)
    finally:
        factories.use_session(None)
        session.close()
        app.extensions["database"].dispose()
        documents.cleanup()
