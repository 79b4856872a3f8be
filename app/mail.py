"""Email through SMTP (host and port from settings), written from templates people can trust.

Every email has a plain-text part and an HTML part, both rendered from Jinja templates:
``app/templates/email/<template>.txt`` and ``<template>.html``, every word of them a message
translated in the catalogue (the catalogue's check reads both). The text template sets the
subject (``{% set subject = _("...") %}``); both extend a shared layout that names the school
(``SCHOOL_NAME``). The sender is ``MAIL_FROM`` (shown as "<school> Job Guarantee" when it has
no display name of its own), replies go to ``MAIL_REPLY_TO``, and each message carries a
``Date`` and a ``Message-ID``. Links are absolute, built from ``BASE_URL`` (``absolute_url``),
and stand on a line of their own in the text part, so copying one never breaks it.

``send_templated(to, template, reader=..., **context)`` renders and sends; ``render`` gives the
subject and both parts without sending (tests, outboxes that record before they send); ``deliver``
raises ``MailNotSent`` where ``send_email``/``send_templated`` log and answer ``False``. Inside
``with one_connection():`` every email goes through one SMTP connection (a batch: invitations,
reminders, claim notices).

Each email is written for its reader: ``reader`` is the recipient's account (or a ``Reader`` for
someone without one), and the whole email, its subject, words, amounts and dates, is rendered in
their locale and time zone (``app.i18n.for_account``), whoever's request or job sends it. A value
the caller formats itself is formatted in the caller's locale: pass numbers and dates, or a
``flask_babel.LazyString``, and let the template (or the string) format them as it renders.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from urllib.parse import urlsplit

from babel.dates import format_date
from flask import current_app

from app.i18n import current_time_zone, for_account
from app.pages.formatting import reader_locale

log = logging.getLogger(__name__)


class MailNotSent(Exception):
    """The SMTP server could not be reached, or refused the message; the text says why."""


@dataclass(frozen=True)
class Reader:
    """Whoever reads an email without an account of their own (an employer's contact): the
    locale and time zone to write it in, ``None`` for the school's."""

    locale: str | None = None
    time_zone: str | None = None


@dataclass(frozen=True)
class RenderedEmail:
    """One email as written, before it is sent."""

    subject: str
    text: str
    html: str


def absolute_url(endpoint: str, **values) -> str:
    """The public address of a page, from ``BASE_URL`` (no request is needed)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http"
    )
    return adapter.build(endpoint, values, force_external=True)


def written_day(value: date | datetime, *, weekday: bool = False) -> str:
    """A day as a sentence of an email writes it: ``01 April 2026`` (``Wednesday 01 April
    2026`` with ``weekday``), ``1 avril 2026`` in French; an instant is first taken to the
    reader's time zone."""
    if isinstance(value, datetime):
        value = value.astimezone(current_time_zone()).date()
    locale = reader_locale()
    pattern = "dd MMMM y" if locale.startswith("en") else "d MMMM y"
    return format_date(value, f"EEEE {pattern}" if weekday else pattern, locale=locale)


def render(template: str, /, reader=None, **context) -> RenderedEmail:
    """The email ``email/<template>``: subject, plain text and HTML, with ``context`` in both,
    written in ``reader``'s locale and time zone (an account, a ``Reader``; ``None``: the
    school's).

    The templates also see ``school_name``, ``reply_to`` (the address replies reach), ``url``
    (``absolute_url``) and ``written_day`` (a date as a sentence writes it).
    """
    with for_account(reader if reader is not None else Reader()):
        return _render(template, context)


def _render(template: str, context: dict) -> RenderedEmail:
    environment = current_app.jinja_env
    values = {
        "school_name": current_app.config["SCHOOL_NAME"],
        "reply_to": _reply_to_address(),
        "url": absolute_url,
        "written_day": written_day,
        "html_lang": reader_locale().split("_")[0],
        **context,
    }
    text_module = environment.get_template(f"email/{template}.txt").make_module(values)
    # One line: the line breaks and runs of spaces of the template go, a no-break space stays.
    subject = re.sub(r"[ \t\r\n]+", " ", str(getattr(text_module, "subject", ""))).strip()
    if not subject:
        raise ValueError(f"email/{template}.txt sets no subject")
    html = environment.get_template(f"email/{template}.html").render(subject=subject, **values)
    return RenderedEmail(subject=subject, text=_tidy(str(text_module)), html=html)


def send_templated(to: str, template: str, /, reader=None, **context) -> bool:
    """Render the email ``template`` for ``reader`` (see ``render``) and send it to ``to``;
    ``False`` (and a log line) when the SMTP server refuses it."""
    email = render(template, reader=reader, **context)
    return send_email(to, email.subject, email.text, html=email.html)


def send_email(to: str, subject: str, body: str, *, html: str | None = None) -> bool:
    """Send an email; ``False`` (and a log line) when the SMTP server refuses it."""
    try:
        deliver(to, subject, body, html=html)
    except MailNotSent as error:
        log.error("email to %s (%s) not sent: %s", to, subject, error)
        return False
    return True


def deliver(to: str, subject: str, body: str, *, html: str | None = None) -> None:
    """Send an email to ``to`` (one address, or several separated by commas): ``body`` as its
    plain-text part and ``html``, when given, as its HTML alternative.

    Raises ``MailNotSent`` with the reason when the SMTP server cannot be reached or refuses it.
    """
    config = current_app.config
    message = EmailMessage()
    sender = _sender()
    try:
        # A line break in a header (a name typed with one) is refused here, not sent.
        message["From"] = sender
        message["Reply-To"] = _reply_to_address()
        message["To"] = to
        message["Subject"] = subject
    except ValueError as error:
        raise MailNotSent(f"not a valid header: {error}") from error
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=_domain_of(parseaddr(sender)[1]))
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    shared = _shared.get()
    try:
        if shared is not None:
            shared.send(message)
            return
        with _connected(config) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailNotSent(f"{type(error).__name__}: {error}") from error


