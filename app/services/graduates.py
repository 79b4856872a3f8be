"""What a signed-in graduate sees and does: their own guarantee, and the jobs they report.

Every function checks that the principal is a graduate and that the records are their own; a
graduate naming someone else's graduation is refused (and the refusal audited), never served.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.access import Permission, Principal, authorize, refuse
from app.guarantee.contacts import contact_problem
from app.guarantee.rules import window_start
from app.guarantee.terms import EmploymentType, OutcomeSource, OutcomeStatus, PolicyTerms
from app.models import Employer, Enrollment, Graduation, HireConfirmation, JobOutcome, User
from app.models.base import utc_now
from app.services.confirmations import request_confirmation
from app.services.errors import Conflict, Invalid, NotFound
from app.services.evidence import apply_correction
from app.services.guarantee import GuaranteeView, OutcomeVerdict, evaluate_guarantee
from app.services.records import MAX_ID, create_employer, report_job_outcome
from refunds import claims as refund_claims
from refunds.models import RefundClaim
from refunds.notes import GRADUATE_CORRECTED, GRADUATE_WITHDREW, note


@dataclass(frozen=True)
class ReportedJobLine:
    """One job the graduate reported, whether it qualifies, and what the employer said."""

    outcome: JobOutcome
    verdict: OutcomeVerdict
    #: The latest request to the employer to confirm it; ``None`` when none was sent.
    confirmation: HireConfirmation | None


@dataclass(frozen=True)
class GuaranteeOverview:
    """One enrollment of the graduate: its terms, and once qualified, where the guarantee stands."""

    enrollment: Enrollment
    terms: PolicyTerms
    #: ``None`` until the student qualifies: the window has not started.
    graduation: Graduation | None = None
    #: The first day of the window, once qualified.
    window_opens: date | None = None
    guarantee: GuaranteeView | None = None
    jobs: tuple[ReportedJobLine, ...] = ()
    claim: RefundClaim | None = None


def guarantees_of(session: Session, principal: Principal, as_of: date) -> list[GuaranteeOverview]:
    """The signed-in graduate's own enrollments, each with its guarantee as of ``as_of``."""
    authorize(principal, Permission.OWN_GUARANTEE)
    enrollments = session.scalars(
        select(Enrollment)
        .where(Enrollment.student_id == principal.student_id)
        .order_by(Enrollment.signed_on, Enrollment.id)
    ).all()
    return [_overview(session, enrollment, as_of) for enrollment in enrollments]


def _overview(session: Session, enrollment: Enrollment, as_of: date) -> GuaranteeOverview:
    terms = enrollment.policy.terms()
    graduation = enrollment.graduation
    if graduation is None:
        return GuaranteeOverview(enrollment=enrollment, terms=terms)
    guarantee = evaluate_guarantee(session, graduation.id, as_of)
    outcomes = {
        outcome.id: outcome
        for outcome in session.scalars(
            select(JobOutcome).where(JobOutcome.graduation_id == graduation.id)
        )
    }
    confirmations = _latest_confirmations(session, list(outcomes))
    jobs = tuple(
        ReportedJobLine(
            outcome=outcomes[verdict.job_outcome_id],
            verdict=verdict,
            confirmation=confirmations.get(verdict.job_outcome_id),
        )
        for verdict in guarantee.outcomes
    )
    claim = session.scalar(select(RefundClaim).where(RefundClaim.graduation_id == graduation.id))
    return GuaranteeOverview(
        enrollment=enrollment,
        terms=terms,
        graduation=graduation,
        window_opens=window_start(graduation.qualified_on, terms.window_starts),
        guarantee=guarantee,
        jobs=jobs,
        claim=claim,
    )


def _latest_confirmations(session: Session, outcome_ids: list[int]) -> dict[int, HireConfirmation]:
    if not outcome_ids:
        return {}
    rows = session.scalars(
        select(HireConfirmation)
        .where(HireConfirmation.job_outcome_id.in_(outcome_ids))
        .order_by(HireConfirmation.created_at, HireConfirmation.id)
    )
    return {row.job_outcome_id: row for row in rows}  # later rows replace earlier ones


def graduations_of(session: Session, principal: Principal) -> list[Graduation]:
    """The graduate's own graduations, latest first: the ones they can report jobs for."""
    authorize(principal, Permission.OWN_GUARANTEE)
    return list(
        session.scalars(
            select(Graduation)
            .join(Enrollment, Enrollment.id == Graduation.enrollment_id)
            .where(Enrollment.student_id == principal.student_id)
            .order_by(Graduation.qualified_on.desc(), Graduation.id.desc())
        )
    )


