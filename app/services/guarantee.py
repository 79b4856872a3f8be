"""A graduate's guarantee for the people allowed to see it.

The evaluation itself lives in ``app.guarantee.evaluation`` (shared with the refund code); this
module adds who may read it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from app.guarantee.evaluation import (
    GuaranteeView,
    OutcomeVerdict,
    Refundable,
    RefundShare,
    evaluate_guarantee,
    exclusion_of,
    pauses_of,
    refundable_for,
)
from app.models import Graduation
from app.services.records import get_or_404

__all__ = [
    "GuaranteeView",
    "OutcomeVerdict",
    "RefundShare",
    "Refundable",
    "authorize_graduation",
    "evaluate_guarantee",
    "exclusion_of",
    "guarantee_for",
    "pauses_of",
    "refundable_for",
]


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
