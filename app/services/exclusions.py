"""Excluded outcomes: further full-time study, military service, incarceration or death,
documented, take a graduate out of the guarantee and out of the report denominators.

Only a registrar records one, once per graduation, with a reference to the document it rests
on. A refund claim of that graduation that no money has gone out on yet is withdrawn with the
reason, through the claim state machine (its unsent refunds are called off with it); once a
claim is paying or paid, the exclusion is refused and nothing is recorded.
"""

from __future__ import annotations

import re
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.access import Permission, Principal, authorize
from app.guarantee.terms import ExclusionReason
from app.i18n import said_day
from app.labels import label
from app.models import ExcludedOutcome, Graduation
from app.models.base import utc_now
from app.services.errors import Conflict, Invalid
from app.services.guarantee import evaluate_guarantee
from app.services.records import get_or_404
from refunds import claims
from refunds.models import RefundClaim
from refunds.notes import EXCLUDED, note
from refunds.states import ClaimState

S = ClaimState

#: Claims an exclusion withdraws: nothing has been sent to the payment provider yet.
WITHDRAWN_ON_EXCLUSION = frozenset({S.FLAGGED, S.IN_REVIEW, S.AWAITING_SECOND_APPROVAL, S.APPROVED})
#: Claims on which money is moving or has moved: an exclusion is refused.
PAID_OR_PAYING = frozenset({S.PAYING, S.REFUNDED, S.FAILED, S.SETTLED_MANUALLY})

#: The longest evidence reference accepted (the column's size).
MAX_EVIDENCE_LENGTH = 500

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def record_exclusion(
    session: Session,
    principal: Principal,
    graduation_id: int,
    reason: ExclusionReason,
    occurred_on: date,
    evidence: str,
    *,
    today: date | None = None,
) -> ExcludedOutcome:
    """Record that graduation ``graduation_id`` ended in a documented excluded outcome.

    ``evidence`` names the document (an enrolment letter, a service record, a certificate).
    The outcome must have happened by ``today`` and by the close of the window: one that came
    after the window closed does not take back a refund owed by then. A claim not yet paying
    is withdrawn; a claim paying or paid is a ``Conflict``, as is a second exclusion.
    """
    authorize(principal, Permission.WRITE_RECORDS, target=f"graduation:{graduation_id}")
    today = today or utc_now().date()
    graduation = get_or_404(session, Graduation, graduation_id)
    # Serialise with pauses and other exclusions of this graduation.
    session.scalar(select(Graduation.id).where(Graduation.id == graduation.id).with_for_update())
    view = evaluate_guarantee(session, graduation.id, today)
    evidence = (evidence or "").strip()
    errors: dict[str, list[str]] = {}
    if not evidence:
        errors["evidence"] = [
            _("name the document it rests on (a letter, a record, a certificate)")
        ]
    elif len(evidence) > MAX_EVIDENCE_LENGTH:
        errors["evidence"] = [_("at most %(most)s characters", most=MAX_EVIDENCE_LENGTH)]
    elif _CONTROL.search(evidence):
        errors["evidence"] = [_("write the reference on one line, without control characters")]
    if occurred_on > today:
        errors["occurred_on"] = [_("record an outcome once it has happened, not before")]
    elif occurred_on > view.status.deadline:
        errors["occurred_on"] = [
            _(
                "the window closed on %(day)s, before this outcome: it does not take back what"
                " the guarantee owed by then",
                day=said_day(view.status.deadline),
            )
        ]
    if errors:
        raise Invalid(errors)
    if view.exclusion is not None:
        raise Conflict(
            _(
                "an excluded outcome (%(reason)s) is recorded for this graduation already",
                reason=label(view.exclusion.reason),
            ),
            "graduation_id",
        )

    claim_id = session.scalar(
        select(RefundClaim.id).where(RefundClaim.graduation_id == graduation.id)
    )
    claim = claims.lock_claim(session, claim_id) if claim_id is not None else None
    if claim is not None and claim.state in PAID_OR_PAYING:
        raise Conflict(
            _(
                "the refund claim of this graduation is %(state)s: money has gone out or is on"
                " its way, so finance must settle it before an exclusion is recorded",
                state=label(claim.state),
            ),
            "graduation_id",
        )

    exclusion = ExcludedOutcome(
        graduation_id=graduation.id,
        reason=reason,
        occurred_on=occurred_on,
        evidence=evidence,
        recorded_by=principal.actor,
    )
    try:
        with session.begin_nested():
            session.add(exclusion)
    except IntegrityError as error:
        raise Conflict(
            _("an excluded outcome is recorded for this graduation already"), "graduation_id"
        ) from error
    description = f"{reason.value} on {occurred_on.isoformat()} ({evidence})"
    record(
        session,
        principal.actor,
        "exclusion.recorded",
        f"graduation:{graduation.id}",
        f"excluded_outcome:{exclusion.id} {description}",
    )
    if claim is not None and claim.state in WITHDRAWN_ON_EXCLUSION:
        claims.withdraw(
            session,
            claim.id,
            actor=principal.actor,
            reason=note(EXCLUDED, outcome=description),
        )
    return exclusion