def own_graduation(session: Session, principal: Principal, graduation_id: int) -> Graduation:
    """Graduation ``graduation_id`` if it is the principal's own; refused otherwise.

    A graduation that does not exist is refused the same way, so the answer does not tell
    which ids exist.
    """
    authorize(principal, Permission.OWN_GUARANTEE)
    graduation = session.get(Graduation, graduation_id) if 0 < graduation_id <= MAX_ID else None
    if (
        graduation is None
        or principal.student_id is None
        or graduation.enrollment.student_id != principal.student_id
    ):
        refuse(
            principal,
            "act on another graduate's graduation",
            f"graduation:{graduation_id}",
        )
    return graduation


def employer_choices(session: Session, principal: Principal) -> list[tuple[int, str]]:
    """The employers this graduate can pick when reporting a job: id and name only.

    Those of the jobs they reported before, and the school itself (which hires graduates too);
    never the employers other graduates named, which would tell who works where. Anyone else
    is a new employer they name.
    """
    authorize(principal, Permission.OWN_GUARANTEE)
    rows = session.execute(
        select(Employer.id, Employer.name)
        .where(or_(Employer.id.in_(_reported_employer_ids(principal)), Employer.is_school))
        .order_by(Employer.name, Employer.id)
    )
    return [(employer_id, name) for employer_id, name in rows]


def _reported_employer_ids(principal: Principal):
    """The employers of the jobs reported on the principal's own graduations (a subquery)."""
    return (
        select(JobOutcome.employer_id)
        .join(Graduation, Graduation.id == JobOutcome.graduation_id)
        .join(Enrollment, Enrollment.id == Graduation.enrollment_id)
        .where(Enrollment.student_id == principal.student_id, JobOutcome.employer_id.is_not(None))
    )


@dataclass(frozen=True)
class NewEmployer:
    """An employer the graduate names that the school does not know yet."""

    name: str
    contact_email: str


@dataclass(frozen=True)
class ReportedJob:
    """The job recorded, and the confirmation request to email once the caller has committed."""

    outcome: JobOutcome
    confirmation: HireConfirmation | None


def report_own_job(
    session: Session,
    principal: Principal,
    *,
    graduation_id: int,
    employer_id: int | None,
    new_employer: NewEmployer | None,
    title: str,
    employment_type: EmploymentType,
    in_field: bool,
    start_date: date,
    contract_months: int | None = None,
    annual_salary_minor: int | None = None,
    salary_currency: str | None = None,
) -> ReportedJob:
    """Record a job (or accepted offer) the graduate reports on their own graduation.

    A new employer is recorded first (or the one with the same name and contact found), its
    contact unverified; the contact may not be an address the graduate can read
    (``app.guarantee.contacts``). When
    the job names an employer, a confirmation request is added; the caller commits, then sends
    its email (``send_confirmation_email``).
    """
    graduation = own_graduation(session, principal, graduation_id)
    if new_employer is not None:
        if employer_id is not None:
            raise Invalid.field("employer_id", _("choose an employer or name a new one, not both"))
        problem = contact_problem(
            new_employer.contact_email, _own_addresses(session, principal, graduation)
        )
        if problem is not None:
            raise Invalid.field("new_employer_email", problem)
        employer_id = _find_or_create_employer(session, new_employer).id
    elif employer_id is not None and employer_id not in dict(employer_choices(session, principal)):
        # The same answer whether the employer exists or not: ids tell nothing.
        raise Invalid.field(
            "employer_id", _("choose one of your employers from the list, or name a new one")
        )
    outcome = report_job_outcome(
        session,
        graduation_id=graduation.id,
        employer_id=employer_id,
        title=title,
        employment_type=employment_type,
        in_field=in_field,
        start_date=start_date,
        source=OutcomeSource.GRADUATE,
        contract_months=contract_months,
        annual_salary_minor=annual_salary_minor,
        salary_currency=salary_currency,
    )
    record(session, principal.actor, "job.reported", f"job_outcome:{outcome.id}")
    return ReportedJob(outcome, request_confirmation(session, outcome))


def _own_addresses(session: Session, principal: Principal, graduation: Graduation) -> list[str]:
    account = session.get(User, principal.user_id) if principal.user_id else None
    return [graduation.enrollment.student.email, account.email if account else ""]


