"""A real SMTP server for the tests: the app sends through smtplib, the tests read what arrived.

``mail_server`` (one per run) is an aiosmtpd ``Controller`` on a free loopback port that keeps
every message it receives as an ``email.message.EmailMessage``. ``mailbox`` (one per test)
empties it and points the ``app`` fixture's SMTP settings at it.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller

_LINK = re.compile(r"https?://\S+")


class Mailbox:
    """The messages the server received, oldest first."""

    def __init__(self):
        self._lock = threading.Lock()
        self._messages: list[EmailMessage] = []
        # The connections that delivered a message, by identity (kept, so no id is reused).
        self._sessions: dict[int, object] = {}
        #: Answers the server gives instead of accepting: to a recipient (``RCPT``), or to a
        #: message for that recipient (``DATA``), e.g. ``"550 no such user"``.
        self.refuse_recipient: dict[str, str] = {}
        self.refuse_data: dict[str, str] = {}
        self.host = "127.0.0.1"
        self.port = 0

    # aiosmtpd calls these from its own thread for every recipient and message.
    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address in self.refuse_recipient:
            return self.refuse_recipient[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        for recipient in envelope.rcpt_tos:
            if recipient in self.refuse_data:
                return self.refuse_data[recipient]
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self._messages.append(message)
            self._sessions[id(session)] = session
        return "250 OK"

    @property
    def connections(self) -> int:
        """How many connections delivered the messages received since the last ``clear``."""
        with self._lock:
            return len(self._sessions)

    @property
    def messages(self) -> list[EmailMessage]:
        """Every message received since the last ``clear``."""
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        """Forget the messages received so far."""
        with self._lock:
            self._messages.clear()
            self._sessions.clear()
        self.refuse_recipient.clear()
        self.refuse_data.clear()

    def only(self) -> EmailMessage:
        """The one message received; fails when there are none or several."""
        messages = self.messages
        assert len(messages) == 1, f"expected one message, got {len(messages)}"
        return messages[0]

    @staticmethod
    def body(message: EmailMessage) -> str:
        """The plain-text body of ``message``."""
        return message.get_body(preferencelist=("plain",)).get_content()

    @classmethod
    def link_path(cls, message: EmailMessage) -> str:
        """The path (and query) of the one link in ``message``'s body, to follow in a client."""
        [link] = _LINK.findall(cls.body(message))
        parts = urlsplit(link)
        return parts.path + (f"?{parts.query}" if parts.query else "")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def mail_server():
    """An SMTP server on a free loopback port, for the whole run."""
    mailbox = Mailbox()
    mailbox.port = _free_port()
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def mailbox(mail_server, app) -> Mailbox:
    """The run's SMTP server, emptied, with the app sending its email there."""
    mail_server.clear()
    app.config.update(
        SMTP_HOST=mail_server.host,
        SMTP_PORT=mail_server.port,
        SMTP_STARTTLS=False,
        SMTP_USERNAME=None,
    )
    return mail_server
