"""A graduate's guarantee, read from the records and judged by the pure rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.guarantee.rules import GuaranteeStatus, guarantee_status, job_shortfalls
from app.models import Graduation, JobOutcome
from app.services.records import get_or_404
from refunds.amounts import refundable_amount, split_refund
from refunds.models import RefundClaim


@dataclass(frozen=True)
class RefundShare:
    """The part of a refund that goes back to one original payment."""

    payment_id: int
    amount_minor: int


@dataclass(frozen=True)
class Refundable:
    """What the graduate would get back, and from which payments."""

    amount_minor: int
    currency: str
    paid_minor: int
    split: list[RefundShare]


@dataclass(frozen=True)
class OutcomeVerdict:
    """Whether one reported job qualifies, and why not."""

    job_outcome_id: int
    qualifies: bool
    shortfalls: list[str]


@dataclass(frozen=True)
class GuaranteeView:
    """A graduation's guarantee on one day: status, each job's verdict, refundable amount."""

    graduation_id: int
    qualified_on: date
    policy_id: int
    policy_version: int
    status: GuaranteeStatus
    outcomes: list[OutcomeVerdict]
    refundable: Refundable
    #: The graduate's refund claim, once the sweep flagged them (any state), else ``None``.
    claim: object | None = None

    @property
    def qualifying_outcome_id(self) -> int | None:
        index = self.status.qualifying_job
        return None if index is None else self.outcomes[index].job_outcome_id


def refundable_for(enrollment) -> Refundable:
    """The refund an enrollment's payments and policy allow, split over the payments."""
    terms = enrollment.policy.terms()
    amounts = [payment.amount_minor for payment in enrollment.payments]
    total = refundable_amount(
        amounts,
        scholarship=enrollment.scholarship_minor,
        cap=terms.refund_cap_minor,
        deduct_scholarships=terms.deduct_scholarships,
    )
    shares = split_refund(total, amounts)
    return Refundable(
        amount_minor=total,
        currency=enrollment.programme.currency,
        paid_minor=sum(amounts),
        split=[
            RefundShare(payment.id, share)
            for payment, share in zip(enrollment.payments, shares, strict=True)
        ],
    )


def evaluate_guarantee(session: Session, graduation_id: int, as_of: date) -> GuaranteeView:
    """The guarantee of graduation ``graduation_id`` as it stands on ``as_of``."""
    graduation = get_or_404(session, Graduation, graduation_id)
    enrollment = graduation.enrollment
    terms = enrollment.policy.terms()
    outcomes = session.scalars(
        select(JobOutcome)
        .where(JobOutcome.graduation_id == graduation.id)
        .order_by(JobOutcome.start_date, JobOutcome.id)
    ).all()
    jobs = [outcome.facts() for outcome in outcomes]
    status = guarantee_status(
        opted_in=enrollment.guarantee_opt_in,
        qualified_on=graduation.qualified_on,
        terms=terms,
        jobs=jobs,
        as_of=as_of,
    )
    verdicts = []
    for outcome, job in zip(outcomes, jobs, strict=True):
        shortfalls = job_shortfalls(job, terms, status.deadline)
        verdicts.append(OutcomeVerdict(outcome.id, not shortfalls, shortfalls))
    return GuaranteeView(
        graduation_id=graduation.id,
        qualified_on=graduation.qualified_on,
        policy_id=enrollment.policy_id,
        policy_version=enrollment.policy.version,
        status=status,
        outcomes=verdicts,
        refundable=refundable_for(enrollment),
        claim=session.scalar(select(RefundClaim).where(RefundClaim.enrollment_id == enrollment.id)),
    )


def authorize_graduation(session: Session, principal, graduation_id: int) -> Graduation:
    """The graduation, if ``principal`` may see it: staff reading records, or its own graduate.

    Staff get ``NotFound`` for an unknown id; a graduate is refused (and the refusal audited)
    for any graduation not their own, unknown ones included, so ids cannot be probed.
    """
    from app.auth.access import Permission
    from app.services.graduates import own_graduation  # graduates builds on this module

    if principal.can(Permission.READ_RECORDS):
        return get_or_404(session, Graduation, graduation_id)
    return own_graduation(session, principal, graduation_id)


def guarantee_for(session: Session, principal, graduation_id: int, as_of: date) -> GuaranteeView:
    """``evaluate_guarantee`` for someone allowed to see that graduation."""
    authorize_graduation(session, principal, graduation_id)
    return evaluate_guarantee(session, graduation_id, as_of)
