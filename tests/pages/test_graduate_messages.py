"""The graduate's "messages sent to you" page: the reminders emailed to them, and only theirs."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from app.models import MessageKind, MessageState, SentMessage
from app.models.base import utc_now
from app.services.confirmations import request_confirmation
from app.services.reminders import send_reminders
from tests.factories import JobOutcomeFactory

MESSAGES = "/me/messages"


def sent_message(graduation, subject: str, **fields) -> SentMessage:
    """A reminder recorded for ``graduation``, as ``send_reminders`` writes it."""
    message = SentMessage(
        kind=fields.pop("kind", MessageKind.DEADLINE_APPROACHING),
        dedupe_key=fields.pop("dedupe_key", f"test:{subject}"),
        recipient=graduation.enrollment.student.email,
        subject=subject,
        body=fields.pop("body", f"Hello,\n\nAbout {subject}.\nSecond line.\n"),
        graduation_id=graduation.id,
        state=fields.pop("state", MessageState.SENT),
        attempts=fields.pop("attempts", 1),
        sent_at=fields.pop("sent_at", utc_now()),
        **fields,
    )
    return message


def test_messages_page_lists_the_graduates_own_reminders_newest_first(
    client, session, sign_in, accounts
):
    a = accounts["graduation_a"]
    session.add_all(
        [
            sent_message(a, "Deadline in 30 days", created_at=utc_now() - timedelta(days=23)),
            sent_message(
                a,
                "Behind in week 3",
                kind=MessageKind.FALLING_BEHIND,
                state=MessageState.FAILED,
                sent_at=None,
                attempts=1,
                last_error="ConnectionRefusedError: [Errno 111] Connection refused",
            ),
        ]
    )
    session.flush()
    sign_in(accounts["graduate_a"])

    response = client.get(MESSAGES)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.index("Behind in week 3") < page.index("Deadline in 30 days")
    assert "Behind on your job search" in page and "Deadline approaching" in page
    assert "not delivered" in page and "we will try again" in page
    assert "About Deadline in 30 days.<br>Second line." in page
    assert "ConnectionRefusedError" not in page  # the server's words are for the school
    assert a.enrollment.student.email in page


def test_graduate_b_never_sees_graduate_as_messages(client, session, sign_in, accounts):
    session.add(sent_message(accounts["graduation_a"], "For A only, deadline in 7 days"))
    session.add(sent_message(accounts["graduation_b"], "For B, deadline in 30 days"))
    session.flush()
    sign_in(accounts["graduate_b"])

    page = client.get(MESSAGES).get_data(as_text=True)

    assert "For B, deadline in 30 days" in page
    assert "For A only" not in page
    assert accounts["graduation_a"].enrollment.student.email not in page


def test_messages_page_never_shows_an_employer_reminder_about_the_graduate(
    client, session, sign_in, accounts
):
    a = accounts["graduation_a"]
    confirmation = request_confirmation(session, JobOutcomeFactory(graduation=a))
    session.add(
        sent_message(
            a,
            "Reminder: please confirm the hire",
            kind=MessageKind.EMPLOYER_REMINDER,
            body="http://127.0.0.1:5000/confirm/secret-token",
            confirmation_id=confirmation.id,
        )
    )
    session.flush()
    sign_in(accounts["graduate_a"])

    page = client.get(MESSAGES).get_data(as_text=True)

    assert "please confirm the hire" not in page
    assert "secret-token" not in page
    assert "No messages yet" in page


def test_my_guarantee_links_to_the_messages_page(client, sign_in, accounts):
    sign_in(accounts["graduate_a"])

    page = client.get("/me").get_data(as_text=True)

    assert f'href="{MESSAGES}"' in page


def test_a_reminder_the_scheduler_sent_shows_on_the_graduates_page_as_sent(
    app, client, session, session_factory, sign_in, accounts, mailbox
):
    # Graduate A qualified on 31 Aug 2025: the deadline is 28 Feb 2026.
    with app.app_context():
        send_reminders(
            session_factory,
            replace(app.config["SETTINGS"], reminder_days_before_deadline=(7,)),
            date(2026, 2, 21),
            utc_now(),
        )
    sign_in(accounts["graduate_a"])

    page = client.get(MESSAGES).get_data(as_text=True)

    recipients = {message["To"] for message in mailbox.messages}
    assert recipients == {
        accounts[name].enrollment.student.email for name in ("graduation_a", "graduation_b")
    }
    assert page.count("Your job guarantee deadline is in 7 days") == 1
    assert ">sent<" in page
