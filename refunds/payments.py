"""What the payment provider knows about a claim's original payments, asked before money moves.

The provider's record wins over ours: a PaymentIntent that does not match the payment recorded
against it (another amount, another currency, never succeeded) is refused before approval, and
what the provider already gave back on a payment outside any claim (a refund made from its
dashboard) is no longer tuition paid, so it is left out of the amount and its split.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _

from app.errors import Conflict, Invalid
from app.i18n import said_money
from app.models import TuitionPayment
from refunds.gateway import GatewayError, PaymentGateway, ProviderRefund
from refunds.states import REFUND_PROGRESS, RefundState

#: Provider statuses, as refund states.
PROVIDER_STATUS = {
    "succeeded": RefundState.SUCCEEDED,
    "pending": RefundState.PROCESSING,
    "requires_action": RefundState.PROCESSING,
    "failed": RefundState.FAILED,
    "canceled": RefundState.FAILED,
}

#: Provider refund statuses in which no money moved.
DEAD_STATUSES = frozenset({"failed", "canceled"})


def live(refunds: Iterable[ProviderRefund]) -> list[ProviderRefund]:
    """The refunds that moved (or are moving) money."""
    return [refund for refund in refunds if refund.status not in DEAD_STATUSES]


def names_claim(refund: ProviderRefund, claim_id: int) -> bool:
    """Whether a provider refund was made by this service for claim ``claim_id``."""
    return refund.metadata.get("claim_id") == str(claim_id)


@dataclass(frozen=True)
class PaymentAtProvider:
    """One original payment as the provider holds it."""

    payment_id: int
    #: Given back on it at the provider by anyone but this claim (the dashboard, support).
    refunded_elsewhere_minor: int
    #: Given back on it at the provider for this claim.
    refunded_for_claim_minor: int


def check_payments(
    payments: Iterable[TuitionPayment], claim_id: int, provider: PaymentGateway | None
) -> dict[int, PaymentAtProvider]:
    """Each payment made through the provider, checked against its PaymentIntent.

    Raises ``Invalid`` (field ``payments``) when a PaymentIntent does not match the payment
    recorded against it, and ``Conflict`` when the provider cannot be asked. Payments made
    outside the provider (a bank transfer) are taken as recorded.
    """
    found: dict[int, PaymentAtProvider] = {}
    problems: list[str] = []
    for payment in payments:
        intent_id = payment.stripe_payment_intent_id
        if intent_id is None:
            continue
        if provider is None:
            raise Conflict(
                _(
                    "payment %(payment)s was taken through the payment provider (%(intent)s) and"
                    " no provider is configured to check it; approve where STRIPE_API_KEY is set",
                    payment=payment.id,
                    intent=intent_id,
                ),
                "payments",
            )
        try:
            intent = provider.get_payment(intent_id)
            refunds = live(provider.list_refunds(intent_id))
        except GatewayError as error:
            raise Conflict(
                _(
                    "the payment provider could not be asked about %(intent)s (%(error)s); try"
                    " again in a few minutes",
                    intent=intent_id,
                    error=error,
                ),
                "payments",
            ) from error
        recorded = said_money(payment.amount_minor, payment.currency)
        if intent.status != "succeeded":
            problems.append(
                _(
                    "payment %(payment)s: %(intent)s is %(status)s at the provider, not"
                    " succeeded: no money came in through it",
                    payment=payment.id,
                    intent=intent_id,
                    status=intent.status or "unknown",
                )
            )
        elif intent.currency != payment.currency:
            problems.append(
                _(
                    "payment %(payment)s: recorded as %(recorded)s but %(intent)s was charged in"
                    " %(currency)s",
                    payment=payment.id,
                    recorded=recorded,
                    intent=intent_id,
                    currency=intent.currency,
                )
            )
        elif intent.amount_minor != payment.amount_minor:
            problems.append(
                _(
                    "payment %(payment)s: recorded as %(recorded)s but %(intent)s charged"
                    " %(charged)s",
                    payment=payment.id,
                    recorded=recorded,
                    intent=intent_id,
                    charged=said_money(intent.amount_minor, intent.currency),
                )
            )
        found[payment.id] = PaymentAtProvider(
            payment_id=payment.id,
            refunded_elsewhere_minor=sum(
                r.amount_minor for r in refunds if not names_claim(r, claim_id)
            ),
            refunded_for_claim_minor=sum(
                r.amount_minor for r in refunds if names_claim(r, claim_id)
            ),
        )
    if problems:
        raise Invalid({"payments": problems})
    return found


def find_adoptable(refunds: Iterable[ProviderRefund], row) -> ProviderRefund | None:
    """The provider refund made for our refund ``row``, if there is one.

    ``refunds`` are the provider's refunds of the row's PaymentIntent; ``row`` is anything with
    ``claim_id`` and ``refund_id`` (or ``id``). One naming the row itself comes first. A failed
    or canceled earlier attempt does not count: that money never moved.
    """
    row_id = str(getattr(row, "refund_id", None) or row.id)
    # ``refunds`` are one PaymentIntent's, and a claim has one row per payment: a refund that
    # names the claim is the row's, even if a restore gave the row another id.
    mine = [refund for refund in live(refunds) if names_claim(refund, row.claim_id)]
    mine.sort(key=lambda refund: refund.metadata.get("refund_id") != row_id)
    return mine[0] if mine else None


def apply_provider_refund(refund, provider: ProviderRefund) -> bool:
    """Move ``refund`` forward to what the provider says; never backwards. True if it changed.

    A refund reported succeeded may still fail later (card refunds do): that is the one move
    "back" allowed, and it reopens the claim.
    """
    if refund.provider_refund_id not in (None, provider.id):
        raise ValueError(
            f"refund {refund.id} is {refund.provider_refund_id} at the provider, not {provider.id}"
        )
    target = PROVIDER_STATUS.get(provider.status, RefundState.PROCESSING)
    refund.provider_refund_id = provider.id
    if target is refund.state or REFUND_PROGRESS[target] < REFUND_PROGRESS[refund.state]:
        return False
    if refund.state in (RefundState.FAILED, RefundState.CANCELED, RefundState.SETTLED_MANUALLY):
        return False
    refund.state = target
    refund.lease_until = None
    if target is RefundState.FAILED:
        refund.last_error = f"the provider reports the refund {provider.status}" + (
            f" ({provider.failure_reason})" if provider.failure_reason else ""
        )
    return True


def adopt(refund, provider: ProviderRefund) -> None:
    """Make ``provider`` the row's refund, whatever the row said: the provider's record wins.

    For a row recorded as failed, pending or submitting (a success whose answer was lost, a
    send before a restore). The amount is the provider's, since that is what moved.
    """
    refund.provider_refund_id = provider.id
    refund.state = PROVIDER_STATUS.get(provider.status, RefundState.PROCESSING)
    refund.amount_minor = provider.amount_minor
    refund.lease_until = None
    refund.next_attempt_at = None
    refund.last_error = None
