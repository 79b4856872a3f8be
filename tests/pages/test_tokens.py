"""API tokens belong to a person: made by them, acting as them, dying with their account.

An admin once made two finance tokens and approved a 7,000.00 claim twice; tokens outlived the
account that made them and never expired.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.auth.tokens import create_token
from app.models import ApiToken, AuditEvent, Role, User
from app.models.base import utc_now
from refunds.models import ClaimApproval, RefundClaim
from refunds.states import ClaimState
from tests.factories import (
    AuditedRefundClaimFactory,
    StudentFactory,
    TuitionPaymentFactory,
    UserFactory,
)
from tests.pages.conftest import post_form
from tests.statements import statements_sent


@pytest.fixture
def app(app):
    app.config["DUAL_APPROVAL_THRESHOLD_MINOR"] = 500_000
    return app


def text_of(response) -> str:
    return response.get_data(as_text=True)


def make_token(client, name: str, lifetime_days: str = "90"):
    """Make a token on the signed-in person's own tokens page; returns (response, secret)."""
    response = post_form(
        client,
        "/account/tokens",
        {"name": name, "lifetime_days": lifetime_days},
        token_from="/account/tokens",
    )
    match = re.search(r'value="(jg_[^"]+)"', text_of(response))
    return response, match.group(1) if match else None


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def large_claim() -> RefundClaim:
    claim = AuditedRefundClaimFactory(state=ClaimState.FLAGGED, amount_minor=700_000)
    TuitionPaymentFactory(enrollment=claim.enrollment, amount_minor=700_000)
    return claim


def sign_out(client) -> None:
    post_form(client, "/sign-out", token_from="/account/tokens")


def test_one_person_with_two_tokens_cannot_approve_a_large_claim_twice(client, session, sign_in):
    ada = UserFactory(role=Role.FINANCE)
    sign_in(ada)
    _, first = make_token(client, "laptop script")
    _, second = make_token(client, "spreadsheet")
    sign_out(client)
    claim = large_claim()

    approved = client.post(
        f"/api/v1/claims/{claim.id}/approve", json={"reason": "ok"}, headers=bearer(first)
    )
    again = client.post(
        f"/api/v1/claims/{claim.id}/approve", json={"reason": "ok"}, headers=bearer(second)
    )

    assert approved.status_code == 200, approved.json
    assert approved.json["state"] == "awaiting_second_approval"
    assert again.status_code == 409
    assert "approved this claim already" in again.json["detail"]
    session.expire_all()
    actors = session.scalars(select(ClaimApproval.actor).where(ClaimApproval.claim_id == claim.id))
    assert list(actors) == [f"finance:{ada.email}"]


def test_a_token_is_shown_once_stored_hashed_expires_in_90_days_and_acts_as_its_maker(
    client, session, sign_in
):
    registrar = UserFactory(role=Role.REGISTRAR)
    sign_in(registrar)

    response, secret = make_token(client, "SIS sync")

    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    session.expire_all()
    [token] = session.scalars(select(ApiToken))
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.user_id == registrar.id
    assert abs(token.expires_at - (utc_now() + timedelta(days=90))) < timedelta(minutes=5)
    assert secret not in text_of(client.get("/account/tokens"))
    sign_out(client)

    created = client.post(
        "/api/v1/students",
        json={"name": "Lin Chen", "email": "lin@example.org", "country": "FR"},
        headers=bearer(secret),
    )

    assert created.status_code == 201
    session.expire_all()
    event = session.scalar(
        select(AuditEvent).where(AuditEvent.action.like("api.%")).order_by(AuditEvent.id.desc())
    )
    assert event.actor == f"registrar:{registrar.email}"


def test_a_token_lives_at_most_365_days(client, session, sign_in):
    sign_in(UserFactory(role=Role.FINANCE))

    response, secret = make_token(client, "forever", lifetime_days="366")

    assert response.status_code == 400
    assert secret is None
    assert "between 1 and 365" in text_of(response)
    assert session.scalars(select(ApiToken)).all() == []


def test_an_expired_token_is_401(client, session, sign_in):
    sign_in(UserFactory(role=Role.FINANCE))
    _, secret = make_token(client, "old")
    sign_out(client)
    session.execute(update(ApiToken).values(expires_at=utc_now() - timedelta(seconds=1)))

    response = client.get("/api/v1/claims", headers=bearer(secret))

    assert response.status_code == 401


