"""What finance reads: the claims queue, the failed refunds, and the evidence behind a claim.

Queries only; every decision goes through ``refunds.claims``. The rules (the deadline, the
qualifying-job test, the refund split, which moves a claim may make) come from their own homes:
nothing here judges them again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from app.guarantee.rules import (
    CLAIM_DUE_SOON_DAYS,
    ClaimDeadlineStanding,
    claim_deadline_standing,
)
from app.guarantee.terms import PolicyTerms
from app.models import (
    Enrollment,
    Graduation,
    GuaranteePolicy,
    JobOutcome,
    Programme,
    Student,
    TuitionPayment,
    User,
)
from app.services.guarantee import GuaranteeView, OutcomeVerdict, Refundable, evaluate_guarantee
from app.services.records import get_or_404
from app.services.text_search import matching
from refunds.claims import DECIDABLE, OWED
from refunds.models import (
    ClaimAppeal,
    ClaimApproval,
    ClaimTransition,
    RecoveryItem,
    Refund,
    RefundClaim,
)
from refunds.states import TRANSITIONS, ClaimState, RefundState
from refunds.sweep import covered_by_policy, days_after, policy_areas

S = ClaimState

#: The states in which a claim waits for finance, in the order the queue shows them.
NEEDS_ACTION = (S.FLAGGED, S.IN_REVIEW, S.AWAITING_SECOND_APPROVAL, S.FAILED)


@dataclass(frozen=True)
class QueueRow:
    """One claim as the queue lists it."""

    claim_id: int
    graduate: str
    email: str
    programme: str
    #: The guarantee deadline that passed without a qualifying job.
    deadline: date
    #: The last day the claim could be made: ``deadline`` plus the policy's claim days.
    claim_deadline: date
    flagged_on: date
    amount_minor: int
    currency: str
    state: ClaimState
    #: The claim's version when read: a decision taken from the list carries it.
    version: int
    #: Against the claim deadline, for a claim still awaiting a decision; ``None`` otherwise.
    standing: ClaimDeadlineStanding | None = None
    #: Whether the graduate meets the eligibility terms of their policy version today; the
    #: claim page says why not.
    covered: bool = True


class QueueSort(StrEnum):
    """What the queue can be sorted by."""

    OPENED = "opened"
    CLAIM_DEADLINE = "claim_deadline"
    AMOUNT = "amount"
    NAME = "name"


@dataclass(frozen=True)
class QueueQuery:
    """Which claims the queue shows, and in what order: every filter is optional."""

    states: Collection[ClaimState] = NEEDS_ACTION
    programme_id: int | None = None
    currency: str | None = None
    #: Only the claims awaiting a decision that stand so against their claim deadline.
    standing: ClaimDeadlineStanding | None = None
    #: Part of the graduate's name or email, any case, accents or not.
    search: str = ""
    sort: QueueSort = QueueSort.OPENED
    descending: bool = False


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue, and where it sits among the others."""

    rows: list[QueueRow]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@dataclass(frozen=True)
class FailedClaim:
    """A claim whose refund failed at the provider, with what the provider said."""

    row: QueueRow
    #: When the claim last failed (UTC).
    failed_at: datetime | None
    #: The last error of each failed refund, or the reason the claim failed.
    errors: list[str]


def _claim_deadline():
    # The rule's claim_deadline(deadline, days), in SQL so the queue can sort and filter on it.
    return days_after(RefundClaim.deadline, GuaranteePolicy.claim_deadline_days)


def _queue_rows():
    areas = policy_areas()
    return (
        select(
            RefundClaim.id,
            Student.name,
            Student.email,
            Programme.name,
            RefundClaim.deadline,
            _claim_deadline(),
            RefundClaim.flagged_on,
            RefundClaim.amount_minor,
            RefundClaim.currency,
            RefundClaim.state,
            RefundClaim.version,
            case((covered_by_policy(areas), True), else_=False),
        )
        .join(Enrollment, Enrollment.id == RefundClaim.enrollment_id)
        .join(Student, Student.id == Enrollment.student_id)
        .join(Programme, Programme.id == Enrollment.programme_id)
        .join(Graduation, Graduation.id == RefundClaim.graduation_id)
        .join(GuaranteePolicy, GuaranteePolicy.id == Enrollment.policy_id)
        .outerjoin(areas, areas.c.policy_id == GuaranteePolicy.id)
        # Oldest first: the claims closest to the school's own decision deadline.
        .order_by(RefundClaim.flagged_on, RefundClaim.id)
    )


def _queue_row(row, today: date | None = None) -> QueueRow:
    """A row of ``_queue_rows`` with, given ``today``, where an undecided claim stands."""
    claim_deadline = _as_date(row[5])
    standing = None
    if today is not None and row[9] in DECIDABLE:
        standing = claim_deadline_standing(claim_deadline, today)
    return QueueRow(*row[:5], claim_deadline, *row[6:11], standing=standing, covered=bool(row[11]))


