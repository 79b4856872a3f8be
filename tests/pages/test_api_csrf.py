"""The API from a signed-in browser session: a state change needs the session's CSRF token.

Another site's page can make a browser send the session cookie (an empty form POST to
``/api/v1/claims/<id>/approve`` once recorded an approval); it cannot read the token.
Requests with ``Authorization: Bearer`` are exempt: a cross-site page cannot set that header.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.auth.tokens import create_token
from app.models import Role
from refunds.models import ClaimApproval, RefundClaim
from refunds.states import ClaimState
from tests.factories import AuditedRefundClaimFactory, TuitionPaymentFactory, UserFactory
from tests.pages.conftest import csrf_token


def flagged_claim() -> RefundClaim:
    claim = AuditedRefundClaimFactory(state=ClaimState.FLAGGED, amount_minor=100_000)
    TuitionPaymentFactory(enrollment=claim.enrollment, amount_minor=100_000)
    return claim


def approvals(session, claim_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(ClaimApproval).where(ClaimApproval.claim_id == claim_id)
    )


def test_an_empty_cross_site_form_post_with_a_finance_session_approves_nothing(
    client, session, sign_in
):
    claim = flagged_claim()
    sign_in(UserFactory(role=Role.FINANCE))

    form_post = client.post(f"/api/v1/claims/{claim.id}/approve", data={})
    json_post = client.post(f"/api/v1/claims/{claim.id}/approve", json={"reason": "looks right"})

    for response in (form_post, json_post):
        assert response.status_code == 403
        assert "CSRF token" in response.json["detail"]
    session.expire_all()
    assert session.get(RefundClaim, claim.id).state is ClaimState.FLAGGED
    assert approvals(session, claim.id) == 0


def test_a_wrong_csrf_token_is_refused_too(client, session, sign_in):
    claim = flagged_claim()
    sign_in(UserFactory(role=Role.FINANCE))

    response = client.post(
        f"/api/v1/claims/{claim.id}/approve",
        json={"reason": "looks right"},
        headers={"X-CSRFToken": "not-the-token"},
    )

    assert response.status_code == 403
    assert approvals(session, claim.id) == 0


def test_a_session_sending_its_csrf_token_in_the_header_approves(client, session, sign_in):
    claim = flagged_claim()
    sign_in(UserFactory(role=Role.FINANCE))
    token = csrf_token(client, "/finance")

    response = client.post(
        f"/api/v1/claims/{claim.id}/approve",
        json={"reason": "looks right"},
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 200, response.json
    assert approvals(session, claim.id) == 1


def test_a_bearer_token_needs_no_csrf_token(client, session):
    claim = flagged_claim()
    _record, token = create_token(session, user=UserFactory(role=Role.FINANCE), name="books")

    response = client.post(
        f"/api/v1/claims/{claim.id}/approve",
        json={"reason": "looks right"},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 200, response.json
    assert approvals(session, claim.id) == 1


def test_reading_the_api_with_a_session_needs_no_csrf_token(client, sign_in):
    sign_in(UserFactory(role=Role.FINANCE))

    assert client.get("/api/v1/claims").status_code == 200
