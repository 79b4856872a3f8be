"""Who is warned they are falling behind, in one statement: ``week_to_warn_about`` in SQL.

The rule (``app.guarantee.reminders.week_to_warn_about`` over ``search_compliance``) warns a
graduate about the current week of their window while it is not done, either at once when the
week before it fell short, or once at most ``WARN_WITH_DAYS_LEFT_IN_WEEK`` of its days are
left. Only those two weeks decide it, so the statement counts, per graduate, what those two
weeks need: their days not paused, their applications, and the coaching check-ins of the
blocks they close. The reminders then read and judge the whole log only of those warned, to
write the email. A property test proves the statement equal to the rule.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Date,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement

from app.guarantee.obligations import WEEK
from app.guarantee.reminders import WARN_WITH_DAYS_LEFT_IN_WEEK
from app.guarantee.terms import SearchActivityKind
from app.models import SearchActivity, SearchPause
from refunds.sweep import days_after, days_from_to


def warned_weeks(candidates, as_of: date) -> Select:
    """SELECT of the graduates of ``candidates`` warned on ``as_of``, each with the week the
    warning is about: ``graduation_id``, ``window_start`` and ``week_index`` (0 for the
    window's first week, which starts on ``window_start``).

    ``candidates`` is a subquery of graduates in their window on ``as_of`` with the columns
    ``graduation_id``, ``window_start``, ``deadline``, ``weekly_applications`` and
    ``coaching_every_weeks`` (their policy's)."""
    today = literal(as_of, Date)
    c = candidates.c

    # The current week (index k) and the window's last week (index last), in days from the
    # window's start; only windows started by today have a current week.
    offsets = (
        select(
            c.graduation_id,
            c.window_start,
            c.deadline,
            c.weekly_applications,
            c.coaching_every_weeks.label("every"),
            days_from_to(c.window_start, today).label("today"),
            days_from_to(c.window_start, c.deadline).label("deadline_day"),
        )
        .where(days_from_to(c.window_start, today) >= 0)
        .subquery("offsets")
    )
    o = offsets.c
    k = o.today // WEEK
    last = o.deadline_day // WEEK
    # A short last week alone at the start of its coaching block joins the block before it.
    last_joins_block_before = and_(
        o.every.is_not(None), last > 0, o.deadline_day - WEEK * last < WEEK - 1, last % o.every == 0
    ).self_group()
    weeks = select(
        o.graduation_id,
        o.window_start,
        o.today,
        o.weekly_applications,
        o.every,
        k.label("k"),
        last.label("last"),
        o.deadline,
        days_after(o.window_start, WEEK * k).label("starts_on"),
        case(
            (WEEK * k + WEEK - 1 < o.deadline_day, days_after(o.window_start, WEEK * k + WEEK - 1)),
            else_=o.deadline,
        ).label("ends_on"),
        last_joins_block_before.label("last_joins"),
    ).subquery("weeks")
    w = weeks.c
    # The coaching block of the current week: its first week, and its last one.
    joined = and_(w.last_joins, w.k == w.last)
    block_first = case((joined, (w.last - 1) // w.every * w.every), else_=w.k // w.every * w.every)
    block_last = case(
        (joined, w.last),
        (w.k // w.every * w.every + w.every - 1 >= w.last, w.last),
        (and_(w.last_joins, w.last == w.k // w.every * w.every + w.every), w.last),
        else_=w.k // w.every * w.every + w.every - 1,
    )
    block_ends_on = case(
        (WEEK * block_last + WEEK - 1 < days_from_to(w.window_start, w.deadline),
         days_after(w.window_start, WEEK * block_last + WEEK - 1)),
        else_=w.deadline,
    )  # fmt: skip
    # A week closing a coaching block is the block's last week with days not paused: the
    # current week, when the weeks after it in its block are paused throughout; the week
    # before, when the current week starts a block.
    current_judged = case(
        (w.every.is_(None), false()),
        (block_last <= w.k, true()),
        else_=_all_paused(
            w.graduation_id, days_after(w.window_start, WEEK * w.k + WEEK), block_ends_on
        ),
    )
    previous_judged = and_(
        w.every.is_not(None), w.k >= 1, w.k % w.every == 0, not_(joined)
    ).self_group()
    previous_starts_on = case((w.k >= 1, days_after(w.window_start, WEEK * w.k - WEEK)))
    previous_ends_on = case((w.k >= 1, days_after(w.window_start, WEEK * w.k - 1)))
    counts = select(
        w.graduation_id,
        w.window_start,
        w.k,
        w.weekly_applications,
        (days_from_to(w.starts_on, w.ends_on) + 1).label("days"),
        (days_from_to(today, w.ends_on) + 1).label("days_left"),
        _paused_days(w.graduation_id, w.starts_on, w.ends_on).label("paused"),
        _paused_days(w.graduation_id, previous_starts_on, previous_ends_on).label(
            "previous_paused"
        ),
        _logged(w.graduation_id, SearchActivityKind.APPLICATION, w.starts_on, today).label(
            "applications"
        ),
        _logged(
            w.graduation_id, SearchActivityKind.APPLICATION, previous_starts_on, previous_ends_on
        ).label("previous_applications"),
        current_judged.label("current_judged"),
        case(
            (current_judged, _logged(
                w.graduation_id, SearchActivityKind.COACHING_CHECKIN,
                days_after(w.window_start, WEEK * block_first), today,
            )),
            else_=0,
        ).label("checkins"),
        previous_judged.label("previous_judged"),
        case(
            (previous_judged, _logged(
                w.graduation_id, SearchActivityKind.COACHING_CHECKIN,
                days_after(w.window_start, WEEK * (w.k - w.every)), previous_ends_on,
            )),
            else_=0,
        ).label("previous_checkins"),
    ).subquery("counts")  # fmt: skip
    n = counts.c
    active = n.days - n.paused
    previous_active = WEEK - n.previous_paused
    behind = and_(
        active > 0,
        or_(
            n.applications < _required(n.weekly_applications, active),
            and_(n.current_judged, n.checkins == 0),
        ),
    )
    previous_missed = and_(
        n.k >= 1,
        previous_active > 0,
        or_(
            n.previous_applications < _required(n.weekly_applications, previous_active),
            and_(n.previous_judged, n.previous_checkins == 0),
        ),
    )
    return select(n.graduation_id, n.window_start, n.k.label("week_index")).where(
        behind, or_(previous_missed, n.days_left <= WARN_WITH_DAYS_LEFT_IN_WEEK)
    )


def _required(weekly: ColumnElement, active: ColumnElement) -> ColumnElement:
    """The applications a week asks for: the weekly number prorated to its active days,
    rounded up (``search_compliance``)."""
    return (weekly * active + WEEK - 1) // WEEK


#: The days of a week, 0 to 6: the days a week's pauses are counted over.
_DAYS = union_all(*(select(literal(day).label("day")) for day in range(WEEK))).subquery("days")


def _paused(graduation_id, day) -> ColumnElement:
    """Whether a pause of the graduate's covers ``day``."""
    pause = aliased(SearchPause)
    # Correlated explicitly: the week's columns come from two SELECTs out.
    return (
        exists()
        .where(pause.graduation_id == graduation_id, pause.starts_on <= day, pause.ends_on >= day)
        .correlate_except(pause)
    )


def _paused_days(graduation_id, first, last) -> ColumnElement:
    """The days from ``first`` to ``last`` (at most a week) that a pause covers, each once
    however many pauses cover it."""
    day = days_after(first, _DAYS.c.day)
    return (
        select(func.count())
        .select_from(_DAYS)
        .where(day <= last, _paused(graduation_id, day))
        .correlate_except(_DAYS)
        .scalar_subquery()
    )


def _all_paused(graduation_id, first, last) -> ColumnElement:
    """Whether pauses cover every day from ``first`` to ``last``: the first day is paused, and
    no pause ending before ``last`` is followed by a day not paused."""
    pause = aliased(SearchPause)
    gap = (
        exists()
        .where(
            pause.graduation_id == graduation_id,
            pause.starts_on <= pause.ends_on,
            pause.ends_on >= first,
            pause.ends_on < last,
            not_(_paused(graduation_id, days_after(pause.ends_on, 1))),
        )
        .correlate_except(pause)
    )
    return and_(_paused(graduation_id, first), not_(gap))


def _logged(graduation_id, kind: SearchActivityKind, first, last) -> ColumnElement:
    """How many entries of ``kind`` the graduate's log has from ``first`` to ``last``."""
    return (
        select(func.count())
        .where(
            SearchActivity.graduation_id == graduation_id,
            SearchActivity.kind == kind,
            SearchActivity.occurred_on >= first,
            SearchActivity.occurred_on <= last,
        )
        .correlate_except(SearchActivity)
        .scalar_subquery()
    )