def _as_date(value: date | str) -> date:
    # SQLite computes the claim deadline as ISO text; PostgreSQL as a date.
    return value if isinstance(value, date) else date.fromisoformat(value)


def _standing_condition(standing: ClaimDeadlineStanding, today: date):
    """The claims awaiting a decision that ``claim_deadline_standing`` puts in ``standing``
    today, as a range of claim deadlines (a test proves the two agree)."""
    claim_deadline = _claim_deadline()
    soon = today + timedelta(days=CLAIM_DUE_SOON_DAYS)
    within = {
        ClaimDeadlineStanding.PAST: claim_deadline < today,
        ClaimDeadlineStanding.DUE_SOON: and_(claim_deadline >= today, claim_deadline <= soon),
        ClaimDeadlineStanding.OPEN: claim_deadline > soon,
    }[standing]
    return and_(RefundClaim.state.in_(DECIDABLE), within)


def _filtered(statement, query: QueueQuery, today: date):
    statement = statement.where(RefundClaim.state.in_(query.states))
    if query.programme_id is not None:
        statement = statement.where(Enrollment.programme_id == query.programme_id)
    if query.currency is not None:
        statement = statement.where(RefundClaim.currency == query.currency)
    if query.standing is not None:
        statement = statement.where(_standing_condition(query.standing, today))
    if query.search.strip():
        statement = statement.where(matching(query.search, Student.name, Student.email))
    return statement


def _sorted(statement, query: QueueQuery):
    keys = {
        QueueSort.OPENED: (RefundClaim.flagged_on,),
        QueueSort.CLAIM_DEADLINE: (_claim_deadline(),),
        # Amounts compare within a currency only: by currency, then amount.
        QueueSort.AMOUNT: (RefundClaim.currency, RefundClaim.amount_minor),
        QueueSort.NAME: (Student.name,),
    }[query.sort] + (RefundClaim.id,)
    return statement.order_by(None).order_by(
        *(key.desc() if query.descending else key.asc() for key in keys)
    )


@dataclass(frozen=True)
class OpenRecovery:
    """A paid claim the facts now contradict, waiting for finance."""

    item: RecoveryItem
    graduate: str
    amount_minor: int
    currency: str


def open_recovery_items(session: Session) -> list[OpenRecovery]:
    """Every recovery item finance has not closed, oldest first."""
    rows = session.execute(
        select(RecoveryItem, Student.name, RefundClaim.amount_minor, RefundClaim.currency)
        .join(RefundClaim, RefundClaim.id == RecoveryItem.claim_id)
        .join(Enrollment, Enrollment.id == RefundClaim.enrollment_id)
        .join(Student, Student.id == Enrollment.student_id)
        .where(RecoveryItem.resolved_at.is_(None))
        .order_by(RecoveryItem.id)
    )
    return [OpenRecovery(*row) for row in rows]


@dataclass(frozen=True)
class WaitingAppeal:
    """A graduate's appeal no second reviewer has taken up yet."""

    appeal: ClaimAppeal
    graduate: str


def waiting_appeals(session: Session) -> list[WaitingAppeal]:
    """Appeals of claims still rejected since the rejection appealed, oldest first."""
    later = select(ClaimTransition.id).where(
        ClaimTransition.claim_id == ClaimAppeal.claim_id,
        ClaimTransition.id > ClaimAppeal.rejection_id,
    )
    rows = session.execute(
        select(ClaimAppeal, Student.name)
        .join(RefundClaim, RefundClaim.id == ClaimAppeal.claim_id)
        .join(Enrollment, Enrollment.id == RefundClaim.enrollment_id)
        .join(Student, Student.id == Enrollment.student_id)
        .where(RefundClaim.state == S.REJECTED, ~later.exists())
        .order_by(ClaimAppeal.id)
    )
    return [WaitingAppeal(*row) for row in rows]


def count_by_state(session: Session) -> dict[ClaimState, int]:
    """How many claims are in each state (every state present, zero included)."""
    counts = dict.fromkeys(ClaimState, 0)
    for state, count in session.execute(
        select(RefundClaim.state, func.count()).group_by(RefundClaim.state)
    ):
        counts[state] = count
    return counts


def claims_queue(
    session: Session, query: QueueQuery, today: date, page: int = 1, per_page: int = 50
) -> QueuePage:
    """The claims ``query`` selects, in its order; a page past the last shows the last.

    Pages are counted with OFFSET: there is at most one claim per enrollment whose window closed
    without a job, so the list is small by construction (20,000 claims for 200,000 graduations)
    and its joins and sort run on the indexed keys of each claim.
    """
    base = _filtered(_queue_rows(), query, today)
    total = session.scalar(select(func.count()).select_from(base.order_by(None).subquery()))
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    statement = _sorted(base, query).limit(per_page).offset((page - 1) * per_page)
    rows = [_queue_row(row, today) for row in session.execute(statement)]
    return QueuePage(rows=rows, page=page, per_page=per_page, total=total)