def _find_or_create_employer(session: Session, new: NewEmployer) -> Employer:
    # Two graduates hired by the same company should not make two records of it.
    contact_email = new.contact_email.strip().lower()
    existing = session.scalar(
        select(Employer)
        .where(
            func.lower(Employer.name) == new.name.strip().lower(),
            Employer.contact_email == contact_email,
        )
        .order_by(Employer.id)
        .limit(1)
    )
    if existing is not None:
        return existing
    # A contact the graduate typed is not trusted until a registrar verifies it.
    return create_employer(
        session, name=new.name.strip(), contact_email=contact_email, contact_verified_by=None
    )


@dataclass(frozen=True)
class JobFacts:
    """What a graduate says of a job they reported, as they correct it."""

    title: str
    employment_type: EmploymentType
    in_field: bool
    start_date: date
    contract_months: int | None = None
    annual_salary_minor: int | None = None
    salary_currency: str | None = None


def own_editable_job(session: Session, principal: Principal, outcome_id: int) -> JobOutcome:
    """A job the graduate reported and may still change: nobody has answered for it yet.

    Someone else's job is refused (403, audited, by ``own_graduation``); a job the
    employer answered for, or the school checked, disputed or reported itself, is a 409 saying
    whom to ask.
    """
    outcome = session.get(JobOutcome, outcome_id) if 0 < outcome_id <= MAX_ID else None
    if outcome is None:
        raise NotFound("JobOutcome", outcome_id)
    own_graduation(session, principal, outcome.graduation_id)
    if outcome.source is not OutcomeSource.GRADUATE:
        raise Conflict(_("the school recorded this job; ask the school to change it"), "id")
    if any(confirmation.answered_at is not None for confirmation in outcome.confirmations):
        raise Conflict(
            _("the employer has answered for this job; ask the school to change it"), "id"
        )
    if outcome.status is not OutcomeStatus.REPORTED:
        raise Conflict(_("the school has checked this job; ask the school to change it"), "id")
    return outcome


def correct_own_job(
    session: Session, principal: Principal, outcome_id: int, facts: JobFacts
) -> JobOutcome:
    """The graduate corrects a job they reported, until the employer answers (audited).

    The employer's pending link shows the corrected facts; a claim in flight reacts as it does
    to a new report.
    """
    outcome = own_editable_job(session, principal, outcome_id)
    if (facts.annual_salary_minor is None) != (facts.salary_currency is None):
        raise Invalid.field("salary_currency", _("give the salary and its currency together"))
    wanted = {name: getattr(facts, name) for name in JobFacts.__dataclass_fields__}
    changes = {name: value for name, value in wanted.items() if getattr(outcome, name) != value}
    if not changes:
        raise Invalid.field("title", _("change at least one fact of the job"))
    return apply_correction(
        session,
        principal,
        outcome,
        changes,
        revision_reason="corrected by the graduate",
        audit_note=None,
        claim_reason=note(GRADUATE_CORRECTED, job=outcome.id),
    )


def withdraw_own_job(
    session: Session, principal: Principal, outcome_id: int, *, reason: str
) -> JobOutcome:
    """The graduate withdraws a job they reported (an offer fell through), until the employer
    answers: it stops counting and stays on the record; the employer's link stops working."""
    outcome = own_editable_job(session, principal, outcome_id)
    why = " ".join(reason.split())
    if not why:
        raise Invalid.field("reason", _("say why you withdraw it"))
    outcome.status = OutcomeStatus.DISPUTED
    outcome.revision_reason = f"withdrawn by the graduate: {why}"
    outcome.revised_by = principal.actor
    now = utc_now()
    for confirmation in outcome.confirmations:
        if confirmation.answered_at is None and confirmation.expires_at > now:
            confirmation.expires_at = now
    record(session, principal.actor, "job.withdrawn", f"job_outcome:{outcome.id}", why)
    session.flush()
    refund_claims.after_evidence_change(
        session,
        outcome.graduation_id,
        outcome_id=outcome.id,
        actor=principal.actor,
        reason=note(GRADUATE_WITHDREW, job=outcome.id),
    )
    return outcome


def withdrawn_by_graduate(outcome: JobOutcome) -> bool:
    """Whether the graduate withdrew this job themselves."""
    return outcome.status is OutcomeStatus.DISPUTED and (outcome.revision_reason or "").startswith(
        "withdrawn by the graduate"
    )
