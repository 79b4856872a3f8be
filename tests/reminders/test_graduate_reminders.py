"""Graduates still searching are emailed, once each, as their deadline nears and when their
search falls behind what the policy asks; nobody else is."""

from __future__ import annotations

from datetime import date, timedelta

from app.models import MessageKind, MessageState, Role
from tests.factories import (
    EnrollmentFactory,
    ExcludedOutcomeFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    JobOutcomeFactory,
    RefundClaimFactory,
    SearchActivityFactory,
    SearchPauseFactory,
    UserFactory,
)
from tests.reminders.conftest import DEADLINE, QUALIFIED_ON, messages


def searching_graduate(**policy):
    """A graduate in their window (qualified 31 Aug 2025, deadline 28 Feb 2026), no job yet."""
    return GraduationFactory(
        qualified_on=QUALIFIED_ON,
        enrollment=EnrollmentFactory(policy=GuaranteePolicyFactory(**policy)),
    )


# ---------------------------------------------------------------------------------------------
# Deadline approaching
# ---------------------------------------------------------------------------------------------


def test_deadline_reminder_is_sent_once_seven_days_before_and_a_second_run_sends_nothing(
    session, remind, mailbox
):
    graduation = searching_graduate()
    student = graduation.enrollment.student

    first = remind(DEADLINE - timedelta(days=7))
    second = remind(DEADLINE - timedelta(days=7))

    assert first.due[MessageKind.DEADLINE_APPROACHING] == 1
    assert first.sent[MessageKind.DEADLINE_APPROACHING] == 1
    assert second.due.total() == second.sent.total() == 0
    email = mailbox.only()
    assert email["To"] == student.email
    assert email["Subject"] == "Your job guarantee deadline is in 7 days"
    body = mailbox.body(email)
    assert f"Hello {student.name}," in body
    assert "must start by Saturday 28 February 2026, 7 days from 21 February 2026" in body
    assert mailbox.link_path(email) == "/me"
    [message] = messages(session)
    assert message.dedupe_key == f"deadline:{graduation.id}:2026-02-28:7"
    assert (message.kind, message.state, message.attempts) == (
        MessageKind.DEADLINE_APPROACHING,
        MessageState.SENT,
        1,
    )
    assert message.graduation_id == graduation.id
    assert message.sent_at is not None and message.last_error is None
    assert message.recipient == student.email and message.body == body.replace("\r\n", "\n")


def test_deadline_reminders_at_30_and_7_days_each_once_and_none_between(session, remind, mailbox):
    graduation = searching_graduate()

    days_left_by_run = [31, 30, 29, 20, 8, 7, 6, 0]
    sent = [
        remind(DEADLINE - timedelta(days=days)).sent[MessageKind.DEADLINE_APPROACHING]
        for days in days_left_by_run
    ]

    assert sent == [0, 1, 0, 0, 0, 1, 0, 0]
    assert [m["Subject"] for m in mailbox.messages] == [
        "Your job guarantee deadline is in 30 days",
        "Your job guarantee deadline is in 7 days",
    ]
    assert [m.dedupe_key for m in messages(session)] == [
        f"deadline:{graduation.id}:2026-02-28:30",
        f"deadline:{graduation.id}:2026-02-28:7",
    ]


def test_deadline_reminder_missed_on_its_day_is_sent_late_and_only_the_smallest_due(
    session, remind, mailbox
):
    searching_graduate()

    result = remind(DEADLINE - timedelta(days=5))  # neither the 30- nor the 7-day run happened

    assert result.sent[MessageKind.DEADLINE_APPROACHING] == 1
    assert mailbox.only()["Subject"] == "Your job guarantee deadline is in 5 days"
    [message] = messages(session)
    assert message.dedupe_key.endswith(":7")
    assert remind(DEADLINE - timedelta(days=4)).sent.total() == 0


def test_deadline_reminder_days_come_from_the_setting(session, remind, mailbox):
    searching_graduate()

    assert remind(DEADLINE - timedelta(days=7), reminder_days_before_deadline=()).due.total() == 0
    result = remind(DEADLINE - timedelta(days=14), reminder_days_before_deadline=(14,))

    assert result.sent[MessageKind.DEADLINE_APPROACHING] == 1
    assert mailbox.only()["Subject"] == "Your job guarantee deadline is in 14 days"


