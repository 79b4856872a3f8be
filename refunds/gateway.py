"""The payment provider, as the refund code sees it: a small interface any provider can fill.

``refunds.stripe_gateway.StripeGateway`` is the real one; tests may use a fake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ProviderRefund:
    """A refund as the provider reports it."""

    id: str
    payment_intent_id: str
    amount_minor: int
    currency: str
    #: The provider's status: pending, requires_action, succeeded, failed or canceled.
    status: str
    metadata: dict[str, str] = field(default_factory=dict)
    failure_reason: str | None = None


@dataclass(frozen=True)
class ProviderPayment:
    """An original payment (a PaymentIntent) as the provider reports it."""

    id: str
    #: What was charged, in minor units of ``currency``.
    amount_minor: int
    currency: str
    #: The provider's status; only ``succeeded`` brought money in.
    status: str


class GatewayError(Exception):
    """The provider could not do what was asked."""


class TransientGatewayError(GatewayError):
    """Worth trying again later: the network, a timeout, a 5xx, rate limiting."""


class PermanentGatewayError(GatewayError):
    """Trying again will not help: the request itself was refused."""


class PaymentGateway(Protocol):
    """What the refund executor, the webhook handler and the reconciliation need."""

    def create_refund(
        self,
        *,
        payment_intent_id: str,
        amount_minor: int,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> ProviderRefund:
        """Refund ``amount_minor`` of a PaymentIntent; the same key makes the same refund."""

    def list_refunds(self, payment_intent_id: str) -> list[ProviderRefund]:
        """Every refund of a PaymentIntent."""

    def get_refund(self, refund_id: str) -> ProviderRefund:
        """One refund, as it stands now."""

    def get_payment(self, payment_intent_id: str) -> ProviderPayment:
        """The original payment, as the provider holds it."""
