"""The graduate's search pages: where they stand, logging, offers, questions, and refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.guarantee.terms import OfferDecision, SearchActivityKind
from app.models import AuditEvent, Role, SchoolRequest, SearchActivity
from app.models.base import utc_now
from app.pages.formatting import day
from tests.factories import (
    AuditedRefundClaimFactory,
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    SchoolRequestFactory,
    SearchActivityFactory,
    UserFactory,
)
from tests.pages.conftest import csrf_token, post_form

NEW = "/me/search/new"
TODAY = utc_now().date()


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def graduate_with(policy, days_in: int = 10):
    graduation = GraduationFactory(
        enrollment__policy=policy, qualified_on=TODAY - timedelta(days=days_in)
    )
    return UserFactory(role=Role.GRADUATE, student=graduation.enrollment.student), graduation


@pytest.fixture
def graduate(session):
    """A graduate ten days into a window asking five applications a week and answers in 3 days."""
    policy = GuaranteePolicyFactory(
        weekly_applications=5,
        coaching_every_weeks=2,
        answer_within_days=3,
        report_offers_within_days=7,
        declined_offer_voids=True,
    )
    return graduate_with(policy)


def log(client, graduation, kind: str = "application", **fields):
    data = {
        "graduation_id": graduation.id,
        "kind": kind,
        "occurred_on": TODAY.isoformat(),
        "employer_name": "Acme Analytics",
        "position": "Data scientist",
        "link": "https://jobs.acme.example/42",
        **fields,
    }
    return post_form(client, NEW, data, token_from=f"{NEW}?kind={kind}")


def test_graduate_in_window_sees_where_they_stand_and_the_weeks(client, sign_in, graduate):
    user, graduation = graduate
    SearchActivityFactory(graduation=graduation, occurred_on=TODAY, employer_name="Initech")
    sign_in(user)

    page = client.get("/me").get_data(as_text=True)

    assert "Your search obligations" in page
    assert "5 job applications a week" in page
    assert "a coaching check-in every 2 weeks" in page
    assert "You are behind" in page
    assert "1 of 5" in page
    assert "Week by week" in page
    assert "Week 1 (" in page  # last week fell short: listed as missed
    assert "Initech" in page


def test_a_policy_without_obligations_shows_no_warning(client, sign_in, session):
    user, _graduation = graduate_with(GuaranteePolicyFactory())
    sign_in(user)

    page = client.get("/me").get_data(as_text=True)

    assert "Your policy sets no search obligations" in page
    assert "You are behind" not in page
    assert "Obligations missed" not in page


def test_logging_an_application_counts_it_this_week(client, session, sign_in, graduate):
    user, graduation = graduate
    sign_in(user)

    response = log(client, graduation)

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/me#search-{graduation.id}")
    activity = session.scalar(select(SearchActivity))
    assert (activity.kind, activity.employer_name) == (
        SearchActivityKind.APPLICATION,
        "Acme Analytics",
    )
    assert session.scalar(
        select(AuditEvent).where(AuditEvent.action == "search.application_logged")
    )
    assert "1 of 5" in client.get("/me").get_data(as_text=True)


def test_logging_a_coaching_checkin_needs_no_employer(client, session, sign_in, graduate):
    user, graduation = graduate
    sign_in(user)

    response = log(client, graduation, "coaching_checkin", employer_name="", position="", link="")

    assert response.status_code == 302
    assert session.scalar(select(SearchActivity.kind)) is SearchActivityKind.COACHING_CHECKIN


@pytest.mark.parametrize(
    ("kind", "fields", "error"),
    [
        ("application", {"link": "javascript:alert(1)"}, "http:// or https://"),
        (
            "application",
            {"occurred_on": (TODAY + timedelta(days=1)).isoformat()},
            "Cannot be in the future",
        ),
        ("application", {"occurred_on": "2020-01-01"}, "Cannot be before you qualified"),
        ("application", {"occurred_on": "not a date"}, "Not a valid date value"),
        ("application", {"employer_name": ""}, "Required for an application"),
        ("interview", {"position": ""}, "Required for an interview"),
        (
            "offer",
            {
                "employment_type": "full_time_permanent",
                "in_field": "yes",
                "annual_salary": "40000",
                "salary_currency": "XYZ",
            },
            "three-letter currency",
        ),
        (
            "offer",
            {"employment_type": "full_time_permanent"},
            "Say whether the job is in your field",
        ),
        ("offer", {"employment_type": "unknown", "in_field": "yes"}, "Not a valid choice"),
        (
            "offer",
            {"employment_type": "internship", "in_field": "yes", "contract_months": "0"},
            "Between 1 and 600",
        ),
    ],
)
def test_bad_input_is_refused_with_the_fields_error_and_nothing_written(
    client, session, sign_in, graduate, kind, fields, error
):
    user, graduation = graduate
    sign_in(user)

    response = log(client, graduation, kind, **fields)

    assert response.status_code == 400
    assert error in response.get_data(as_text=True)
    assert count(session, SearchActivity) == 0


def test_an_offer_is_logged_then_declined(client, session, sign_in, graduate):
    user, graduation = graduate
    sign_in(user)
    response = log(
        client,
        graduation,
        "offer",
        employment_type="full_time_permanent",
        in_field="yes",
        annual_salary="42,000",
        salary_currency="eur",
        decision="pending",
    )
    assert response.status_code == 302
    offer = session.scalar(select(SearchActivity))
    assert (offer.annual_salary_minor, offer.salary_currency) == (4_200_000, "EUR")
    assert "Offers to decide" in client.get("/me").get_data(as_text=True)

    response = post_form(
        client,
        "/me/search/offers/decide",
        {"activity_id": offer.id, "decision": "declined"},
        token_from="/me",
    )

    assert response.status_code == 302
    session.refresh(offer)
    assert (offer.decision, offer.decided_on) == (OfferDecision.DECLINED, TODAY)
    page = client.get("/me").get_data(as_text=True)
    assert "You declined a qualifying offer from Acme Analytics" in page
    assert "Under your policy this voids a refund claim" in page


def test_deciding_an_offer_twice_is_a_conflict(client, session, sign_in, graduate):
    user, graduation = graduate
    offer = SearchActivityFactory(
        graduation=graduation,
        kind=SearchActivityKind.OFFER,
        occurred_on=TODAY,
        employment_type="full_time_permanent",
        in_field=True,
        decision=OfferDecision.ACCEPTED,
        decided_on=TODAY,
    )
    sign_in(user)

    response = post_form(
        client,
        "/me/search/offers/decide",
        {"activity_id": offer.id, "decision": "declined"},
        token_from="/me",
    )

    assert response.status_code == 409
    assert offer.decision is OfferDecision.ACCEPTED


def test_graduate_answers_an_open_question(client, session, sign_in, graduate):
    user, graduation = graduate
    question = SchoolRequestFactory(
        graduation=graduation,
        asked_at=utc_now() - timedelta(days=1),
        question="Where did you apply?",
    )
    sign_in(user)
    page = client.get("/me").get_data(as_text=True)
    assert "Where did you apply?" in page and "answer by" in page

    empty = post_form(
        client,
        "/me/search/questions/answer",
        {"request_id": question.id, "answer": " "},
        token_from="/me",
    )
    assert empty.status_code == 400
    assert "Write your answer" in empty.get_data(as_text=True)
    assert question.answered_at is None

    response = post_form(
        client,
        "/me/search/questions/answer",
        {"request_id": question.id, "answer": "Acme and Initech"},
        token_from="/me",
    )

    assert response.status_code == 302
    session.refresh(question)
    assert question.answer == "Acme and Initech"
    assert "Questions you answered" in client.get("/me").get_data(as_text=True)


def test_stopping_the_search_needs_the_box_ticked(client, session, sign_in, graduate):
    user, graduation = graduate
    sign_in(user)

    unticked = post_form(
        client, "/me/search/stop", {"graduation_id": graduation.id}, token_from="/me"
    )
    assert unticked.status_code == 400
    assert graduation.stopped_seeking_on is None

    response = post_form(
        client,
        "/me/search/stop",
        {"graduation_id": graduation.id, "confirm": "y"},
        token_from="/me",
    )

    assert response.status_code == 302
    session.refresh(graduation)
    assert graduation.stopped_seeking_on == TODAY
    assert "you stopped looking for work on" in client.get("/me").get_data(as_text=True)


def test_graduate_b_cannot_log_into_see_or_change_a_records(
    client, session, sign_in, graduate, audit_survives_rollback
):
    user_a, graduation_a = graduate
    SearchActivityFactory(graduation=graduation_a, occurred_on=TODAY, employer_name="Secretcorp")
    offer = SearchActivityFactory(
        graduation=graduation_a,
        kind=SearchActivityKind.OFFER,
        occurred_on=TODAY,
        employment_type="full_time_permanent",
        in_field=True,
        decision=OfferDecision.PENDING,
    )
    question = SchoolRequestFactory(graduation=graduation_a, asked_at=utc_now())
    user_b, graduation_b = graduate_with(graduation_a.enrollment.policy)
    sign_in(user_b)

    assert "Secretcorp" not in client.get("/me").get_data(as_text=True)
    assert log(client, graduation_a).status_code == 403
    decided = post_form(
        client,
        "/me/search/offers/decide",
        {"activity_id": offer.id, "decision": "declined"},
        token_from="/me",
    )
    answered = post_form(
        client,
        "/me/search/questions/answer",
        {"request_id": question.id, "answer": "mine"},
        token_from="/me",
    )
    stopped = post_form(
        client,
        "/me/search/stop",
        {"graduation_id": graduation_a.id, "confirm": "y"},
        token_from="/me",
    )

    assert (decided.status_code, answered.status_code, stopped.status_code) == (403, 403, 403)
    session.expire_all()
    assert count(session, SearchActivity) == 2
    assert session.get(SearchActivity, offer.id).decision is OfferDecision.PENDING
    assert session.get(SchoolRequest, question.id).answer is None
    assert graduation_a.stopped_seeking_on is None
    assert (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "access.refused")
        )
        == 4
    )


def test_staff_cannot_use_the_graduate_search_forms(client, sign_in, graduate):
    _user, graduation = graduate
    sign_in(UserFactory(role=Role.REGISTRAR))

    assert client.get(NEW).status_code == 403


def test_the_log_form_for_each_kind(client, sign_in, graduate):
    user, _graduation = graduate
    sign_in(user)

    offer_page = client.get(f"{NEW}?kind=offer").get_data(as_text=True)
    checkin_page = client.get(f"{NEW}?kind=coaching_checkin").get_data(as_text=True)

    assert "Log a job offer" in offer_page and "Type of contract" in offer_page
    assert "Log a coaching check-in" in checkin_page and "Employer" not in checkin_page
    assert client.get(f"{NEW}?kind=nonsense").status_code == 404


def test_late_answer_is_listed_as_missed(client, sign_in, graduate):
    user, graduation = graduate
    asked = datetime.combine(graduation.qualified_on, datetime.min.time(), tzinfo=UTC)
    SchoolRequestFactory(graduation=graduation, asked_at=asked)
    sign_in(user)

    page = client.get("/me").get_data(as_text=True)

    assert "not answered; it was due" in page


def test_registrar_asks_a_question_the_graduate_sees_and_answers(
    client, session, sign_in, graduate
):
    user, graduation = graduate
    enrollment_page = f"/registrar/enrollments/{graduation.enrollment_id}"
    sign_in(UserFactory(role=Role.REGISTRAR))

    empty = post_form(
        client,
        f"{enrollment_page}/questions",
        {"question-question": " "},
        token_from=enrollment_page,
    )
    assert empty.status_code == 400
    assert "Write the question." in empty.get_data(as_text=True)
    assert count(session, SchoolRequest) == 0

    asked = post_form(
        client,
        f"{enrollment_page}/questions",
        {"question-question": "Which interviews are booked?"},
        token_from=enrollment_page,
    )
    assert asked.status_code == 302
    question = session.scalar(select(SchoolRequest))
    assert question.question == "Which interviews are booked?"
    page = client.get(enrollment_page).get_data(as_text=True)
    assert "Which interviews are booked?" in page and "not answered" in page

    client.post("/sign-out", data={"csrf_token": csrf_token(client, enrollment_page)})
    sign_in(user)
    assert "Which interviews are booked?" in client.get("/me").get_data(as_text=True)
    post_form(
        client,
        "/me/search/questions/answer",
        {"request_id": question.id, "answer": "Two next week"},
        token_from="/me",
    )
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/me")})
    sign_in(UserFactory(role=Role.REGISTRAR))
    assert "Two next week" in client.get(enrollment_page).get_data(as_text=True)


def test_registrar_cannot_ask_before_the_student_qualified(client, session, sign_in):
    enrollment = EnrollmentFactory()
    page = f"/registrar/enrollments/{enrollment.id}"
    sign_in(UserFactory(role=Role.REGISTRAR))

    response = post_form(
        client, f"{page}/questions", {"question-question": "Hello?"}, token_from=page
    )

    assert response.status_code == 409
    assert count(session, SchoolRequest) == 0


def test_finance_sees_the_same_compliance_record_on_the_claim(client, session, sign_in):
    policy = GuaranteePolicyFactory(
        weekly_applications=3, answer_within_days=3, declined_offer_voids=True
    )
    graduation = GraduationFactory(enrollment__policy=policy, qualified_on=date(2025, 8, 31))
    claim = AuditedRefundClaimFactory(graduation=graduation, enrollment=graduation.enrollment)
    SearchActivityFactory(graduation=graduation, occurred_on=date(2025, 9, 1))
    SearchActivityFactory(
        graduation=graduation,
        kind=SearchActivityKind.OFFER,
        occurred_on=date(2025, 10, 1),
        employer_name="Globex",
        position="Analyst",
        employment_type="full_time_permanent",
        in_field=True,
        decision=OfferDecision.DECLINED,
        decided_on=date(2025, 10, 3),
    )
    SchoolRequestFactory(
        graduation=graduation,
        asked_at=datetime(2025, 9, 10, 9, tzinfo=UTC),
        question="Any interviews?",
        answer="One at Globex",
        answered_at=datetime(2025, 9, 11, 9, tzinfo=UTC),
    )
    sign_in(UserFactory(role=Role.FINANCE))

    page = client.get(f"/finance/claims/{claim.id}").get_data(as_text=True)

    assert "Search obligations" in page
    assert "obligations missed" in page
    assert "Week 1 (31 Aug 2025 to 6 Sept 2025): 1 of 3 applications" in page
    assert "Week 26 (22 Feb 2026 to 28 Feb 2026): 0 of 3 applications" in page  # the last week too
    assert "declined a qualifying offer from Globex on 03 Oct 2025: the policy voids" in page
    assert "Any interviews?" in page and "One at Globex" in page


def test_a_week_not_done_yet_is_a_to_do_not_a_reproach(client, sign_in, session):
    policy = GuaranteePolicyFactory(weekly_applications=1, coaching_every_weeks=2)
    user, graduation = graduate_with(policy, days_in=7)  # first day of week 2
    SearchActivityFactory(graduation=graduation, occurred_on=graduation.qualified_on)
    sign_in(user)

    page = client.get("/me").get_data(as_text=True)

    assert "Still to do this week" in page
    assert "You are behind" not in page
    assert f"One due by {day(graduation.qualified_on + timedelta(days=13))}" in page
