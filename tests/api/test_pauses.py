"""``/api/v1/graduations/<id>/pauses`` and ``/exclusion``: pausing the search, and excluded
outcomes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.models import ExcludedOutcome, Role
from app.models.base import utc_now
from refunds.states import ClaimState
from tests.factories import (
    TEST_PASSWORD,
    AuditedRefundClaimFactory,
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    UserFactory,
)
from tests.pages.conftest import csrf_token


@pytest.fixture
def graduation(session):
    """Ten days into a six-month window whose policy counts up to 30 paused days."""
    enrollment = EnrollmentFactory(policy=GuaranteePolicyFactory(max_pause_days=30))
    return GraduationFactory(
        enrollment=enrollment, qualified_on=utc_now().date() - timedelta(days=10)
    )


def _signed_in_graduate(app, graduation) -> FlaskClient:
    user = UserFactory(role=Role.GRADUATE, student=graduation.enrollment.student)
    app.test_client_class = FlaskClient
    client = app.test_client()
    response = client.post(
        "/sign-in",
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    # A browser session sends its CSRF token with every API write.
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client, "/me")
    return client


def _days(offset: int) -> str:
    return (utc_now().date() + timedelta(days=offset)).isoformat()


def test_registrar_records_a_past_pause_and_the_guarantee_shows_the_extended_deadline(
    client, graduation
):
    response = client.post(
        f"/api/v1/graduations/{graduation.id}/pauses",
        json={"starts_on": _days(-5), "ends_on": _days(4), "reason": "illness", "note": " flu "},
    )

    assert response.status_code == 201, response.json
    body = response.json
    assert body["pause"]["days"] == 10
    assert body["pause"]["note"] == "flu"
    assert body["paused_days_counted"] == 10 and body["max_pause_days"] == 30
    before = body["deadline_before"]
    assert body["deadline_after"] == (date.fromisoformat(before) + timedelta(days=10)).isoformat()
    guarantee = client.get(f"/api/v1/graduations/{graduation.id}/guarantee").json
    assert guarantee["deadline"] == body["deadline_after"]
    assert guarantee["deadline_without_pauses"] == before
    assert (guarantee["paused_days_requested"], guarantee["paused_days_counted"]) == (10, 10)
    assert [pause["id"] for pause in guarantee["pauses"]] == [body["pause"]["id"]]
    assert guarantee["exclusion"] is None


def test_an_overlapping_pause_is_422_on_its_field(client, refused, graduation):
    client.post(
        f"/api/v1/graduations/{graduation.id}/pauses",
        json={"starts_on": _days(1), "ends_on": _days(5), "reason": "illness"},
    )

    response = refused(
        "POST",
        f"/api/v1/graduations/{graduation.id}/pauses",
        json={"starts_on": _days(5), "ends_on": _days(8), "reason": "caring"},
    )

    assert response.status_code == 422
    assert "overlaps" in response.json["errors"]["json"]["starts_on"][0]


def test_a_pause_under_a_policy_without_pauses_is_422_about_the_request(client, refused, session):
    graduation = GraduationFactory()  # the factories' policy allows no pauses

    response = refused(
        "POST",
        f"/api/v1/graduations/{graduation.id}/pauses",
        json={"starts_on": "2025-10-01", "ends_on": "2025-10-05", "reason": "illness"},
    )

    assert response.status_code == 422
    assert "allows no pauses" in response.json["errors"]["json"]["_schema"][0]


def test_a_graduate_pauses_their_own_window_but_not_anothers(app, session, graduation):
    other = GraduationFactory(
        enrollment=EnrollmentFactory(policy=GuaranteePolicyFactory(max_pause_days=30)),
        qualified_on=graduation.qualified_on,
    )
    client = _signed_in_graduate(app, graduation)
    body = {"starts_on": _days(0), "ends_on": _days(6), "reason": "parental_leave"}

    own = client.post(f"/api/v1/graduations/{graduation.id}/pauses", json=body)
    others = client.post(f"/api/v1/graduations/{other.id}/pauses", json=body)
    backdated = client.post(
        f"/api/v1/graduations/{graduation.id}/pauses",
        json={**body, "starts_on": _days(-1), "ends_on": _days(-1)},
    )

    assert own.status_code == 201
    assert own.json["pause"]["recorded_by"].startswith("graduate:")
    assert others.status_code == 403
    assert backdated.status_code == 422
    assert "today or later" in backdated.json["errors"]["json"]["starts_on"][0]


def test_registrar_records_an_exclusion_which_withdraws_the_flagged_claim(
    client, session, graduation
):
    claim = AuditedRefundClaimFactory(graduation=graduation, state=ClaimState.FLAGGED)

    response = client.post(
        f"/api/v1/graduations/{graduation.id}/exclusion",
        json={"reason": "military_service", "occurred_on": _days(-1), "evidence": "Record 7"},
    )

    assert response.status_code == 201, response.json
    assert (response.json["reason"], response.json["evidence"]) == ("military_service", "Record 7")
    session.refresh(claim)
    assert claim.state is ClaimState.WITHDRAWN
    guarantee = client.get(f"/api/v1/graduations/{graduation.id}/guarantee").json
    assert guarantee["state"] == "excluded"
    assert guarantee["exclusion"]["id"] == response.json["id"]


def test_an_exclusion_of_a_graduate_whose_refund_is_paying_is_409(client, refused, graduation):
    AuditedRefundClaimFactory(graduation=graduation, state=ClaimState.PAYING)

    response = refused(
        "POST",
        f"/api/v1/graduations/{graduation.id}/exclusion",
        json={"reason": "death", "occurred_on": _days(-1), "evidence": "Certificate 12"},
    )

    assert response.status_code == 409


def test_an_exclusion_without_evidence_is_422(client, refused, graduation):
    response = refused(
        "POST",
        f"/api/v1/graduations/{graduation.id}/exclusion",
        json={"reason": "death", "occurred_on": _days(-1), "evidence": "  "},
    )

    assert response.status_code == 422
    assert "evidence" in response.json["errors"]["json"]


def test_finance_may_not_record_an_exclusion(client, session, staff_tokens, graduation):
    response = client.post(
        f"/api/v1/graduations/{graduation.id}/exclusion",
        json={"reason": "death", "occurred_on": _days(-1), "evidence": "Certificate 12"},
        headers={"Authorization": f"Bearer {staff_tokens[Role.FINANCE]}"},
    )

    assert response.status_code == 403
    assert session.scalar(select(func.count()).select_from(ExcludedOutcome)) == 0
