"""``/api/v1/graduations`` and a graduate's guarantee, ``/api/v1/graduations/<id>/guarantee``."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.guarantee.terms import EmploymentType, OutcomeStatus
from app.models.base import utc_now
from tests.factories import (
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    JobOutcomeFactory,
    ProgrammeFactory,
    TuitionPaymentFactory,
)


def pagination(response) -> dict:
    return response.json["pagination"]


def test_create_graduation_returns_it_with_its_student_and_programme(client, session):
    enrollment = EnrollmentFactory(signed_on=date(2024, 9, 1))

    response = client.post(
        "/api/v1/graduations",
        json={"enrollment_id": enrollment.id, "qualified_on": "2025-08-31"},
    )

    assert response.status_code == 201
    body = response.json
    assert body["enrollment_id"] == enrollment.id
    assert body["student_id"] == enrollment.student_id
    assert body["programme_id"] == enrollment.programme_id
    assert body["qualified_on"] == "2025-08-31"
    assert client.get(f"/api/v1/graduations/{body['id']}").json == body
    assert client.get(f"/api/v1/enrollments/{enrollment.id}").json["graduation_id"] == body["id"]


def test_create_graduation_twice_for_one_enrollment_is_409_and_writes_nothing(
    client, session, refused
):
    enrollment = EnrollmentFactory()
    body = {"enrollment_id": enrollment.id, "qualified_on": "2025-08-31"}
    assert client.post("/api/v1/graduations", json=body).status_code == 201

    response = refused("POST", "/api/v1/graduations", json={**body, "qualified_on": "2025-09-30"})

    assert response.status_code == 409
    assert list(response.json["errors"]["json"]) == ["enrollment_id"]


def test_create_graduation_before_the_enrollment_was_signed_is_422(client, session, refused):
    enrollment = EnrollmentFactory(signed_on=date(2024, 9, 1))

    response = refused(
        "POST",
        "/api/v1/graduations",
        json={"enrollment_id": enrollment.id, "qualified_on": "2024-08-31"},
    )

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == ["qualified_on"]


@pytest.mark.parametrize(
    ("window_starts", "qualified_on"),
    [
        ("qualification_date", "9999-12-31"),
        ("qualification_date", "9999-05-02"),
        ("first_monday_after_qualification", "9999-12-31"),
    ],
)
def test_create_graduation_whose_window_would_end_after_9999_is_422_and_writes_nothing(
    client, session, refused, window_starts, qualified_on
):
    # Its guarantee could never be computed: every later GET of it would fail.
    enrollment = EnrollmentFactory(policy__window_starts=window_starts)

    response = refused(
        "POST",
        "/api/v1/graduations",
        json={"enrollment_id": enrollment.id, "qualified_on": qualified_on},
    )

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == ["qualified_on"]


def test_create_graduation_as_late_as_its_guarantee_can_be_computed(client, session):
    # 6 months + 60 days after 9999-05-01 is 9999-12-31, the last date there is.
    enrollment = EnrollmentFactory()

    response = client.post(
        "/api/v1/graduations",
        json={"enrollment_id": enrollment.id, "qualified_on": "9999-05-01"},
    )

    assert response.status_code == 201
    guarantee = client.get(f"/api/v1/graduations/{response.json['id']}/guarantee")
    assert guarantee.status_code == 200
    assert guarantee.json["claim_deadline"] == "9999-12-31"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("enrollment_id", 123_456),
        ("enrollment_id", 2**31),
        ("enrollment_id", 0),
        ("enrollment_id", "1"),
        ("qualified_on", "31/08/2025"),
        ("qualified_on", None),
        ("qualified_on", "2025-02-29"),
    ],
)
def test_create_graduation_with_a_bad_field_is_422_naming_it(
    client, session, refused, field, value
):
    enrollment = EnrollmentFactory()
    body = {"enrollment_id": enrollment.id, "qualified_on": "2025-08-31", field: value}

    response = refused("POST", "/api/v1/graduations", json=body)

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == [field]


def test_list_graduations_latest_qualification_first_with_pagination(client, session):
    for day in (date(2025, 1, 31), date(2025, 3, 31), date(2025, 2, 28)):
        GraduationFactory(qualified_on=day)

    response = client.get("/api/v1/graduations?page_size=2")

    assert [row["qualified_on"] for row in response.json["items"]] == ["2025-03-31", "2025-02-28"]
    assert pagination(response)["total"] == 3


def test_list_graduations_filters_by_programme(client, session):
    mine = GraduationFactory()
    GraduationFactory()

    response = client.get(f"/api/v1/graduations?programme_id={mine.enrollment.programme_id}")

    assert response.status_code == 200
    assert [row["id"] for row in response.json["items"]] == [mine.id]


def test_list_graduations_filters_by_student(client, session):
    mine = GraduationFactory()
    GraduationFactory()

    response = client.get(f"/api/v1/graduations?student_id={mine.enrollment.student_id}")

    assert response.status_code == 200
    assert [row["id"] for row in response.json["items"]] == [mine.id]


def test_list_graduations_filters_by_qualification_dates_inclusive(client, session):
    for day in (date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)):
        GraduationFactory(qualified_on=day)

    response = client.get("/api/v1/graduations?qualified_from=2025-02-01&qualified_to=2025-03-01")
    after = client.get("/api/v1/graduations?qualified_from=2025-03-02")
    before = client.get("/api/v1/graduations?qualified_to=2025-01-01")

    assert [row["qualified_on"] for row in response.json["items"]] == ["2025-03-01", "2025-02-01"]
    assert [row["qualified_on"] for row in after.json["items"]] == ["2025-04-01"]
    assert [row["qualified_on"] for row in before.json["items"]] == ["2025-01-01"]


@pytest.mark.parametrize(
    "query", ["programme_id=one", "student_id=-4", "qualified_from=2025-02-30", "qualified_to=x"]
)
def test_list_graduations_with_a_bad_filter_is_422_naming_it(client, query):
    response = client.get(f"/api/v1/graduations?{query}")

    assert response.status_code == 422
    assert list(response.json["errors"]["query"]) == [query.split("=")[0]]


@pytest.mark.parametrize("graduation_id", ["4040", str(2**31), str(2**128)])
def test_get_graduation_or_its_guarantee_unknown_is_404(client, graduation_id):
    assert client.get(f"/api/v1/graduations/{graduation_id}").status_code == 404
    assert client.get(f"/api/v1/graduations/{graduation_id}/guarantee").status_code == 404


def paid_in_two_instalments(**policy) -> GraduationFactory:
    """A graduate who qualified on 31 Aug 2025 after paying 1000.00 then 2000.00 EUR."""
    enrollment = EnrollmentFactory(
        policy=GuaranteePolicyFactory(programme=ProgrammeFactory(currency="EUR"), **policy),
        scholarship_minor=30_000,
    )
    TuitionPaymentFactory(
        enrollment=enrollment, amount_minor=100_000, paid_at=datetime(2024, 1, 20, tzinfo=UTC)
    )
    TuitionPaymentFactory(
        enrollment=enrollment, amount_minor=200_000, paid_at=datetime(2024, 4, 20, tzinfo=UTC)
    )
    return GraduationFactory(enrollment=enrollment, qualified_on=date(2025, 8, 31))


def test_guarantee_in_the_window_shows_deadline_and_days_left(client, session):
    graduation = paid_in_two_instalments()

    response = client.get(f"/api/v1/graduations/{graduation.id}/guarantee?as_of=2026-02-18")

    assert response.status_code == 200
    body = response.json
    assert body["graduation_id"] == graduation.id
    assert body["policy_id"] == graduation.enrollment.policy_id
    assert body["policy_version"] == graduation.enrollment.policy.version
    assert body["qualified_on"] == "2025-08-31"
    assert body["as_of"] == "2026-02-18"
    assert body["deadline"] == "2026-02-28"  # 31 Aug + 6 calendar months
    assert body["claim_deadline"] == "2026-04-29"  # + 60 days
    assert body["days_left"] == 10
    assert body["state"] == "in_window"
    assert body["outcomes"] == []
    assert body["qualifying_outcome_id"] is None


def test_guarantee_refund_deducts_the_scholarship_and_splits_across_payments(client, session):
    graduation = paid_in_two_instalments()
    first, second = graduation.enrollment.payments

    body = client.get(f"/api/v1/graduations/{graduation.id}/guarantee?as_of=2026-03-01").json

    assert body["state"] == "owed_refund"
    assert body["days_left"] is None
    assert body["refundable"] == {
        "amount_minor": 270_000,  # 300_000 paid - 30_000 scholarship
        "currency": "EUR",
        "paid_minor": 300_000,
        "split": [
            {"payment_id": first.id, "amount_minor": 90_000},
            {"payment_id": second.id, "amount_minor": 180_000},
        ],
    }


def test_guarantee_refund_is_capped_by_the_policy(client, session):
    graduation = paid_in_two_instalments(refund_cap_minor=150_000)
    first, second = graduation.enrollment.payments

    refundable = client.get(f"/api/v1/graduations/{graduation.id}/guarantee").json["refundable"]

    assert refundable["amount_minor"] == 150_000
    assert refundable["split"] == [
        {"payment_id": first.id, "amount_minor": 50_000},
        {"payment_id": second.id, "amount_minor": 100_000},
    ]


def test_guarantee_refund_keeps_the_scholarship_when_the_policy_does_not_deduct_it(client, session):
    graduation = paid_in_two_instalments(deduct_scholarships=False)

    refundable = client.get(f"/api/v1/graduations/{graduation.id}/guarantee").json["refundable"]

    assert refundable["amount_minor"] == 300_000
    assert [share["amount_minor"] for share in refundable["split"]] == [100_000, 200_000]


def test_guarantee_of_a_graduate_who_paid_nothing_refunds_nothing(client, session):
    graduation = GraduationFactory()

    refundable = client.get(f"/api/v1/graduations/{graduation.id}/guarantee").json["refundable"]

    assert refundable == {"amount_minor": 0, "currency": "EUR", "paid_minor": 0, "split": []}


def test_guarantee_is_past_the_claim_deadline_after_it(client, session):
    graduation = paid_in_two_instalments()

    on_last_day = client.get(f"/api/v1/graduations/{graduation.id}/guarantee?as_of=2026-04-29")
    after = client.get(f"/api/v1/graduations/{graduation.id}/guarantee?as_of=2026-04-30")

    assert on_last_day.json["state"] == "owed_refund"
    assert after.json["state"] == "past_claim_deadline"


def test_guarantee_on_the_deadline_has_zero_days_left(client, session):
    graduation = paid_in_two_instalments()

    body = client.get(f"/api/v1/graduations/{graduation.id}/guarantee?as_of=2026-02-28").json

    assert (body["state"], body["days_left"]) == ("in_window", 0)


def test_guarantee_of_a_graduate_who_did_not_opt_in_is_not_covered(client, session):
    graduation = GraduationFactory(enrollment__guarantee_opt_in=False)

    body = client.get(f"/api/v1/graduations/{graduation.id}/guarantee?as_of=2026-03-01").json

    assert body["state"] == "not_covered"


def test_guarantee_is_placed_by_a_qualifying_job_and_lists_why_others_do_not_count(client, session):
    graduation = paid_in_two_instalments()
    internship = JobOutcomeFactory(
        graduation=graduation,
        employment_type=EmploymentType.INTERNSHIP,
        start_date=date(2025, 9, 15),
        contract_months=3,
    )
    disputed = JobOutcomeFactory(
        graduation=graduation, status=OutcomeStatus.DISPUTED, start_date=date(2025, 10, 1)
    )
    job = JobOutcomeFactory(graduation=graduation, start_date=date(2025, 11, 3))

    body = client.get(f"/api/v1/graduations/{graduation.id}/guarantee?as_of=2026-06-01").json

    assert body["state"] == "placed"
    assert body["qualifying_outcome_id"] == job.id
    verdicts = {verdict["job_outcome_id"]: verdict for verdict in body["outcomes"]}
    assert verdicts[job.id] == {"job_outcome_id": job.id, "qualifies": True, "shortfalls": []}
    assert verdicts[internship.id]["qualifies"] is False
    assert (
        "internship is not a qualifying type of employment"
        in (verdicts[internship.id]["shortfalls"])
    )
    assert verdicts[disputed.id]["qualifies"] is False
    assert [verdict["job_outcome_id"] for verdict in body["outcomes"]] == [
        internship.id,
        disputed.id,
        job.id,
    ]


def test_guarantee_uses_the_policy_version_the_enrollment_was_signed_under(client, session):
    programme = ProgrammeFactory()
    old = GuaranteePolicyFactory(programme=programme, effective_from=date(2020, 1, 1))
    GuaranteePolicyFactory(programme=programme, effective_from=date(2024, 1, 1), window_months=12)
    graduation = GraduationFactory(
        enrollment=EnrollmentFactory(policy=old, signed_on=date(2023, 5, 1)),
        qualified_on=date(2025, 8, 31),
    )

    body = client.get(f"/api/v1/graduations/{graduation.id}/guarantee").json

    assert body["policy_id"] == old.id
    assert body["deadline"] == "2026-02-28"


def test_guarantee_without_as_of_is_evaluated_today(client, session):
    graduation = GraduationFactory()

    body = client.get(f"/api/v1/graduations/{graduation.id}/guarantee").json

    assert body["as_of"] == utc_now().date().isoformat()


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31"])
def test_guarantee_as_of_the_first_or_last_day_there_is(client, session, as_of):
    graduation = GraduationFactory()

    response = client.get(f"/api/v1/graduations/{graduation.id}/guarantee?as_of={as_of}")

    assert response.status_code == 200
    assert response.json["as_of"] == as_of


@pytest.mark.parametrize("as_of", ["tomorrow", "2026-02-30", "2026-01-01T00:00:00Z", "%00"])
def test_guarantee_with_a_bad_as_of_is_422(client, session, as_of):
    graduation = GraduationFactory()

    response = client.get(f"/api/v1/graduations/{graduation.id}/guarantee?as_of={as_of}")

    assert response.status_code == 422
    assert list(response.json["errors"]["query"]) == ["as_of"]


def test_guarantee_shows_the_claim_once_the_sweep_flagged_the_graduate(client, session):
    from refunds.sweep import sweep

    graduation = GraduationFactory(qualified_on=date(2025, 1, 31))
    TuitionPaymentFactory(enrollment=graduation.enrollment, amount_minor=450_000)
    url = f"/api/v1/graduations/{graduation.id}/guarantee?as_of=2025-09-01"
    assert client.get(url).json["claim"] is None

    sweep(session, date(2025, 9, 1))
    session.commit()

    claim = client.get(url).json["claim"]
    assert claim["state"] == "flagged"
    assert (claim["amount_minor"], claim["currency"]) == (450_000, "EUR")
    assert claim["flagged_on"] == "2025-09-01"