@pytest.mark.parametrize("change", ["disable", "role"])
def test_a_token_dies_with_its_account(client, session, sign_in, change):
    finance = UserFactory(role=Role.FINANCE)
    sign_in(finance)
    _, secret = make_token(client, "books")
    sign_out(client)
    assert client.get("/api/v1/claims", headers=bearer(secret)).status_code == 200
    sign_in(UserFactory(role=Role.ADMIN))

    if change == "disable":
        changed = post_form(
            client,
            f"/admin/accounts/{finance.id}/active",
            {"active": "no"},
            token_from="/admin/accounts",
        )
    else:
        changed = post_form(
            client,
            f"/admin/accounts/{finance.id}/role",
            {"role": "registrar"},
            token_from="/admin/accounts",
        )
    assert changed.status_code == 302
    sign_out(client)

    assert client.get("/api/v1/claims", headers=bearer(secret)).status_code == 401
    session.expire_all()
    assert session.scalar(select(ApiToken.revoked_at)) is not None


def test_an_admin_makes_tokens_only_for_themselves_and_they_cannot_approve_claims(
    client, session, sign_in, audit_survives_rollback
):
    sign_in(UserFactory(role=Role.ADMIN))
    claim = large_claim()

    # The old form that made a token for any role is gone.
    assert client.post("/admin/tokens", data={"name": "x", "role": "finance"}).status_code == 405
    _, secret = make_token(client, "admin scripts")
    sign_out(client)
    response = client.post(
        f"/api/v1/claims/{claim.id}/approve", json={"reason": "ok"}, headers=bearer(secret)
    )

    assert response.status_code == 403
    session.expire_all()
    assert session.get(RefundClaim, claim.id).state is ClaimState.FLAGGED


def test_graduates_and_employers_hold_no_tokens(client, sign_in, audit_survives_rollback):
    sign_in(UserFactory(role=Role.GRADUATE, student=StudentFactory()))

    assert client.get("/account/tokens").status_code == 403


@pytest.mark.parametrize(
    "change",
    [
        {"table": ApiToken, "values": {"revoked_at": utc_now()}},
        {"table": ApiToken, "values": {"expires_at": utc_now() - timedelta(seconds=1)}},
        {"table": User, "values": {"active": False}},
        {"table": User, "values": {"role": Role.REGISTRAR}},
    ],
    ids=["revoked", "expired", "disabled", "role"],
)
@pytest.mark.parametrize("read", ["a list", "a student"])
def test_a_read_is_refused_the_moment_the_records_say_so(client, session, change, read):
    # Whatever path wrote it (another process, a script), the next request is refused: the
    # check is on the rows, not on what the service did when it revoked. A student is read in
    # the statement that checks the token, a list after it.
    finance = UserFactory(role=Role.FINANCE)
    _, secret = create_token(session, user=finance, name="books")
    path = "/api/v1/claims" if read == "a list" else f"/api/v1/students/{StudentFactory().id}"
    assert client.get(path, headers=bearer(secret)).status_code == 200

    session.execute(update(change["table"]).values(**change["values"]))

    refused = client.get(path, headers=bearer(secret))
    assert refused.status_code == 401
    assert "email" not in refused.json


def test_someone_elses_token_cannot_be_revoked_but_an_admin_can_revoke_any(
    client, session, sign_in
):
    sign_in(UserFactory(role=Role.FINANCE))
    _, secret = make_token(client, "mine")
    sign_out(client)
    token_id = session.scalar(select(ApiToken.id))
    sign_in(UserFactory(role=Role.FINANCE))

    other = post_form(client, f"/account/tokens/{token_id}/revoke", token_from="/account/tokens")

    assert other.status_code == 404
    sign_out(client)
    sign_in(UserFactory(role=Role.ADMIN))
    revoked = post_form(client, f"/admin/tokens/{token_id}/revoke", token_from="/admin/tokens")
    assert revoked.status_code == 302
    sign_out(client)
    assert client.get("/api/v1/claims", headers=bearer(secret)).status_code == 401


def test_a_token_that_only_reads_leaves_its_row_alone_and_a_write_stamps_its_last_use(
    client, session, connection
):
    record, token = create_token(session, user=UserFactory(role=Role.REGISTRAR), name="sync")
    session.flush()
    headers = {"Authorization": f"Bearer {token}"}

    with statements_sent(connection) as sent:
        read = client.get("/api/v1/students", headers=headers)
    written = client.post(
        "/api/v1/students",
        headers=headers,
        json={"name": "Ada", "email": "ada@example.org", "country": "GB"},
    )

    assert read.status_code == 200
    assert not [statement for statement in sent if statement.startswith("UPDATE")]
    assert written.status_code == 201
    session.refresh(record)
    assert record.last_used_at is not None
