"""The reconciliation: every open claim's refunds compared with the provider's, and repaired.

What it can repair (a lost response, a missed webhook, a refund that failed later) it repairs
through the same functions the executor and the webhook use; what it cannot (a refund at the
provider that no row accounts for, more refunded than paid) it reports for finance.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.errors import Conflict, Invalid
from app.models import TuitionPayment
from app.models.base import utc_now
from refunds.amounts import describe_money
from refunds.claims import lock_claim, settle_from_refunds
from refunds.gateway import GatewayError, PaymentGateway
from refunds.models import Refund, RefundClaim
from refunds.payments import (
    adopt,
    apply_provider_refund,
    check_payments,
    find_adoptable,
    live,
    names_claim,
)
from refunds.states import ClaimState, RefundState

log = logging.getLogger(__name__)

ACTOR = "system:reconciliation"

#: Claims whose refunds are compared: those still moving, and those refunded recently (a card
#: refund can fail days after it first succeeded).
CHECKED_STATES = (ClaimState.APPROVED, ClaimState.PAYING, ClaimState.FAILED)
RECENTLY_REFUNDED = timedelta(days=30)


@dataclass
class ReconciliationReport:
    """What the reconciliation checked, repaired, and could not repair."""

    claims_checked: int = 0
    repaired: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


def reconcile(
    session: Session,
    gateway: PaymentGateway,
    *,
    now: datetime | None = None,
    after_restore: bool = False,
) -> ReconciliationReport:
    """Compare and repair; commits after each claim so one bad claim does not block the rest.

    ``after_restore`` is for a database restored from a backup: every claim is compared, in
    any state, with every refund the provider holds on its payments (the provider may have
    made refunds the backup never heard of), and leases are ignored (whoever held them is
    gone). Run it before the scheduler starts again: ``flask refunds reconcile --after-restore``.
    """
    now = now or utc_now()
    report = ReconciliationReport()
    checked = select(RefundClaim.id).order_by(RefundClaim.id)
    if not after_restore:
        checked = checked.where(
            or_(
                RefundClaim.state.in_(CHECKED_STATES),
                (RefundClaim.state == ClaimState.REFUNDED)
                & (RefundClaim.updated_at >= now - RECENTLY_REFUNDED),
            )
        )
    claim_ids = list(session.scalars(checked))
    session.rollback()
    for claim_id in claim_ids:
        report.claims_checked += 1
        try:
            with session.begin():
                _reconcile_claim(session, gateway, claim_id, now, report, after_restore)
        except GatewayError as error:
            report.unresolved.append(f"claim {claim_id}: provider unavailable ({error})")
    return report


def _unknown_to_the_database(session, gateway, claim, rows, report) -> None:
    # Refunds the provider made for this claim that name a row the database does not have:
    # the database is older than the send. Approving the claim again writes the rows anew
    # and the executor adopts them (every send looks first); until then, finance must know.
    known = {str(row.id) for row in rows}
    for payment in session.scalars(
        select(TuitionPayment).where(TuitionPayment.enrollment_id == claim.enrollment_id)
    ):
        if payment.stripe_payment_intent_id is None:
            continue
        for found in live(gateway.list_refunds(payment.stripe_payment_intent_id)):
            if names_claim(found, claim.id) and found.metadata.get("refund_id") not in known:
                report.unresolved.append(
                    f"claim {claim.id}: the provider holds {found.id}"
                    f" ({describe_money(found.amount_minor, found.currency)}) for refund row"
                    f" {found.metadata.get('refund_id')}, which this database does not have:"
                    " it is older than the send; approve the claim again to adopt it"
                )


def _reconcile_claim(session, gateway, claim_id, now, report, after_restore=False) -> None:
    claim = lock_claim(session, claim_id)
    refunds = list(
        session.scalars(
            select(Refund).where(Refund.claim_id == claim.id).order_by(Refund.id).with_for_update()
        )
    )
    for refund in refunds:
        payment = session.get(TuitionPayment, refund.payment_id)
        if payment.stripe_payment_intent_id is None:
            continue
        at_provider = gateway.list_refunds(payment.stripe_payment_intent_id)
        found = find_adoptable(at_provider, refund)
        if refund.provider_refund_id is None and found is not None:
            # The provider made this row's refund and the row does not know: an interrupted
            # attempt, a lost answer, or a database restored from before the send. The
            # provider's record wins, whatever the row's state and attempts say.
            lease_over = after_restore or refund.lease_until is None or refund.lease_until < now
            if refund.state is RefundState.CANCELED:
                report.unresolved.append(
                    f"refund {refund.id}: {found.id} was made at the provider for a refund the"
                    " service called off: money to recover"
                )
            elif refund.state in ADOPTABLE and (
                refund.state is not RefundState.SUBMITTING or lease_over
            ):
                was = refund.state.value
                adopt(refund, found)
                report.repaired.append(
                    f"refund {refund.id}: adopted {found.id} from the provider (the row said {was})"
                )
        elif refund.provider_refund_id is not None:
            current = next((r for r in at_provider if r.id == refund.provider_refund_id), None)
            if current is None:
                report.unresolved.append(
                    f"refund {refund.id}: {refund.provider_refund_id} not found at the provider"
                )
            elif apply_provider_refund(refund, current):
                report.repaired.append(f"refund {refund.id}: now {refund.state.value}")
        _check_payment(payment, refund, at_provider, report)
        try:
            check_payments([payment], claim.id, gateway)
        except Invalid as mismatch:
            report.unresolved.extend(
                f"claim {claim.id}: {problem}" for problem in mismatch.errors["payments"]
            )
        except Conflict as unreachable:
            report.unresolved.append(f"claim {claim.id}: {unreachable.message}")
    if after_restore:
        _unknown_to_the_database(session, gateway, claim, refunds, report)
    settle_from_refunds(session, claim, actor=ACTOR)


#: Row states a provider refund that names the row is adopted into.
ADOPTABLE = (RefundState.PENDING, RefundState.SUBMITTING, RefundState.FAILED)


def _check_payment(payment, refund, at_provider, report) -> None:
    moved = live(at_provider)
    strangers = [
        r
        for r in moved
        if refund.provider_refund_id is not None
        and names_claim(r, refund.claim_id)
        and r.id != refund.provider_refund_id
    ]
    for stranger in strangers:
        report.unresolved.append(
            f"payment {payment.id}: provider refund {stranger.id} for claim {refund.claim_id}"
            f" is not the one recorded ({refund.provider_refund_id}): a duplicate to recover"
        )
    refunded = sum(r.amount_minor for r in moved)
    if refunded > payment.amount_minor:
        report.unresolved.append(
            f"payment {payment.id}: {refunded} refunded at the provider, more than the"
            f" {payment.amount_minor} paid"
        )