def _connected(config) -> smtplib.SMTP:
    """A new connection to the SMTP server of ``config``, secured and signed in as it says."""
    smtp = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10)
    try:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
    except BaseException:
        smtp.close()
        raise
    return smtp


class _SharedConnection:
    """One SMTP connection for the emails of a batch (``one_connection``): opened by the first
    email, kept for the next ones, closed at the end of the batch."""

    def __init__(self):
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        """Send ``message`` on the connection. One the server has since closed is opened again
        and the message sent once more on the new one; any other failure closes it (the next
        email opens a new one) and is raised."""
        reused = self._smtp is not None
        try:
            if self._smtp is None:
                self._smtp = _connected(current_app.config)
            self._smtp.send_message(message)
        except smtplib.SMTPServerDisconnected:
            self.close()
            if not reused:
                raise
            self._smtp = _connected(current_app.config)
            self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused:
            raise  # the server refused this email; the connection serves the next one
        except smtplib.SMTPResponseException as error:
            if error.smtp_code == 421:  # the server is closing the connection
                self.close()
            raise
        except (OSError, smtplib.SMTPException):
            self.close()
            raise

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


_shared: ContextVar[_SharedConnection | None] = ContextVar("shared_smtp", default=None)


@contextmanager
def one_connection() -> Iterator[None]:
    """The emails sent inside the block (by ``deliver``, ``send_email``, ``send_templated``) go
    through one SMTP connection, not one each: a batch of hundreds costs one connection and
    sign-in. Each email still succeeds or fails on its own. Nested blocks share the outer one."""
    if _shared.get() is not None:
        yield
        return
    shared = _SharedConnection()
    token = _shared.set(shared)
    try:
        yield
    finally:
        _shared.reset(token)
        shared.close()


def _sender() -> str:
    """``MAIL_FROM`` as it reads in a mail client: with the school's name when it has none."""
    name, address = parseaddr(current_app.config["MAIL_FROM"])
    if not name:
        name = f"{current_app.config['SCHOOL_NAME']} Job Guarantee"
    return formataddr((name, address))


def _reply_to_address() -> str:
    """The address replies reach: ``MAIL_REPLY_TO``, else the sender's own."""
    configured = current_app.config.get("MAIL_REPLY_TO")
    return parseaddr(configured or current_app.config["MAIL_FROM"])[1]


def _domain_of(address: str) -> str:
    try:
        return Address(addr_spec=address).domain or "localhost"
    except (ValueError, IndexError):
        return "localhost"


def _tidy(text: str) -> str:
    """The text part without the blank lines template tags leave: at most one empty line in a
    row, none at the start, one line break at the end."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept) + "\n"
