"""The Flask application: ``create_app`` builds it for the web server, the CLI and the tests."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path

from flask import Flask, request, request_tearing_down
from flask.sansio.scaffold import _sentinel
from werkzeug.middleware.proxy_fix import ProxyFix

from config import load_settings


class Application(Flask):
    """Flask, asking once per function, not on every call, whether it is a coroutine function,
    and running for an API read by a bearer token only the hooks that concern it.

    Flask asks it of every hook and the view on every request (some twenty times for an API
    read); the hooks and views are the same functions from one request to the next.

    Hooks registered inside ``hooks_not_for_api_reads`` are left out of such a read
    (``app.database.reads_only``): the browser's CSRF check, the rate limiter's, the session
    cookie's and the pages' hooks, which find nothing to do there.
    """

    #: The most functions whose answer is kept (every hook, view and error handler fits).
    REMEMBERED = 1024

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._synchronous: dict = {}
        #: The hooks an API read by a bearer token does not run.
        self.not_for_api_reads: set[Callable] = set()
        #: Each list of hooks as an API read runs it, by the list's identity and length.
        self._api_read_hooks: dict[int, tuple[int, list[Callable]]] = {}

    @contextmanager
    def hooks_not_for_api_reads(self) -> Iterator[None]:
        """The before-, after- and teardown-request hooks registered inside are not run for an
        API read by a bearer token."""
        registered = set(self._request_hooks())
        yield
        self.not_for_api_reads.update(
            hook for hook in self._request_hooks() if hook not in registered
        )

    def _request_hooks(self) -> Iterator[Callable]:
        for registry in (
            self.before_request_funcs,
            self.after_request_funcs,
            self.teardown_request_funcs,
        ):
            yield from chain.from_iterable(registry.values())

    def _hooks(self, registry: dict, name: str | None, api_read: bool) -> list[Callable]:
        hooks = registry.get(name)
        if not hooks or not api_read:
            return hooks or []
        kept = self._api_read_hooks.get(id(hooks))
        if kept is None or kept[0] != len(hooks):
            kept = self._api_read_hooks[id(hooks)] = (
                len(hooks),
                [hook for hook in hooks if hook not in self.not_for_api_reads],
            )
        return kept[1]

    def preprocess_request(self):
        # Flask's, with the hooks of an API read.
        from app.database import reads_only

        current = request._get_current_object()
        api_read = reads_only()
        names = (None, *reversed(current.blueprints))
        for name in names:
            for url_func in self.url_value_preprocessors.get(name, ()):
                url_func(current.endpoint, current.view_args)
        for name in names:
            for before_func in self._hooks(self.before_request_funcs, name, api_read):
                answer = self.ensure_sync(before_func)()
                if answer is not None:
                    return answer
        return None

    def process_response(self, response):
        # Flask's, with the hooks of an API read.
        from flask.globals import request_ctx

        from app.database import reads_only

        context = request_ctx._get_current_object()
        api_read = reads_only()
        for func in context._after_request_functions:
            response = self.ensure_sync(func)(response)
        for name in chain(context.request.blueprints, (None,)):
            for func in reversed(self._hooks(self.after_request_funcs, name, api_read)):
                response = self.ensure_sync(func)(response)
        if not self.session_interface.is_null_session(context._session):
            self.session_interface.save_session(self, context._session, response)
        return response

    def do_teardown_request(self, exc=_sentinel):
        # Flask's, with the hooks of an API read.
        from app.database import reads_only

        if exc is _sentinel:
            exc = sys.exc_info()[1]
        api_read = reads_only()
        for name in chain(request.blueprints, (None,)):
            for func in reversed(self._hooks(self.teardown_request_funcs, name, api_read)):
                self.ensure_sync(func)(exc)
        request_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    def ensure_sync(self, func):
        made = self._synchronous.get(func)
        if made is None:
            made = super().ensure_sync(func)
            if len(self._synchronous) < self.REMEMBERED:
                self._synchronous[func] = made
        return made


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application; ``test_config`` overrides settings (tests, scripts)."""
    app = Application(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    settings = load_settings(Path(app.instance_path))
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        DATA_ENCRYPTION_KEYS=settings.data_encryption_keys,
        DATABASE_URL=settings.database_url,
        SETTINGS=settings,
        DUAL_APPROVAL_THRESHOLD_MINOR=settings.dual_approval_threshold_minor,
        STRIPE_API_KEY=settings.stripe_api_key,
        STRIPE_API_BASE=settings.stripe_api_base,
        STRIPE_WEBHOOK_SECRET=settings.stripe_webhook_secret,
        SMTP_HOST=settings.smtp_host,
        SMTP_PORT=settings.smtp_port,
        SMTP_USERNAME=settings.smtp_username,
        SMTP_PASSWORD=settings.smtp_password,
        SMTP_STARTTLS=settings.smtp_starttls,
        SCHOOL_NAME=settings.school_name,
        MAIL_FROM=settings.mail_from,
        MAIL_REPLY_TO=settings.mail_reply_to,
        BASE_URL=settings.base_url,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_KEY_PREFIX=settings.ratelimit_key_prefix,
        PROXY_COUNT=settings.proxy_count,
        LOG_FORMAT=settings.log_format,
        METRICS_TOKEN=settings.metrics_token,
        PUBLIC_REPORT_THRESHOLD=settings.public_report_threshold,
        DEFAULT_LOCALE=settings.default_locale,
        DEFAULT_TIMEZONE=settings.default_timezone,
        INVITATION_DAYS=settings.invitation_days,
        PASSWORD_RESET_MINUTES=settings.password_reset_minutes,
        DOCUMENTS_DIR=settings.documents_dir,
        DOCUMENTS_MAX_BYTES=settings.documents_max_bytes,
        # Flask has defaults for these, so they are set here rather than "if missing".
        SESSION_COOKIE_NAME="jg_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.environment == "production",
    )
    if test_config:
        app.config.update(test_config)
    if app.config["PROXY_COUNT"]:
        # Behind trusted proxies the client's address and scheme are theirs to report: rate
        # limits and the audit log then see the real client, not the proxy.
        proxies = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    from app import observability
    from app.auth import sealing

    observability.configure_logging(app.config["LOG_FORMAT"])
    sealing.init_app(app)

    from app.database import Database

    Database(app.config["DATABASE_URL"]).init_app(app)

    from app import api, auth, cli, demo, health, i18n, metrics, pages
    from jobs import commands

    observability.init_app(app)  # first: it times and names every request
    auth.init_app(app)
    i18n.init_app(app)
    api.init_app(app)
    pages.init_app(app)
    health.init_app(app)
    metrics.init_app(app)
    cli.init_app(app)
    demo.init_app(app)
    commands.init_app(app)
    return app
