"""Every setting the service reads, its environment variable and its default.

Secrets (``SECRET_KEY``, ``DATA_ENCRYPTION_KEYS``, ``STRIPE_API_KEY``, ``STRIPE_WEBHOOK_SECRET``,
``METRICS_TOKEN``) only ever come from the environment. The README lists each variable below.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import available_timezones

from cryptography.fernet import Fernet


def _default_database_url(instance_path: Path) -> str:
    return f"sqlite:///{instance_path / 'jobguarantee.sqlite3'}"


@dataclass(frozen=True)
class Settings:
    """The service's settings; ``load_settings`` fills them from the environment."""

    #: SQLAlchemy URL of the database; ``postgresql+psycopg://...`` selects PostgreSQL.
    database_url: str
    #: Key that signs sessions and links. Required in production; in development, without
    #: one, a random key is made once and kept in the instance folder, so that every process
    #: (the web workers, the scheduler, the CLI) signs with the same key.
    secret_key: str
    #: Fernet keys that seal the secrets the database keeps (the authenticator secrets of the
    #: second factor): the first seals, every one opens, so a new key goes first and the old
    #: one stays until ``flask accounts reseal-secrets`` has run. Required in production; in
    #: development, without any, one is made once and kept in the instance folder.
    data_encryption_keys: tuple[str, ...] = field(repr=False)
    #: ``development`` or ``production``.
    environment: str = "development"
    #: Stripe secret key; unset in the demo, which then talks to a local Stripe-compatible server.
    stripe_api_key: str | None = None
    #: Base URL of the Stripe API (a local server in the demo and the tests).
    stripe_api_base: str | None = None
    #: Secret that signs Stripe webhooks.
    stripe_webhook_secret: str | None = None
    #: Time of day (UTC, HH:MM) at which the daily sweep runs.
    sweep_time: str = "02:00"
    #: Claims above this amount (minor units, any currency) need two different approvers.
    dual_approval_threshold_minor: int = 500_000
    #: Seconds between runs of the refund executor.
    executor_interval_seconds: int = 120
    #: SMTP server that sends email (hire confirmations, reminders).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    #: The school's name, as graduates know it: in every email's sender name and text.
    school_name: str = "Northbridge School of Technology"
    #: Sender of the service's email: an address the school reads, with or without a display
    #: name (without one, the sender shows as "<school name> Job Guarantee").
    mail_from: str = "guarantee@northbridge.example"
    #: Where replies to the service's email go; the sender's address unless set.
    mail_reply_to: str | None = None
    #: Public address of the service, used in emailed links.
    base_url: str = "http://127.0.0.1:5000"
    #: Days before the guarantee deadline on which a graduate still searching is reminded of
    #: it, e.g. ``(30, 7)``: one email at 30 days left, another at 7.
    reminder_days_before_deadline: tuple[int, ...] = (30, 7)
    #: Days after a hire confirmation was requested, and between reminders, before the
    #: employer is reminded.
    employer_reminder_after_days: int = 7
    #: Most reminders an employer gets for one confirmation (0: none).
    employer_reminder_limit: int = 2
    #: Time of day (UTC, HH:MM) at which reminders are emailed; an hour after the sweep unless
    #: set, so that the claims it flags are announced the same day.
    reminder_time: str = "03:00"
    #: Seconds between the scheduler's checks that it still holds its lock (at most 60).
    scheduler_heartbeat_seconds: int = 30
    #: ``/readyz`` fails when no scheduler has beaten for this many seconds.
    scheduler_heartbeat_stale_seconds: int = 120
    #: Largest request body accepted (bytes), pages and API alike; the CSV import has its own,
    #: larger bound (``IMPORT_MAX_BYTES``, 5 MiB).
    max_request_bytes: int = 1024 * 1024
    #: Where rate limits count: ``memory://`` (one process: fine for ``make run``) or a store
    #: every instance shares, such as ``redis://127.0.0.1:6379``.
    ratelimit_storage_uri: str = "memory://"
    #: Prefix of the rate limits' keys, for deployments (or test runs) sharing one store.
    ratelimit_key_prefix: str = ""
    #: Reverse proxies in front of the service that set ``X-Forwarded-For`` and
    #: ``X-Forwarded-Proto`` (0: none, the client's own address is used).
    proxy_count: int = 0
    #: ``text`` (plain lines) or ``json`` (one JSON object per line, one line per request with
    #: its request id, user, route, status and duration).
    log_format: str = "text"
    #: Bearer token a Prometheus scraper sends to ``/metrics``; unset, ``/metrics`` is off.
    metrics_token: str | None = None
    #: The public outcomes page shows no figure resting on fewer graduates than this.
    public_report_threshold: int = 10
    #: Locale of people who chose none and whose browser asks for no supported one
    #: (``en_GB``, ``en_US``, ``en_CA``, ``fr_FR``, ``fr_CA``).
    default_locale: str = "en_GB"
    #: Time zone of people who chose none and whose country says none (an IANA name).
    default_timezone: str = "Europe/Paris"
    #: Days an emailed invitation (its set-password link) stays valid.
    invitation_days: int = 7
    #: Minutes a forgot-password link (and an email-change link) stays valid.
    password_reset_minutes: int = 60
    #: The folder evidence documents' files are kept in (outside the database); the instance
    #: folder's ``documents`` unless set.
    documents_dir: str = ""
    #: Largest evidence document accepted (bytes).
    documents_max_bytes: int = 10 * 1024 * 1024
    #: Extra values (tests) merged into the Flask config as they are.
    overrides: dict = field(default_factory=dict)


