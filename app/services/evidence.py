"""What registrars do to the evidence of a job: dispute it, correct it, vouch for a contact.

Together with reporting (``records.report_job_outcome``) and the employer's answers
(``confirmations.confirm_hire`` / ``deny_hire``) these are every change to a job's evidence,
one function each. A dispute or correction is written onto the job itself (its status and
facts), so it is what the guarantee, the sweep and the outcomes report read from then on; its
reason and author stay on the job and in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.access import Permission, Principal, authorize
from app.guarantee.terms import EmploymentType, OutcomeStatus
from app.models import Employer, HireConfirmation, JobOutcome
from app.models.base import utc_now
from app.services.errors import Conflict, Invalid
from app.services.records import get_or_404
from refunds import claims as refund_claims
from refunds.notes import JOB_CORRECTED, JOB_DISPUTED, note

#: Longest reason kept for a dispute or correction.
MAX_REASON_LENGTH = 2000


def jobs_of(session: Session, graduation_id: int) -> list[JobOutcome]:
    """A graduation's jobs, earliest start first, each with its employer's answers."""
    return list(
        session.scalars(
            select(JobOutcome)
            .where(JobOutcome.graduation_id == graduation_id)
            .order_by(JobOutcome.start_date, JobOutcome.id)
        )
    )


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise Invalid.field("reason", _("say why: it stays on the job and in the audit log"))
    if len(text) > MAX_REASON_LENGTH:
        raise Invalid.field("reason", _("at most %(most)s characters", most=MAX_REASON_LENGTH))
    return text


def dispute_job(
    session: Session, principal: Principal, outcome_id: int, *, reason: str
) -> JobOutcome:
    """A registrar records that a job did not happen as reported: it stops counting."""
    authorize(principal, Permission.WRITE_RECORDS)
    outcome = get_or_404(session, JobOutcome, outcome_id)
    why = _reason(reason)
    outcome.status = OutcomeStatus.DISPUTED
    outcome.revision_reason, outcome.revised_by = why, principal.actor
    record(session, principal.actor, "job.disputed", f"job_outcome:{outcome.id}", why)
    session.flush()
    refund_claims.after_evidence_change(
        session,
        outcome.graduation_id,
        outcome_id=outcome.id,
        actor=principal.actor,
        reason=note(JOB_DISPUTED, job=outcome.id, why=why),
    )
    return outcome


@dataclass(frozen=True)
class JobCorrection:
    """The facts a registrar corrects; ``None`` leaves a fact as it is."""

    status: OutcomeStatus | None = None
    start_date: date | None = None
    employment_type: EmploymentType | None = None
    in_field: bool | None = None
    contract_months: int | None = None

    def changes(self, outcome: JobOutcome) -> dict[str, object]:
        wanted = {
            "status": self.status,
            "start_date": self.start_date,
            "employment_type": self.employment_type,
            "in_field": self.in_field,
            "contract_months": self.contract_months,
        }
        return {
            name: value
            for name, value in wanted.items()
            if value is not None and getattr(outcome, name) != value
        }


def correct_job(
    session: Session,
    principal: Principal,
    outcome_id: int,
    correction: JobCorrection,
    *,
    reason: str,
) -> JobOutcome:
    """A registrar corrects a job's facts or status (back to counting, say), with a reason.

    A correction that makes the job qualify sends a flagged claim to review, as a confirmed
    job does.
    """
    authorize(principal, Permission.WRITE_RECORDS)
    outcome = get_or_404(session, JobOutcome, outcome_id)
    why = _reason(reason)
    if correction.contract_months is not None and correction.contract_months < 1:
        raise Invalid.field("contract_months", _("a contract lasts at least a month"))
    changes = correction.changes(outcome)
    if not changes:
        raise Invalid.field("status", _("change at least one fact of the job"))
    return apply_correction(
        session,
        principal,
        outcome,
        changes,
        revision_reason=why,
        audit_note=why,
        claim_reason=note(JOB_CORRECTED, job=outcome.id, why=why),
    )


def apply_correction(
    session: Session,
    principal: Principal,
    outcome: JobOutcome,
    changes: dict,
    *,
    revision_reason: str,
    audit_note: str | None,
    claim_reason: str,
) -> JobOutcome:
    """Write a job's corrected facts (``changes``), say on it who revised it and why, audit the
    change, and let a claim in flight react as it does to a new report."""
    for name, value in changes.items():
        setattr(outcome, name, value)
    outcome.revision_reason, outcome.revised_by = revision_reason, principal.actor
    detail = ", ".join(
        f"{name}={getattr(value, 'value', value)}" for name, value in changes.items()
    )
    if audit_note:
        detail = f"{detail}: {audit_note}"
    record(session, principal.actor, "job.corrected", f"job_outcome:{outcome.id}", detail)
    session.flush()
    refund_claims.after_evidence_change(
        session,
        outcome.graduation_id,
        outcome_id=outcome.id,
        actor=principal.actor,
        reason=claim_reason,
    )
    return outcome


def verify_contact(
    session: Session, principal: Principal, employer_id: int, *, contact_email: str
) -> Employer:
    """A registrar vouches for an employer's contact address (they checked it is the employer's).

    ``contact_email`` is the address they checked: if the employer's contact is another one by
    now, nothing is verified (``Conflict``). Requests still open that went to that address
    become trusted; answers given before stay unverified (a registrar who trusts one records a
    dispute or correction).
    """
    authorize(principal, Permission.WRITE_RECORDS)
    employer = get_or_404(session, Employer, employer_id)
    if contact_email.strip().lower() != employer.contact_email:
        raise Conflict(
            _(
                "the employer's contact is %(known)s, not %(given)s",
                known=employer.contact_email,
                given=contact_email,
            ),
            "contact_email",
        )
    if employer.contact_verified:
        return employer
    employer.contact_verified_at = utc_now()
    employer.contact_verified_by = principal.actor
    open_requests = select(JobOutcome.id).where(JobOutcome.employer_id == employer.id)
    session.execute(
        update(HireConfirmation)
        .where(
            HireConfirmation.job_outcome_id.in_(open_requests),
            HireConfirmation.sent_to == employer.contact_email,
            HireConfirmation.answered_at.is_(None),
        )
        .values(trusted=True)
    )
    record(
        session,
        principal.actor,
        "employer.contact_verified",
        f"employer:{employer.id}",
        employer.contact_email,
    )
    session.flush()
    return employer
