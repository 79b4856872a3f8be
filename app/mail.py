"""Email through SMTP (host and port from settings), written from templates people can trust.

Every email has a plain-text part and an HTML part, both rendered from Jinja templates:
``app/templates/email/<template>.txt`` and ``<template>.html``. The text template sets the subject
(``{% set subject = "..." %}``); both extend a shared layout that names the school
(``SCHOOL_NAME``). The sender is ``MAIL_FROM`` (shown as "<school> Job Guarantee" when it has
no display name of its own), replies go to ``MAIL_REPLY_TO``, and each message carries a
``Date`` and a ``Message-ID``. Links are absolute, built from ``BASE_URL`` (``absolute_url``),
and stand on a line of their own in the text part, so copying one never breaks it.

``send_templated(to, template, **context)`` renders and sends; ``render`` gives the subject and
both parts without sending (tests, outboxes that record before they send); ``deliver`` raises
``MailNotSent`` where ``send_email``/``send_templated`` log and answer ``False``.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from urllib.parse import urlsplit

from flask import current_app

log = logging.getLogger(__name__)


class MailNotSent(Exception):
    """The SMTP server could not be reached, or refused the message; the text says why."""


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


def render(template: str, /, **context) -> RenderedEmail:
    """The email ``email/<template>``: subject, plain text and HTML, with ``context`` in both.

    The templates also see ``school_name``, ``reply_to`` (the address replies reach) and
    ``url`` (``absolute_url``).
    """
    environment = current_app.jinja_env
    values = {
        "school_name": current_app.config["SCHOOL_NAME"],
        "reply_to": _reply_to_address(),
        "url": absolute_url,
        **context,
    }
    text_module = environment.get_template(f"email/{template}.txt").make_module(values)
    subject = " ".join(str(getattr(text_module, "subject", "")).split())
    if not subject:
        raise ValueError(f"email/{template}.txt sets no subject")
    html = environment.get_template(f"email/{template}.html").render(subject=subject, **values)
    return RenderedEmail(subject=subject, text=_tidy(str(text_module)), html=html)


def send_templated(to: str, template: str, /, **context) -> bool:
    """Render the email ``template`` and send it to ``to``; ``False`` (and a log line) when the
    SMTP server refuses it."""
    email = render(template, **context)
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
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailNotSent(f"{type(error).__name__}: {error}") from error


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
