"""The reminders' set-based selection finds the deadline and falling-behind reminders the rule
finds when each graduate is judged alone (``evaluate_guarantee``, ``compliance_for``): a
property test over the sweep's populations of graduates, with weekly obligations added."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.guarantee.reminders import deadline_reminder_due, week_to_warn_about
from app.guarantee.rules import GuaranteeState
from app.services.guarantee import evaluate_guarantee
from app.services.reminders import _graduate_reminders
from app.services.search import compliance_for
from config.settings import Settings
from tests.factories import EmployerFactory, SearchActivityFactory
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
