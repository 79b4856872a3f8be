"""Each message is recorded before it is sent and sent at most once: a failed send is retried
by later runs up to three attempts; a message another run recorded, or one left pending by a
crash, is never sent again; a dry run writes and sends nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.models import MessageKind, MessageState, Role, SentMessage
from app.services import reminders
from app.services.confirmations import answer
from tests.factories import (
    AuditedRefundClaimFactory,
    EnrollmentFactory,
    GraduationFactory,
    UserFactory,
)
from tests.reminders.conftest import DEADLINE, QUALIFIED_ON, messages
from tests.reminders.test_staff_and_employer_reminders import pending_confirmation

SEVEN_DAYS_BEFORE = DEADLINE - timedelta(days=7)


@pytest.fixture
def graduation(session):
    """A graduate seven days from their deadline on ``SEVEN_DAYS_BEFORE``."""
    return GraduationFactory(qualified_on=QUALIFIED_ON, enrollment=EnrollmentFactory())


def test_a_failed_send_is_recorded_as_failed_with_the_reason(
    session, remind, mailbox, smtp_down, graduation
):
    result = remind(SEVEN_DAYS_BEFORE)

    assert result.due[MessageKind.DEADLINE_APPROACHING] == 1
    assert result.failed[MessageKind.DEADLINE_APPROACHING] == 1
    assert result.sent.total() == 0
    [message] = messages(session)
    assert (message.state, message.attempts, message.sent_at) == (MessageState.FAILED, 1, None)
    assert "ConnectionRefusedError" in message.last_error
    assert mailbox.messages == []


def test_a_failed_send_is_retried_by_the_next_run_and_then_sent(
    session, remind, mailbox, smtp_down, graduation
):
    remind(SEVEN_DAYS_BEFORE)
    smtp_down.up()

    retried = remind(SEVEN_DAYS_BEFORE + timedelta(days=1))

    assert retried.retried[MessageKind.DEADLINE_APPROACHING] == 1
    assert retried.sent[MessageKind.DEADLINE_APPROACHING] == 1
    assert retried.due.total() == 0
    [message] = messages(session)
    assert (message.state, message.attempts, message.last_error) == (MessageState.SENT, 2, None)
    # The words first written, dates and all: nothing in them went stale overnight.
    assert "7 days from 21 February 2026" in mailbox.body(mailbox.only())
    assert remind(SEVEN_DAYS_BEFORE + timedelta(days=2)).sent.total() == 0
    assert len(mailbox.messages) == 1


def test_a_message_that_keeps_failing_is_tried_three_times_then_left_failed(
    session, remind, mailbox, smtp_down, graduation
):
    attempts = []
    for day in range(5):
        remind(SEVEN_DAYS_BEFORE + timedelta(days=day))
        [message] = messages(session)
        attempts.append(message.attempts)
    smtp_down.up()
    last = remind(SEVEN_DAYS_BEFORE + timedelta(days=5))

    assert attempts == [1, 2, 3, 3, 3]
    assert last.retried.total() == last.sent.total() == 0
    [message] = messages(session)
    assert message.state is MessageState.FAILED
    assert reminders.MAX_ATTEMPTS == 3
    assert mailbox.messages == []


def test_a_failed_employer_reminder_is_not_retried_once_the_employer_answered(
    session, remind, mailbox, smtp_down
):
    confirmation = pending_confirmation(session, days_ago=8)
    remind(date(2026, 3, 2))
    answer(session, confirmation, confirmed=True, answered_by="employer:x@example.org")
    session.flush()
    smtp_down.up()

    assert remind(date(2026, 3, 3)).retried.total() == 0
    [message] = messages(session)
    assert (message.state, message.attempts) == (MessageState.FAILED, 1)
    assert mailbox.messages == []


def test_a_message_another_run_recorded_meanwhile_is_skipped_by_the_unique_key(
    session, remind, mailbox, graduation, monkeypatch
):
    remind(SEVEN_DAYS_BEFORE)
    # A run that looked before the other recorded it: it finds the message due, then the
    # insert meets the key the other run took.
    monkeypatch.setattr(reminders, "_taken_keys", lambda session, keys: set())

    again = remind(SEVEN_DAYS_BEFORE)

    assert again.due.total() == again.sent.total() == 0
    assert len(messages(session)) == 1
    assert len(mailbox.messages) == 1


def test_a_message_left_pending_by_a_crash_is_never_sent_again(
    session, remind, mailbox, graduation
):
    key = f"deadline:{graduation.id}:{DEADLINE.isoformat()}:7"
    session.add(
        SentMessage(
            kind=MessageKind.DEADLINE_APPROACHING,
            dedupe_key=key,
            recipient=graduation.enrollment.student.email,
            subject="Your job guarantee deadline is in 7 days",
            body="written, then the process died",
            graduation_id=graduation.id,
            state=MessageState.PENDING,
            attempts=1,
        )
    )
    session.flush()

    results = [remind(SEVEN_DAYS_BEFORE + timedelta(days=day)) for day in range(3)]

    assert [r.sent.total() + r.retried.total() for r in results] == [0, 0, 0]
    [message] = messages(session)
    assert (message.state, message.attempts) == (MessageState.PENDING, 1)
    assert mailbox.messages == []


def test_a_dry_run_counts_what_is_due_and_writes_and_sends_nothing(
    session, remind, mailbox, graduation
):
    UserFactory(role=Role.FINANCE)
    AuditedRefundClaimFactory()
    pending_confirmation(session, days_ago=8)

    result = remind(SEVEN_DAYS_BEFORE, dry_run=True)

    assert result.dry_run
    assert dict(result.due) == {
        MessageKind.DEADLINE_APPROACHING: 1,
        MessageKind.NEW_CLAIM: 1,
        MessageKind.EMPLOYER_REMINDER: 1,
    }
    assert result.sent.total() == result.failed.total() == 0
    assert messages(session) == []
    assert mailbox.messages == []


def test_a_dry_run_counts_the_retries_it_would_make(
    session, remind, mailbox, smtp_down, graduation
):
    remind(SEVEN_DAYS_BEFORE)
    smtp_down.up()

    result = remind(SEVEN_DAYS_BEFORE + timedelta(days=1), dry_run=True)

    assert result.retried[MessageKind.DEADLINE_APPROACHING] == 1
    [message] = messages(session)
    assert (message.state, message.attempts) == (MessageState.FAILED, 1)
    assert mailbox.messages == []
