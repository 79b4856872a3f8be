"""Email as people expect it, checked through the real SMTP server the tests run: a plain-text
and an HTML part, the school named in the sender and the text, a sender people can answer,
``Date`` and ``Message-ID``, and links that are absolute, whole on their line, and open."""

from __future__ import annotations

import re
import time
from datetime import date
from email.utils import parseaddr, parsedate_to_datetime

import pytest
from aiosmtpd.controller import Controller

from app.mail import one_connection, render, send_email, send_templated
from app.services.confirmations import request_confirmation, send_confirmation_email
from config import load_settings
from tests.factories import JobOutcomeFactory
from tests.mailbox import Mailbox, _free_port

_LINK = re.compile(r"https?://\S+")


@pytest.fixture
def school(app):
    """The app as a school with its own name, sender and reply address would set it up."""
    app.config.update(
        SCHOOL_NAME="Lakeside Coding Academy",
        MAIL_FROM="careers@lakeside.example",
        MAIL_REPLY_TO="guarantee-team@lakeside.example",
        BASE_URL="https://guarantee.lakeside.example",
    )
    return app


def parts(message):
    """The text and the HTML of ``message``."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "both parts are sent"
    return text.get_content().replace("\r\n", "\n"), html.get_content()


def test_a_templated_email_has_both_parts_the_schools_name_and_trustworthy_headers(
    school, session, mailbox
):
    outcome = JobOutcomeFactory(title="Data analyst", start_date=date(2026, 4, 1))
    confirmation = request_confirmation(session, outcome)

    with school.app_context():
        assert send_confirmation_email(confirmation)

    message = mailbox.only()
    assert message.get_content_type() == "multipart/alternative"
    assert parseaddr(message["From"]) == (
        "Lakeside Coding Academy Job Guarantee",
        "careers@lakeside.example",
    )
    assert message["Reply-To"] == "guarantee-team@lakeside.example"
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert re.fullmatch(r"<[^@<>]+@lakeside\.example>", message["Message-ID"])
    text, html = parts(message)
    graduate = outcome.graduation.enrollment.student.name
    for part in (text, html):
        assert "Lakeside Coding Academy" in part
        assert graduate in part and "Data analyst" in part and "01 April 2026" in part
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert '<meta name="viewport"' in html


def test_links_are_absolute_whole_on_their_line_the_same_in_both_parts_and_open(
    school, session, mailbox, client
):
    confirmation = request_confirmation(session, JobOutcomeFactory())
    with school.app_context():
        assert send_confirmation_email(confirmation)

    text, html = parts(mailbox.only())
    [link] = _LINK.findall(text)
    assert link.startswith("https://guarantee.lakeside.example/confirm/")
    assert f"\n{link}\n" in text, "a link stands on a line of its own"
    assert f'href="{link}"' in html
    assert client.get(link.removeprefix("https://guarantee.lakeside.example")).status_code == 200


def test_a_long_link_survives_the_trip_unbroken(app, mailbox):
    long_link = "https://guarantee.example/confirm/" + "a1B2c3" * 30

    with app.app_context():
        assert send_email("someone@example.com", "Long", f"Open:\n{long_link}\n", html="<p>x</p>")

    text, _html = parts(mailbox.only())
    assert _LINK.findall(text) == [long_link]


def test_a_sender_with_its_own_display_name_keeps_it_and_replies_go_to_it_by_default(app, mailbox):
    app.config.update(MAIL_FROM="Admissions Office <office@school.example>", MAIL_REPLY_TO=None)

    with app.app_context():
        assert send_email("someone@example.com", "Hello", "Hello.\n")

    message = mailbox.only()
    assert parseaddr(message["From"]) == ("Admissions Office", "office@school.example")
    assert message["Reply-To"] == "office@school.example"


def test_names_are_escaped_in_the_html_part_and_left_as_typed_in_the_text(app):
    with app.app_context():
        email = render(
            "hire_confirmation",
            graduate_name="<script>alert(1)</script> Ann",
            employer_name="R&D Ltd",
            title="Developer",
            start_date=date(2026, 1, 5),
            employment_type="full time",
            link="https://guarantee.example/confirm/x",
            expires_at=date(2026, 1, 19),
        )

    assert "<script>" not in email.html and "&lt;script&gt;" in email.html
    assert "R&amp;D Ltd" in email.html
    assert "<script>alert(1)</script> Ann" in email.text
    assert email.subject == "Please confirm the hire of <script>alert(1)</script> Ann"


def test_a_refused_send_answers_false_and_raises_nothing(app):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=1)  # nothing listens there

    with app.app_context():
        assert not send_templated(
            "someone@example.com",
            "deadline_approaching",
            name="Ann",
            programme="Data",
            deadline=date(2026, 3, 1),
            days_left=7,
            when="7 days",
            as_of=date(2026, 2, 22),
        )


def test_school_name_sender_and_reply_to_come_from_the_environment(tmp_path):
    defaults = load_settings(tmp_path, {"SECRET_KEY": "x"})
    assert defaults.school_name and defaults.mail_reply_to is None
    assert parseaddr(defaults.mail_from)[1]

    settings = load_settings(
        tmp_path,
        {
            "SECRET_KEY": "x",
            "SCHOOL_NAME": "  Lakeside Coding Academy ",
            "MAIL_FROM": "Lakeside <careers@lakeside.example>",
            "MAIL_REPLY_TO": "team@lakeside.example",
        },
    )
    assert settings.school_name == "Lakeside Coding Academy"
    assert settings.mail_from == "Lakeside <careers@lakeside.example>"
    assert settings.mail_reply_to == "team@lakeside.example"


# --- a batch of emails ------------------------------------------------------------------------


def _send(to: str) -> bool:
    return send_email(to, f"For {to}", f"Hello {to}")


def test_emails_sent_apart_open_a_connection_each(app, mailbox):
    with app.app_context():
        assert _send("a@example.com") and _send("b@example.com")

    assert len(mailbox.messages) == 2 and mailbox.connections == 2


def test_a_batch_goes_through_one_connection(app, mailbox):
    with app.app_context(), one_connection():
        sent = [_send(f"graduate{number}@example.com") for number in range(5)]

    assert sent == [True] * 5
    assert sorted(message["To"] for message in mailbox.messages) == [
        f"graduate{number}@example.com" for number in range(5)
    ]
    assert mailbox.connections == 1


def test_a_refused_email_fails_alone_and_the_batch_goes_on(app, mailbox):
    mailbox.refuse_recipient["gone@example.com"] = "550 no such user"
    mailbox.refuse_data["busy@example.com"] = "452 mailbox full"

    with app.app_context(), one_connection():
        sent = [_send(to) for to in ("a@example.com", "gone@example.com", "busy@example.com")]
        sent.append(_send("b@example.com"))

    assert sent == [True, False, False, True]
    assert [message["To"] for message in mailbox.messages] == ["a@example.com", "b@example.com"]
    assert mailbox.connections == 1


def test_a_server_closing_the_connection_with_421_leaves_the_next_email_a_new_one(app, mailbox):
    mailbox.refuse_data["closing@example.com"] = "421 closing the connection"

    with app.app_context(), one_connection():
        sent = [_send(to) for to in ("a@example.com", "closing@example.com", "b@example.com")]

    assert sent == [True, False, True]
    assert [message["To"] for message in mailbox.messages] == ["a@example.com", "b@example.com"]
    assert mailbox.connections == 2


def test_a_connection_the_server_dropped_while_idle_is_opened_again(app):
    """A server that closes idle connections (here after half a second) does not cost the
    batch an email: the next one is sent again on a new connection."""
    mailbox = Mailbox()
    mailbox.port = _free_port()
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port, timeout=0.5)
    controller.start()
    try:
        app.config.update(SMTP_HOST=mailbox.host, SMTP_PORT=mailbox.port, SMTP_STARTTLS=False)
        with app.app_context(), one_connection():
            first = _send("a@example.com")
            time.sleep(1.5)
            second = _send("b@example.com")
    finally:
        controller.stop()

    assert (first, second) == (True, True)
    assert [message["To"] for message in mailbox.messages] == ["a@example.com", "b@example.com"]
    assert mailbox.connections == 2
