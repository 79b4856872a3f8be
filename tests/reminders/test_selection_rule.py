"""The reminders' set-based selection finds the deadline and falling-behind reminders the rule
finds when each graduate is judged alone (``evaluate_guarantee``, ``compliance_for``): a
property test over the sweep's populations of graduates, with weekly obligations added; and
one of the falling-behind selection alone (``app.services.falling_behind``), on every day of a
window, with coaching check-ins and pauses."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.guarantee.reminders import deadline_reminder_due, week_to_warn_about
from app.guarantee.rules import GuaranteeState, window_start
from app.guarantee.terms import SearchActivityKind
from app.models import MessageKind
from app.services.guarantee import evaluate_guarantee
from app.services.reminders import _graduate_reminders, _graduates_due
from app.services.search import compliance_for
from config.settings import Settings
from tests.factories import EmployerFactory, SearchActivityFactory, SearchPauseFactory
from tests.refunds.test_sweep import _build, graduates

#: How many applications a week the policy asks for, and on which days of the window the
#: graduate applied.
OBLIGATIONS = st.tuples(
    st.sampled_from((0, 0, 1, 2)),
    st.lists(st.integers(min_value=0, max_value=200), max_size=6),
)


@st.composite
def examples(draw):
    """Graduates with obligations, and a day around one of their deadlines' reminder points."""
    population = draw(st.lists(st.tuples(graduates(), OBLIGATIONS), min_size=1, max_size=5))
    deadline = draw(st.sampled_from([spec.deadline for spec, _ in population]))
    as_of = deadline - timedelta(days=draw(st.sampled_from((-1, 0, 1, 6, 7, 8, 29, 30, 31, 60))))
    return population, as_of


def _expected(session, graduations, settings_: Settings, as_of: date) -> set[str]:
    """The dedupe keys of the reminders due by the rule, each graduate judged alone."""
    keys = set()
    for graduation, has_claim in graduations:
        view = evaluate_guarantee(session, graduation.id, as_of)
        if view.status.state is not GuaranteeState.IN_WINDOW or has_claim:
            continue
        deadline = view.status.deadline
        days = deadline_reminder_due(view.status.days_left, settings_.reminder_days_before_deadline)
        if days is not None:
            keys.add(f"deadline:{graduation.id}:{deadline.isoformat()}:{days}")
        week = week_to_warn_about(compliance_for(session, graduation, as_of, deadline))
        if week is not None:
            keys.add(f"behind:{graduation.id}:{week.starts_on.isoformat()}")
    return keys


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(example=examples())
def test_graduate_reminders_are_those_the_rule_finds_for_each_graduate_alone(app, session, example):
    population, as_of = example
    settings_ = replace(app.config["SETTINGS"], reminder_days_before_deadline=(30, 7))
    savepoint = session.begin_nested()
    try:
        employer = EmployerFactory.build()
        graduations = []
        for spec, (weekly, applied) in population:
            graduation, records = _build(spec, employer)
            graduation.enrollment.policy.weekly_applications = weekly
            records += [
                SearchActivityFactory.build(
                    graduation=graduation,
                    occurred_on=spec.qualified_on + timedelta(days=day),
                )
                for day in applied
            ]
            session.add_all(records)
            graduations.append((graduation, spec.has_claim))
        session.flush()

        with app.test_request_context():
            drafts = _graduate_reminders(session, settings_, as_of)
            expected = _expected(session, graduations, settings_, as_of)

        assert {draft.dedupe_key for draft in drafts} == expected
        assert len(drafts) == len(expected)
    finally:
        savepoint.rollback()


#: What the policy asks each week (applications, a coaching check-in every so many weeks), the
#: graduate's log (day of the window, whether a check-in rather than an application), and a
#: pause more (its first day in the window, and length), kept when it meets no other.
WEEKLY_TERMS = st.tuples(
    st.sampled_from((0, 1, 1, 2, 3)),
    st.sampled_from((None, None, 1, 2, 3, 8)),
    st.lists(st.tuples(st.integers(min_value=-3, max_value=200), st.booleans()), max_size=12),
    st.none() | st.tuples(st.integers(min_value=0, max_value=120), st.integers(1, 60)),
)


@st.composite
def weekly_examples(draw):
    """Graduates under weekly obligations (with the sweep's pauses), and any day of one of
    their windows or just before it, often the last days before their pause more."""
    population = draw(st.lists(st.tuples(graduates(), WEEKLY_TERMS), min_size=1, max_size=4))
    spec, (_weekly, _coaching, _log, pause) = draw(st.sampled_from(population))
    opens = window_start(spec.qualified_on, spec.terms.window_starts)
    days = st.integers(min_value=-2, max_value=(spec.deadline - opens).days)
    if pause is not None:
        days |= st.integers(min_value=pause[0] - 10, max_value=pause[0])
    return population, opens + timedelta(days=draw(days))


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(example=weekly_examples())
def test_falling_behind_selection_is_the_rule_with_coaching_and_pauses(app, session, example):
    """Who is warned, and about which week, as ``week_to_warn_about`` decides it: on every day
    of the window, with applications prorated to paused weeks and coaching blocks judged at
    their last week not paused."""
    population, as_of = example
    settings_ = replace(app.config["SETTINGS"], reminder_days_before_deadline=())
    savepoint = session.begin_nested()
    try:
        employer = EmployerFactory.build()
        graduations = []
        for spec, (weekly, coaching, log, pause) in population:
            graduation, records = _build(spec, employer)
            graduation.enrollment.policy.weekly_applications = weekly
            graduation.enrollment.policy.coaching_every_weeks = coaching
            opens = window_start(spec.qualified_on, spec.terms.window_starts)
            records += [
                SearchActivityFactory.build(
                    graduation=graduation,
                    occurred_on=opens + timedelta(days=day),
                    kind=SearchActivityKind.COACHING_CHECKIN
                    if checkin
                    else SearchActivityKind.APPLICATION,
                )
                for day, checkin in log
            ]
            if pause is not None:
                first = opens + timedelta(days=pause[0])
                last = first + timedelta(days=pause[1] - 1)
                if all(last < starts_on or first > ends_on for starts_on, ends_on in spec.pauses):
                    records.append(
                        SearchPauseFactory.build(
                            graduation=graduation, starts_on=first, ends_on=last
                        )
                    )
            session.add_all(records)
            graduations.append((graduation, spec.has_claim))
        session.flush()

        with app.test_request_context():
            due = _graduates_due(session, settings_, as_of)
            expected = _expected(session, graduations, settings_, as_of)

        assert {reminder.dedupe_key for reminder in due} == expected
        assert all(reminder.kind is MessageKind.FALLING_BEHIND for reminder in due)
    finally:
        savepoint.rollback()
