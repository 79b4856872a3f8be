"""The review of newly flagged claims against the graduate's search obligations.

Right after the sweep flags graduates owed a refund, each flagged claim is judged once with the
search record as it stood when the window closed (``app.services.search.record_at_close``):

- a declined qualifying offer under a policy that says so voids the claim: it is rejected, with
  the reason, and can be appealed like any rejection;
- any other missed obligation (or a declined qualifying offer the policy does not void, or the
  graduate saying they stopped looking) sends it to review with every reason listed, for finance
  to decide; a claim is never rejected silently;
- a compliant claim stays flagged.

Each claim is checked once: an audit event ``claim.obligations_checked`` marks it. The claims
whose record cannot fall short are marked compliant together, in one statement; only the
others are read (a batch at a time) and judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from sqlalchemy import Row, String, and_, cast, exists, literal, or_, select
from sqlalchemy.orm import Session

from app import audit, collector
from app.guarantee.reasons import SEPARATOR, not_voiding, stopped_looking, void_reason
from app.guarantee.terms import SearchActivityKind
from app.models import (
    AuditEvent,
    Enrollment,
    Graduation,
    GuaranteePolicy,
    SchoolRequest,
    SearchActivity,
)
from app.services.search import SearchRecord, records_at_close
from refunds.claims import reject, start_reviews
from refunds.models import RefundClaim
from refunds.notes import OBLIGATIONS_NOT_MET, note
from refunds.states import ClaimState

#: The audit action that marks a claim as checked against the search obligations.
CHECKED = "claim.obligations_checked"

#: How many claims are judged together, their records read in one query per kind of row.
BATCH = 500


#: What a graduate whose claim is voided reads (the staff note names the offer and the rule).
VOID_NOTE = (
    "Your record shows a qualifying job offer that you declined, and your guarantee's terms say"
    " that ends the guarantee. If that is not what happened, appeal and tell us."
)


@dataclass
class ReviewResult:
    """What the review did to the flagged claims."""

    as_of: date
    checked: int = 0
    #: Claim ids rejected because a declined qualifying offer voids them.
    rejected: list[int] = field(default_factory=list)
    #: Claim ids sent to review for missed obligations.
    in_review: list[int] = field(default_factory=list)


def obligation_reasons(record: SearchRecord) -> tuple[str | None, list[str]]:
    """Why a claim is void (``None`` when it is not), and each reason to review it.

    Pure over the search record: the voiding reason comes first, the review reasons are the
    shortfalls, the declined qualifying offers the policy does not void, and having stopped
    looking for work before the window closed.
    """
    compliance = record.compliance
    declined = compliance.declined_qualifying_offers
    if declined and record.terms.declined_offer_voids:
        return void_reason(declined[0]), []
    reasons = list(compliance.shortfalls)
    reasons += [not_voiding(offer) for offer in declined]
    stopped = record.graduation.stopped_seeking_on
    if stopped is not None and stopped <= record.deadline:
        reasons.append(stopped_looking(stopped))
    return None, reasons


def review_flagged_claims(
    session: Session, as_of: date, actor: str = "system:sweep"
) -> ReviewResult:
    """Judge every flagged claim not checked yet against its graduate's search obligations.

    Voided claims are rejected, non-compliant ones go to review with their reasons, compliant
    ones stay flagged; each transition writes its audit row. The caller commits.

    Set-based first: the claims whose record cannot give a reason (``_may_fall_short`` is
    false: the policy asks nothing weekly, no offer was logged, no question can be late, the
    graduate never said they stopped looking) are compliant whatever else they logged, and are
    all marked checked together. Only the others are judged by the rule
    (``obligation_reasons``), their records read ``BATCH`` at a time; a property test proves
    the two ways agree.
    """
    result = ReviewResult(as_of)
    with collector.paused():
        _review(session, actor, result)
    return result


def _review(session: Session, actor: str, result: ReviewResult) -> None:
    """What ``review_flagged_claims`` does (with the cycle collector paused), adding what it
    decided to ``result``."""
    # Every claim not checked yet, with whether it may fall short and the facts its record
    # reads, in one query; the compliant ones are marked checked together.
    unchecked = session.execute(
        select(
            RefundClaim.id,
            RefundClaim.deadline,
            Graduation.id.label("graduation_id"),
            Graduation.qualified_on,
            Graduation.stopped_seeking_on,
            Enrollment.policy_id,
            Enrollment.search_country,
            _may_fall_short().label("may_fall_short"),
        )
        .join(Graduation, Graduation.id == RefundClaim.graduation_id)
        .join(Enrollment, Enrollment.id == Graduation.enrollment_id)
        .join(GuaranteePolicy, GuaranteePolicy.id == Enrollment.policy_id)
        .where(_unchecked_flagged())
        .order_by(RefundClaim.id)
    ).all()
    compliant = [f"claim:{claim.id}" for claim in unchecked if not claim.may_fall_short]
    audit.record_many(session, actor, CHECKED, [(target, "compliant") for target in compliant])
    result.checked += len(compliant)
    claims = [claim for claim in unchecked if claim.may_fall_short]
    policies: dict[int, GuaranteePolicy] = {}
    for start in range(0, len(claims), BATCH):
        _judge(session, claims[start : start + BATCH], actor, result, policies)
    session.flush()


class _Enrollment(NamedTuple):
    """The enrollment facts a search record reads, as a plain row."""

    policy_id: int
    policy: GuaranteePolicy
    search_country: str | None


class _Graduation(NamedTuple):
    """The graduation facts a search record and the rule read, as a plain row: thousands of
    claims are judged, and ORM objects (with the rows they load eagerly) cost far more."""

    id: int
    qualified_on: date
    stopped_seeking_on: date | None
    enrollment: _Enrollment


def _judge(
    session: Session,
    claims: Sequence[Row],
    actor: str,
    result: ReviewResult,
    policies: dict[int, GuaranteePolicy],
) -> None:
    """Judge each of ``claims`` (rows of a claim's id and deadline, and its graduation's and
    enrollment's facts) by the rule, their records read together; reject the void ones one by
    one, and send the rest that fall short to review together. ``policies``: those read by the
    batches before (a handful for thousands of claims), added to."""
    unread = {row.policy_id for row in claims} - policies.keys()
    if unread:
        policies.update(
            (policy.id, policy)
            for policy in session.scalars(
                select(GuaranteePolicy).where(GuaranteePolicy.id.in_(unread))
            )
        )
    records = records_at_close(
        session,
        [
            (
                _Graduation(
                    row.graduation_id,
                    row.qualified_on,
                    row.stopped_seeking_on,
                    _Enrollment(row.policy_id, policies[row.policy_id], row.search_country),
                ),
                row.deadline,
            )
            for row in claims
        ],
    )
    to_review: dict[int, str] = {}
    checked: list[tuple[str, str]] = []
    for claim, record in zip(claims, records, strict=True):
        void, reasons = obligation_reasons(record)
        if void is not None:
            reject(session, claim.id, actor=actor, reason=void, graduate_note=VOID_NOTE)
            result.rejected.append(claim.id)
            outcome = "void"
        elif reasons:
            # Stored as its English, which is ``listed(reasons)``'s (a page reads the sentences
            # back from it): joined as text, thousands of claims build no nested sentences.
            to_review[claim.id] = note(OBLIGATIONS_NOT_MET, reasons=SEPARATOR.join(reasons))
            result.in_review.append(claim.id)
            outcome = f"{len(reasons)} reason(s) to review"
        else:
            outcome = "compliant"
        checked.append((f"claim:{claim.id}", outcome))
        result.checked += 1
    audit.record_many(session, actor, CHECKED, checked)
    start_reviews(session, to_review, actor=actor)


def _claim_target(claim_id):
    # The audit target of a claim, "claim:<id>", in SQL.
    return literal("claim:") + cast(claim_id, String)


def _unchecked_flagged():
    """Flagged claims without the audit event that marks them checked."""
    checked = select(AuditEvent.target).where(AuditEvent.action == CHECKED)
    return and_(
        RefundClaim.state == ClaimState.FLAGGED,
        _claim_target(RefundClaim.id).not_in(checked),
    )


def _may_fall_short():
    """Whether a claim's search record can give ``obligation_reasons`` anything to say (over
    claims joined to their graduation, enrollment and policy): weekly applications or
    check-ins to judge, an offer logged (declined, or reported late), a question that may
    have been answered late, or having stopped looking by the deadline. False means compliant:
    a policy without an obligation never yields a shortfall for it."""
    return or_(
        GuaranteePolicy.weekly_applications > 0,
        GuaranteePolicy.coaching_every_weeks.is_not(None),
        and_(
            Graduation.stopped_seeking_on.is_not(None),
            Graduation.stopped_seeking_on <= RefundClaim.deadline,
        ),
        exists().where(
            SearchActivity.graduation_id == Graduation.id,
            SearchActivity.kind == SearchActivityKind.OFFER,
        ),
        and_(
            GuaranteePolicy.answer_within_days.is_not(None),
            exists().where(SchoolRequest.graduation_id == Graduation.id),
        ),
    )
