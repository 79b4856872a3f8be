"""The registrar's pages: programmes, policies, students, enrollments, payments, graduations and
the CSV import, through the forms a browser sends."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from app.guarantee.terms import EmploymentType, PayerType
from app.models import (
    AuditEvent,
    Enrollment,
    Graduation,
    GuaranteePolicy,
    Programme,
    Role,
    Student,
    TuitionPayment,
)
from tests.factories import (
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    ProgrammeFactory,
    StudentFactory,
    UserFactory,
)
from tests.pages.conftest import post_form


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def registrar(sign_in):
    user = UserFactory(role=Role.REGISTRAR)
    sign_in(user)
    return user


def post(client, path, data, **kwargs):
    return post_form(client, path, data, token_from="/registrar", **kwargs)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_registrar_records_a_programme_policies_enrollments_payment_and_graduation(
    client, session, registrar
):
    response = post(
        client,
        "/registrar/programmes",
        {"name": "Data Science", "currency": "eur", "tuition": "6500.00"},
    )
    assert response.status_code == 302
    programme = session.scalar(select(Programme).where(Programme.name == "Data Science"))
    assert (programme.currency, programme.tuition_list_price_minor) == ("EUR", 650_000)

    policies = f"/registrar/programmes/{programme.id}/policies"
    first = {
        "effective_from": "2024-01-01",
        "window_months": "6",
        "window_starts": "qualification_date",
        "qualifying_types": ["full_time_permanent", "fixed_term_contract"],
        "min_contract_months": "6",
        "requires_in_field": "y",
        "claim_deadline_days": "60",
        "deduct_scholarships": "y",
    }
    assert post(client, policies, first).status_code == 302
    second = {
        **first,
        "effective_from": "2025-01-01",
        "window_months": "12",
        "window_starts": "first_monday_after_qualification",
        "qualifying_types": ["full_time_permanent", "apprenticeship"],
        "pay_floor": "30000",
        "refund_cap": "5000.50",
        "notes": "Apprenticeships count from 2025.",
    }
    del second["deduct_scholarships"]  # an unticked box is not sent
    assert post(client, policies, second).status_code == 302
    session.expire_all()
    v1, v2 = programme.policies
    assert (v1.version, v2.version) == (1, 2)
    assert v2.window_months == 12
    assert v2.min_annual_salary_minor == 3_000_000
    assert v2.refund_cap_minor == 500_050
    assert v2.deduct_scholarships is False
    assert v2.terms().qualifying_types == {
        EmploymentType.FULL_TIME_PERMANENT,
        EmploymentType.APPRENTICESHIP,
    }
    page = text_of(client.get("/registrar/programmes"))
    assert "v2" in page and "€30,000.00" in page and "€5,000.50" in page

    response = post(
        client,
        "/registrar/students",
        {
            "student-name": "Ada Lovelace",
            "student-email": "Ada@Example.org",
            "student-country": "gb",
        },
    )
    assert response.status_code == 302
    student = session.scalar(select(Student).where(Student.email == "ada@example.org"))
    assert student.country == "GB"

    enroll = {
        "enrollment-student_email": "ada@example.org",
        "enrollment-programme_id": str(programme.id),
        "enrollment-signed_on": "2025-03-01",
        "enrollment-guarantee_opt_in": "y",
        "enrollment-scholarship": "500",
    }
    response = post(client, "/registrar/enrollments", enroll, follow_redirects=True)
    assert response.status_code == 200
    assert "under guarantee policy version 2" in text_of(response)
    enrollment = session.scalar(select(Enrollment).where(Enrollment.student_id == student.id))
    assert enrollment.policy_id == v2.id
    assert enrollment.scholarship_minor == 50_000
    # Signed while version 1 was in force: bound to version 1.
    earlier = StudentFactory()
    response = post(
        client,
        "/registrar/enrollments",
        {**enroll, "enrollment-student_email": earlier.email, "enrollment-signed_on": "2024-06-30"},
    )
    assert response.status_code == 302
    assert (
        session.scalar(select(Enrollment).where(Enrollment.student_id == earlier.id)).policy_id
        == v1.id
    )

    response = post(
        client,
        f"/registrar/enrollments/{enrollment.id}/payments",
        {
            "amount": "3000.00",
            "currency": "EUR",
            "paid_on": "2025-03-02",
            "paid_time": "09:30",
            "payer_type": "sponsor",
            "payer_name": "Acme GmbH",
            "stripe_payment_intent_id": "pi_123abc",
        },
    )
    assert response.status_code == 302
    [payment] = session.scalars(select(TuitionPayment))
    assert payment.amount_minor == 300_000
    assert payment.paid_at == datetime(2025, 3, 2, 9, 30, tzinfo=UTC)
    assert (payment.payer_type, payment.payer_name) == (PayerType.SPONSOR, "Acme GmbH")
    listing = text_of(client.get(f"/registrar/enrollments?programme={programme.id}"))
    assert "€3,000.00" in listing and "1 payment" in listing

    response = post(
        client,
        "/registrar/graduations",
        {"enrollment_id": str(enrollment.id), "qualified_on": "2025-09-30"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    [graduation] = session.scalars(select(Graduation))
    assert (graduation.enrollment_id, graduation.qualified_on) == (enrollment.id, date(2025, 9, 30))
    assert "Ada Lovelace" in text_of(response)
    assert "registrar:" in session.scalar(
        select(AuditEvent.actor).where(AuditEvent.action == "graduation.recorded")
    )
    home = text_of(client.get("/registrar"))
    assert "Recently recorded" in home and "Ada Lovelace" in home


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"name": "", "currency": "EUR", "tuition": "100"}, "name", "This field is required."),
        ({"name": "X", "currency": "EURO", "tuition": "100"}, "currency", "ISO 4217"),
        ({"name": "X", "currency": "EUR", "tuition": "6500.123"}, "tuition", "EUR amounts have 2"),
        ({"name": "X", "currency": "JPY", "tuition": "100.5"}, "tuition", "JPY amounts have no"),
        ({"name": "X", "currency": "EUR", "tuition": "6.500"}, "tuition", "read two ways"),
        ({"name": "X", "currency": "EUR", "tuition": "0"}, "tuition", "above zero"),
    ],
)
def test_a_bad_programme_form_is_shown_again_with_the_field_error_and_writes_nothing(
    client, session, registrar, data, field, reason
):
    response = post(client, "/registrar/programmes", data)

    assert response.status_code == 400
    page = text_of(response)
    assert f'id="{field}-error"' in page
    assert reason in page.split(f'id="{field}-error">')[1].split("</p>")[0]
    assert 'aria-invalid="true"' in page
    assert count(session, Programme) == 0


def test_a_policy_without_qualifying_types_or_with_a_zero_window_is_refused(
    client, session, registrar
):
    programme = ProgrammeFactory()

    response = post(
        client,
        f"/registrar/programmes/{programme.id}/policies",
        {
            "effective_from": "2025-01-01",
            "window_months": "0",
            "min_contract_months": "6",
            "claim_deadline_days": "60",
        },
    )

    assert response.status_code == 400
    page = text_of(response)
    assert "Tick at least one type of employment." in page
    assert 'id="window_months-error"' in page
    assert count(session, GuaranteePolicy) == 0


def test_a_backdated_policy_version_is_refused_next_to_its_date_unless_a_correction(
    client, session, registrar
):
    programme = ProgrammeFactory()
    GuaranteePolicyFactory(programme=programme, version=1, effective_from=date(2025, 6, 1))
    form = {
        "effective_from": "2025-03-01",
        "window_months": "6",
        "qualifying_types": ["full_time_permanent"],
        "min_contract_months": "6",
        "claim_deadline_days": "60",
    }
    path = f"/registrar/programmes/{programme.id}/policies"

    backdated = post(client, path, form)
    corrected = post(client, path, {**form, "correction": "y"})

    assert backdated.status_code == 409
    error = text_of(backdated).split('id="effective_from-error">')[1].split("</p>")[0]
    assert "marked a correction" in error
    assert corrected.status_code == 302
    assert count(session, GuaranteePolicy) == 2


def test_enrolling_when_no_policy_is_in_force_shows_the_reason_on_the_signing_date(
    client, session, registrar
):
    policy = GuaranteePolicyFactory(effective_from=date(2025, 1, 1))
    student = StudentFactory()

    response = post(
        client,
        "/registrar/enrollments",
        {
            "enrollment-student_email": student.email,
            "enrollment-programme_id": str(policy.programme_id),
            "enrollment-signed_on": "2024-12-31",
        },
    )

    assert response.status_code == 400
    page = text_of(response)
    assert "No guarantee policy of programme" in page.split('id="enrollment-signed_on-error">')[1]
    assert count(session, Enrollment) == 0


def test_enrolling_an_unknown_email_asks_to_record_the_student_first(client, session, registrar):
    policy = GuaranteePolicyFactory()

    response = post(
        client,
        "/registrar/enrollments",
        {
            "enrollment-student_email": "nobody@example.org",
            "enrollment-programme_id": str(policy.programme_id),
            "enrollment-signed_on": "2024-12-31",
        },
    )

    assert response.status_code == 400
    assert "record the student first" in text_of(response)
    assert count(session, Enrollment) == 0


def test_a_duplicate_student_email_is_a_conflict(client, session, registrar):
    StudentFactory(email="ada@example.org")

    response = post(
        client,
        "/registrar/students",
        {"student-name": "Ada", "student-email": "ADA@example.org", "student-country": "FR"},
    )

    assert response.status_code == 409
    page = text_of(response)
    assert "A student with email ada@example.org exists already." in page
    assert count(session, Student) == 1


def test_a_second_graduation_of_an_enrollment_is_a_conflict(client, session, registrar):
    graduation = GraduationFactory()

    response = post(
        client,
        "/registrar/graduations",
        {"enrollment_id": str(graduation.enrollment_id), "qualified_on": "2025-10-01"},
    )

    assert response.status_code == 409
    assert "has a graduation already" in text_of(response)
    assert count(session, Graduation) == 1


def test_a_payment_in_another_currency_is_refused_on_the_currency_field(client, session, registrar):
    enrollment = EnrollmentFactory()

    response = post(
        client,
        f"/registrar/enrollments/{enrollment.id}/payments",
        {
            "amount": "100",
            "currency": "USD",
            "paid_on": "2025-03-02",
            "paid_time": "09:30",
            "payer_type": "student",
        },
    )

    assert response.status_code == 400
    assert (
        "Tuition of this programme is paid in EUR."
        in text_of(response).split('id="currency-error">')[1]
    )
    assert count(session, TuitionPayment) == 0


def test_a_missing_enrollment_is_not_found(client, registrar):
    assert client.get("/registrar/enrollments/999999").status_code == 404
    assert client.get("/registrar/programmes/99999999999").status_code == 404


STUDENTS_CSV = (
    "name,email,country\nAda Lovelace,ada@example.org,GB\nAlan Turing,alan@example.org,GB\n"
)


def upload(client, kind: str, text: str | bytes, filename: str = "rows.csv"):
    data = text.encode() if isinstance(text, str) else text
    return post(
        client,
        "/registrar/import",
        {"kind": kind, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def test_an_import_with_bad_rows_lists_each_bad_line_and_writes_nothing(client, session, registrar):
    StudentFactory(email="taken@example.org")
    text = (
        "name,email,country\n"
        "Ada Lovelace,ada@example.org,GB\n"
        "Bad Email,not-an-email,FR\n"
        "Taken,taken@example.org,FR\n"
        "Alan Turing,alan@example.org,XX\n"
    )

    response = upload(client, "students", text)

    assert response.status_code == 400
    page = text_of(response)
    assert "Checked 4 of 4 rows" in page
    assert "<tr><td>3</td><td>email</td>" in page
    assert "<tr><td>4</td><td>email</td><td>a student with email taken@example.org" in page
    assert "<tr><td>5</td><td>country</td>" in page
    assert "<tr><td>2</td>" not in page
    assert count(session, Student) == 1


def test_an_import_of_good_rows_writes_them_all(client, session, registrar):
    response = upload(client, "students", STUDENTS_CSV)

    assert response.status_code == 302
    page = text_of(client.get("/registrar/import"))
    assert "Checked 2 of 2 rows: 2 rows written (students)." in page
    assert "Invite 2 students" in page
    assert count(session, Student) == 2
    assert session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "import.written"))


def test_an_import_with_a_wrong_header_says_which_columns_are_wrong(client, session, registrar):
    response = upload(client, "students", "name,mail\nAda,ada@example.org\n")

    assert response.status_code == 400
    assert "missing column(s): email, country" in text_of(response)
    assert count(session, Student) == 0


def test_an_import_larger_than_the_limit_is_refused_with_413(app, client, session, registrar):
    app.config["IMPORT_MAX_BYTES"] = 1000

    response = upload(client, "students", STUDENTS_CSV + "x" * 2000)

    assert response.status_code == 413
    assert "larger than 1000 bytes" in text_of(response)
    assert count(session, Student) == 0


def test_finance_may_read_the_registrar_pages_but_not_post(
    client, session, sign_in, audit_survives_rollback
):
    graduation = GraduationFactory()
    sign_in(UserFactory(role=Role.FINANCE))

    for path in (
        "/registrar",
        "/registrar/programmes",
        f"/registrar/programmes/{graduation.enrollment.programme_id}",
        "/registrar/enrollments",
        f"/registrar/enrollments/{graduation.enrollment_id}",
        "/registrar/graduations",
        "/registrar/import",
    ):
        assert client.get(path).status_code == 200, path

    response = post(
        client, "/registrar/programmes", {"name": "X", "currency": "EUR", "tuition": "1"}
    )
    assert response.status_code == 403
    assert count(session, Programme) == 1
    session.expire_all()
    [refusal] = session.scalars(select(AuditEvent).where(AuditEvent.action == "access.refused"))
    assert (refusal.target, refusal.detail) == ("/registrar/programmes", "write_records")


@pytest.mark.parametrize("role", [Role.GRADUATE, Role.EMPLOYER, Role.ADMIN])
def test_other_roles_may_not_see_the_registrar_pages(client, sign_in, accounts, role):
    user = next(account for account in accounts.values() if getattr(account, "role", None) is role)
    sign_in(user)
    assert client.get("/registrar/enrollments").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/registrar/graduations")
    assert response.status_code == 302
    assert "/sign-in?next=/registrar/graduations" in response.headers["Location"]


def test_registrar_publishes_a_policy_with_search_obligations_and_pauses(
    client, session, registrar
):
    programme = ProgrammeFactory()
    session.flush()

    response = post(
        client,
        f"/registrar/programmes/{programme.id}/policies",
        {
            "effective_from": "2026-01-01",
            "window_months": "6",
            "window_starts": "qualification_date",
            "qualifying_types": ["full_time_permanent"],
            "min_contract_months": "6",
            "claim_deadline_days": "60",
            "weekly_applications": "5",
            "coaching_every_weeks": "2",
            "answer_within_days": "3",
            "report_offers_within_days": "7",
            "declined_offer_voids": "y",
            "max_pause_days": "90",
        },
    )

    assert response.status_code == 302
    policy = session.scalars(
        select(GuaranteePolicy).where(GuaranteePolicy.programme_id == programme.id)
    ).one()
    terms = policy.terms()
    assert (
        terms.weekly_applications,
        terms.coaching_every_weeks,
        terms.answer_within_days,
        terms.report_offers_within_days,
        terms.declined_offer_voids,
        terms.max_pause_days,
    ) == (5, 2, 3, 7, True, 90)
    page = text_of(client.get(f"/registrar/programmes/{programme.id}"))
    assert "5 applications a week; a coaching check-in every 2 weeks" in page
    assert "pauses up to 90 days" in page


def test_registrar_policy_with_a_negative_weekly_count_is_400_and_publishes_nothing(
    client, session, registrar
):
    programme = ProgrammeFactory()
    session.flush()

    response = post(
        client,
        f"/registrar/programmes/{programme.id}/policies",
        {
            "effective_from": "2026-01-01",
            "window_months": "6",
            "window_starts": "qualification_date",
            "qualifying_types": ["full_time_permanent"],
            "min_contract_months": "6",
            "claim_deadline_days": "60",
            "weekly_applications": "-2",
        },
    )

    assert response.status_code == 400
    assert "Number must be between 0 and 100" in text_of(response)
    assert count(session, GuaranteePolicy) == 0


def test_registrar_enrolls_with_the_cirr_intent_which_the_enrollment_page_shows_locked(
    client, session, registrar
):
    policy = GuaranteePolicyFactory(effective_from=date(2024, 1, 1))
    student = StudentFactory()
    session.flush()

    response = post(
        client,
        "/registrar/enrollments",
        {
            "enrollment-student_email": student.email,
            "enrollment-programme_id": str(policy.programme_id),
            "enrollment-signed_on": "2024-03-01",
            "enrollment-guarantee_opt_in": "y",
            "enrollment-cirr_intent": "further_study",
            "enrollment-expected_graduation_on": "2024-12-20",
        },
    )

    assert response.status_code == 302
    enrollment = session.scalars(select(Enrollment)).one()
    assert enrollment.cirr_intent.value == "further_study"
    assert enrollment.expected_graduation_on == date(2024, 12, 20)
    page = text_of(client.get(f"/registrar/enrollments/{enrollment.id}"))
    assert "go on to further study" in page
    assert "(locked)" in page
