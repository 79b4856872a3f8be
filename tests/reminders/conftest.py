"""Fixtures for the reminder emails: a run of ``send_reminders`` in the test's transaction,
with the settings a test asks for, sending to the real SMTP server of ``tests.mailbox``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

import pytest
from sqlalchemy import select

from app.models import SentMessage
from app.models.base import utc_now
from app.services.reminders import ReminderResult, send_reminders
from tests.mailbox import _free_port

#: The default graduate qualifies on 31 Aug 2025 (a Sunday): a six-month window from that day,
#: closing on 28 Feb 2026; its search weeks run Sunday to Saturday.
QUALIFIED_ON = date(2025, 8, 31)
DEADLINE = date(2026, 2, 28)


@pytest.fixture
def remind(app, session_factory, mailbox) -> Callable[..., ReminderResult]:
    """``remind(as_of, now=None, dry_run=False, **settings)``: one run of the reminders."""

    def run(as_of: date, now: datetime | None = None, dry_run: bool = False, **settings):
        with app.app_context():
            return send_reminders(
                session_factory,
                replace(app.config["SETTINGS"], **settings),
                as_of,
                now or utc_now(),
                dry_run=dry_run,
            )

    return run


@pytest.fixture
def smtp_down(app, mailbox):
    """The app's SMTP server stops answering (a port nobody listens on); ``smtp_down.up()``
    brings it back."""

    class Switch:
        def up(self) -> None:
            app.config["SMTP_PORT"] = mailbox.port

    app.config["SMTP_PORT"] = _free_port()
    return Switch()


def messages(session, **where) -> list[SentMessage]:
    """The recorded messages, oldest first, filtered by column values."""
    session.expire_all()
    query = select(SentMessage).order_by(SentMessage.id)
    for name, value in where.items():
        query = query.where(getattr(SentMessage, name) == value)
    return list(session.scalars(query))
