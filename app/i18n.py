"""Each person's language, number and date formats, and time zone.

The locale is the one saved on the person's account, else the best match of what their browser
asks for, else the school's (``DEFAULT_LOCALE``). Words are translated per language (English and
French catalogues under ``app/translations``); numbers, money and dates follow the whole locale,
so a reader in Quebec (``fr_CA``) sees ``6 500,00 $`` and one in Paris (``fr_FR``) ``6 500,00 €``.

Instants are stored, and served by the API, in UTC; a page shows each one in its reader's time
zone: the one saved on their account, else their country's (a graduate's search country), else
the school's (``DEFAULT_TIMEZONE``). Emails are written in the recipient's locale and time zone
(``for_account``), whoever's request or job sends them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo, available_timezones

from babel.dates import format_date
from babel.numbers import format_currency, get_currency_precision
from flask import Flask, current_app, g, has_app_context, has_request_context, request
from flask_babel import Babel, force_locale, get_locale, get_timezone, refresh
from flask_login import current_user

from refunds.amounts import describe_money

#: The locales people can choose, as their own language names them.
LOCALES = {
    "en_GB": "English (United Kingdom)",
    "en_US": "English (United States)",
    "en_CA": "English (Canada)",
    "fr_FR": "Français (France)",
    "fr_CA": "Français (Canada)",
}

#: The API's messages are English whoever calls it: they are part of its contract, with its
#: field names; amounts and instants in it are numbers and UTC, never formatted.
API_LOCALE = "en_GB"

#: A bare language in a browser's list stands for this locale.
_LANGUAGE_LOCALE = {"en": "en_GB", "fr": "fr_FR"}

#: Each country's usual time zone, for people who have not chosen one.
COUNTRY_TIMEZONES = {
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "US": "America/New_York",
    "CA": "America/Toronto",
    "BE": "Europe/Brussels",
    "CH": "Europe/Zurich",
    "DE": "Europe/Berlin",
    "ES": "Europe/Madrid",
    "IE": "Europe/Dublin",
    "IT": "Europe/Rome",
}

babel = Babel()


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # A {% trans %} block is looked up as the catalogue extracted it: its lines joined by one
    # space, so a template may wrap a long sentence wherever it likes.
    app.jinja_env.policies["ext.i18n.trimmed"] = True

    def _settle_the_reader() -> None:
        # Chosen once, as the request begins: an error page rendered after the request's
        # transaction was rolled back then needs nothing more from the database.
        if not request.path.startswith(("/api/", "/static/")):
            get_locale()
            get_timezone()

    with app.hooks_not_for_api_reads():
        app.before_request(_settle_the_reader)

    @app.context_processor
    def _language():
        locale = get_locale()
        return {
            "html_lang": locale.language if locale else "en",
            "locales": LOCALES,
            "reader_time_zone": lambda: current_time_zone().key,
        }


def valid_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone (``Europe/Paris``, ``America/Toronto`` ...)."""
    return name in _time_zones()


def _time_zones() -> frozenset[str]:
    if "_zones" not in _CACHE:
        _CACHE["_zones"] = frozenset(available_timezones())
    return _CACHE["_zones"]


_CACHE: dict[str, frozenset[str]] = {}


def browser_locale() -> str | None:
    """The supported locale the browser asks for first, if it asks for one."""
    for tag, _quality in request.accept_languages:
        parts = tag.replace("-", "_").split("_")
        language = parts[0].lower()
        if len(parts) > 1:
            candidate = f"{language}_{parts[1].upper()}"
            if candidate in LOCALES:
                return candidate
        if language in _LANGUAGE_LOCALE:
            return _LANGUAGE_LOCALE[language]
    return None


def _account():
    """The signed-in account of this request, if a person signed in."""
    if not has_request_context() or not current_user.is_authenticated:
        return None
    return getattr(current_user, "user", None)


def locale_of(account) -> str:
    """The locale an account reads when it is not at its browser (an email to it): its own
    choice, else what its browser asked for when it last signed in, else the school's."""
    if account is not None:
        for locale in (account.locale, getattr(account, "browser_locale", None)):
            if locale in LOCALES:
                return locale
    return current_app.config["DEFAULT_LOCALE"]


def time_zone_of(account) -> str:
    """The time zone an account reads times in: its choice, its country's, else the school's."""
    if account is not None:
        if account.time_zone and valid_time_zone(account.time_zone):
            return account.time_zone
        student = getattr(account, "student", None)
        country = student.country if student is not None else None
        if country in COUNTRY_TIMEZONES:
            return COUNTRY_TIMEZONES[country]
    return current_app.config["DEFAULT_TIMEZONE"]


def select_locale() -> str:
    if has_request_context() and request.path.startswith("/api/"):
        return API_LOCALE
    account = _account()
    if account is not None and account.locale in LOCALES:
        return account.locale
    if has_request_context():
        asked = browser_locale()
        if asked is not None:
            return asked
    return current_app.config["DEFAULT_LOCALE"]


def select_timezone() -> str:
    if "forced_time_zone" in g:
        return g.forced_time_zone
    account = _account()
    if account is not None:
        return time_zone_of(account)
    return current_app.config["DEFAULT_TIMEZONE"]


@contextmanager
def for_account(account) -> Iterator[None]:
    """Write in ``account``'s locale and time zone (an email to them), then return to ours."""
    g.forced_time_zone = time_zone_of(account)
    refresh()
    try:
        with force_locale(locale_of(account)):
            yield
    finally:
        g.pop("forced_time_zone", None)
        refresh()


def current_time_zone() -> ZoneInfo:
    """The reader's time zone, as a ``ZoneInfo`` (UTC outside the application)."""
    if not has_app_context():
        return ZoneInfo("UTC")
    return ZoneInfo(str(get_timezone()))


def said_day(value: date) -> str:
    """A day inside a sentence a service says to whoever asked: ``2026-07-01`` to an API client
    or a command (a program may read it), ``1 juil. 2026`` to a French page's reader."""
    if not has_request_context() or request.path.startswith("/api/"):
        return value.isoformat()
    return format_date(value, "medium", locale=str(get_locale()))


def said_money(amount_minor: int, currency: str) -> str:
    """An amount inside a sentence a service says: ``4,000.00 EUR`` to an API client or a
    command, ``4 000,00 €`` to a French page's reader."""
    if not has_request_context() or request.path.startswith("/api/"):
        return describe_money(amount_minor, currency)
    major = Decimal(amount_minor).scaleb(-get_currency_precision(currency))
    return format_currency(major, currency, locale=str(get_locale()))