def queue_export(session: Session, query: QueueQuery, today: date) -> list[QueueRow]:
    """Every claim ``query`` selects, in its order: what the queue's CSV export holds."""
    statement = _sorted(_filtered(_queue_rows(), query, today), query)
    return [_queue_row(row, today) for row in session.execute(statement)]


def queue_programmes(session: Session) -> list[tuple[int, str]]:
    """Every programme, id and name, for the queue's programme filter."""
    rows = session.execute(select(Programme.id, Programme.name).order_by(Programme.name))
    return [(programme_id, name) for programme_id, name in rows]


def queue_currencies(session: Session) -> list[str]:
    """The currencies claims are in, for the queue's currency filter."""
    return list(
        session.scalars(select(RefundClaim.currency).distinct().order_by(RefundClaim.currency))
    )


def failed_claims(session: Session, limit: int = 50) -> list[FailedClaim]:
    """The failed claims (oldest first) with each failed refund's last error."""
    rows = [
        _queue_row(row)
        for row in session.execute(_queue_rows().where(RefundClaim.state == S.FAILED).limit(limit))
    ]
    ids = [row.claim_id for row in rows]
    if not ids:
        return []
    errors: dict[int, list[str]] = {claim_id: [] for claim_id in ids}
    for claim_id, error in session.execute(
        select(Refund.claim_id, Refund.last_error)
        .where(Refund.claim_id.in_(ids), Refund.state == RefundState.FAILED)
        .order_by(Refund.id)
    ):
        errors[claim_id].append(error or "no error given by the provider")
    failures: dict[int, tuple[datetime, str]] = {}
    for claim_id, at, reason in session.execute(
        select(ClaimTransition.claim_id, ClaimTransition.at, ClaimTransition.reason)
        .where(ClaimTransition.claim_id.in_(ids), ClaimTransition.to_state == S.FAILED)
        .order_by(ClaimTransition.id)
    ):
        failures[claim_id] = (at, reason)  # the last one wins
    result = []
    for row in rows:
        failed_at, reason = failures.get(row.claim_id, (None, None))
        result.append(
            FailedClaim(
                row=row,
                failed_at=failed_at,
                errors=errors[row.claim_id] or ([reason] if reason else []),
            )
        )
    return result


# --- one claim ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobEvidence:
    """A reported job and whether it qualifies under the graduate's terms."""

    outcome: JobOutcome
    verdict: OutcomeVerdict


@dataclass(frozen=True)
class PaymentShare:
    """One original payment and its share of the refund."""

    payment: TuitionPayment
    #: The share to give back: written at approval, or as the records give it today.
    share_minor: int | None
    #: The refund written for this payment at approval, if any.
    refund: Refund | None


@dataclass(frozen=True)
class ClaimActions:
    """What a person may do to a claim now, by its state and their own part in it."""

    approve: bool
    reject: bool
    review: bool
    withdraw: bool
    retry: bool
    settle: bool
    #: The person approved already (a second, different person must approve).
    approved_already: bool
    #: The claim is above the dual-approval threshold.
    needs_two_approvals: bool
    #: Reviewing again is an appeal of a rejection.
    is_appeal: bool
    #: The person rejected the claim, so the appeal is for someone else to hear.
    rejected_it: bool

    @property
    def any(self) -> bool:
        return any((self.approve, self.reject, self.review, self.withdraw, self.retry, self.settle))


@dataclass(frozen=True)
class ClaimEvidence:
    """Everything finance looks at to decide one claim."""

    claim: RefundClaim
    student: Student
    programme: Programme
    enrollment: Enrollment
    policy: GuaranteePolicy
    terms: PolicyTerms
    graduation: Graduation
    guarantee: GuaranteeView
    jobs: list[JobEvidence]
    payments: list[PaymentShare]
    #: True when the shares are the refunds written at approval; False for the proposed split.
    split_written: bool
    approvals: list[ClaimApproval]
    refunds: list[Refund]
    transitions: list[ClaimTransition]
    actions: ClaimActions
    #: Paid refunds the facts now contradict (a job reported after the money moved).
    recovery_items: list[RecoveryItem]
    #: Each actor of the trail and approvals who is a person here, by name.
    names: dict[str, str]

    @property
    def paid_minor(self) -> int:
        return sum(share.payment.amount_minor for share in self.payments)

    @property
    def refund_minor(self) -> int:
        """The refund the table shows: as written at approval, or as the records give today."""
        return sum(share.share_minor or 0 for share in self.payments)


