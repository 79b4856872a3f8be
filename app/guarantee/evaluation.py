"""A graduate's guarantee, read from their records and judged by the pure rule.

The one place that turns a graduation's rows (policy version, payments, jobs, pauses, an
excluded outcome) into plain values for ``app.guarantee.rules`` and ``refunds.amounts``. It has
no Flask in it: the services, the pages and the refund code (``refunds.claims``) all read the
guarantee through it, so the services depend on ``refunds`` and never the other way round.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.errors import NotFound
from app.guarantee.rules import (
    GuaranteeStatus,
    guarantee_deadline,
    guarantee_status,
    job_shortfalls,
    paused_days,
    total_paused_days,
)
from app.models import ExcludedOutcome, Graduation, GuaranteePolicy, JobOutcome, SearchPause
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
    #: The pauses of the search, earliest first.
    pauses: tuple[SearchPause, ...] = ()
    #: Days the pauses add up to, all of them, before the policy's limit.
    paused_days_requested: int = 0
    #: Days the pauses extend the window by: ``paused_days_requested`` up to ``max_pause_days``.
    paused_days_counted: int = 0
    #: The policy's limit on paused days (0: no pauses allowed).
    max_pause_days: int = 0
    #: The deadline the window would have without any pause.
    deadline_without_pauses: date | None = None
    #: The documented excluded outcome that took the graduate out of the guarantee, if any.
    exclusion: ExcludedOutcome | None = None

    @property
    def qualifying_outcome_id(self) -> int | None:
        index = self.status.qualifying_job
        return None if index is None else self.outcomes[index].job_outcome_id


def refundable_for(enrollment, refunded_elsewhere: Mapping[int, int] | None = None) -> Refundable:
    """The refund an enrollment's payments and policy allow, split over the payments.

    ``refunded_elsewhere`` maps a payment's id to what the provider already gave back on it
    outside any claim (a refund made from the provider's dashboard): that part of the tuition
    is no longer paid, so it is neither counted nor refunded again.
    """
    refunded_elsewhere = refunded_elsewhere or {}
    terms = enrollment.policy.terms()
    kept = {
        payment.id: max(payment.amount_minor - refunded_elsewhere.get(payment.id, 0), 0)
        for payment in enrollment.payments
    }
    paying = [payment for payment in enrollment.payments if kept[payment.id] > 0]
    amounts = [kept[payment.id] for payment in paying]
    total = refundable_amount(
        amounts,
        scholarship=enrollment.scholarship_minor,
        cap=terms.refund_cap_minor,
        deduct_scholarships=terms.deduct_scholarships,
    )
    shares = dict(
        zip((payment.id for payment in paying), split_refund(total, amounts), strict=True)
    )
    return Refundable(
        amount_minor=total,
        currency=enrollment.programme.currency,
        paid_minor=sum(amounts),
        split=[
            RefundShare(payment.id, shares.get(payment.id, 0)) for payment in enrollment.payments
        ],
    )


def evaluate_guarantee(session: Session, graduation_id: int, as_of: date) -> GuaranteeView:
    """The guarantee of graduation ``graduation_id`` as it stands on ``as_of``."""
    graduation = session.get(Graduation, graduation_id)
    if graduation is None:
        raise NotFound("Graduation", graduation_id)
    enrollment = graduation.enrollment
    terms = enrollment.policy.terms()
    outcomes = session.scalars(
        select(JobOutcome)
        .where(JobOutcome.graduation_id == graduation.id)
        .order_by(JobOutcome.start_date, JobOutcome.id)
    ).all()
    jobs = [outcome.facts() for outcome in outcomes]
    pauses = pauses_of(session, graduation.id)
    spans = [(pause.starts_on, pause.ends_on) for pause in pauses]
    counted = paused_days(spans, terms.max_pause_days)
    exclusion = exclusion_of(session, graduation.id)
    eligibility = enrollment.eligibility()
    status = guarantee_status(
        opted_in=enrollment.guarantee_opt_in,
        qualified_on=graduation.qualified_on,
        terms=terms,
        jobs=jobs,
        as_of=as_of,
        paused_days=counted,
        excluded=exclusion is not None,
        eligibility=eligibility,
    )
    verdicts = []
    for outcome, job in zip(outcomes, jobs, strict=True):
        shortfalls = job_shortfalls(
            job, terms, status.deadline, graduation.qualified_on, eligibility.search_country
        )
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
        pauses=tuple(pauses),
        paused_days_requested=total_paused_days(spans),
        paused_days_counted=counted,
        max_pause_days=terms.max_pause_days,
        deadline_without_pauses=guarantee_deadline(
            graduation.qualified_on, terms.window_months, terms.window_starts
        ),
        exclusion=exclusion,
    )


def pauses_of(session: Session, graduation_id: int) -> list[SearchPause]:
    """The pauses of a graduation's search, earliest first."""
    return list(
        session.scalars(
            select(SearchPause)
            .where(SearchPause.graduation_id == graduation_id)
            .order_by(SearchPause.starts_on, SearchPause.id)
        )
    )


def exclusion_of(session: Session, graduation_id: int) -> ExcludedOutcome | None:
    """The excluded outcome recorded for a graduation, if any (there is at most one)."""
    return session.scalar(
        select(ExcludedOutcome).where(ExcludedOutcome.graduation_id == graduation_id)
    )


def guarantee_statuses(
    session: Session, graduations: Sequence[Graduation], as_of: date
) -> dict[int, GuaranteeStatus]:
    """The status of each of ``graduations`` on ``as_of``, by graduation id, as
    ``evaluate_guarantee`` judges it, read for all of them at once: one statement each for
    their policies' qualifying types, jobs, pauses and excluded outcomes, however many there
    are (a page of a list costs the same statements whatever its length)."""
    ids = [graduation.id for graduation in graduations]
    if not ids:
        return {}
    policies = {graduation.enrollment.policy for graduation in graduations}
    session.execute(
        select(GuaranteePolicy)
        .where(GuaranteePolicy.id.in_([policy.id for policy in policies]))
        .options(selectinload(GuaranteePolicy.qualifying_types))
    ).all()
    jobs: dict[int, list] = defaultdict(list)
    for outcome in session.scalars(
        select(JobOutcome)
        .where(JobOutcome.graduation_id.in_(ids))
        .order_by(JobOutcome.start_date, JobOutcome.id)
    ):
        jobs[outcome.graduation_id].append(outcome.facts())
    spans: dict[int, list[tuple[date, date]]] = defaultdict(list)
    for graduation_id, starts_on, ends_on in session.execute(
        select(SearchPause.graduation_id, SearchPause.starts_on, SearchPause.ends_on).where(
            SearchPause.graduation_id.in_(ids)
        )
    ):
        spans[graduation_id].append((starts_on, ends_on))
    excluded = set(
        session.scalars(
            select(ExcludedOutcome.graduation_id).where(ExcludedOutcome.graduation_id.in_(ids))
        )
    )
    statuses = {}
    for graduation in graduations:
        enrollment = graduation.enrollment
        terms = enrollment.policy.terms()
        statuses[graduation.id] = guarantee_status(
            opted_in=enrollment.guarantee_opt_in,
            qualified_on=graduation.qualified_on,
            terms=terms,
            jobs=jobs[graduation.id],
            as_of=as_of,
            paused_days=paused_days(spans[graduation.id], terms.max_pause_days),
            excluded=graduation.id in excluded,
        )
    return statuses
