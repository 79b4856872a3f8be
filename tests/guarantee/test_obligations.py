"""Table-driven tests of the search obligations rule, and properties that hold for any log."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.guarantee.obligations import (
    Activity,
    Pause,
    Request,
    WeekState,
    answer_due_at,
    search_compliance,
)
from app.guarantee.terms import (
    EmploymentType,
    JobFacts,
    OfferDecision,
    PolicyTerms,
    SearchActivityKind,
)

START = date(2027, 1, 5)  # a Tuesday: weeks run Tuesday to Monday
DEADLINE = date(2027, 2, 8)  # 35 days: five full weeks
APPLICATION = SearchActivityKind.APPLICATION
CHECKIN = SearchActivityKind.COACHING_CHECKIN
OFFER = SearchActivityKind.OFFER

NONE = PolicyTerms()
FIVE_A_WEEK = PolicyTerms(weekly_applications=5)


def day(offset: int) -> date:
    return START + timedelta(days=offset)


def applied(offset: int, count: int = 1) -> list[Activity]:
    return [Activity(APPLICATION, day(offset), day(offset))] * count


def checkin(offset: int) -> Activity:
    return Activity(CHECKIN, day(offset), day(offset))


def judge(terms=NONE, activities=(), requests=(), pauses=(), as_of=DEADLINE, deadline=DEADLINE):
    return search_compliance(
        terms=terms,
        window_start=START,
        deadline=deadline,
        activities=activities,
        requests=requests,
        pauses=pauses,
        as_of=as_of,
    )


def states(compliance) -> list[str]:
    return [week.state.value for week in compliance.weeks]


def test_weeks_are_seven_day_blocks_from_the_window_start_and_the_last_may_be_short():
    weeks = judge(deadline=date(2027, 2, 10)).weeks
    assert [(w.number, w.starts_on, w.ends_on) for w in weeks] == [
        (1, date(2027, 1, 5), date(2027, 1, 11)),
        (2, date(2027, 1, 12), date(2027, 1, 18)),
        (3, date(2027, 1, 19), date(2027, 1, 25)),
        (4, date(2027, 1, 26), date(2027, 2, 1)),
        (5, date(2027, 2, 2), date(2027, 2, 8)),
        (6, date(2027, 2, 9), date(2027, 2, 10)),
    ]
    assert weeks[-1].active_days == 2


@pytest.mark.parametrize(
    ("terms", "activities", "as_of", "expected"),
    [
        # No requirement: every week is met as soon as it starts, however empty the log.
        (NONE, [], DEADLINE, ["met"] * 5),
        (NONE, [], day(10), ["met", "met", "upcoming", "upcoming", "upcoming"]),
        # Five a week, done every week.
        (FIVE_A_WEEK, [a for w in range(5) for a in applied(7 * w, 5)], DEADLINE, ["met"] * 5),
        # Week 2 short by one; judged on the deadline, it is missed.
        (
            FIVE_A_WEEK,
            applied(0, 5) + applied(7, 4) + applied(14, 5) + applied(21, 5) + applied(28, 5),
            DEADLINE,
            ["met", "missed", "met", "met", "met"],
        ),
        # Mid week 2 with 4 of 5: behind, still open; later weeks upcoming.
        (
            FIVE_A_WEEK,
            applied(0, 5) + applied(7, 4),
            day(9),
            ["met", "behind", "upcoming", "upcoming", "upcoming"],
        ),
        # The week's last day is still open: behind, not missed.
        (FIVE_A_WEEK, applied(0, 4), day(6), ["behind"] + ["upcoming"] * 4),
        # The day after, it is missed.
        (FIVE_A_WEEK, applied(0, 4), day(7), ["missed", "behind"] + ["upcoming"] * 3),
        # Before the window: all upcoming.
        (FIVE_A_WEEK, [], day(-3), ["upcoming"] * 5),
        # Applications in the future of as_of are not counted yet.
        (FIVE_A_WEEK, applied(5, 5), day(3), ["behind"] + ["upcoming"] * 4),
    ],
)
def test_week_states(terms, activities, as_of, expected):
    assert states(judge(terms, activities, as_of=as_of)) == expected


@pytest.mark.parametrize(
    ("weekly", "pause", "required"),
    [
        (5, None, 5),
        (5, (0, 6), 0),  # paused all week
        (5, (0, 2), 3),  # 4 active days: ceil(5 * 4 / 7) = 3
        (5, (0, 5), 1),  # 1 active day: ceil(5 / 7) = 1
        (30, (0, 3), 13),  # 3 active days: ceil(90 / 7) = 13
        (3, (-10, 1), 3),  # a pause starting before the window: 5 active days, ceil(15/7) = 3
        (0, (0, 2), 0),
    ],
)
def test_applications_required_are_prorated_to_days_not_paused(weekly, pause, required):
    pauses = [] if pause is None else [Pause(day(pause[0]), day(pause[1]))]
    week = judge(PolicyTerms(weekly_applications=weekly), pauses=pauses).weeks[0]
    assert week.applications_required == required


def test_a_fully_paused_week_is_paused_and_asks_for_nothing():
    compliance = judge(FIVE_A_WEEK, pauses=[Pause(day(7), day(13))], as_of=day(20))
    assert states(compliance)[:3] == ["missed", "paused", "behind"]
    assert compliance.shortfalls == ["week 1 (05 Jan 2027 to 11 Jan 2027): 0 of 5 applications"]


def test_shortfall_sentence_names_the_week_and_the_count():
    activities = applied(0, 5) + applied(7, 5) + applied(14, 2)
    compliance = judge(FIVE_A_WEEK, activities, as_of=day(21))
    assert compliance.shortfalls == ["week 3 (19 Jan 2027 to 25 Jan 2027): 2 of 5 applications"]
    assert not compliance.compliant


def test_behind_says_what_the_current_week_still_needs():
    compliance = judge(FIVE_A_WEEK, applied(7, 2), as_of=day(8))
    assert compliance.behind == [
        "this week (12 Jan 2027 to 18 Jan 2027): 2 of 5 applications; 3 more by 18 Jan 2027"
    ]
    assert compliance.falling_behind


@pytest.mark.parametrize(
    ("activities", "as_of", "falling_behind"),
    [
        (applied(0, 5) + applied(7, 5), day(8), False),  # this week already met
        (applied(0, 5), day(8), True),  # this week not met yet
        (applied(0, 3) + applied(7, 5), day(8), True),  # last week fell short
        (applied(0, 3) + applied(7, 5) + applied(14, 5), day(15), False),  # an older shortfall
    ],
)
def test_falling_behind(activities, as_of, falling_behind):
    assert judge(FIVE_A_WEEK, activities, as_of=as_of).falling_behind is falling_behind


COACH_2 = PolicyTerms(coaching_every_weeks=2)


@pytest.mark.parametrize(
    ("terms", "activities", "pauses", "deadline", "judged_weeks", "shortfall_weeks"),
    [
        # Blocks of two weeks (1-2, 3-4, 5): judged at weeks 2, 4 and 5.
        (COACH_2, [checkin(1), checkin(20), checkin(30)], [], DEADLINE, [2, 4, 5], []),
        (COACH_2, [checkin(1), checkin(30)], [], DEADLINE, [2, 4, 5], [4]),
        # A check-in in the first week of a block counts for the block.
        (COACH_2, [checkin(0), checkin(14), checkin(28)], [], DEADLINE, [2, 4, 5], []),
        # Block 3-4 paused throughout needs none.
        (COACH_2, [checkin(1), checkin(30)], [Pause(day(14), day(27))], DEADLINE, [2, 5], []),
        # Week 4 paused: block 3-4 is judged at week 3.
        (COACH_2, [checkin(1), checkin(30)], [Pause(day(21), day(27))], DEADLINE, [2, 3, 5], [3]),
        # A short last week alone in its block joins the block before it.
        (COACH_2, [checkin(1), checkin(20)], [], date(2027, 2, 2), [2, 5], []),
        # Every week.
        (PolicyTerms(coaching_every_weeks=1), [checkin(0)], [], day(13), [1, 2], [2]),
    ],
)
def test_coaching_blocks(terms, activities, pauses, deadline, judged_weeks, shortfall_weeks):
    after = deadline + timedelta(days=1)
    compliance = judge(terms, activities, pauses=pauses, deadline=deadline, as_of=after)
    assert [w.number for w in compliance.weeks if w.coaching_required] == judged_weeks
    assert [w.number for w in compliance.weeks if w.coaching_met is False] == shortfall_weeks
    assert [w.number for w in compliance.weeks if w.state is WeekState.MISSED] == shortfall_weeks


def test_coaching_shortfall_sentence():
    compliance = judge(COACH_2, [checkin(1)], as_of=day(14))
    assert compliance.shortfalls == []
    compliance = judge(COACH_2, [], as_of=day(14))
    assert compliance.shortfalls == [
        "week 2 (12 Jan 2027 to 18 Jan 2027): no coaching check-in (policy: one every 2 weeks)"
    ]


def test_coaching_due_this_week_is_behind():
    compliance = judge(COACH_2, [], as_of=day(8))
    assert compliance.weeks[1].state is WeekState.BEHIND
    assert compliance.behind == [
        "a coaching check-in is due by 18 Jan 2027 (policy: one every 2 weeks)"
    ]


def at(offset: int, hour: int = 9) -> datetime:
    return datetime.combine(day(offset), datetime.min.time(), tzinfo=UTC) + timedelta(hours=hour)


THREE_DAYS = PolicyTerms(answer_within_days=3)


@pytest.mark.parametrize(
    ("terms", "request_", "as_of", "shortfalls", "open_requests"),
    [
        (THREE_DAYS, Request(at(0), at(2)), day(10), [], 0),
        (THREE_DAYS, Request(at(0), at(3)), day(10), [], 0),  # exactly on time
        (
            THREE_DAYS,
            Request(at(0), at(8)),
            day(10),
            ["question asked 05 Jan 2027 answered 5 days late (policy: within 3 days)"],
            0,
        ),
        (
            THREE_DAYS,
            Request(at(0), at(3, hour=10)),
            day(10),
            ["question asked 05 Jan 2027 answered 1 day late (policy: within 3 days)"],
            0,
        ),
        (THREE_DAYS, Request(at(0), None), day(2), [], 1),  # open, not due yet
        (
            THREE_DAYS,
            Request(at(0), None),
            day(3),  # due at 09:00 on day 3: past by that day's end
            [
                "question asked 05 Jan 2027 not answered; it was due 08 Jan 2027 09:00 UTC"
                " (policy: within 3 days)"
            ],
            0,
        ),
        (THREE_DAYS, Request(at(5), None), day(4), [], 0),  # asked after as_of: not yet
        (NONE, Request(at(0), None), day(30), [], 1),  # no deadline: open, never late
        (NONE, Request(at(0), at(30)), day(30), [], 0),
    ],
)
def test_questions_from_the_school(terms, request_, as_of, shortfalls, open_requests):
    compliance = judge(terms, requests=[request_], as_of=as_of)
    assert compliance.shortfalls == shortfalls
    assert compliance.open_requests == open_requests


def test_naive_times_are_read_as_utc():
    naive = Request(datetime(2027, 1, 5, 9), datetime(2027, 1, 13, 9))
    compliance = judge(THREE_DAYS, requests=[naive], as_of=day(10))
    assert compliance.shortfalls == [
        "question asked 05 Jan 2027 answered 5 days late (policy: within 3 days)"
    ]


def test_answer_due_at():
    assert answer_due_at(at(0), 3) == at(3)
    assert answer_due_at(at(0), None) is None


PERMANENT = JobFacts(EmploymentType.FULL_TIME_PERMANENT, in_field=True, start_date=day(40))
INTERNSHIP = JobFacts(
    EmploymentType.INTERNSHIP, in_field=True, start_date=day(20), contract_months=6
)


def offer(received, logged, facts=PERMANENT, decision=OfferDecision.PENDING, decided=None):
    return Activity(OFFER, day(received), day(logged), facts, decision, "Acme", decided_on=decided)


@pytest.mark.parametrize(
    ("terms", "activity", "shortfalls"),
    [
        (PolicyTerms(report_offers_within_days=7), offer(27, 34), []),
        (
            PolicyTerms(report_offers_within_days=7),
            offer(27, 39),
            ["offer from Acme received 01 Feb 2027 reported 12 days later (policy: within 7 days)"],
        ),
        (NONE, offer(27, 39), []),  # offers need not be reported: nothing is late
    ],
)
def test_offer_reports(terms, activity, shortfalls):
    assert judge(terms, [activity], as_of=day(40)).shortfalls == shortfalls


def test_declined_qualifying_offer_is_listed_with_its_day():
    activity = offer(10, 10, PERMANENT, OfferDecision.DECLINED, decided=day(12))
    compliance = judge(NONE, [activity], as_of=DEADLINE, deadline=day(60))
    assert [o.description for o in compliance.declined_qualifying_offers] == [
        "declined a qualifying offer from Acme on 17 Jan 2027"
    ]
    assert compliance.compliant  # declining is for the claim review to weigh, not a shortfall


@pytest.mark.parametrize(
    "activity",
    [
        offer(10, 10, INTERNSHIP, OfferDecision.DECLINED),  # only permanent jobs qualify
        offer(10, 10, PERMANENT, OfferDecision.ACCEPTED),
        offer(10, 10, PERMANENT, OfferDecision.PENDING),
        offer(10, 10, PERMANENT, OfferDecision.DECLINED, decided=day(50)),  # after as_of
    ],
)
def test_offers_that_are_not_declined_qualifying_ones(activity):
    terms = PolicyTerms(qualifying_types=frozenset({EmploymentType.FULL_TIME_PERMANENT}))
    compliance = judge(terms, [activity], as_of=day(30), deadline=day(60))
    assert compliance.declined_qualifying_offers == []


def test_declined_offer_starting_after_the_deadline_does_not_qualify():
    late_start = JobFacts(
        EmploymentType.FULL_TIME_PERMANENT, True, start_date=DEADLINE + timedelta(1)
    )
    activity = offer(10, 10, late_start, OfferDecision.DECLINED)
    assert judge(NONE, [activity]).declined_qualifying_offers == []


def test_activities_after_the_deadline_count_in_no_week():
    compliance = judge(FIVE_A_WEEK, applied(36, 5), as_of=day(40))
    assert sum(w.applications for w in compliance.weeks) == 0


def test_current_and_last_complete_week():
    compliance = judge(FIVE_A_WEEK, as_of=day(9))
    assert compliance.current_week.number == 2
    assert compliance.last_complete_week.number == 1
    after = judge(FIVE_A_WEEK, as_of=day(50))
    assert after.current_week is None
    assert after.last_complete_week.number == 5


# Properties over any log.

offsets = st.integers(min_value=-10, max_value=80)
kinds = st.sampled_from([APPLICATION, CHECKIN, SearchActivityKind.INTERVIEW])
logs = st.lists(
    st.builds(lambda kind, offset: Activity(kind, day(offset), day(offset)), kinds, offsets),
    max_size=40,
)
pause_lists = st.lists(
    st.builds(lambda a, n: Pause(day(a), day(a + n)), offsets, st.integers(0, 20)), max_size=3
)
windows = st.integers(min_value=1, max_value=120)


@given(logs, pause_lists, windows, offsets)
def test_a_policy_without_obligations_never_finds_a_shortfall(log, pauses, length, as_of):
    compliance = judge(NONE, log, pauses=pauses, deadline=day(length), as_of=day(as_of))
    assert compliance.compliant
    assert compliance.behind == []
    assert not compliance.falling_behind
    assert WeekState.MISSED not in {w.state for w in compliance.weeks}


@given(logs, pause_lists, windows, offsets)
def test_weeks_cover_the_window_exactly_once(log, pauses, length, as_of):
    weeks = judge(FIVE_A_WEEK, log, pauses=pauses, deadline=day(length), as_of=day(as_of)).weeks
    assert weeks[0].starts_on == START
    assert weeks[-1].ends_on == day(length)
    for before, after in zip(weeks, weeks[1:], strict=False):
        assert after.starts_on == before.ends_on + timedelta(days=1)
        assert (before.ends_on - before.starts_on).days == 6
    assert all(0 <= w.applications_required <= 5 for w in weeks)


terms_with_obligations = st.builds(
    PolicyTerms,
    weekly_applications=st.integers(0, 10),
    coaching_every_weeks=st.one_of(st.none(), st.integers(1, 4)),
)


@given(terms_with_obligations, logs, pause_lists, windows, offsets, offsets)
def test_logging_one_more_activity_never_adds_a_shortfall(terms, log, pauses, length, as_of, at_):
    for kind in (APPLICATION, CHECKIN):
        before = judge(terms, log, pauses=pauses, deadline=day(length), as_of=day(as_of))
        more = [*log, Activity(kind, day(at_), day(at_))]
        after = judge(terms, more, pauses=pauses, deadline=day(length), as_of=day(as_of))
        assert len(after.shortfalls) <= len(before.shortfalls)
