"""When a reminder is due: pure rules over plain values, for the reminder emails.

The service (``app.services.reminders``) reads the records, asks these rules which reminder is
due, and sends it once. Each rule is state-based, never "is it exactly the day": a run that was
missed, or a scheduler that was down for a few days, loses nobody.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from app.guarantee.obligations import Compliance, WeekCompliance, WeekState

#: A week that is not done yet is warned about once this many of its days are left (today
#: included): a nudge in the second half of the week, while there is still time, rather than
#: an email on every week's first morning.
WARN_WITH_DAYS_LEFT_IN_WEEK = 3


def deadline_reminder_due(days_left: int | None, days_before: Iterable[int]) -> int | None:
    """Which deadline reminder is due with ``days_left`` days to the deadline, if any.

    ``days_before`` are the reminder points (e.g. 30 and 7). A point is due once the deadline is
    that close or closer; of the points due, only the smallest is: with 5 days left, the
    7-day reminder, never also a late 30-day one. The caller sends it unless it was sent
    already for this deadline. ``None`` once the window has closed or while no point is due.
    """
    if days_left is None or days_left < 0:
        return None
    due = [days for days in days_before if days_left <= days]
    return min(due) if due else None


def week_to_warn_about(compliance: Compliance) -> WeekCompliance | None:
    """The week a falling-behind warning is about, or ``None`` when none is due.

    Only a week that can still be made good is warned about: the current week, while it is
    not done (``behind``). It is warned about at once when the week before it fell short, or
    else once at most ``WARN_WITH_DAYS_LEFT_IN_WEEK`` of its days are left.
    """
    current = compliance.current_week
    if current is None or current.state is not WeekState.BEHIND or compliance.as_of is None:
        return None
    last = compliance.last_complete_week
    if last is not None and last.state is WeekState.MISSED:
        return current
    if days_left_in_week(current, compliance.as_of) <= WARN_WITH_DAYS_LEFT_IN_WEEK:
        return current
    return None


def days_left_in_week(week: WeekCompliance, as_of: date) -> int:
    """Days from ``as_of`` to the week's last day, both included."""
    return (week.ends_on - as_of).days + 1


def employer_reminder_due(
    *,
    requested_at: datetime,
    reminders_so_far: int,
    last_reminder_at: datetime | None,
    now: datetime,
    after_days: int,
    limit: int,
) -> int | None:
    """The number of the employer reminder due now (1 for the first), or ``None``.

    A reminder is due ``after_days`` after the request and as long again after the previous
    reminder, until ``limit`` reminders were sent. (Whether the confirmation is still open is
    the caller's to check.)
    """
    if reminders_so_far >= limit:
        return None
    wait = timedelta(days=after_days)
    since = requested_at if last_reminder_at is None else max(requested_at, last_reminder_at)
    if now - since < wait:
        return None
    return reminders_so_far + 1
