"""A graduate's personal data on request: its export (JSON), and its erasure.

Erasure pseudonymises rather than deletes. Payments, refunds, claims and the audit trail are
financial records the school must retain, so their rows and amounts stay, linked to the student
row, whose name and email become a reference (``Erased student #12``, ``erased-12@invalid``).
What could still name the person is cleared or rewritten:

- the student's name and email, and those of their graduate account (which is disabled, loses
  its password and has its sessions ended);
- free text about them: the job titles they typed and the employers' remarks on their hires,
  the notes and links of their job-search log, the school's questions and their answers, the
  notes on their pauses, the evidence reference of an excluded outcome, and the bodies of the
  emails sent to them or about them (the recipient of those sent to them becomes the
  pseudonymous address; employers' reminders, which carry a live link, are never exported).
  The employment facts the guarantee rules read (type, field, dates, contract, salary, status)
  and the employer stay: refunds and placement reporting rest on them; so do the dates and
  counts of the search log, which a claim's review rests on.

Evidence documents (``app.services.documents``): the files of an enrollment whose refund was
paid, by the provider or by bank transfer, are kept, as the evidence the payment rests on
(accounting retention); every other file of the student's is removed from the store, its row
left as ``(erased)`` with its date, size and hash. The export lists every document's record.

The audit trail (audit events, claim transitions and approvals) is append-only, guarded by
database triggers, and is left exactly as it was: its rows point at ``student:<id>`` and
``user:<id>``, which now resolve to the pseudonym. Where an older row spelled out the email (a
graduate's actor name, a ``student.created`` detail), it stays, as the retention of the trail
requires.

Only admins (MANAGE_ACCOUNTS) export or erase, and both are audited.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import inspect, or_, select, update
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.access import Permission, Principal, authorize
from app.auth.sessions import end_all_sessions
from app.models import (
    Document,
    Enrollment,
    ExcludedOutcome,
    Graduation,
    HireConfirmation,
    JobOutcome,
    MessageKind,
    RefundClaim,
    SchoolRequest,
    SearchActivity,
    SearchPause,
    SentMessage,
    Student,
    User,
)
from app.models.base import utc_now
from app.services.documents import erase_documents_of_student
from app.services.errors import Conflict, Invalid, NotFound
from app.storage import DocumentStore

#: The kinds of message sent to the graduate themselves (the others go to staff or employers).
MESSAGES_TO_GRADUATES = (MessageKind.DEADLINE_APPROACHING, MessageKind.FALLING_BEHIND)

#: What an erased job title reads.
ERASED_TEXT = "(erased)"

#: Stored in place of an erased account's password hash: no password ever verifies against it.
UNUSABLE_PASSWORD_HASH = "!erased"  # noqa: S105 - not a password: an impossible hash

# Columns an export leaves out: secrets, and internal bookkeeping that says nothing about the
# person. A hire confirmation's id is the single-use secret of the employer's link (a
# document sent through it names it too), a document's storage key where its file lies, and
# ``sent_to`` is the employer's contact address, not the graduate's data.
_NOT_EXPORTED = {
    Document: {"storage_key", "hire_confirmation_id"},
    HireConfirmation: {"id", "sent_to"},
    User: {"password_hash"},
}


def pseudonymous_name(student_id: int) -> str:
    """The name an erased student is known by."""
    return f"Erased student #{student_id}"


def pseudonymous_email(student_id: int) -> str:
    """The email an erased student (and their account) is known by: lower case, unique, and
    in the ``.invalid`` domain, which no mail is ever delivered to."""
    return f"erased-{student_id}@invalid"


def _student(session: Session, student_id: int) -> Student:
    student = session.get(Student, student_id)
    if student is None:
        raise NotFound("Student", student_id)
    return student


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "value"):  # an enum
        return value.value
    return value


def _columns(row) -> dict[str, Any]:
    """A row's columns as JSON values, less those never exported."""
    left_out = _NOT_EXPORTED.get(type(row), set())
    return {
        attribute.key: _json_value(getattr(row, attribute.key))
        for attribute in inspect(type(row)).column_attrs
        if attribute.key not in left_out
    }