def _instance_secret_key(instance_path: Path) -> str:
    """This machine's development key: made once, readable only by its owner, never committed."""
    return _instance_file(instance_path / "secret_key", lambda: secrets.token_hex(32))


def _instance_data_encryption_key(instance_path: Path) -> str:
    """This machine's development data encryption key, kept like its secret key."""
    return _instance_file(
        instance_path / "data_encryption_key", lambda: Fernet.generate_key().decode("ascii")
    )


def _instance_file(path: Path, make: Callable[[], str]) -> str:
    """The text of ``path``, made with ``make()`` first if it does not exist yet: written whole
    to a file of this process, then linked to ``path``, so that no process ever reads it half
    written and the first one to link it wins. Readable only by its owner."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(make())
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first
        finally:
            draft.unlink()
    return path.read_text().strip()


def _data_encryption_keys(env, environment: str, instance_path: Path) -> tuple[str, ...]:
    """``DATA_ENCRYPTION_KEYS``: Fernet keys separated by commas, each checked; the instance
    folder's development key when unset outside production. The error never shows a key."""
    keys = tuple(
        key.strip() for key in env.get("DATA_ENCRYPTION_KEYS", "").split(",") if key.strip()
    )
    if not keys:
        if environment == "production":
            raise RuntimeError("DATA_ENCRYPTION_KEYS must be set in production")
        return (_instance_data_encryption_key(instance_path),)
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise RuntimeError(
                f"DATA_ENCRYPTION_KEYS: key {position} of {len(keys)} is not a Fernet key (32"
                " url-safe base64-encoded bytes; make one with `python -c 'from"
                " cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
            ) from None
    return keys


def _time_of_day(env, name: str, default: str) -> str:
    """``HH:MM`` (24-hour clock) from ``env[name]``; a clear error for anything else."""
    value = env.get(name) or default
    match = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", value.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise RuntimeError(f"{name} must be a time of day as HH:MM (UTC), not {value!r}")
    return f"{int(match[1]):02d}:{match[2]}"


def _an_hour_after(time_of_day: str) -> str:
    hour, minute = time_of_day.split(":")
    return f"{(int(hour) + 1) % 24:02d}:{minute}"


def _whole_number(env, name: str, default: int, *, minimum: int, maximum: int = 3650) -> int:
    """A whole number within ``minimum``..``maximum`` from ``env[name]``; else a clear error."""
    value = env.get(name) or str(default)
    if not re.fullmatch(r"[0-9]{1,9}", value.strip()) or not minimum <= int(value) <= maximum:
        raise RuntimeError(
            f"{name} must be a whole number from {minimum} to {maximum}, not {value!r}"
        )
    return int(value)


