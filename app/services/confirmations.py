"""Employers confirming hires: a signed, expiring, single-use link, or their own account.

The link carries a random confirmation id signed with itsdangerous under a salt of its own;
the id is stored, so a link works once and can be checked against the job it names.

An answer is trusted when the link went to a contact the school vouched for (recorded by staff
or verified by a registrar) or an employer account gave it. An untrusted answer (the contact a
graduate typed, not verified yet) is recorded and shown everywhere as unverified, and changes
nothing: not the job's status, not its facts, not the guarantee. So a graduate who typed an
address they read can neither confirm their own job nor deny one the school recorded and make
themselves owed; a registrar who trusts the answer verifies the contact and records a dispute
or correction (``app.services.evidence``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import LazyString
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.access import Permission, Principal, authorize, refuse
from app.guarantee.contacts import mailbox_of
from app.guarantee.terms import EmploymentType, OutcomeStatus
from app.labels import label
from app.mail import absolute_url, send_templated, written_day
from app.models import ConfirmationAnswer, HireConfirmation, JobOutcome
from app.models.base import utc_now
from app.services.errors import Conflict, NotFound
from app.services.readers import employer_reader
from refunds import claims as refund_claims
from refunds.notes import EMPLOYER_CORRECTED, EMPLOYER_DENIED, note

SALT = "hire-confirmation"
LINK_LIFETIME = timedelta(days=14)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def link_token(confirmation_id: str) -> str:
    """The signed token of an emailed link."""
    return _serializer().dumps(confirmation_id)


class LinkProblem(Exception):
    """The link cannot be used: ``reason`` says why, in words for the employer (in the language
    of the page they opened).

    ``gone`` when the link was real but is used or expired (a page answers 410), not when it
    was never valid (404).
    """

    def __init__(self, reason: str, *, gone: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.gone = gone


def request_confirmation(session: Session, outcome: JobOutcome) -> HireConfirmation | None:
    """Ask the employer to confirm a reported job; returns the request, or ``None`` without one.

    The email goes out after the caller commits (``send_confirmation_email``).
    """
    if outcome.employer is None or outcome.status is not OutcomeStatus.REPORTED:
        return None
    confirmation = HireConfirmation(
        id=secrets.token_urlsafe(24),
        job_outcome_id=outcome.id,
        sent_to=outcome.employer.contact_email,
        expires_at=utc_now() + LINK_LIFETIME,
        trusted=outcome.employer.contact_verified and not _graduates_own(outcome),
    )
    session.add(confirmation)
    session.flush()
    return confirmation


def _graduates_own(outcome: JobOutcome) -> bool:
    # Even a verified contact cannot vouch for a job when the link would reach the graduate.
    student_email = outcome.graduation.enrollment.student.email
    return mailbox_of(outcome.employer.contact_email) == mailbox_of(student_email)


def send_confirmation_email(confirmation: HireConfirmation) -> bool:
    """Email the employer the link to confirm or deny the hire, in their language
    (``app.services.readers.employer_reader``)."""
    outcome = confirmation.job_outcome
    return send_templated(
        confirmation.sent_to,
        "hire_confirmation",
        reader=employer_reader(outcome, confirmation.sent_to),
        graduate_name=outcome.graduation.enrollment.student.name,
        employer_name=outcome.employer.name,
        title=outcome.title,
        start_date=outcome.start_date,
        employment_type=LazyString(label, outcome.employment_type),
        link=absolute_url("employer.confirm", token=link_token(confirmation.id)),
        expires_at=confirmation.expires_at,
    )


@dataclass(frozen=True)
class ConfirmationView:
    """Only what the employer needs to see."""

    confirmation_id: str
    graduate_name: str
    employer_name: str
    title: str
    start_date: date
    employment_type: EmploymentType


def _view(confirmation: HireConfirmation) -> ConfirmationView:
    outcome = confirmation.job_outcome
    return ConfirmationView(
        confirmation_id=confirmation.id,
        graduate_name=outcome.graduation.enrollment.student.name,
        employer_name=outcome.employer.name,
        title=outcome.title,
        start_date=outcome.start_date,
        employment_type=outcome.employment_type,
    )


def open_link(session: Session, token: str) -> tuple[HireConfirmation, ConfirmationView]:
    """The confirmation a link names, if it can still be answered; else ``LinkProblem``."""
    try:
        confirmation_id = _serializer().loads(token, max_age=int(LINK_LIFETIME.total_seconds()))
    except SignatureExpired as error:
        raise LinkProblem(_("This link has expired."), gone=True) from error
    except BadSignature as error:
        raise LinkProblem(_("This link is not valid. Check that you copied all of it.")) from error
    confirmation = session.get(HireConfirmation, confirmation_id)
    if confirmation is None:
        raise LinkProblem(_("This link is not valid. Check that you copied all of it."))
    if confirmation.answered_at is not None:
        raise LinkProblem(
            _(
                "This link was used already, on %(day)s. If the answer was wrong, contact the"
                " school.",
                day=written_day(confirmation.answered_at),
            ),
            gone=True,
        )
    if confirmation.expires_at < utc_now():
        raise LinkProblem(_("This link has expired."), gone=True)
    return confirmation, _view(confirmation)


def pending_for(session: Session, principal: Principal) -> list[ConfirmationView]:
    """An employer account's open confirmations: only jobs naming their company."""
    authorize(principal, Permission.CONFIRM_HIRES)
    rows = session.scalars(
        select(HireConfirmation)
        .join(JobOutcome, JobOutcome.id == HireConfirmation.job_outcome_id)
        .where(
            JobOutcome.employer_id == principal.employer_id,
            HireConfirmation.answered_at.is_(None),
            HireConfirmation.expires_at >= utc_now(),
        )
        .order_by(HireConfirmation.created_at)
    )
    return [_view(row) for row in rows]


