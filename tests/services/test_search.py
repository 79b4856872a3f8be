"""The search log service: who may log what, what is refused, and compliance from the rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.auth.access import Forbidden, Principal
from app.guarantee.obligations import WeekState
from app.guarantee.terms import EmploymentType, OfferDecision, SearchActivityKind
from app.models import AuditEvent, Role, SchoolRequest, SearchActivity
from app.models.base import utc_now
from app.services import search
from app.services.errors import Conflict, Invalid
from tests.factories import (
    GraduationFactory,
    GuaranteePolicyFactory,
    SchoolRequestFactory,
    SearchActivityFactory,
    SearchPauseFactory,
)

TODAY = utc_now().date()
APPLICATION = SearchActivityKind.APPLICATION


def graduate(graduation) -> Principal:
    student = graduation.enrollment.student
    return Principal(actor=f"graduate:{student.id}", role=Role.GRADUATE, student_id=student.id)


REGISTRAR = Principal(actor="user:registrar", role=Role.REGISTRAR, user_id=1)


@pytest.fixture
def graduation(session):
    """A graduate three weeks into a window that asks for five applications a week."""
    policy = GuaranteePolicyFactory(weekly_applications=5, answer_within_days=3)
    return GraduationFactory(enrollment__policy=policy, qualified_on=TODAY - timedelta(days=20))


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_log_activity_records_the_application_and_audits_it(session, graduation):
    activity = search.log_activity(
        session,
        graduate(graduation),
        graduation.id,
        kind=APPLICATION,
        occurred_on=TODAY,
        employer_name=" Acme ",
        position="Data scientist",
        link="https://jobs.acme.example/42",
    )
    assert (activity.employer_name, activity.decision) == ("Acme", None)
    assert (
        session.scalar(
            select(AuditEvent.action).where(AuditEvent.target == f"search_activity:{activity.id}")
        )
        == "search.application_logged"
    )


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"occurred_on": TODAY + timedelta(days=1)}, "occurred_on", "cannot be in the future"),
        ({"occurred_on": TODAY - timedelta(days=30)}, "occurred_on", "cannot be before you"),
        ({"employer_name": ""}, "employer_name", "required for an application"),
        ({"position": None}, "position", "required for an application"),
        ({"position": "a\nb"}, "position", "one line only"),
        ({"employer_name": "x" * 201}, "employer_name", "at most 200"),
        ({"link": "javascript:alert(1)"}, "link", "http:// or https://"),
        ({"link": "ftp://files.example/cv"}, "link", "http:// or https://"),
        ({"link": "https://"}, "link", "http:// or https://"),
        ({"link": "https://a.example/x y"}, "link", "no spaces"),
        ({"notes": "nul\x00"}, "notes", "letters, digits"),
        (
            {"offer": search.OfferTerms(EmploymentType.INTERNSHIP, True)},
            "kind",
            "only an offer",
        ),
    ],
)
def test_log_activity_refuses_bad_input_and_writes_nothing(
    session, graduation, fields, field, reason
):
    before = count(session, SearchActivity)
    values = {
        "kind": APPLICATION,
        "occurred_on": TODAY,
        "employer_name": "Acme",
        "position": "Data scientist",
        **fields,
    }
    with pytest.raises(Invalid) as error:
        search.log_activity(session, graduate(graduation), graduation.id, **values)
    assert reason in " ".join(error.value.errors[field])
    assert count(session, SearchActivity) == before


@pytest.mark.parametrize(
    ("offer", "field"),
    [
        (None, "employment_type"),
        (
            search.OfferTerms(EmploymentType.FULL_TIME_PERMANENT, True, annual_salary_minor=1),
            "salary_currency",
        ),
        (
            search.OfferTerms(
                EmploymentType.FULL_TIME_PERMANENT,
                True,
                annual_salary_minor=1,
                salary_currency="XYZ",
            ),
            "salary_currency",
        ),
        (
            search.OfferTerms(
                EmploymentType.FULL_TIME_PERMANENT,
                True,
                annual_salary_minor=0,
                salary_currency="EUR",
            ),
            "annual_salary",
        ),
        (
            search.OfferTerms(EmploymentType.FIXED_TERM_CONTRACT, True, contract_months=0),
            "contract_months",
        ),
    ],
)
def test_log_offer_refuses_bad_terms(session, graduation, offer, field):
    with pytest.raises(Invalid) as error:
        search.log_activity(
            session,
            graduate(graduation),
            graduation.id,
            kind=SearchActivityKind.OFFER,
            occurred_on=TODAY,
            employer_name="Acme",
            position="Engineer",
            offer=offer,
        )
    assert field in error.value.errors


def test_a_coaching_checkin_needs_no_employer(session, graduation):
    activity = search.log_activity(
        session,
        graduate(graduation),
        graduation.id,
        kind=SearchActivityKind.COACHING_CHECKIN,
        occurred_on=TODAY,
    )
    assert activity.employer_name is None


def test_offer_is_logged_pending_then_declined_once(session, graduation):
    principal = graduate(graduation)
    offer = search.log_activity(
        session,
        principal,
        graduation.id,
        kind=SearchActivityKind.OFFER,
        occurred_on=TODAY - timedelta(days=2),
        employer_name="Acme",
        position="Engineer",
        offer=search.OfferTerms(
            EmploymentType.FULL_TIME_PERMANENT,
            True,
            annual_salary_minor=4_200_000,
            salary_currency="EUR",
        ),
    )
    assert offer.decision is OfferDecision.PENDING
    search.decide_offer(session, principal, offer.id, OfferDecision.DECLINED)
    assert (offer.decision, offer.decided_on) == (OfferDecision.DECLINED, TODAY)
    with pytest.raises(Conflict):
        search.decide_offer(session, principal, offer.id, OfferDecision.ACCEPTED)


def test_deciding_something_that_is_not_an_offer_is_refused(session, graduation):
    application = SearchActivityFactory(graduation=graduation, occurred_on=TODAY)
    with pytest.raises(Invalid):
        search.decide_offer(session, graduate(graduation), application.id, OfferDecision.ACCEPTED)


def test_a_graduate_cannot_log_on_another_graduates_search(app, session, graduation):
    other = GraduationFactory(qualified_on=TODAY - timedelta(days=20))
    with app.app_context(), pytest.raises(Forbidden):
        search.log_activity(
            session,
            graduate(other),
            graduation.id,
            kind=APPLICATION,
            occurred_on=TODAY,
            employer_name="Acme",
            position="Engineer",
        )


def test_the_registrar_asks_and_the_graduate_answers_once(session, graduation):
    request = search.ask_question(session, REGISTRAR, graduation.id, " Where did you apply? ")
    assert (request.question, request.asked_by) == ("Where did you apply?", "user:registrar")
    search.answer_question(session, graduate(graduation), request.id, "Acme and Globex")
    assert request.answer == "Acme and Globex" and request.answered_at is not None
    with pytest.raises(Conflict):
        search.answer_question(session, graduate(graduation), request.id, "again")


def test_an_empty_question_or_answer_is_refused(session, graduation):
    with pytest.raises(Invalid):
        search.ask_question(session, REGISTRAR, graduation.id, "  ")
    request = SchoolRequestFactory(graduation=graduation)
    with pytest.raises(Invalid):
        search.answer_question(session, graduate(graduation), request.id, "")
    assert count(session, SchoolRequest) == 1


def test_a_graduate_cannot_ask_questions(app, session, graduation):
    with app.app_context(), pytest.raises(Forbidden):
        search.ask_question(session, graduate(graduation), graduation.id, "Why?")


def test_stop_seeking_is_recorded_once(session, graduation):
    search.stop_seeking(session, graduate(graduation), graduation.id)
    assert graduation.stopped_seeking_on == TODAY
    with pytest.raises(Conflict):
        search.stop_seeking(session, graduate(graduation), graduation.id)


def test_stop_seeking_refuses_a_day_in_the_future(session, graduation):
    with pytest.raises(Invalid) as error:
        search.stop_seeking(session, graduate(graduation), graduation.id, TODAY + timedelta(days=1))
    assert "stopped_on" in error.value.errors
    assert graduation.stopped_seeking_on is None


def test_compliance_for_judges_the_recorded_log(session, graduation):
    start = graduation.qualified_on
    for offset in range(5):
        SearchActivityFactory(graduation=graduation, occurred_on=start + timedelta(days=offset))
    SearchActivityFactory(graduation=graduation, occurred_on=start + timedelta(days=8))
    SchoolRequestFactory(
        graduation=graduation, asked_at=datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    )
    compliance = search.compliance_for(session, graduation, TODAY)
    assert [week.state for week in compliance.weeks[:4]] == [
        WeekState.MET,
        WeekState.MISSED,
        WeekState.BEHIND,
        WeekState.UPCOMING,
    ]
    assert compliance.weeks[1].applications == 1
    assert any("not answered" in reason for reason in compliance.shortfalls)


def test_compliance_for_honours_recorded_pauses(session, graduation):
    start = graduation.qualified_on
    SearchPauseFactory(
        graduation=graduation,
        starts_on=start + timedelta(days=7),
        ends_on=start + timedelta(days=13),
    )
    compliance = search.compliance_for(session, graduation, TODAY)
    assert compliance.weeks[1].state is WeekState.PAUSED