def test_deadline_reminder_on_the_last_day_says_today(session, remind, mailbox):
    searching_graduate()

    remind(DEADLINE, reminder_days_before_deadline=(0,))

    assert mailbox.only()["Subject"] == "Your job guarantee deadline is today"


def test_a_pause_that_moves_the_deadline_allows_a_new_reminder_for_the_new_deadline(
    session, remind, mailbox
):
    graduation = searching_graduate(max_pause_days=30)
    assert remind(DEADLINE - timedelta(days=7)).sent.total() == 1

    # Ten days of illness: the window now closes on 10 Mar 2026.
    SearchPauseFactory(graduation=graduation, starts_on=date(2026, 2, 1), ends_on=date(2026, 2, 10))
    moved = DEADLINE + timedelta(days=10)

    # 16 days left to the new deadline: its 30-day reminder was never sent, so it is now.
    assert remind(DEADLINE - timedelta(days=6)).sent[MessageKind.DEADLINE_APPROACHING] == 1
    assert remind(moved - timedelta(days=7)).sent[MessageKind.DEADLINE_APPROACHING] == 1
    assert remind(moved - timedelta(days=7)).sent.total() == 0
    assert [m.dedupe_key for m in messages(session)] == [
        f"deadline:{graduation.id}:2026-02-28:7",
        f"deadline:{graduation.id}:2026-03-10:30",
        f"deadline:{graduation.id}:2026-03-10:7",
    ]
    assert [m["Subject"] for m in mailbox.messages] == [
        "Your job guarantee deadline is in 7 days",
        "Your job guarantee deadline is in 16 days",
        "Your job guarantee deadline is in 7 days",
    ]
    assert "must start by Tuesday 10 March 2026" in mailbox.body(mailbox.messages[-1])


def test_no_deadline_reminder_for_graduates_not_searching(session, remind, mailbox):
    placed = searching_graduate()
    JobOutcomeFactory(graduation=placed, start_date=date(2025, 12, 1))
    GraduationFactory(
        qualified_on=QUALIFIED_ON, enrollment=EnrollmentFactory(guarantee_opt_in=False)
    )
    ExcludedOutcomeFactory(graduation=searching_graduate(), occurred_on=date(2025, 12, 1))
    RefundClaimFactory(graduation=searching_graduate())
    GraduationFactory(qualified_on=date(2025, 1, 31))  # window closed on 31 Jul 2025
    GraduationFactory(qualified_on=DEADLINE)  # qualified today: 181 days left

    result = remind(DEADLINE - timedelta(days=7))

    assert result.due.total() == 0
    assert mailbox.messages == []
    assert messages(session) == []


# ---------------------------------------------------------------------------------------------
# Falling behind on the search
# ---------------------------------------------------------------------------------------------

WEEK_1 = QUALIFIED_ON  # Sun 31 Aug to Sat 6 Sep 2025
WEEK_2 = WEEK_1 + timedelta(days=7)  # Sun 7 Sep to Sat 13 Sep 2025


def test_falling_behind_after_a_missed_week_is_sent_once_that_week(session, remind, mailbox):
    graduation = searching_graduate(weekly_applications=5)
    student = graduation.enrollment.student
    SearchActivityFactory(graduation=graduation, occurred_on=WEEK_1 + timedelta(days=2))

    first = remind(WEEK_2)
    again = [remind(WEEK_2 + timedelta(days=days)).sent.total() for days in range(7)]

    assert first.sent[MessageKind.FALLING_BEHIND] == 1
    assert again == [0] * 7
    email = mailbox.only()
    assert email["To"] == student.email
    assert email["Subject"] == "You are behind on your job search (week 2 of your window)"
    body = mailbox.body(email).replace("\r\n", "\n")
    assert "As of Sunday 07 September 2025, still to do:\n- This week (07 Sep 2025 to" in body
    assert "0 of 5 applications; 5 more by 13 Sep 2025.\n" in body
    assert "Already missed:\n- Week 1 (31 Aug 2025 to 06 Sep 2025): 1 of 5 applications." in body
    assert "This week ends on Saturday 13 September 2025: 7 days left, today included." in body
    assert "Your window closes on 28 February 2026, 174 days from 07 September 2025." in body
    assert mailbox.link_path(email) == "/me"
    [message] = messages(session)
    assert message.dedupe_key == f"behind:{graduation.id}:2025-09-07"
    assert message.kind is MessageKind.FALLING_BEHIND


