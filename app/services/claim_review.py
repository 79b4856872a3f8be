"""The review of newly flagged claims against the graduate's search obligations.

Right after the sweep flags graduates owed a refund, each flagged claim is judged once with the
search record as it stood when the window closed (``app.services.search.record_at_close``):

- a declined qualifying offer under a policy that says so voids the claim: it is rejected, with
  the reason, and can be appealed like any rejection;
- any other missed obligation (or a declined qualifying offer the policy does not void, or the
  graduate saying they stopped looking) sends it to review with every reason listed, for finance
  to decide; a claim is never rejected silently;
- a compliant claim stays flagged.

Each claim is checked once: an audit event ``claim.obligations_checked`` marks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import String, cast, literal, select
from sqlalchemy.orm import Session

from app import audit
from app.models import AuditEvent
from app.services.search import SearchRecord, record_at_close
from refunds.claims import reject, start_review
from refunds.models import RefundClaim
from refunds.states import ClaimState

#: The audit action that marks a claim as checked against the search obligations.
CHECKED = "claim.obligations_checked"


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
        return f"void: {declined[0].description}; the policy voids the claim", []
    reasons = list(compliance.shortfalls)
    reasons += [f"{offer.description} (the policy does not void the claim)" for offer in declined]
    stopped = record.graduation.stopped_seeking_on
    if stopped is not None and stopped <= record.deadline:
        reasons.append(f"said they stopped looking for work on {stopped:%d %b %Y}")
    return None, reasons


def review_flagged_claims(
    session: Session, as_of: date, actor: str = "system:sweep"
) -> ReviewResult:
    """Judge every flagged claim not checked yet against its graduate's search obligations.

    Voided claims are rejected, non-compliant ones go to review with their reasons, compliant
    ones stay flagged; each transition writes its audit row. The caller commits.
    """
    checked = select(AuditEvent.target).where(AuditEvent.action == CHECKED)
    claim_ids = session.scalars(
        select(RefundClaim.id)
        .where(
            RefundClaim.state == ClaimState.FLAGGED,
            (literal("claim:") + cast(RefundClaim.id, String)).not_in(checked),
        )
        .order_by(RefundClaim.id)
    ).all()
    result = ReviewResult(as_of)
    for claim_id in claim_ids:
        claim = session.get(RefundClaim, claim_id)
        record = record_at_close(session, claim.graduation, claim.deadline)
        void, reasons = obligation_reasons(record)
        if void is not None:
            reject(session, claim.id, actor=actor, reason=void, graduate_note=VOID_NOTE)
            result.rejected.append(claim.id)
            outcome = "void"
        elif reasons:
            start_review(
                session,
                claim.id,
                actor=actor,
                reason="search obligations not met: " + "; ".join(reasons),
            )
            result.in_review.append(claim.id)
            outcome = f"{len(reasons)} reason(s) to review"
        else:
            outcome = "compliant"
        audit.record(session, actor, CHECKED, f"claim:{claim.id}", outcome)
        result.checked += 1
    session.flush()
    return result