def _enrollment(enrollment: Enrollment) -> dict[str, Any]:
    policy = enrollment.policy
    currency = enrollment.programme.currency
    return {
        **_columns(enrollment),
        "scholarship": {"amount_minor": enrollment.scholarship_minor, "currency": currency},
        "programme": _columns(enrollment.programme),
        "policy": {
            **_columns(policy),
            "qualifying_types": [row.employment_type.value for row in policy.qualifying_types],
            "currency": currency,
        },
        "payments": [_columns(payment) for payment in enrollment.payments],
    }


def _job_outcome(session: Session, outcome: JobOutcome) -> dict[str, Any]:
    confirmations = session.scalars(
        select(HireConfirmation)
        .where(HireConfirmation.job_outcome_id == outcome.id)
        .order_by(HireConfirmation.created_at)
    )
    return {
        **_columns(outcome),
        "employer": outcome.employer.name if outcome.employer else None,
        "hire_confirmations": [_columns(confirmation) for confirmation in confirmations],
    }


def _claim(claim: RefundClaim) -> dict[str, Any]:
    return {
        **_columns(claim),
        "transitions": [_columns(transition) for transition in claim.transitions],
        "approvals": [_columns(approval) for approval in claim.approvals],
        "refunds": [_columns(refund) for refund in claim.refunds],
    }


def export_student(session: Session, principal: Principal, student_id: int) -> dict[str, Any]:
    """Everything the service holds about a student, as JSON-serialisable values.

    Dates and instants are ISO 8601; money is minor units with its ISO currency. The account's
    password hash and session ids are never included.
    """
    authorize(principal, Permission.MANAGE_ACCOUNTS, target=f"student:{student_id}")
    student = _student(session, student_id)
    enrollments = list(
        session.scalars(
            select(Enrollment).where(Enrollment.student_id == student.id).order_by(Enrollment.id)
        )
    )
    enrollment_ids = [enrollment.id for enrollment in enrollments]
    graduations = list(
        session.scalars(
            select(Graduation)
            .where(Graduation.enrollment_id.in_(enrollment_ids))
            .order_by(Graduation.id)
        )
    )
    outcomes = session.scalars(
        select(JobOutcome)
        .where(JobOutcome.graduation_id.in_([graduation.id for graduation in graduations]))
        .order_by(JobOutcome.id)
    )
    claims = session.scalars(
        select(RefundClaim)
        .where(RefundClaim.enrollment_id.in_(enrollment_ids))
        .order_by(RefundClaim.id)
    )
    graduation_ids = [graduation.id for graduation in graduations]

    def rows_of(model) -> list[dict[str, Any]]:
        return [
            _columns(row)
            for row in session.scalars(
                select(model).where(model.graduation_id.in_(graduation_ids)).order_by(model.id)
            )
        ]

    account = session.scalar(select(User).where(User.student_id == student.id))
    export = {
        "exported_at": utc_now().isoformat(),
        "student": _columns(student),
        "account": (
            {
                "email": account.email,
                "name": account.name,
                "role": account.role.value,
                "active": account.active,
                "last_sign_in_at": _json_value(account.last_sign_in_at),
                "created_at": _json_value(account.created_at),
            }
            if account
            else None
        ),
        "enrollments": [_enrollment(enrollment) for enrollment in enrollments],
        "graduations": [_columns(graduation) for graduation in graduations],
        "job_outcomes": [_job_outcome(session, outcome) for outcome in outcomes],
        "refund_claims": [_claim(claim) for claim in claims],
        "search_activities": rows_of(SearchActivity),
        "school_requests": rows_of(SchoolRequest),
        "search_pauses": rows_of(SearchPause),
        "excluded_outcomes": rows_of(ExcludedOutcome),
        "documents": [
            _columns(document)
            for document in session.scalars(
                select(Document)
                .where(Document.enrollment_id.in_(enrollment_ids))
                .order_by(Document.id)
            )
        ],
        # Employer reminders are left out: their bodies carry the employer's live link.
        "messages_sent": [
            _columns(message)
            for message in session.scalars(
                select(SentMessage)
                .where(
                    SentMessage.graduation_id.in_(graduation_ids),
                    SentMessage.kind.in_(MESSAGES_TO_GRADUATES),
                )
                .order_by(SentMessage.id)
            )
        ],
    }
    record(session, principal.actor, "personal_data.exported", f"student:{student.id}")
    return export