def _one_of(env, name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first by default) from ``env[name]``; else a clear error."""
    value = (env.get(name) or choices[0]).strip().lower()
    if value not in choices:
        raise RuntimeError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


#: The locales the pages are written for (``app.i18n.LOCALES`` names them).
LOCALES = ("en_GB", "en_US", "en_CA", "fr_FR", "fr_CA")


def _locale(env, name: str, default: str) -> str:
    """A supported locale such as ``fr_FR`` (``fr-FR`` accepted); else a clear error."""
    value = (env.get(name) or default).strip().replace("-", "_")
    if value not in LOCALES:
        raise RuntimeError(f"{name} must be one of {', '.join(LOCALES)}, not {value!r}")
    return value


def _time_zone(env, name: str, default: str) -> str:
    """An IANA time zone name such as ``Europe/Paris``; else a clear error."""
    value = (env.get(name) or default).strip()
    if value not in available_timezones():
        raise RuntimeError(f"{name} must be an IANA time zone such as Europe/Paris, not {value!r}")
    return value


def _days_list(env, name: str, default: str) -> tuple[int, ...]:
    """Comma-separated whole numbers of days, largest first; empty for none."""
    value = env.get(name, default)
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if not all(re.fullmatch(r"[0-9]{1,4}", part) for part in parts):
        raise RuntimeError(
            f"{name} must be whole numbers of days separated by commas, like 30,7, not {value!r}"
        )
    return tuple(sorted({int(part) for part in parts}, reverse=True))


def load_settings(instance_path: Path, environ: os._Environ | dict | None = None) -> Settings:
    """Read the settings from ``environ`` (the process environment by default)."""
    env = os.environ if environ is None else environ
    environment = env.get("JOB_GUARANTEE_ENV", "development")
    secret_key = env.get("SECRET_KEY")
    if not secret_key:
        if environment == "production":
            raise RuntimeError("SECRET_KEY must be set in production")
        secret_key = _instance_secret_key(instance_path)
    return Settings(
        database_url=env.get("DATABASE_URL") or _default_database_url(instance_path),
        secret_key=secret_key,
        data_encryption_keys=_data_encryption_keys(env, environment, instance_path),
        environment=environment,
        stripe_api_key=env.get("STRIPE_API_KEY") or None,
        stripe_api_base=env.get("STRIPE_API_BASE") or None,
        stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
        sweep_time=_time_of_day(env, "SWEEP_TIME", "02:00"),
        dual_approval_threshold_minor=int(env.get("DUAL_APPROVAL_THRESHOLD_MINOR", "500000")),
        executor_interval_seconds=int(env.get("EXECUTOR_INTERVAL_SECONDS", "120")),
        smtp_host=env.get("SMTP_HOST", "127.0.0.1"),
        smtp_port=int(env.get("SMTP_PORT", "8025")),
        smtp_username=env.get("SMTP_USERNAME") or None,
        smtp_password=env.get("SMTP_PASSWORD") or None,
        smtp_starttls=env.get("SMTP_STARTTLS", "") in ("1", "true", "yes"),
        school_name=(env.get("SCHOOL_NAME") or "").strip() or "Northbridge School of Technology",
        mail_from=env.get("MAIL_FROM") or "guarantee@northbridge.example",
        mail_reply_to=env.get("MAIL_REPLY_TO") or None,
        base_url=env.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        reminder_days_before_deadline=_days_list(env, "REMINDER_DAYS_BEFORE_DEADLINE", "30,7"),
        employer_reminder_after_days=_whole_number(
            env, "EMPLOYER_REMINDER_AFTER_DAYS", 7, minimum=1
        ),
        employer_reminder_limit=_whole_number(env, "EMPLOYER_REMINDER_LIMIT", 2, minimum=0),
        reminder_time=_time_of_day(
            env, "REMINDER_TIME", _an_hour_after(_time_of_day(env, "SWEEP_TIME", "02:00"))
        ),
        max_request_bytes=_whole_number(
            env, "MAX_REQUEST_BYTES", 1024 * 1024, minimum=1024, maximum=100 * 1024 * 1024
        ),
        ratelimit_storage_uri=env.get("RATELIMIT_STORAGE_URI") or "memory://",
        ratelimit_key_prefix=env.get("RATELIMIT_KEY_PREFIX", ""),
        proxy_count=_whole_number(env, "PROXY_COUNT", 0, minimum=0, maximum=5),
        log_format=_one_of(env, "LOG_FORMAT", ("text", "json")),
        metrics_token=env.get("METRICS_TOKEN") or None,
        scheduler_heartbeat_seconds=_whole_number(
            env, "SCHEDULER_HEARTBEAT_SECONDS", 30, minimum=1, maximum=60
        ),
        scheduler_heartbeat_stale_seconds=_whole_number(
            env, "SCHEDULER_HEARTBEAT_STALE_SECONDS", 120, minimum=2, maximum=86400
        ),
        public_report_threshold=_whole_number(
            env, "PUBLIC_REPORT_THRESHOLD", 10, minimum=2, maximum=1000
        ),
        default_locale=_locale(env, "DEFAULT_LOCALE", "en_GB"),
        default_timezone=_time_zone(env, "DEFAULT_TIMEZONE", "Europe/Paris"),
        invitation_days=_whole_number(env, "INVITATION_DAYS", 7, minimum=1, maximum=30),
        password_reset_minutes=_whole_number(
            env, "PASSWORD_RESET_MINUTES", 60, minimum=5, maximum=1440
        ),
        documents_dir=env.get("DOCUMENTS_DIR") or str(instance_path / "documents"),
        documents_max_bytes=_whole_number(
            env, "DOCUMENTS_MAX_BYTES", 10 * 1024 * 1024, minimum=1024, maximum=100 * 1024 * 1024
        ),
    )
