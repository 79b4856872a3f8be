"""Exporting and erasing a graduate's personal data, through the service and the admin pages."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.auth.access import Forbidden, Principal
from app.auth.sessions import live_sessions
from app.guarantee.terms import ExclusionReason, PauseReason, SearchActivityKind
from app.models import (
    AuditEvent,
    ConfirmationAnswer,
    ExcludedOutcome,
    HireConfirmation,
    MessageKind,
    Role,
    SchoolRequest,
    SearchActivity,
    SearchPause,
    SentMessage,
    Student,
    TuitionPayment,
    User,
    UserSession,
)
from app.services.errors import Conflict
from app.services.personal_data import erase_student, export_student
from refunds.models import ClaimTransition, Refund, RefundClaim
from tests.factories import (
    ClaimTransitionFactory,
    JobOutcomeFactory,
    RefundFactory,
    UserFactory,
)
from tests.pages.conftest import post_form
from tests.signing_in import sign_in_client

SECRET_COMMENT = "Great hire, Jo was recommended by her aunt at Acme"
#: Free text of the search records, each of which erasure must remove.
SEARCH_TEXTS = {
    "note": "Interviewer asked about my pregnancy",
    "link": "https://jobs.example/apply?candidate=jo-private-id",
    "question": "Jo, how is your recovery from the surgery going?",
    "answer": "Better, back at home with my mother in Lyon",
    "pause": "Hospitalised at Saint-Luc clinic",
    "evidence": "Enrolment letter for Jo at University of Lyon, student no. 4471",
    "body": "Dear Jo, you have 7 days left",
}


def _principal(user: User) -> Principal:
    return Principal(actor=user.actor, role=user.role, user_id=user.id, name=user.name)


@pytest.fixture
def graduate(session):
    """A graduate with an account, a session, a paid enrollment, a confirmed job with a remark,
    and a paying claim with a refund, a graduate-made transition and audit events naming them."""
    refund = RefundFactory()
    claim = refund.claim
    graduation = claim.graduation
    student = graduation.enrollment.student
    account = UserFactory(role=Role.GRADUATE, student=student, email=student.email)
    session.add(UserSession(id="live-session-id-of-the-graduate", user_id=account.id))
    outcome = JobOutcomeFactory(
        graduation=graduation,
        title="Lead data scientist at a clinic",
        revision_reason=f"{student.name} showed the signed contract",
        revised_by="registrar:r@school.example",
    )
    session.add(
        HireConfirmation(
            id="secret-confirmation-id",
            job_outcome_id=outcome.id,
            sent_to=outcome.employer.contact_email,
            expires_at=claim.created_at,
            answer=ConfirmationAnswer.CONFIRMED,
            comment=SECRET_COMMENT,
        )
    )
    ClaimTransitionFactory(
        claim=claim, actor=account.actor, reason=f"asked by {student.email} to review"
    )
    day = graduation.qualified_on
    session.add_all(
        [
            SearchActivity(
                graduation_id=graduation.id,
                kind=SearchActivityKind.APPLICATION,
                occurred_on=day,
                employer_name="Acme",
                position="Analyst",
                link=SEARCH_TEXTS["link"],
                notes=SEARCH_TEXTS["note"],
            ),
            SchoolRequest(
                graduation_id=graduation.id,
                asked_by="registrar:r@school.example",
                question=SEARCH_TEXTS["question"],
                answer=SEARCH_TEXTS["answer"],
                answered_at=claim.created_at,
            ),
            SearchPause(
                graduation_id=graduation.id,
                starts_on=day,
                ends_on=day,
                reason=PauseReason.ILLNESS,
                note=SEARCH_TEXTS["pause"],
                recorded_by=account.actor,
            ),
            ExcludedOutcome(
                graduation_id=graduation.id,
                reason=ExclusionReason.FURTHER_STUDY,
                occurred_on=day,
                evidence=SEARCH_TEXTS["evidence"],
                recorded_by="registrar:r@school.example",
            ),
            SentMessage(
                kind=MessageKind.DEADLINE_APPROACHING,
                dedupe_key=f"deadline:{graduation.id}:test",
                recipient=student.email,
                subject="Your guarantee deadline is near",
                body=SEARCH_TEXTS["body"],
                graduation_id=graduation.id,
            ),
            SentMessage(
                kind=MessageKind.NEW_CLAIM,
                dedupe_key=f"new-claim:{claim.id}",
                recipient="finance@school.example",
                subject=f"New refund claim to review: {student.name}",
                body=f"A claim was flagged for {student.name}",
                claim_id=claim.id,
            ),
        ]
    )
    session.add_all(
        [
            AuditEvent(actor=account.actor, action="sign_in", target=f"user:{account.id}"),
            AuditEvent(
                actor="registrar:r@school.example",
                action="student.created",
                target=f"student:{student.id}",
                detail=student.email,
            ),
        ]
    )
    session.flush()
    return {"student": student, "account": account, "outcome": outcome, "refund": refund}


@pytest.fixture
def sign_in(client):
    """``sign_in(user)``: sign the test client in through the sign-in form."""

    def do(user):
        response = sign_in_client(client, user)
        assert response.status_code == 302

    return do


def _post(client, path: str, data: dict):
    """POST a form with the CSRF token of a signed-in client (every page carries one)."""
    return post_form(client, path, data, token_from="/confirm/thanks")


@pytest.fixture
def admin(session):
    return UserFactory(role=Role.ADMIN, email="privacy-admin@school.example")


def _everything_as_text(session) -> str:
    """Every value of the records (outside the append-only trail) that held personal data."""
    rows = []
    for model in (
        Student,
        User,
        HireConfirmation,
        SearchActivity,
        SchoolRequest,
        SearchPause,
        ExcludedOutcome,
        SentMessage,
    ):
        for row in session.scalars(select(model)):
            rows.append(json.dumps({k: str(v) for k, v in vars(row).items() if k[0] != "_"}))
    from app.models import JobOutcome

    rows += [
        f"{outcome.title} {outcome.revision_reason}"
        for outcome in session.scalars(select(JobOutcome))
    ]
    return "\n".join(rows)


# -- Export ------------------------------------------------------------------------------------


def test_export_student_contains_every_kind_of_record_and_no_secret(session, graduate, admin):
    export = export_student(session, _principal(admin), graduate["student"].id)

    text = json.dumps(export)  # serialisable as it stands
    assert export["student"]["email"] == graduate["student"].email
    assert export["account"]["email"] == graduate["account"].email
    assert export["account"]["role"] == "graduate"
    enrollment = export["enrollments"][0]
    assert enrollment["policy"]["version"] >= 1 and enrollment["policy"]["qualifying_types"]
    assert enrollment["payments"][0]["amount_minor"] == graduate["refund"].payment.amount_minor
    assert enrollment["payments"][0]["currency"] == "EUR"
    assert enrollment["payments"][0]["paid_at"].startswith("2024-01-20T09:30:00")
    assert export["graduations"][0]["qualified_on"] == "2025-08-31"
    (job,) = export["job_outcomes"]
    assert job["title"] == "Lead data scientist at a clinic"
    assert job["hire_confirmations"][0]["comment"] == SECRET_COMMENT
    (claim,) = export["refund_claims"]
    assert len(claim["transitions"]) == 2
    assert claim["refunds"][0]["amount_minor"] == graduate["refund"].amount_minor
    assert "password_hash" not in text and graduate["account"].password_hash not in text
    assert "live-session-id-of-the-graduate" not in text
    assert "secret-confirmation-id" not in text
    assert export["search_activities"][0]["notes"] == SEARCH_TEXTS["note"]
    assert export["school_requests"][0]["answer"] == SEARCH_TEXTS["answer"]
    assert export["search_pauses"][0]["note"] == SEARCH_TEXTS["pause"]
    assert export["excluded_outcomes"][0]["evidence"] == SEARCH_TEXTS["evidence"]
    assert export["messages_sent"][0]["body"] == SEARCH_TEXTS["body"]


def test_export_student_is_audited_with_the_admins_actor(session, graduate, admin):
    export_student(session, _principal(admin), graduate["student"].id)

    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "personal_data.exported"))
    assert event.actor == admin.actor
    assert event.target == f"student:{graduate['student'].id}"


# -- Erasure -----------------------------------------------------------------------------------


def test_erase_student_removes_name_email_and_free_text_everywhere(session, graduate, admin):
    student, account = graduate["student"], graduate["account"]
    name, email, student_id = student.name, student.email, student.id

    erase_student(session, _principal(admin), student_id, "graduate's request of 3 March")

    everything = _everything_as_text(session)
    assert email not in everything
    assert name not in everything
    assert SECRET_COMMENT not in everything
    assert "Lead data scientist" not in everything
    for text in SEARCH_TEXTS.values():
        assert text not in everything
    student = session.get(Student, student_id)
    assert student.name == f"Erased student #{student_id}"
    assert student.email == f"erased-{student_id}@invalid"
    assert student.erased_at is not None
    account = session.get(User, account.id)
    assert (account.email, account.name) == (student.email, student.name)
    assert account.active is False
    assert live_sessions(session, account.id) == []
    # The employment facts the rules read stay.
    outcome = session.get(type(graduate["outcome"]), graduate["outcome"].id)
    assert outcome.start_date == graduate["outcome"].start_date
    assert outcome.employment_type == graduate["outcome"].employment_type


def test_erase_student_keeps_payments_refunds_claims_transitions_and_audit(
    session, graduate, admin
):
    def counts():
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (TuitionPayment, Refund, RefundClaim, ClaimTransition, AuditEvent)
        }

    refund, email = graduate["refund"], graduate["student"].email
    before = counts()
    amounts = (refund.amount_minor, refund.payment.amount_minor, refund.claim.amount_minor)

    erase_student(session, _principal(admin), graduate["student"].id, "request")

    after = counts()
    assert after == {**before, "AuditEvent": before["AuditEvent"] + 1}
    refund = session.get(Refund, refund.id)
    assert (refund.amount_minor, refund.payment.amount_minor, refund.claim.amount_minor) == amounts
    assert refund.currency == "EUR"
    graduate_transition = session.scalar(
        select(ClaimTransition).where(ClaimTransition.reason.like("asked by%"))
    )
    # The trail is append-only: the graduate's own transition reads as it did.
    assert graduate_transition.actor == f"graduate:{email}"


def test_erase_student_twice_is_a_conflict(session, graduate, admin):
    erase_student(session, _principal(admin), graduate["student"].id, "request")

    with pytest.raises(Conflict):
        erase_student(session, _principal(admin), graduate["student"].id, "again")


def test_erase_student_is_audited_with_the_admins_actor_and_reason(session, graduate, admin):
    erase_student(session, _principal(admin), graduate["student"].id, "graduate's request")

    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "personal_data.erased"))
    assert event.actor == admin.actor
    assert event.target == f"student:{graduate['student'].id}"
    assert event.detail == "graduate's request"


def test_erase_student_by_a_registrar_is_forbidden(session, graduate, monkeypatch):
    from app import audit

    monkeypatch.setattr(audit, "record_now", lambda *event: None)
    registrar = UserFactory(role=Role.REGISTRAR)

    with pytest.raises(Forbidden):
        erase_student(session, _principal(registrar), graduate["student"].id, "request")
    assert session.get(Student, graduate["student"].id).erased_at is None


# -- Pages -------------------------------------------------------------------------------------


def test_personal_data_page_finds_a_student_by_email(client, sign_in, graduate, admin):
    sign_in(admin)

    page = client.get("/admin/personal-data", query_string={"q": graduate["student"].email})

    assert page.status_code == 200
    assert f"/admin/personal-data/{graduate['student'].id}.json" in page.get_data(as_text=True)


def test_personal_data_export_page_is_a_json_download(client, sign_in, graduate, admin):
    sign_in(admin)

    response = client.get(f"/admin/personal-data/{graduate['student'].id}.json")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.get_json()["student"]["email"] == graduate["student"].email


def test_erase_page_needs_the_typed_confirmation(client, sign_in, session, graduate, admin):
    sign_in(admin)
    path = f"/admin/personal-data/{graduate['student'].id}/erase"

    refused = _post(client, path, {"reason": "request", "confirmation": "yes"})

    assert refused.status_code == 400
    assert session.get(Student, graduate["student"].id).erased_at is None


def test_erase_page_erases_then_refuses_a_second_time(client, sign_in, session, graduate, admin):
    sign_in(admin)
    student_id = graduate["student"].id
    path = f"/admin/personal-data/{student_id}/erase"
    data = {"reason": "graduate's request", "confirmation": "ERASE"}

    erased = _post(client, path, data)
    again = _post(client, path, data)

    assert erased.status_code == 302
    session.expire_all()
    assert session.get(Student, student_id).erased_at is not None
    assert again.status_code == 409


def test_personal_data_pages_refuse_a_registrar(client, sign_in, graduate, audit_survives_rollback):
    sign_in(UserFactory(role=Role.REGISTRAR))
    student_id = graduate["student"].id

    assert client.get("/admin/personal-data").status_code == 403
    assert client.get(f"/admin/personal-data/{student_id}.json").status_code == 403
    erase = _post(
        client, f"/admin/personal-data/{student_id}/erase", {"reason": "x", "confirmation": "ERASE"}
    )
    assert erase.status_code == 403


def test_personal_data_page_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/admin/personal-data")

    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]