def erase_student(
    session: Session,
    principal: Principal,
    student_id: int,
    reason: str,
    *,
    store: DocumentStore | None = None,
) -> Student:
    """Erase a student's personal data, keeping the financial records under a pseudonym.

    ``store`` holds the evidence documents' files (the application's own unless given): those
    finance need not keep are removed.

    Raises ``Conflict`` when the student was erased already. The erasure, with its reason, is
    in the audit log.
    """
    authorize(principal, Permission.MANAGE_ACCOUNTS, target=f"student:{student_id}")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid.field("reason", _("say why the data is erased"))
    student = _student(session, student_id)
    if student.erased_at is not None:
        raise Conflict(_("student %(id)s was erased already", id=student.id))
    name, email = pseudonymous_name(student.id), pseudonymous_email(student.id)

    account = session.scalar(select(User).where(User.student_id == student.id))
    old_actor = account.actor if account is not None else None
    if account is not None:
        account.email, account.name = email, name
        account.active = False
        account.password_hash = UNUSABLE_PASSWORD_HASH
        end_all_sessions(session, account.id, "personal data erased")
    student.name, student.email = name, email
    student.erased_at = utc_now()

    graduation_ids = (
        select(Graduation.id).join(Enrollment).where(Enrollment.student_id == student.id)
    )
    outcome_ids = select(JobOutcome.id).where(JobOutcome.graduation_id.in_(graduation_ids))
    session.flush()
    session.execute(
        update(JobOutcome)
        .where(JobOutcome.id.in_(outcome_ids))
        .values(title=ERASED_TEXT, revision_reason=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(HireConfirmation)
        .where(HireConfirmation.job_outcome_id.in_(outcome_ids))
        .values(comment=None)
        .execution_options(synchronize_session=False)
    )
    claim_ids = select(RefundClaim.id).where(
        RefundClaim.enrollment_id.in_(
            select(Enrollment.id).where(Enrollment.student_id == student.id)
        )
    )
    for statement in (
        update(SearchActivity)
        .where(SearchActivity.graduation_id.in_(graduation_ids))
        .values(notes=None, link=None),
        update(SchoolRequest)
        .where(SchoolRequest.graduation_id.in_(graduation_ids))
        .values(question=ERASED_TEXT),
        update(SchoolRequest)
        .where(SchoolRequest.graduation_id.in_(graduation_ids), SchoolRequest.answer.is_not(None))
        .values(answer=ERASED_TEXT),
        update(SearchPause).where(SearchPause.graduation_id.in_(graduation_ids)).values(note=None),
        # A pause the graduate gave notice of names them as its recorder.
        update(SearchPause)
        .where(SearchPause.graduation_id.in_(graduation_ids), SearchPause.recorded_by == old_actor)
        .values(recorded_by=account.actor if account is not None else email),
        update(ExcludedOutcome)
        .where(ExcludedOutcome.graduation_id.in_(graduation_ids))
        .values(evidence=ERASED_TEXT),
        update(SentMessage)
        .where(
            SentMessage.graduation_id.in_(graduation_ids),
            SentMessage.kind.in_(MESSAGES_TO_GRADUATES),
        )
        .values(recipient=email),
        update(SentMessage)
        .where(
            or_(SentMessage.graduation_id.in_(graduation_ids), SentMessage.claim_id.in_(claim_ids))
        )
        .values(subject=ERASED_TEXT, body=ERASED_TEXT),
    ):
        session.execute(statement.execution_options(synchronize_session=False))
    # The bulk updates bypassed the session: what it holds must be read again.
    session.expire_all()
    erased, kept = erase_documents_of_student(session, store, student.id)
    record(session, principal.actor, "personal_data.erased", f"student:{student_id}", reason)
    if erased or kept:
        record(
            session,
            principal.actor,
            "documents.erased",
            f"student:{student_id}",
            f"{erased} erased, {kept} kept as the evidence of a paid refund",
        )
    session.flush()
    return session.get(Student, student_id)
