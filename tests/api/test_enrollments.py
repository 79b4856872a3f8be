"""``/api/v1/enrollments`` and their tuition payments."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.factories import (
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    ProgrammeFactory,
    StudentFactory,
    TuitionPaymentFactory,
)

PAYMENT = {"amount_minor": 250_000, "currency": "EUR", "paid_at": "2024-02-01T10:00:00+02:00"}


def pagination(response) -> dict:
    return response.json["pagination"]


def enrollment_body(policy, student, **changes) -> dict:
    return {
        "student_id": student.id,
        "programme_id": policy.programme_id,
        "signed_on": "2024-03-01",
        "guarantee_opt_in": True,
        **changes,
    }


def test_create_enrollment_returns_it_bound_to_its_policy(client, session):
    policy = GuaranteePolicyFactory(programme=ProgrammeFactory(currency="CAD"))
    student = StudentFactory()
    session.flush()

    response = client.post(
        "/api/v1/enrollments", json=enrollment_body(policy, student, scholarship_minor=50_000)
    )

    assert response.status_code == 201
    body = response.json
    assert body["student_id"] == student.id
    assert body["programme_id"] == policy.programme_id
    assert body["policy_id"] == policy.id
    assert body["policy_version"] == policy.version
    assert body["signed_on"] == "2024-03-01"
    assert body["guarantee_opt_in"] is True
    assert body["scholarship_minor"] == 50_000
    assert body["currency"] == "CAD"
    assert body["payments"] == []
    assert body["graduation_id"] is None
    assert body["cirr_intent"] == "in_field_job"
    assert body["expected_graduation_on"] is None
    assert client.get(f"/api/v1/enrollments/{body['id']}").json == body


def test_create_enrollment_records_the_cirr_intent_and_the_cohorts_graduation_day(client, session):
    policy = GuaranteePolicyFactory()
    student = StudentFactory()
    session.flush()

    body = client.post(
        "/api/v1/enrollments",
        json=enrollment_body(
            policy, student, cirr_intent="further_study", expected_graduation_on="2024-12-20"
        ),
    ).json

    assert body["cirr_intent"] == "further_study"
    assert body["expected_graduation_on"] == "2024-12-20"


def test_create_enrollment_graduating_before_it_is_signed_is_422_and_writes_nothing(
    client, session, refused
):
    policy = GuaranteePolicyFactory()
    student = StudentFactory()
    session.flush()

    response = refused(
        "POST",
        "/api/v1/enrollments",
        json=enrollment_body(policy, student, expected_graduation_on="2024-02-28"),
    )

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == ["expected_graduation_on"]


def test_create_enrollment_without_scholarship_records_zero(client, session):
    policy = GuaranteePolicyFactory()
    session.flush()

    body = client.post("/api/v1/enrollments", json=enrollment_body(policy, StudentFactory())).json

    assert body["scholarship_minor"] == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("student_id", 999_999),
        ("student_id", 2**31),
        ("student_id", -1),
        ("student_id", "1"),
        ("student_id", 1.5),
        ("student_id", None),
        ("programme_id", 999_999),
        ("programme_id", 2**63 + 1),
        ("signed_on", "2024-13-01"),
        ("signed_on", "2024-03-01T00:00:00"),
        ("guarantee_opt_in", "yes please"),
        ("guarantee_opt_in", None),
        ("scholarship_minor", -1),
        ("scholarship_minor", 10**13),
        ("cirr_intent", "become_famous"),
        ("cirr_intent", None),
        ("expected_graduation_on", "2024-02-30"),
    ],
)
def test_create_enrollment_with_a_bad_field_is_422_naming_it(
    client, session, refused, field, value
):
    policy = GuaranteePolicyFactory()
    student = StudentFactory()
    session.flush()

    response = refused(
        "POST", "/api/v1/enrollments", json=enrollment_body(policy, student, **{field: value})
    )

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == [field]


def test_list_enrollments_newest_signed_first_with_pagination(client, session):
    for day in (date(2024, 1, 1), date(2024, 3, 1), date(2024, 2, 1)):
        EnrollmentFactory(signed_on=day)

    response = client.get("/api/v1/enrollments?page_size=2")

    assert [row["signed_on"] for row in response.json["items"]] == ["2024-03-01", "2024-02-01"]
    assert pagination(response)["total"] == 3
    assert pagination(response)["next_page"] == 2


def test_list_enrollments_filters_by_student(client, session):
    mine = EnrollmentFactory()
    EnrollmentFactory()

    response = client.get(f"/api/v1/enrollments?student_id={mine.student_id}")

    assert response.status_code == 200
    assert [row["id"] for row in response.json["items"]] == [mine.id]


def test_list_enrollments_filters_by_programme(client, session):
    mine = EnrollmentFactory()
    EnrollmentFactory()

    response = client.get(f"/api/v1/enrollments?programme_id={mine.programme_id}")

    assert response.status_code == 200
    assert [row["id"] for row in response.json["items"]] == [mine.id]


@pytest.mark.parametrize(("opt_in", "expected"), [("true", True), ("false", False)])
def test_list_enrollments_filters_by_guarantee_opt_in(client, session, opt_in, expected):
    EnrollmentFactory(guarantee_opt_in=True)
    EnrollmentFactory(guarantee_opt_in=False)

    response = client.get(f"/api/v1/enrollments?guarantee_opt_in={opt_in}")

    assert [row["guarantee_opt_in"] for row in response.json["items"]] == [expected]


@pytest.mark.parametrize(
    "query",
    [
        "student_id=abc",
        "student_id=0",
        "student_id=1.5",
        f"student_id={2**31}",
        f"programme_id={10**40}",
        "guarantee_opt_in=maybe",
    ],
)
def test_list_enrollments_with_a_bad_filter_is_422_naming_it(client, query):
    response = client.get(f"/api/v1/enrollments?{query}")

    assert response.status_code == 422
    assert list(response.json["errors"]["query"]) == [query.split("=")[0]]


def test_get_enrollment_shows_its_payments_oldest_first_and_its_graduation(client, session):
    enrollment = EnrollmentFactory()
    later = TuitionPaymentFactory(
        enrollment=enrollment, paid_at=datetime(2024, 6, 1, tzinfo=UTC), amount_minor=200
    )
    earlier = TuitionPaymentFactory(
        enrollment=enrollment, paid_at=datetime(2024, 2, 1, tzinfo=UTC), amount_minor=100
    )
    graduation = GraduationFactory(enrollment=enrollment)

    body = client.get(f"/api/v1/enrollments/{enrollment.id}").json

    assert [payment["id"] for payment in body["payments"]] == [earlier.id, later.id]
    assert body["graduation_id"] == graduation.id


@pytest.mark.parametrize("enrollment_id", ["777", str(2**31), str(2**64), "-3", "x"])
def test_get_enrollment_unknown_is_404(client, enrollment_id):
    assert client.get(f"/api/v1/enrollments/{enrollment_id}").status_code == 404


def test_record_payment_returns_it_in_utc(client, session):
    enrollment = EnrollmentFactory()

    response = client.post(
        f"/api/v1/enrollments/{enrollment.id}/payments",
        json={
            **PAYMENT,
            "currency": "EUR",
            "payer_type": "sponsor",
            "payer_name": "Employer Sponsor GmbH",
            "stripe_payment_intent_id": "pi_3Nabc_DEF",
        },
    )

    assert response.status_code == 201
    body = response.json
    assert body["enrollment_id"] == enrollment.id
    assert body["amount_minor"] == 250_000
    assert body["currency"] == "EUR"
    assert body["paid_at"] == "2024-02-01T08:00:00+00:00"
    assert body["payer_type"] == "sponsor"
    assert body["payer_name"] == "Employer Sponsor GmbH"
    assert body["stripe_payment_intent_id"] == "pi_3Nabc_DEF"
    assert client.get(f"/api/v1/enrollments/{enrollment.id}").json["payments"] == [body]


def test_list_payments_of_an_enrollment_oldest_first(client, session):
    enrollment = EnrollmentFactory()
    url = f"/api/v1/enrollments/{enrollment.id}/payments"
    client.post(url, json={**PAYMENT, "paid_at": "2024-05-01T00:00:00Z"})
    client.post(url, json={**PAYMENT, "paid_at": "2024-04-01T00:00:00Z"})
    client.post(url, json={**PAYMENT, "paid_at": "2024-06-01T00:00:00Z"})
    TuitionPaymentFactory()  # another enrollment's

    response = client.get(f"{url}?page_size=2")

    assert [row["paid_at"][:10] for row in response.json["items"]] == ["2024-04-01", "2024-05-01"]
    assert pagination(response)["total"] == 3


def test_list_payments_of_an_unknown_enrollment_is_404(client):
    assert client.get("/api/v1/enrollments/5050/payments").status_code == 404


def test_record_payment_for_an_unknown_enrollment_is_404_and_writes_nothing(client, refused):
    assert refused("POST", "/api/v1/enrollments/5050/payments", json=PAYMENT).status_code == 404
    assert refused("POST", f"/api/v1/enrollments/{2**31}/payments", json=PAYMENT).status_code == 404


def test_record_payment_with_a_recorded_payment_intent_is_409_and_writes_nothing(
    client, session, refused
):
    TuitionPaymentFactory(stripe_payment_intent_id="pi_once")
    other = EnrollmentFactory()

    response = refused(
        "POST",
        f"/api/v1/enrollments/{other.id}/payments",
        json={**PAYMENT, "stripe_payment_intent_id": "pi_once"},
    )

    assert response.status_code == 409
    assert list(response.json["errors"]["json"]) == ["stripe_payment_intent_id"]


def test_record_payment_in_another_currency_than_the_programmes_is_422(client, session, refused):
    enrollment = EnrollmentFactory()

    response = refused(
        "POST",
        f"/api/v1/enrollments/{enrollment.id}/payments",
        json={**PAYMENT, "currency": "USD"},
    )

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == ["currency"]


def test_record_sponsor_payment_without_the_sponsors_name_is_422(client, session, refused):
    enrollment = EnrollmentFactory()

    response = refused(
        "POST",
        f"/api/v1/enrollments/{enrollment.id}/payments",
        json={**PAYMENT, "payer_type": "sponsor"},
    )

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == ["payer_name"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount_minor", 0),
        ("amount_minor", -100),
        ("amount_minor", 10**12 + 1),
        ("amount_minor", 99.99),
        ("currency", "€"),
        ("paid_at", "2024-02-01T10:00:00"),  # no offset: which instant?
        ("paid_at", "2024-02-01"),
        ("paid_at", "0001-01-01T00:00:00+01:00"),  # before the first representable instant
        ("paid_at", "9999-12-31T23:59:59-01:00"),  # after the last one
        ("payer_type", "lender"),
        ("payer_name", "\x00"),
        ("stripe_payment_intent_id", "ch_123"),
        ("stripe_payment_intent_id", "pi_"),
        ("stripe_payment_intent_id", "pi_abc\n"),  # "$" would match before the newline
        ("stripe_payment_intent_id", "pi_" + "a" * 251),
        ("stripe_payment_intent_id", 42),
    ],
)
def test_record_payment_with_a_bad_field_is_422_naming_it(client, session, refused, field, value):
    enrollment = EnrollmentFactory()

    response = refused(
        "POST", f"/api/v1/enrollments/{enrollment.id}/payments", json={**PAYMENT, field: value}
    )

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == [field]


def test_record_payment_at_the_edges_of_representable_instants(client, session):
    enrollment = EnrollmentFactory()
    url = f"/api/v1/enrollments/{enrollment.id}/payments"

    first = client.post(url, json={**PAYMENT, "paid_at": "0001-01-01T00:00:00+00:00"})
    last = client.post(url, json={**PAYMENT, "paid_at": "9999-12-31T23:59:59+00:00"})

    assert (first.status_code, last.status_code) == (201, 201)
    listed = client.get(url).json["items"]
    assert [row["paid_at"] for row in listed] == [
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59+00:00",
    ]