def confirmation_for_employer(session: Session, principal: Principal, confirmation_id: str):
    """A confirmation an employer account may answer (its own company's, still open)."""
    authorize(principal, Permission.CONFIRM_HIRES)
    confirmation = session.get(HireConfirmation, confirmation_id)
    if confirmation is None:
        raise NotFound("HireConfirmation", confirmation_id)
    if confirmation.job_outcome.employer_id != principal.employer_id:
        refuse(
            principal, "answer another employer's confirmation", f"confirmation:{confirmation_id}"
        )
    if confirmation.answered_at is not None:
        raise Conflict(_("this confirmation was answered already"))
    return confirmation


def answer(
    session: Session,
    confirmation: HireConfirmation,
    *,
    confirmed: bool,
    answered_by: str,
    by_account: bool = False,
    start_date: date | None = None,
    employment_type: EmploymentType | None = None,
    comment: str | None = None,
) -> JobOutcome:
    """Record the employer's answer: ``confirm_hire`` or ``deny_hire``.

    ``by_account``: an employer account answered (trusted whatever the contact). Locks the
    confirmation so that two answers to one link cannot both land.
    """
    locked = session.scalar(
        select(HireConfirmation)
        .where(HireConfirmation.id == confirmation.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if locked.answered_at is not None:
        raise LinkProblem(_("This link was used already."), gone=True)
    if by_account:
        locked.trusted = True
    if confirmed:
        return confirm_hire(
            session,
            locked,
            answered_by=answered_by,
            start_date=start_date,
            employment_type=employment_type,
            comment=comment,
        )
    return deny_hire(session, locked, answered_by=answered_by, comment=comment)


def _answered(confirmation: HireConfirmation, answer: ConfirmationAnswer, by: str, comment):
    confirmation.answered_at = utc_now()
    confirmation.answered_by = by
    confirmation.answer = answer
    confirmation.comment = comment


def _audit_answer(session: Session, confirmation: HireConfirmation) -> None:
    action = f"hire.{confirmation.answer.value}"
    if not confirmation.trusted:
        action += "_unverified"
    record(
        session,
        confirmation.answered_by,
        action,
        f"job_outcome:{confirmation.job_outcome_id}",
        confirmation.comment,
    )


def confirm_hire(
    session: Session,
    confirmation: HireConfirmation,
    *,
    answered_by: str,
    start_date: date | None = None,
    employment_type: EmploymentType | None = None,
    comment: str | None = None,
) -> JobOutcome:
    """The employer confirms the hire (a locked, unanswered request), with any corrections.

    Trusted: the job becomes confirmed and takes the corrections. Untrusted: the answer and the
    corrections it proposes are kept on the request, and the job is left as it was.
    """
    outcome = confirmation.job_outcome
    _answered(confirmation, ConfirmationAnswer.CONFIRMED, answered_by, comment)
    if start_date and start_date != outcome.start_date:
        confirmation.corrected_start_date = start_date
    if employment_type and employment_type is not outcome.employment_type:
        confirmation.corrected_employment_type = employment_type
    if confirmation.trusted:
        if confirmation.corrected_start_date:
            outcome.start_date = confirmation.corrected_start_date
        if confirmation.corrected_employment_type:
            outcome.employment_type = confirmation.corrected_employment_type
        outcome.status = OutcomeStatus.CONFIRMED
    _audit_answer(session, confirmation)
    session.flush()
    if confirmation.trusted:
        # A confirmed (or corrected) job may now qualify: a flagged claim goes to review.
        refund_claims.after_evidence_change(
            session,
            outcome.graduation_id,
            outcome_id=outcome.id,
            actor=answered_by,
            reason=note(EMPLOYER_CORRECTED, job=outcome.id),
        )
    return outcome


def deny_hire(
    session: Session,
    confirmation: HireConfirmation,
    *,
    answered_by: str,
    comment: str | None = None,
) -> JobOutcome:
    """The employer says the hire is not right (a locked, unanswered request).

    Trusted: the job becomes disputed and stops counting. Untrusted: the denial is kept and
    shown as unverified; the job still counts as it did.
    """
    outcome = confirmation.job_outcome
    _answered(confirmation, ConfirmationAnswer.DENIED, answered_by, comment)
    if confirmation.trusted:
        outcome.status = OutcomeStatus.DISPUTED
    _audit_answer(session, confirmation)
    session.flush()
    if confirmation.trusted:
        # The job no longer counts: a claim withdrawn because of it reopens.
        refund_claims.after_evidence_change(
            session,
            outcome.graduation_id,
            outcome_id=outcome.id,
            actor=answered_by,
            reason=note(EMPLOYER_DENIED, job=outcome.id),
        )
    return outcome
