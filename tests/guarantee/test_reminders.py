"""When a reminder is due: the deadline points, the falling-behind week, the employer's turn."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.guarantee.obligations import Compliance, WeekCompliance, WeekState
from app.guarantee.reminders import (
    WARN_WITH_DAYS_LEFT_IN_WEEK,
    days_left_in_week,
    deadline_reminder_due,
    employer_reminder_due,
    week_to_warn_about,
)


@pytest.mark.parametrize(
    ("days_left", "days_before", "due"),
    [
        (31, (30, 7), None),  # not yet
        (30, (30, 7), 30),  # exactly 30 days away
        (20, (30, 7), 30),  # the 30-day run was missed: sent late, not lost
        (8, (30, 7), 30),
        (7, (30, 7), 7),  # exactly 7 days away
        (5, (30, 7), 7),  # both due: only the smallest
        (0, (30, 7), 7),  # the deadline itself
        (0, (30, 7, 0), 0),
        (None, (30, 7), None),  # the window closed
        (-1, (30, 7), None),
        (3, (), None),  # no reminders configured
        (7, (7, 30), 7),  # order of the setting does not matter
    ],
)
def test_deadline_reminder_due_is_the_smallest_point_reached(days_left, days_before, due):
    assert deadline_reminder_due(days_left, days_before) == due


START = date(2026, 3, 2)  # a Monday; weeks run Monday to Sunday


def week(number: int, state: WeekState) -> WeekCompliance:
    starts_on = START + timedelta(days=7 * (number - 1))
    return WeekCompliance(
        number=number,
        starts_on=starts_on,
        ends_on=starts_on + timedelta(days=6),
        active_days=7,
        applications=0,
        applications_required=5,
        coaching_required=False,
        coaching_met=None,
        state=state,
    )


def compliance(as_of: date, *states: WeekState) -> Compliance:
    weeks = [week(number, state) for number, state in enumerate(states, start=1)]
    return Compliance(weeks, [], [], 0, [], as_of)


MET, BEHIND, MISSED, PAUSED, UPCOMING = (
    WeekState.MET,
    WeekState.BEHIND,
    WeekState.MISSED,
    WeekState.PAUSED,
    WeekState.UPCOMING,
)


@pytest.mark.parametrize(
    ("as_of", "states", "warned_week"),
    [
        # Week 2 runs 9 to 15 March.
        (date(2026, 3, 9), (MET, BEHIND, UPCOMING), None),  # its first day: time enough
        (date(2026, 3, 12), (MET, BEHIND, UPCOMING), None),  # 4 days left
        (date(2026, 3, 13), (MET, BEHIND, UPCOMING), 2),  # 3 days left: warned
        (date(2026, 3, 15), (MET, BEHIND, UPCOMING), 2),  # its last day
        (date(2026, 3, 9), (MISSED, BEHIND, UPCOMING), 2),  # last week fell short: at once
        (date(2026, 3, 13), (MET, MET, UPCOMING), None),  # done this week
        (date(2026, 3, 13), (MISSED, MET, UPCOMING), None),  # caught up: nothing to fix now
        (date(2026, 3, 13), (MET, PAUSED, UPCOMING), None),  # paused
        (date(2026, 3, 4), (BEHIND, UPCOMING, UPCOMING), None),  # first week, 5 days left
        (date(2026, 3, 6), (BEHIND, UPCOMING, UPCOMING), 1),
        (date(2026, 3, 1), (UPCOMING, UPCOMING), None),  # before the window
        (date(2026, 3, 30), (MISSED, MISSED), None),  # after it
    ],
)
def test_week_to_warn_about_is_the_current_week_when_it_can_still_be_made_good(
    as_of, states, warned_week
):
    warned = week_to_warn_about(compliance(as_of, *states))
    assert (warned.number if warned else None) == warned_week


def test_week_to_warn_about_waits_until_the_last_days_of_the_week():
    assert WARN_WITH_DAYS_LEFT_IN_WEEK == 3
    assert days_left_in_week(week(2, BEHIND), date(2026, 3, 13)) == 3
    assert days_left_in_week(week(2, BEHIND), date(2026, 3, 15)) == 1


REQUESTED = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("so_far", "last_after_days", "now_after_days", "limit", "due"),
    [
        (0, None, 6.9, 2, None),  # too early
        (0, None, 7, 2, 1),  # a week after the request: the first
        (0, None, 30, 2, 1),  # late runs still send the first, once
        (1, 7, 13.9, 2, None),  # less than a week after the first
        (1, 7, 14, 2, 2),  # a week after the first: the second
        (2, 14, 40, 2, None),  # the limit reached
        (0, None, 8, 0, None),  # reminders switched off
        (1, 7, 60, 3, 2),
    ],
)
def test_employer_reminder_due_after_the_wait_and_within_the_limit(
    so_far, last_after_days, now_after_days, limit, due
):
    last = None if last_after_days is None else REQUESTED + timedelta(days=last_after_days)
    assert (
        employer_reminder_due(
            requested_at=REQUESTED,
            reminders_so_far=so_far,
            last_reminder_at=last,
            now=REQUESTED + timedelta(days=now_after_days),
            after_days=7,
            limit=limit,
        )
        == due
    )