def test_falling_behind_in_the_current_week_waits_for_its_last_three_days(session, remind, mailbox):
    graduation = searching_graduate(weekly_applications=2)
    for day in (1, 2):
        SearchActivityFactory(graduation=graduation, occurred_on=WEEK_1 + timedelta(days=day))
    SearchActivityFactory(graduation=graduation, occurred_on=WEEK_2)

    sent = [remind(WEEK_2 + timedelta(days=days)).sent.total() for days in range(7)]

    # 7, 6, 5, 4 days left: time enough; 3 days left: warned, once.
    assert sent == [0, 0, 0, 0, 1, 0, 0]
    assert "1 of 2 applications; 1 more by 13 Sep 2025" in mailbox.body(mailbox.only())
    assert "3 days left, today included" in mailbox.body(mailbox.only())


def test_falling_behind_is_not_sent_when_the_week_is_done_or_nothing_is_asked(
    session, remind, mailbox
):
    done = searching_graduate(weekly_applications=1)
    SearchActivityFactory(graduation=done, occurred_on=WEEK_1)
    SearchActivityFactory(graduation=done, occurred_on=WEEK_2)
    searching_graduate(weekly_applications=0)

    assert remind(WEEK_2 + timedelta(days=5)).due.total() == 0
    assert mailbox.messages == []


def test_falling_behind_is_sent_again_in_a_later_week_still_behind(session, remind, mailbox):
    graduation = searching_graduate(weekly_applications=3)

    remind(WEEK_2)
    remind(WEEK_2 + timedelta(days=7))

    assert [m.dedupe_key for m in messages(session)] == [
        f"behind:{graduation.id}:2025-09-07",
        f"behind:{graduation.id}:2025-09-14",
    ]
    assert len(mailbox.messages) == 2


def test_one_run_sends_its_reminders_through_one_connection(session, remind, mailbox):
    for _ in range(3):
        searching_graduate(weekly_applications=3)

    assert remind(WEEK_2).sent.total() == 3

    assert len(mailbox.messages) == 3 and mailbox.connections == 1


def test_falling_behind_on_coaching_is_about_the_week_that_closes_its_block(
    session, remind, mailbox
):
    # A check-in every 2 weeks: weeks 1 and 2 form a block, which week 2 closes.
    graduation = searching_graduate(weekly_applications=0, coaching_every_weeks=2)

    in_week_1 = remind(WEEK_1 + timedelta(days=4))  # 3 days left in week 1
    in_week_2 = remind(WEEK_2 + timedelta(days=4))  # 3 days left in week 2

    assert in_week_1.due.total() == 0
    assert in_week_2.due[MessageKind.FALLING_BEHIND] == 1
    assert [m.dedupe_key for m in messages(session)] == [f"behind:{graduation.id}:2025-09-07"]


def test_falling_behind_on_coaching_is_about_week_1_when_week_2_is_paused_throughout(
    session, remind, mailbox
):
    # Week 2 is paused every day: week 1 is the block's last week not paused, so it closes it.
    graduation = searching_graduate(weekly_applications=0, coaching_every_weeks=2)
    SearchPauseFactory(graduation=graduation, starts_on=WEEK_2, ends_on=WEEK_2 + timedelta(days=6))

    result = remind(WEEK_1 + timedelta(days=4))

    assert result.due[MessageKind.FALLING_BEHIND] == 1
    assert [m.dedupe_key for m in messages(session)] == [f"behind:{graduation.id}:2025-08-31"]


def test_a_french_graduate_is_told_in_french_what_is_left_to_do(session, remind, mailbox):
    graduation = searching_graduate(weekly_applications=5)
    UserFactory(role=Role.GRADUATE, student=graduation.enrollment.student, locale="fr_FR")
    SearchActivityFactory(graduation=graduation, occurred_on=WEEK_1 + timedelta(days=2))

    remind(WEEK_2)

    body = mailbox.body(mailbox.only())
    assert "candidatures" in body
    assert "applications" not in body
