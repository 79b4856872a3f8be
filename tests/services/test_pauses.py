"""Pauses of the search: who may record one, what is refused, and how the deadline moves."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.auth.access import Forbidden, Principal
from app.guarantee.rules import GuaranteeState
from app.guarantee.terms import PauseReason
from app.models import AuditEvent, Role, SearchPause
from app.services.errors import Conflict, Invalid, NotFound
from app.services.guarantee import evaluate_guarantee
from app.services.pauses import cancel_pause, record_pause
from tests.factories import (
    EnrollmentFactory,
    ExcludedOutcomeFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    RefundClaimFactory,
    SearchPauseFactory,
)

#: Qualified 31 Aug 2025 under a six-month window: it closes 28 Feb 2026 without pauses.
QUALIFIED_ON = date(2025, 8, 31)
DEADLINE = date(2026, 2, 28)
TODAY = date(2025, 11, 3)
REGISTRAR = Principal(actor="user:900", role=Role.REGISTRAR, user_id=900)


def _graduation(max_pause_days: int = 90, **enrollment_fields):
    enrollment = EnrollmentFactory(
        policy=GuaranteePolicyFactory(max_pause_days=max_pause_days), **enrollment_fields
    )
    return GraduationFactory(enrollment=enrollment, qualified_on=QUALIFIED_ON)


def _graduate_of(graduation) -> Principal:
    student_id = graduation.enrollment.student_id
    return Principal(actor=f"user:{student_id}", role=Role.GRADUATE, student_id=student_id)


def _pause(session, principal, graduation, starts_on, ends_on, **fields):
    return record_pause(
        session,
        principal,
        graduation.id,
        starts_on,
        ends_on,
        fields.pop("reason", PauseReason.ILLNESS),
        fields.pop("note", None),
        today=fields.pop("today", TODAY),
    )


def _pauses(session) -> int:
    return session.scalar(select(func.count()).select_from(SearchPause))


def test_a_graduate_pausing_from_today_moves_their_deadline_by_the_paused_days(session):
    graduation = _graduation()

    recorded = _pause(
        session, _graduate_of(graduation), graduation, TODAY, date(2025, 11, 16), note="flu"
    )

    assert (recorded.deadline_before, recorded.deadline_after) == (DEADLINE, date(2026, 3, 14))
    assert (recorded.paused_days_counted, recorded.max_pause_days) == (14, 90)
    pause = recorded.pause
    assert (pause.starts_on, pause.ends_on, pause.reason, pause.note, pause.recorded_by) == (
        TODAY,
        date(2025, 11, 16),
        PauseReason.ILLNESS,
        "flu",
        f"user:{graduation.enrollment.student_id}",
    )
    view = evaluate_guarantee(session, graduation.id, TODAY)
    assert view.status.deadline == date(2026, 3, 14)
    assert (view.paused_days_requested, view.paused_days_counted) == (14, 14)
    assert view.deadline_without_pauses == DEADLINE
    audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "pause.recorded"))
    assert audit.target == f"graduation:{graduation.id}"


def test_pauses_beyond_the_policy_limit_are_recorded_but_count_only_up_to_it(session):
    graduation = _graduation(max_pause_days=30)
    SearchPauseFactory(graduation=graduation, starts_on=date(2025, 9, 1), ends_on=date(2025, 9, 20))

    recorded = _pause(session, REGISTRAR, graduation, date(2025, 10, 1), date(2025, 10, 31))

    assert recorded.paused_days_counted == 30
    assert recorded.deadline_after == date(2026, 3, 30)
    view = evaluate_guarantee(session, graduation.id, TODAY)
    assert (view.paused_days_requested, view.paused_days_counted, view.max_pause_days) == (
        51,
        30,
        30,
    )
    assert [p.starts_on for p in view.pauses] == [date(2025, 9, 1), date(2025, 10, 1)]


def test_a_registrar_may_record_a_pause_that_began_in_the_past(session):
    graduation = _graduation()

    recorded = _pause(session, REGISTRAR, graduation, date(2025, 9, 15), date(2025, 9, 24))

    assert recorded.deadline_after == date(2026, 3, 10)
    assert recorded.pause.recorded_by == "user:900"


def test_a_pause_may_start_inside_the_window_as_extended_by_an_earlier_pause(session):
    graduation = _graduation()
    SearchPauseFactory(graduation=graduation, starts_on=date(2025, 9, 1), ends_on=date(2025, 9, 10))

    recorded = _pause(
        session, REGISTRAR, graduation, date(2026, 3, 10), date(2026, 3, 11), today=date(2026, 3, 1)
    )

    assert recorded.deadline_after == date(2026, 3, 12)


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "field", "words"),
    [
        (date(2025, 11, 2), date(2025, 11, 10), "starts_on", "today or later"),  # backdated
        (date(2025, 11, 10), date(2025, 11, 9), "ends_on", "cannot end before it starts"),
        # After the window, which the test's own ten-day pause extends to 10 March.
        (date(2026, 3, 11), date(2026, 3, 15), "starts_on", "closes on 2026-03-10"),
        (date(2025, 12, 5), date(2025, 12, 20), "starts_on", "overlaps"),  # the test's own pause
        (date(2025, 11, 20), date(2025, 12, 1), "starts_on", "overlaps"),  # ends inside it
        (date(2025, 11, 3), date(2028, 11, 30), "ends_on", "at most 1100 days"),
    ],
)
def test_a_graduate_pause_that_breaks_a_rule_is_refused_with_its_field(
    session, starts_on, ends_on, field, words
):
    graduation = _graduation()
    SearchPauseFactory(
        graduation=graduation, starts_on=date(2025, 12, 1), ends_on=date(2025, 12, 10)
    )

    with pytest.raises(Invalid) as refused:
        _pause(session, _graduate_of(graduation), graduation, starts_on, ends_on)

    assert any(words in reason for reason in refused.value.errors[field])
    assert _pauses(session) == 1


def test_a_pause_before_the_window_opens_is_refused_even_for_a_registrar(session):
    graduation = _graduation()

    with pytest.raises(Invalid) as refused:
        _pause(session, REGISTRAR, graduation, date(2025, 8, 30), date(2025, 9, 5))

    assert "opens on 2025-08-31" in refused.value.errors["starts_on"][0]


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        ("no pauses allowed", "allows no pauses"),
        ("not opted in", "did not opt in"),
        ("excluded", "out of the guarantee"),
    ],
)
def test_a_pause_is_refused_when_the_guarantee_has_no_room_for_one(session, setup, words):
    graduation = _graduation(
        max_pause_days=0 if setup == "no pauses allowed" else 90,
        guarantee_opt_in=setup != "not opted in",
    )
    if setup == "excluded":
        ExcludedOutcomeFactory(graduation=graduation)

    with pytest.raises(Invalid) as refused:
        _pause(session, REGISTRAR, graduation, date(2025, 11, 10), date(2025, 11, 20))

    assert words in refused.value.errors["graduation_id"][0]
    assert _pauses(session) == 0


def test_a_pause_is_refused_once_a_refund_claim_exists(session):
    graduation = _graduation()
    RefundClaimFactory(graduation=graduation)

    with pytest.raises(Conflict):
        _pause(session, REGISTRAR, graduation, date(2026, 2, 1), date(2026, 2, 10))

    assert _pauses(session) == 0


def test_a_graduate_cannot_pause_another_graduates_window(app, session):
    mine, theirs = _graduation(), _graduation()

    with app.app_context(), pytest.raises(Forbidden):
        _pause(session, _graduate_of(mine), theirs, TODAY, date(2025, 11, 10))
    with app.app_context(), pytest.raises(Forbidden):
        record_pause(
            session,
            _graduate_of(mine),
            10**6,
            TODAY,
            date(2025, 11, 10),
            PauseReason.ILLNESS,
            today=TODAY,
        )

    assert _pauses(session) == 0


def test_finance_cannot_record_a_pause(app, session):
    graduation = _graduation()
    finance = Principal(actor="user:7", role=Role.FINANCE, user_id=7)

    with app.app_context(), pytest.raises(Forbidden):
        _pause(session, finance, graduation, TODAY, date(2025, 11, 10))


def test_a_registrar_pausing_an_unknown_graduation_gets_not_found(session):
    with pytest.raises(NotFound):
        record_pause(
            session, REGISTRAR, 10**6, TODAY, date(2025, 11, 10), PauseReason.ILLNESS, today=TODAY
        )


def test_a_graduate_calls_off_a_future_pause_and_the_deadline_moves_back(session):
    graduation = _graduation()
    graduate = _graduate_of(graduation)
    recorded = _pause(session, graduate, graduation, date(2025, 12, 1), date(2025, 12, 10))

    cancel_pause(session, graduate, recorded.pause.id, today=TODAY)

    assert _pauses(session) == 0
    assert evaluate_guarantee(session, graduation.id, TODAY).status.deadline == DEADLINE


def test_a_pause_that_has_begun_cannot_be_called_off(session):
    graduation = _graduation()
    pause = SearchPauseFactory(graduation=graduation, starts_on=TODAY, ends_on=date(2025, 11, 9))

    with pytest.raises(Conflict):
        cancel_pause(session, _graduate_of(graduation), pause.id, today=TODAY)

    assert _pauses(session) == 1


def test_a_graduate_cannot_call_off_another_graduates_pause(app, session):
    mine, theirs = _graduation(), _graduation()
    pause = SearchPauseFactory(
        graduation=theirs, starts_on=date(2025, 12, 1), ends_on=date(2025, 12, 5)
    )

    with app.app_context(), pytest.raises(Forbidden):
        cancel_pause(session, _graduate_of(mine), pause.id, today=TODAY)

    assert _pauses(session) == 1


def test_an_excluded_graduate_is_in_the_excluded_state(session):
    graduation = _graduation()
    ExcludedOutcomeFactory(graduation=graduation)

    view = evaluate_guarantee(session, graduation.id, date(2026, 3, 5))

    assert view.status.state is GuaranteeState.EXCLUDED
    assert view.exclusion is not None
