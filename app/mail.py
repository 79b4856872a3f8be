"""Email through SMTP (host and port from settings)."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger(__name__)


class MailNotSent(Exception):
    """The SMTP server could not be reached, or refused the message; the text says why."""


def send_email(to: str, subject: str, body: str) -> bool:
    """Send a plain-text email; ``False`` (and a log line) when the SMTP server refuses it."""
    try:
        deliver(to, subject, body)
    except MailNotSent as error:
        log.error("email to %s (%s) not sent: %s", to, subject, error)
        return False
    return True


def deliver(to: str, subject: str, body: str) -> None:
    """Send a plain-text email to ``to`` (one address, or several separated by commas).

    Raises ``MailNotSent`` with the reason when the SMTP server cannot be reached or refuses it.
    """
    config = current_app.config
    message = EmailMessage()
    try:
        # A line break in a header (a name typed with one) is refused here, not sent.
        message["From"] = config["MAIL_FROM"]
        message["To"] = to
        message["Subject"] = subject
    except ValueError as error:
        raise MailNotSent(f"not a valid header: {error}") from error
    message.set_content(body)
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailNotSent(f"{type(error).__name__}: {error}") from error
