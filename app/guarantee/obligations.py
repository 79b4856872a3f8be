"""The search obligations rule: where a graduate stands, week by week, with what the policy asks.

A policy version may ask for a number of job applications each week, a coaching check-in every
few weeks, answers to the school's questions within a number of days, and every offer reported
within a number of days. ``search_compliance`` judges a graduate's log against those terms on a
given day. It is the one home of that rule: the graduate's page, the finance claim page, the
reminders and the claim review after the sweep all call it.

Pure: plain values in, plain values out; no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from app.guarantee.rules import job_qualifies
from app.guarantee.sentences import N_, Sentence
from app.guarantee.terms import JobFacts, OfferDecision, PolicyTerms, SearchActivityKind

WEEK = 7

#: The shortfalls the rule writes (``Compliance.shortfalls``). The claim review after the sweep
#: stores them in English in a claim's history, and ``app.guarantee.reasons`` reads them back
#: with these messages: changing their English leaves the notes stored before unread.
WEEK_APPLICATIONS = N_("%(week)s: %(done)s of %(required)s applications")
WEEK_COACHING = N_("%(week)s: no coaching check-in (policy: one every %(every)s)")
ANSWERED_LATE = N_("question asked %(asked)s answered %(late)s late (policy: within %(within)s)")
NOT_ANSWERED = N_(
    "question asked %(asked)s not answered; it was due %(due)s (policy: within %(within)s)"
)
OFFER_REPORTED_LATE = N_(
    "offer from %(employer)s received %(received)s reported %(delay)s later"
    " (policy: within %(within)s)"
)
#: What those name: a week, a declined offer, an employer not named, days and weeks.
WEEK_LABEL = N_("week %(number)s (%(first)s to %(last)s)")
DECLINED_OFFER = N_("declined a qualifying offer from %(employer)s on %(day)s")
AN_EMPLOYER = N_("an employer")
DAY, DAYS = N_("%(count)s day"), N_("%(count)s days")
A_WEEK, WEEKS = N_("week"), N_("%(count)s weeks")


@dataclass(frozen=True)
class Activity:
    """One entry of the job-search log, as the rule needs it."""

    kind: SearchActivityKind
    #: The day it happened (applied, interviewed, received the offer, met the coach).
    occurred_on: date
    #: The day the graduate logged it.
    logged_on: date
    #: For an offer: the job offered (its ``start_date`` the proposed first day, or the offer's
    #: day when none was given).
    offer: JobFacts | None = None
    decision: OfferDecision | None = None
    employer_name: str | None = None
    #: For a decided offer: the day the graduate accepted or declined it.
    decided_on: date | None = None


@dataclass(frozen=True)
class Request:
    """A question the school put to the graduate: when it was asked and answered (UTC)."""

    asked_at: datetime
    answered_at: datetime | None


@dataclass(frozen=True)
class Pause:
    """Days the search was paused, both ends included."""

    starts_on: date
    ends_on: date


class WeekState(StrEnum):
    """Where one week of the window stands."""

    #: Everything the week asks for is done.
    MET = "met"
    #: The current week, not done yet, still open: there is time to fix it.
    BEHIND = "behind"
    #: An ended week that fell short.
    MISSED = "missed"
    #: Every day of the week was paused: it asks for nothing.
    PAUSED = "paused"
    #: Starts after the day judged.
    UPCOMING = "upcoming"


class WeekCompliance(NamedTuple):
    """One week of the window (7 days from the window's start; the last may be shorter).

    A named tuple, not a frozen dataclass: a window has dozens of weeks and the reminders and
    the claim review judge thousands of windows at once; a tuple is built several times faster
    and reads the same."""

    #: 1 for the window's first week.
    number: int
    starts_on: date
    ends_on: date
    #: Days of the week not paused.
    active_days: int
    #: Applications logged as made this week.
    applications: int
    #: Applications the week asks for (the weekly number, prorated to the active days).
    applications_required: int
    #: Whether this week closes a coaching block, which needs a check-in.
    coaching_required: bool
    #: For a week closing a coaching block: whether the block had a check-in; else ``None``.
    coaching_met: bool | None
    state: WeekState

    @property
    def label(self) -> Sentence:
        """'week 3 (12 Jan 2027 to 18 Jan 2027)', as the sentences name a week."""
        return _week_label(self.number, self.starts_on, self.ends_on)


@dataclass(frozen=True)
class DeclinedOffer:
    """An offer the graduate declined that would have been a qualifying job."""

    employer_name: str | None
    #: The day the offer was received.
    received_on: date
    #: The day it was declined, when known.
    declined_on: date | None

    @property
    def description(self) -> Sentence:
        """'declined a qualifying offer from Acme on 03 Feb 2027'."""
        return Sentence(
            DECLINED_OFFER,
            employer=_employer(self.employer_name),
            day=self.declined_on or self.received_on,
        )


@dataclass(frozen=True)
class Compliance:
    """A graduate's search obligations judged on ``as_of``."""

    weeks: list[WeekCompliance]
    #: Each obligation missed, as a sentence a finance reviewer and the graduate can read.
    shortfalls: list[str]
    #: What the current week (and open questions) still ask for, as sentences.
    behind: list[str]
    #: Questions from the school not answered yet and not yet overdue.
    open_requests: int
    declined_qualifying_offers: list[DeclinedOffer] = field(default_factory=list)
    #: The day judged.
    as_of: date | None = None

    @property
    def compliant(self) -> bool:
        """No obligation missed so far."""
        return not self.shortfalls

    @property
    def current_week(self) -> WeekCompliance | None:
        """The week containing ``as_of``; ``None`` before the window or after it."""
        if self.as_of is None:
            return None
        return next((w for w in self.weeks if w.starts_on <= self.as_of <= w.ends_on), None)

    @property
    def last_complete_week(self) -> WeekCompliance | None:
        """The latest week that ended before ``as_of``."""
        if self.as_of is None:
            return None
        ended = [w for w in self.weeks if w.ends_on < self.as_of]
        return ended[-1] if ended else None

    @property
    def falling_behind(self) -> bool:
        """The current week is not done yet, or the last complete week fell short."""
        current = self.current_week
        last = self.last_complete_week
        return (current is not None and current.state is WeekState.BEHIND) or (
            last is not None and last.state is WeekState.MISSED
        )


def answer_due_at(asked_at: datetime, answer_within_days: int | None) -> datetime | None:
    """When an answer to a question asked at ``asked_at`` is due; ``None`` without a deadline."""
    if answer_within_days is None:
        return None
    return asked_at + timedelta(days=answer_within_days)


def search_compliance(
    *,
    terms: PolicyTerms,
    window_start: date,
    deadline: date,
    activities: Iterable[Activity],
    requests: Iterable[Request],
    pauses: Iterable[Pause],
    as_of: date,
    search_country: str | None = None,
) -> Compliance:
    """Judge a graduate's search log against the policy's obligations on ``as_of``.

    Weeks are 7-day blocks from ``window_start`` to ``deadline`` (the last may be shorter). A
    week asks for the weekly applications prorated to its days not paused, rounded up; a week
    paused throughout asks for nothing. With ``coaching_every_weeks`` = N, weeks form blocks of
    N, each needing a check-in, judged at its last week with active days (a short last week
    alone in its block joins the block before it). Questions are late when answered after
    ``answer_within_days``, or unanswered once that moment has passed by the end of ``as_of``.
    Offers are late when logged more than ``report_offers_within_days`` after they were
    received. Declined offers that would have qualified are listed apart: whether they void a
    claim is the caller's decision (``terms.declined_offer_voids``); an offer is in the
    graduate's ``search_country``. A policy without an obligation never yields a shortfall
    for it.
    """
    activities = [a for a in activities if a.occurred_on <= as_of]
    pauses = list(pauses)
    weeks = _weeks(terms, window_start, deadline, activities, pauses, as_of)

    shortfalls: list[str] = []
    behind: list[str] = []
    for week in weeks:
        if week.state is WeekState.MISSED:
            shortfalls.extend(_week_shortfalls(week, terms))
        elif week.state is WeekState.BEHIND:
            behind.extend(_week_todo(week, terms))

    open_requests = 0
    end_of_day = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
    for request in sorted(requests, key=lambda r: r.asked_at):
        if _utc(request.asked_at) >= end_of_day:
            continue
        due = answer_due_at(_utc(request.asked_at), terms.answer_within_days)
        asked = _utc(request.asked_at).date()
        answered_at = None if request.answered_at is None else _utc(request.answered_at)
        if due is None:
            open_requests += answered_at is None
        elif answered_at is not None:
            if answered_at > due:
                shortfalls.append(
                    Sentence(
                        ANSWERED_LATE,
                        asked=asked,
                        late=_late_by(answered_at - due),
                        within=_days(terms.answer_within_days),
                    )
                )
        elif due < end_of_day:
            shortfalls.append(
                Sentence(
                    NOT_ANSWERED,
                    asked=asked,
                    due=due,
                    within=_days(terms.answer_within_days),
                )
            )
        else:
            open_requests += 1
            behind.append(
                Sentence(N_("question asked %(asked)s: answer by %(due)s"), asked=asked, due=due)
            )

    offers = sorted(
        (a for a in activities if a.kind is SearchActivityKind.OFFER),
        key=lambda a: (a.occurred_on, a.logged_on),
    )
    if terms.report_offers_within_days is not None:
        for offer in offers:
            delay = (offer.logged_on - offer.occurred_on).days
            if delay > terms.report_offers_within_days:
                shortfalls.append(
                    Sentence(
                        OFFER_REPORTED_LATE,
                        employer=_employer(offer.employer_name),
                        received=offer.occurred_on,
                        delay=_days(delay),
                        within=_days(terms.report_offers_within_days),
                    )
                )

    declined = [
        DeclinedOffer(offer.employer_name, offer.occurred_on, offer.decided_on)
        for offer in offers
        if offer.decision is OfferDecision.DECLINED
        and (offer.decided_on is None or offer.decided_on <= as_of)
        and offer.offer is not None
        and job_qualifies(offer.offer, terms, deadline, search_country=search_country)
    ]
    return Compliance(weeks, shortfalls, behind, open_requests, declined, as_of)


def _weeks(
    terms: PolicyTerms,
    window_start: date,
    deadline: date,
    activities: list[Activity],
    pauses: list[Pause],
    as_of: date,
) -> list[WeekCompliance]:
    # The weeks' first and last days: 7-day blocks from the window's start, the last one
    # ending on the deadline.
    count = max((deadline - window_start).days // WEEK + 1, 0)
    starts = [window_start + timedelta(days=WEEK * index) for index in range(count)]
    spans = [(starts_on, starts_on + _LAST_DAY_OFFSET) for starts_on in starts]
    if spans:
        spans[-1] = (spans[-1][0], deadline)

    # A week's active days are its days less those inside a pause (pauses may overlap: they
    # are merged first, so a day paused twice is taken off once).
    paused = _merged(pauses)
    active = [(ends_on - starts_on).days + 1 for starts_on, ends_on in spans]
    if paused:
        active = [
            days
            - sum(
                (min(ends_on, last) - max(starts_on, first)).days + 1
                for first, last in paused
                if first <= ends_on and last >= starts_on
            )
            for days, (starts_on, ends_on) in zip(active, spans, strict=True)
        ]
    applications = [0] * count
    checkins = [0] * count
    application, checkin = SearchActivityKind.APPLICATION, SearchActivityKind.COACHING_CHECKIN
    for activity in activities:
        occurred_on = activity.occurred_on
        index = (occurred_on - window_start).days // WEEK
        if not 0 <= index < count or occurred_on > deadline:
            continue
        if activity.kind is application:
            applications[index] += 1
        elif activity.kind is checkin:
            checkins[index] += 1

    # The week that judges each coaching block, and whether the block had a check-in.
    coaching: dict[int, bool] = {}
    every = terms.coaching_every_weeks
    if every:
        blocks = [index // every for index in range(len(spans))]
        last = len(spans) - 1
        short_last = (spans[last][1] - spans[last][0]).days + 1 < WEEK
        if last > 0 and short_last and last % every == 0:
            blocks[last] = blocks[last - 1]  # a few days alone need no check-in of their own
        members_of: dict[int, list[int]] = defaultdict(list)
        for index, block in enumerate(blocks):
            members_of[block].append(index)
        for block in sorted(members_of):
            members = members_of[block]
            judged = [index for index in members if active[index] > 0]
            if judged:
                coaching[judged[-1]] = any(checkins[index] for index in members)

    # Locals, not lookups: a review after the sweep judges some hundred thousand weeks.
    weekly = terms.weekly_applications
    paused_state, upcoming, met, behind, missed = (
        WeekState.PAUSED, WeekState.UPCOMING, WeekState.MET, WeekState.BEHIND, WeekState.MISSED
    )  # fmt: skip
    weeks = []
    for index, (starts_on, ends_on) in enumerate(spans):
        days = active[index]
        done = applications[index]
        required = -(-weekly * days // WEEK)
        coaching_met = coaching.get(index)
        if days == 0:
            state = paused_state
        elif starts_on > as_of:
            state = upcoming
        elif done >= required and coaching_met is not False:
            state = met
        elif ends_on >= as_of:
            state = behind
        else:
            state = missed
        weeks.append(
            WeekCompliance(  # in the order of its fields: faster than by name, for thousands
                index + 1,  # number
                starts_on,
                ends_on,
                days,  # active_days
                done,  # applications
                required,  # applications_required
                index in coaching,  # coaching_required
                coaching_met,
                state,
            )
        )
    return weeks


#: How far a week's last day is from its first.
_LAST_DAY_OFFSET = timedelta(days=WEEK - 1)


def _merged(pauses: list[Pause]) -> list[tuple[date, date]]:
    """The days paused, as disjoint (first, last) spans in order."""
    merged: list[tuple[date, date]] = []
    for pause in sorted(pauses, key=lambda pause: pause.starts_on):
        if pause.ends_on < pause.starts_on:
            continue
        if merged and pause.starts_on <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], pause.ends_on))
        else:
            merged.append((pause.starts_on, pause.ends_on))
    return merged


def _week_shortfalls(week: WeekCompliance, terms: PolicyTerms) -> list[str]:
    reasons = []
    if week.applications < week.applications_required:
        reasons.append(
            Sentence(
                WEEK_APPLICATIONS,
                week=week.label,
                done=week.applications,
                required=week.applications_required,
            )
        )
    if week.coaching_met is False:
        reasons.append(
            Sentence(
                WEEK_COACHING,
                week=week.label,
                every=_weeks_phrase(terms.coaching_every_weeks),
            )
        )
    return reasons


def _week_todo(week: WeekCompliance, terms: PolicyTerms) -> list[str]:
    todo = []
    if week.applications < week.applications_required:
        todo.append(
            Sentence(
                N_(
                    "this week (%(first)s to %(last)s): %(done)s of %(required)s applications;"
                    " %(more)s more by %(last)s"
                ),
                first=week.starts_on,
                last=week.ends_on,
                done=week.applications,
                required=week.applications_required,
                more=week.applications_required - week.applications,
            )
        )
    if week.coaching_met is False:
        todo.append(
            Sentence(
                N_("a coaching check-in is due by %(last)s (policy: one every %(every)s)"),
                last=week.ends_on,
                every=_weeks_phrase(terms.coaching_every_weeks),
            )
        )
    return todo


@lru_cache(maxsize=4096)
def _week_label(number: int, first: date, last: date) -> Sentence:
    # Kept: windows that open on the same day share their weeks, and a review after the sweep
    # names thousands of missed weeks (a sentence is immutable, so one serves them all).
    return Sentence(WEEK_LABEL, number=number, first=first, last=last)


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; the service stores UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _employer(name: str | None) -> str:
    return name or Sentence(AN_EMPLOYER)


def _days(count: int) -> Sentence:
    return Sentence(DAY, DAYS, count=count)


def _weeks_phrase(count: int | None) -> Sentence:
    return Sentence(A_WEEK, WEEKS, count=count)


def _late_by(delay: timedelta) -> str:
    # Whole days, rounded up: an answer an hour late is "1 day late", never "0 days late".
    days = delay.days + (1 if delay - timedelta(days=delay.days) > timedelta(0) else 0)
    return _days(max(days, 1))