def claim_evidence(
    session: Session, claim_id: int, *, actor: str, threshold_minor: int, today: date
) -> ClaimEvidence:
    """The evidence of claim ``claim_id`` and what ``actor`` may do to it (``NotFound``)."""
    claim = get_or_404(session, RefundClaim, claim_id)
    enrollment = claim.enrollment
    graduation = claim.graduation
    guarantee = evaluate_guarantee(session, graduation.id, today)
    outcomes = {
        outcome.id: outcome
        for outcome in session.scalars(
            select(JobOutcome).where(JobOutcome.graduation_id == graduation.id)
        )
    }
    jobs = [
        JobEvidence(outcomes[verdict.job_outcome_id], verdict) for verdict in guarantee.outcomes
    ]
    approvals = list(
        session.scalars(
            select(ClaimApproval)
            .where(ClaimApproval.claim_id == claim.id)
            .order_by(ClaimApproval.id)
        )
    )
    refunds = list(
        session.scalars(select(Refund).where(Refund.claim_id == claim.id).order_by(Refund.id))
    )
    transitions = list(
        session.scalars(
            select(ClaimTransition)
            .where(ClaimTransition.claim_id == claim.id)
            .order_by(ClaimTransition.id)
        )
    )
    payments, split_written = _split(enrollment.payments, refunds, guarantee.refundable)
    return ClaimEvidence(
        claim=claim,
        student=enrollment.student,
        programme=enrollment.programme,
        enrollment=enrollment,
        policy=enrollment.policy,
        terms=enrollment.policy.terms(),
        graduation=graduation,
        guarantee=guarantee,
        jobs=jobs,
        payments=payments,
        split_written=split_written,
        approvals=approvals,
        refunds=refunds,
        transitions=transitions,
        actions=claim_actions(
            claim, actor, approvals, transitions, threshold_minor, owed=guarantee_owed(guarantee)
        ),
        recovery_items=list(
            session.scalars(
                select(RecoveryItem)
                .where(RecoveryItem.claim_id == claim.id)
                .order_by(RecoveryItem.id)
            )
        ),
        names=names_of(
            session,
            [row.actor for row in transitions] + [approval.actor for approval in approvals],
        ),
    )


def _split(
    payments: list[TuitionPayment], refunds: list[Refund], refundable: Refundable
) -> tuple[list[PaymentShare], bool]:
    # Once approved, the refunds written are the split; before (or after they were called off
    # by a review), the split the records give today, which the approval derives again.
    written = {
        refund.payment_id: refund for refund in refunds if refund.state is not RefundState.CANCELED
    }
    if written:
        shares = [
            PaymentShare(
                payment,
                written[payment.id].amount_minor if payment.id in written else 0,
                written.get(payment.id),
            )
            for payment in payments
        ]
        return shares, True
    proposed = {share.payment_id: share.amount_minor for share in refundable.split}
    return [PaymentShare(payment, proposed.get(payment.id), None) for payment in payments], False


def claim_actions(
    claim: RefundClaim,
    actor: str,
    approvals: Iterable[ClaimApproval],
    transitions: list[ClaimTransition],
    threshold_minor: int,
    *,
    owed: bool = True,
) -> ClaimActions:
    """What ``actor`` may do to ``claim`` now; the services check all of it again.

    ``owed``: the records say the graduate is owed (approve, not withdraw) or not (withdraw).
    """
    state = claim.state
    moves = TRANSITIONS[state]
    approved_already = actor in {
        approval.actor for approval in approvals if approval.round == claim.approval_round
    }
    is_appeal = state is S.REJECTED
    rejected_by = next(
        (row.actor for row in reversed(transitions) if row.to_state is S.REJECTED), None
    )
    rejected_it = is_appeal and rejected_by == actor
    return ClaimActions(
        approve=state in DECIDABLE and not approved_already and owed,
        reject=state in DECIDABLE,
        review=S.IN_REVIEW in moves and not rejected_it,
        withdraw=S.WITHDRAWN in moves and not owed,
        retry=state is S.FAILED,
        settle=state is S.FAILED,
        approved_already=approved_already,
        needs_two_approvals=claim.amount_minor > threshold_minor,
        is_appeal=is_appeal,
        rejected_it=rejected_it,
    )


def guarantee_owed(guarantee: GuaranteeView) -> bool:
    """Whether the records say the graduate is owed a refund (``refunds.claims.OWED``)."""
    return guarantee.status.state in OWED


def names_of(session: Session, actors: Iterable[str]) -> dict[str, str]:
    """The names of the people among ``actors`` (``role:email``); systems are left out."""
    wanted = set(actors)
    emails = {actor.partition(":")[2] for actor in wanted if ":" in actor}
    if not emails:
        return {}
    users = session.scalars(select(User).where(User.email.in_(emails)))
    return {user.actor: user.name for user in users if user.actor in wanted}
