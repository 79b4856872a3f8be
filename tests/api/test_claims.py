"""``/api/v1/claims``: the finance queue and its decisions, and what a late job report does."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.auth.tokens import create_token
from app.guarantee.terms import OutcomeStatus
from app.models import AuditEvent, Role
from refunds import claims
from refunds.models import ClaimTransition, Refund, RefundClaim
from refunds.states import ClaimState, RefundState
from tests.factories import (
    AuditedRefundClaimFactory,
    EmployerFactory,
    JobOutcomeFactory,
    RefundFactory,
    TuitionPaymentFactory,
    UserFactory,
)
from tests.signing_in import sign_in_client

S = ClaimState
R = RefundState
THRESHOLD = 500_000
#: A claim's payments; their sum is below the threshold, so one approval is enough.
SMALL = (200_000, 200_000)
#: Payments of a claim above the threshold, which needs two approvals.
LARGE = (300_000, 300_000)

#: The refunds of a claim in each state after approval, one per payment.
REFUNDS_IN = {
    S.APPROVED: (R.PENDING, R.PENDING),
    S.PAYING: (R.PROCESSING, R.SUCCEEDED),
    S.FAILED: (R.FAILED, R.SUCCEEDED),
    S.REFUNDED: (R.SUCCEEDED, R.SUCCEEDED),
    S.SETTLED_MANUALLY: (R.SETTLED_MANUALLY, R.SUCCEEDED),
}


@pytest.fixture
def app(app):
    """The application with a known dual-approval threshold."""
    app.config["DUAL_APPROVAL_THRESHOLD_MINOR"] = THRESHOLD
    return app


@dataclass(frozen=True)
class Person:
    """A member of finance calling the API with a token of their own account."""

    name: str
    email: str
    token: str

    @property
    def actor(self) -> str:
        """The actor the app must record: the token's account, never a request's body."""
        return f"finance:{self.email}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def finance_person(session, name: str) -> Person:
    user = UserFactory(role=Role.FINANCE, email=f"{name}@school.example", name=name)
    record, token = create_token(session, user=user, name=f"{name}'s scripts")
    person = Person(name=name, email=user.email, token=token)
    assert record.actor == person.actor
    return person


@pytest.fixture
def ada(session) -> Person:
    return finance_person(session, "ada")


@pytest.fixture
def grace(session) -> Person:
    return finance_person(session, "grace")


def pagination(response) -> dict:
    return response.json["pagination"]


def claim_in(state=S.FLAGGED, payments=SMALL, refunds=None) -> RefundClaim:
    """A claim for everything paid, in ``state``, with the refunds a claim there has."""
    claim = AuditedRefundClaimFactory(state=state, amount_minor=sum(payments))
    paid = [TuitionPaymentFactory(enrollment=claim.enrollment, amount_minor=p) for p in payments]
    for payment, refund_state in zip(paid, refunds or REFUNDS_IN.get(state, ()), strict=False):
        RefundFactory(claim=claim, payment=payment, state=refund_state)
    return claim


def reload(session, claim_id: int) -> RefundClaim:
    session.expire_all()
    return session.get(RefundClaim, claim_id)


def trail(session, claim_id: int) -> list[tuple[ClaimState, str]]:
    return [
        (row.to_state, row.actor)
        for row in session.scalars(
            select(ClaimTransition)
            .where(ClaimTransition.claim_id == claim_id)
            .order_by(ClaimTransition.id)
        )
    ]


def refund_states(session, claim_id: int) -> list[RefundState]:
    return list(
        session.scalars(select(Refund.state).where(Refund.claim_id == claim_id).order_by(Refund.id))
    )


def snapshot(session, claim_id: int) -> tuple:
    claim = reload(session, claim_id)
    return claim.state, claim.version, trail(session, claim_id), refund_states(session, claim_id)


# --- reading the queue -----------------------------------------------------------------------


def test_list_claims_filters_by_state_oldest_first(client, session):
    flagged = [claim_in().id for _ in range(3)]
    claim_in(S.REJECTED)
    claim_in(S.APPROVED)

    response = client.get("/api/v1/claims?state=flagged")

    assert response.status_code == 200
    assert [row["id"] for row in response.json["items"]] == flagged
    assert {row["state"] for row in response.json["items"]} == {"flagged"}


def test_list_claims_of_one_graduation(client, session):
    claims = [claim_in() for _ in range(3)]

    response = client.get(f"/api/v1/claims?graduation_id={claims[1].graduation_id}")

    assert response.status_code == 200
    assert [row["id"] for row in response.json["items"]] == [claims[1].id]


def test_list_claims_of_an_unknown_graduation_is_empty(client, session):
    claim_in()

    response = client.get("/api/v1/claims?graduation_id=2147483647")

    assert response.status_code == 200
    assert response.json["items"] == []


def test_list_claims_paginates(client, session):
    ids = [claim_in().id for _ in range(3)]

    first = client.get("/api/v1/claims?page_size=2")
    second = client.get("/api/v1/claims?page_size=2&page=2")

    assert [row["id"] for row in first.json["items"]] == ids[:2]
    assert [row["id"] for row in second.json["items"]] == ids[2:]
    assert pagination(first)["total"] == 3
    assert pagination(first)["next_page"] == 2
    assert client.get("/api/v1/claims?page_size=2&page=3").status_code == 404


def test_list_claims_with_an_unknown_state_is_422(client, session):
    response = client.get("/api/v1/claims?state=paid")

    assert response.status_code == 422
    assert list(response.json["errors"]["query"]) == ["state"]


def test_get_claim_shows_its_approvals_refunds_and_transitions(client, session, ada, grace):
    claim = claim_in(payments=LARGE)
    approve = f"/api/v1/claims/{claim.id}/approve"
    assert client.post(approve, json={"reason": "no job"}, headers=ada.headers).status_code == 200
    assert client.post(approve, json={}, headers=grace.headers).status_code == 200

    response = client.get(f"/api/v1/claims/{claim.id}")

    assert response.status_code == 200
    body = response.json
    assert (body["state"], body["version"], body["amount_minor"]) == ("approved", 3, 600_000)
    assert body["student_id"] == claim.enrollment.student_id
    assert [(row["actor"], row["reason"]) for row in body["approvals"]] == [
        (ada.actor, "no job"),
        (grace.actor, "approved"),
    ]
    assert [(row["amount_minor"], row["state"]) for row in body["refunds"]] == [
        (300_000, "pending"),
        (300_000, "pending"),
    ]
    assert [(row["from_state"], row["to_state"], row["actor"]) for row in body["transitions"]] == [
        (None, "flagged", "system:sweep"),
        ("flagged", "awaiting_second_approval", ada.actor),
        ("awaiting_second_approval", "approved", grace.actor),
    ]
    for row in body["transitions"]:
        assert datetime.fromisoformat(row["at"]).utcoffset() == timedelta(0)


def test_get_unknown_claim_is_404(client, session):
    assert client.get("/api/v1/claims/999999").status_code == 404


# --- every decision endpoint -----------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """A decision endpoint, what it requires, and states in which it does and cannot apply."""

    path: str
    required: tuple[str, ...]
    #: A claim made in ``start`` and moved once to ``ready`` can take this decision ...
    start: ClaimState
    ready: ClaimState
    #: ... and ends in ``result``.
    result: ClaimState
    #: A state from which the decision is impossible.
    impossible_from: ClaimState

    def body(self, **changes) -> dict:
        values = {
            "reason": "checked the evidence",
            "graduate_note": "We checked your record.",
            "transfer_reference": "TRF-42",
        }
        return {field: values[field] for field in self.required} | changes

    def url(self, claim_id: int) -> str:
        return f"/api/v1/claims/{claim_id}/{self.path}"

    def __str__(self) -> str:
        return self.path


DECISIONS = [
    Decision("review", ("reason",), S.FLAGGED, S.REJECTED, S.IN_REVIEW, S.PAYING),
    Decision("approve", (), S.FLAGGED, S.IN_REVIEW, S.APPROVED, S.APPROVED),
    Decision("reject", ("graduate_note",), S.FLAGGED, S.IN_REVIEW, S.REJECTED, S.APPROVED),
    Decision("withdraw", ("reason",), S.FLAGGED, S.IN_REVIEW, S.WITHDRAWN, S.PAYING),
    Decision("retry", ("reason",), S.PAYING, S.FAILED, S.PAYING, S.PAYING),
    Decision(
        "settle-manually",
        ("reason", "transfer_reference"),
        S.PAYING,
        S.FAILED,
        S.SETTLED_MANUALLY,
        S.REFUNDED,
    ),
]
MISSING_FIELDS = [(decision, field) for decision in DECISIONS for field in decision.required]


def ready_claim(session, decision: Decision) -> RefundClaim:
    """A claim at version 2, one move after it was made, on which ``decision`` can be taken.

    The move is made by zoe, someone other than the tests' callers, so that no rule against
    deciding twice (the appeal's second reviewer) gets in their way.
    """
    refunds = REFUNDS_IN[S.FAILED] if decision.ready is S.FAILED else None
    claim = claim_in(decision.start, refunds=refunds)
    if decision.result is S.WITHDRAWN:
        # A claim is withdrawn on the facts: a confirmed job inside the window.
        JobOutcomeFactory(
            graduation=claim.graduation,
            start_date=claim.graduation.qualified_on + timedelta(days=30),
            status=OutcomeStatus.CONFIRMED,
        )
    zoe = finance_person(session, "zoe")
    claims.transition(session, claim, decision.ready, actor=zoe.actor, reason="before the test")
    return claim


@pytest.mark.parametrize("decision", DECISIONS, ids=str)
def test_decision_succeeds_on_the_current_version(client, session, decision, ada):
    claim = ready_claim(session, decision)

    response = client.post(
        decision.url(claim.id), json=decision.body(version=2), headers=ada.headers
    )

    assert response.status_code == 200
    assert (response.json["state"], response.json["version"]) == (decision.result.value, 3)
    assert trail(session, claim.id)[-1] == (decision.result, ada.actor)
    assert response.json["transitions"][-1]["actor"] == ada.actor


@pytest.mark.parametrize("decision", DECISIONS, ids=str)
def test_decision_on_unknown_claim_is_404(refused, session, decision):
    response = refused("POST", decision.url(999_999), json=decision.body())

    assert response.status_code == 404


@pytest.mark.parametrize("blank", [False, True], ids=["missing", "blank"])
@pytest.mark.parametrize(("decision", "field"), MISSING_FIELDS, ids=str)
def test_decision_without_a_required_field_is_422_naming_it(
    refused, session, decision, field, blank
):
    claim = ready_claim(session, decision)
    body = decision.body()
    if blank:
        body[field] = "   "
    else:
        del body[field]
    before = snapshot(session, claim.id)

    response = refused("POST", decision.url(claim.id), json=body)

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == [field]
    assert snapshot(session, claim.id) == before


# --- who decides: the caller's credentials, never the body -----------------------------------

NO_PRINCIPAL = {"no credentials": {}, "an unknown token": {"Authorization": "Bearer jg_unknown"}}


@pytest.mark.parametrize("headers", NO_PRINCIPAL.values(), ids=NO_PRINCIPAL.keys())
@pytest.mark.parametrize("decision", DECISIONS, ids=str)
def test_decision_without_a_principal_is_401_and_writes_nothing(
    anonymous_client, row_counts, session, decision, headers
):
    claim = ready_claim(session, decision)
    before, rows = snapshot(session, claim.id), row_counts()

    response = anonymous_client.post(
        decision.url(claim.id), json=decision.body(version=2), headers=headers
    )

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert row_counts() == rows
    assert snapshot(session, claim.id) == before


@pytest.mark.parametrize("decision", DECISIONS, ids=str)
def test_decision_by_a_registrar_token_is_403_and_writes_only_the_refusal(
    client, row_counts, session, audit_survives_rollback, decision
):
    registrar, token = create_token(
        session, user=UserFactory(role=Role.REGISTRAR), name="registry sync"
    )
    claim = ready_claim(session, decision)
    before, rows = snapshot(session, claim.id), row_counts()

    response = client.post(
        decision.url(claim.id),
        json=decision.body(version=2),
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 403
    assert row_counts() == rows | {"audit_events": rows["audit_events"] + 1}
    refusal = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    assert (refusal.actor, refusal.action, refusal.target) == (
        registrar.actor,
        "access.refused",
        decision.url(claim.id),
    )
    assert snapshot(session, claim.id) == before


@pytest.mark.parametrize("decision", DECISIONS, ids=str)
def test_decision_naming_its_own_actor_is_422_and_writes_nothing(
    refused, session, decision, ada, grace
):
    # Ada, signed in with her own token, cannot have the decision recorded as Grace's.
    claim = ready_claim(session, decision)
    before = snapshot(session, claim.id)

    response = refused(
        "POST",
        decision.url(claim.id),
        json=decision.body(version=2, actor=grace.actor),
        headers=ada.headers,
    )

    assert response.status_code == 422
    assert response.json["errors"]["json"] == {"actor": ["Unknown field."]}
    assert snapshot(session, claim.id) == before


def test_a_signed_in_person_decides_as_themselves(anonymous_client, session):
    person = UserFactory(role=Role.FINANCE)
    session.commit()
    signed_in = sign_in_client(anonymous_client, person)
    assert signed_in.status_code == 302
    claim = claim_in()
    queue_page = anonymous_client.get("/finance").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', queue_page).group(1)

    response = anonymous_client.post(
        f"/api/v1/claims/{claim.id}/approve", json={}, headers={"X-CSRFToken": csrf}
    )

    assert response.status_code == 200
    assert trail(session, claim.id)[-1] == (S.APPROVED, f"finance:{person.email}")


@pytest.mark.parametrize("decision", DECISIONS, ids=str)
def test_impossible_decision_is_409_and_writes_nothing(refused, session, decision):
    claim = claim_in(decision.impossible_from)
    before = snapshot(session, claim.id)

    response = refused("POST", decision.url(claim.id), json=decision.body())

    assert response.status_code == 409
    assert list(response.json["errors"]["json"]) == ["state"]
    assert snapshot(session, claim.id) == before


@pytest.mark.parametrize("decision", DECISIONS, ids=str)
def test_decision_on_a_stale_version_is_409_and_writes_nothing(refused, session, decision):
    claim = ready_claim(session, decision)
    before = snapshot(session, claim.id)

    response = refused("POST", decision.url(claim.id), json=decision.body(version=1))

    assert response.status_code == 409
    assert list(response.json["errors"]["json"]) == ["version"]
    assert snapshot(session, claim.id) == before


def test_decision_racing_a_concurrent_write_is_409_and_writes_nothing(
    refused, session, session_factory, monkeypatch, ada
):
    # Another transaction changes the claim between this request's read and its write: the
    # version check of the flush (StaleDataError) refuses it.
    claim = claim_in()
    lock_claim = claims.lock_claim

    def lock_then_someone_else_writes(session, claim_id, expected_version=None):
        locked = lock_claim(session, claim_id, expected_version)
        other = session_factory()
        other.execute(
            update(RefundClaim).where(RefundClaim.id == claim_id).values(version=locked.version + 1)
        )
        other.commit()
        other.close()
        return locked

    monkeypatch.setattr(claims, "lock_claim", lock_then_someone_else_writes)
    before = snapshot(session, claim.id)

    response = refused(
        "POST", f"/api/v1/claims/{claim.id}/review", json={"reason": "look"}, headers=ada.headers
    )

    assert response.status_code == 409
    assert "while you were changing it" in response.json["detail"]
    assert snapshot(session, claim.id) == before


# --- approve, reject, appeal through the API -------------------------------------------------


def test_approve_small_claim_once_writes_a_refund_per_payment(client, session, ada):
    claim = claim_in(payments=(250_000, 150_000))

    response = client.post(f"/api/v1/claims/{claim.id}/approve", json={}, headers=ada.headers)

    assert response.status_code == 200
    assert response.json["state"] == "approved"
    assert [row["actor"] for row in response.json["approvals"]] == [ada.actor]
    refunds = response.json["refunds"]
    assert [refund["amount_minor"] for refund in refunds] == [250_000, 150_000]
    assert {refund["state"] for refund in refunds} == {"pending"}


def test_approve_large_claim_twice_by_the_same_person_is_409_and_writes_nothing(
    client, refused, session, ada
):
    claim = claim_in(payments=LARGE)
    approve = f"/api/v1/claims/{claim.id}/approve"
    first = client.post(approve, json={}, headers=ada.headers)
    assert first.json["state"] == "awaiting_second_approval"
    assert first.json["refunds"] == []
    before = snapshot(session, claim.id)

    response = refused("POST", approve, json={}, headers=ada.headers)

    assert response.status_code == 409
    assert snapshot(session, claim.id) == before


def test_approve_large_claim_by_a_second_person_approves_it_with_refunds(
    client, session, ada, grace
):
    claim = claim_in(payments=LARGE)
    approve = f"/api/v1/claims/{claim.id}/approve"
    assert client.post(approve, json={}, headers=ada.headers).status_code == 200

    response = client.post(approve, json={}, headers=grace.headers)

    assert response.status_code == 200
    assert response.json["state"] == "approved"
    assert [row["actor"] for row in response.json["approvals"]] == [ada.actor, grace.actor]
    assert [refund["amount_minor"] for refund in response.json["refunds"]] == list(LARGE)


def test_approve_pays_what_was_paid_not_the_figure_frozen_at_flagging(client, session, ada):
    claim = claim_in(payments=(300_000,))
    claim.amount_minor = 300_001
    session.flush()

    response = client.post(f"/api/v1/claims/{claim.id}/approve", json={}, headers=ada.headers)

    assert response.status_code == 200
    assert response.json["amount_minor"] == 300_000
    assert [refund["amount_minor"] for refund in response.json["refunds"]] == [300_000]


def test_reject_without_a_note_for_the_graduate_is_422(refused, session, ada):
    claim = claim_in()

    response = refused(
        "POST",
        f"/api/v1/claims/{claim.id}/reject",
        json={"reason": "internal only"},
        headers=ada.headers,
    )

    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == ["graduate_note"]


def test_appeal_by_the_person_who_rejected_is_409_and_writes_nothing(client, refused, session, ada):
    claim = claim_in()
    rejected = client.post(
        f"/api/v1/claims/{claim.id}/reject",
        json={"graduate_note": "An offer."},
        headers=ada.headers,
    )
    assert rejected.status_code == 200
    before = snapshot(session, claim.id)

    response = refused(
        "POST", f"/api/v1/claims/{claim.id}/review", json={"reason": "appeal"}, headers=ada.headers
    )

    assert response.status_code == 409
    assert snapshot(session, claim.id) == before


def test_appeal_by_another_person_puts_the_claim_in_review(client, session, ada, grace):
    claim = claim_in()
    rejected = client.post(
        f"/api/v1/claims/{claim.id}/reject",
        json={"graduate_note": "An offer."},
        headers=ada.headers,
    )
    assert rejected.status_code == 200

    response = client.post(
        f"/api/v1/claims/{claim.id}/review", json={"reason": "appeal"}, headers=grace.headers
    )

    assert response.status_code == 200
    assert response.json["state"] == "in_review"
    assert [row["actor"] for row in response.json["transitions"]][-2:] == [ada.actor, grace.actor]


def test_a_rejection_through_the_api_keeps_the_staff_note_from_the_graduate(
    client, session, ada, mailbox
):
    claim = claim_in()

    response = client.post(
        f"/api/v1/claims/{claim.id}/reject",
        json={"reason": "their employer called us", "graduate_note": "You declined an offer."},
        headers=ada.headers,
    )

    assert response.status_code == 200
    last = response.json["transitions"][-1]
    assert (last["reason"], last["graduate_note"]) == (
        "their employer called us",
        "You declined an offer.",
    )
    email = mailbox.only()
    assert email["To"] == claim.enrollment.student.email
    text = email.get_body(preferencelist=("plain",)).get_content()
    assert "You declined an offer." in text and "their employer called us" not in text


def test_settle_manually_records_the_transfer_on_the_failed_refund(client, session, ada):
    claim = claim_in(S.FAILED)

    response = client.post(
        f"/api/v1/claims/{claim.id}/settle-manually",
        json={"reason": "card expired", "transfer_reference": "TRF-42"},
        headers=ada.headers,
    )

    assert response.status_code == 200
    assert [(r["state"], r["manual_reference"]) for r in response.json["refunds"]] == [
        ("settled_manually", "TRF-42"),
        ("succeeded", None),
    ]


# --- a job reported after the graduate was flagged -------------------------------------------

#: The graduate qualified on 31 Aug 2025 (the factories' default): 6 months ends 28 Feb 2026.
DEADLINE = "2026-02-28"


def job_report(claim: RefundClaim, **changes) -> dict:
    return {
        "graduation_id": claim.graduation_id,
        "employer_id": EmployerFactory().id,
        "title": "Data engineer",
        "employment_type": "full_time_permanent",
        "in_field": True,
        "start_date": "2025-11-03",
        "source": "graduate",
        **changes,
    }


def claim_reaching(session, state: ClaimState) -> RefundClaim:
    """A claim brought to ``state`` by the flow that gets it there."""
    if state is S.FLAGGED:
        return claim_in()
    claim = claim_in(payments=LARGE if state is S.AWAITING_SECOND_APPROVAL else SMALL)
    ada = finance_person(session, "ada")
    claims.approve(
        session,
        claim.id,
        actor=ada.actor,
        reason="no job",
        dual_approval_threshold_minor=THRESHOLD,
        provider=None,
    )
    assert claim.state is state
    return claim


@pytest.mark.parametrize("start_date", ["2025-11-03", DEADLINE], ids=["inside", "on-deadline"])
@pytest.mark.parametrize("state", [S.FLAGGED, S.AWAITING_SECOND_APPROVAL, S.APPROVED])
def test_late_qualifying_job_report_sends_the_claim_back_to_review_and_cancels_refunds(
    client, session, state, start_date
):
    claim = claim_reaching(session, state)

    response = client.post("/api/v1/job-outcomes", json=job_report(claim, start_date=start_date))

    assert response.status_code == 201
    claim = reload(session, claim.id)
    assert claim.state is S.IN_REVIEW
    last = claim.transitions[-1]
    assert (last.from_state, last.actor) == (state, "system:report:graduate")
    assert f"outcome {response.json['id']}" in last.reason
    assert set(refund_states(session, claim.id)) <= {R.CANCELED}
    if state is S.APPROVED:
        assert refund_states(session, claim.id) == [R.CANCELED, R.CANCELED]


NOT_QUALIFYING = {
    "internship": {"employment_type": "internship"},
    "disputed": {"status": "disputed"},
    "started after the deadline": {"start_date": "2026-03-01"},
    "out of field": {"in_field": False},
}


@pytest.mark.parametrize("changes", NOT_QUALIFYING.values(), ids=NOT_QUALIFYING.keys())
@pytest.mark.parametrize("state", [S.FLAGGED, S.APPROVED])
def test_late_job_report_that_does_not_qualify_leaves_the_claim_alone(
    client, session, state, changes
):
    claim = claim_reaching(session, state)
    before = snapshot(session, claim.id)

    response = client.post("/api/v1/job-outcomes", json=job_report(claim, **changes))

    assert response.status_code == 201
    assert snapshot(session, claim.id) == before


@pytest.mark.parametrize(
    "state",
    [S.PAYING, S.REFUNDED, S.FAILED, S.SETTLED_MANUALLY, S.IN_REVIEW, S.REJECTED, S.WITHDRAWN],
)
def test_late_qualifying_job_report_leaves_a_claim_past_decision_alone(client, session, state):
    claim = claim_in(state)
    before = snapshot(session, claim.id)

    response = client.post("/api/v1/job-outcomes", json=job_report(claim))

    assert response.status_code == 201
    assert snapshot(session, claim.id) == before


def test_late_job_report_racing_the_executor_leaves_a_claim_that_started_paying_alone(
    client, session, session_factory, monkeypatch
):
    # The executor moves the approved claim to paying just before the report locks it: the
    # report must judge the state it locked, not the one it read first.
    claim = claim_reaching(session, S.APPROVED)
    lock_claim = claims.lock_claim

    def executor_starts_paying_then_lock(session, claim_id, expected_version=None):
        executor = session_factory()
        paying = executor.get(RefundClaim, claim_id)
        claims.transition(executor, paying, S.PAYING, actor="system:executor", reason="sending")
        executor.commit()
        executor.close()
        return lock_claim(session, claim_id, expected_version)

    monkeypatch.setattr(claims, "lock_claim", executor_starts_paying_then_lock)

    response = client.post("/api/v1/job-outcomes", json=job_report(claim))

    assert response.status_code == 201
    claim = reload(session, claim.id)
    assert claim.state is S.PAYING
    assert refund_states(session, claim.id) == [R.PENDING, R.PENDING]


# --- approval rounds and recovery, through the API ---------------------------------------------


def test_after_a_late_job_and_its_dispute_both_people_approve_again_in_the_new_round(
    client, session, ada, grace
):
    claim = claim_in(payments=LARGE)
    approve = f"/api/v1/claims/{claim.id}/approve"
    assert (
        client.post(approve, json={}, headers=ada.headers).json["state"]
        == "awaiting_second_approval"
    )
    job = client.post("/api/v1/job-outcomes", json=job_report(claim))
    assert reload(session, claim.id).state is S.IN_REVIEW
    disputed = client.post(
        f"/api/v1/job-outcomes/{job.json['id']}/dispute", json={"reason": "the employer denied it"}
    )
    assert disputed.status_code == 200

    first = client.post(approve, json={}, headers=grace.headers)
    second = client.post(approve, json={}, headers=ada.headers)  # Ada approved in round 1 only

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json["state"] == "approved"
    assert second.json["approval_round"] == 2
    assert [(a["actor"], a["round"]) for a in second.json["approvals"]] == [
        (ada.actor, 1),
        (grace.actor, 2),
        (ada.actor, 2),
    ]


def test_a_payment_recorded_after_flagging_is_in_the_amount_approved(client, session, ada):
    claim = claim_in(payments=(100_000, 100_000, 100_000))
    TuitionPaymentFactory(enrollment=claim.enrollment, amount_minor=100_000)

    response = client.post(f"/api/v1/claims/{claim.id}/approve", json={}, headers=ada.headers)

    assert response.json["amount_minor"] == 400_000
    assert [r["amount_minor"] for r in response.json["refunds"]] == [100_000] * 4


def test_a_job_reported_after_payment_is_listed_for_finance_to_recover(client, session, ada):
    claim = claim_in(S.REFUNDED)

    client.post("/api/v1/job-outcomes", json=job_report(claim))
    listed = client.get("/api/v1/recovery-items", headers=ada.headers)
    [item] = listed.json["items"]
    closed = client.post(
        f"/api/v1/recovery-items/{item['id']}/resolve",
        json={"resolution": "the graduate repays by transfer"},
        headers=ada.headers,
    )

    assert item["claim_id"] == claim.id and item["resolved_at"] is None
    assert reload(session, claim.id).state is S.REFUNDED  # nothing clawed back by itself
    assert closed.status_code == 200 and closed.json["resolved_by"] == ada.actor
    assert client.get("/api/v1/recovery-items", headers=ada.headers).json["items"] == []
    again = client.post(
        f"/api/v1/recovery-items/{item['id']}/resolve",
        json={"resolution": "again"},
        headers=ada.headers,
    )
    assert again.status_code == 409
