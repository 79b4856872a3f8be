"""The Stripe adapter of the payment gateway, on the official SDK's ``StripeClient``."""

from __future__ import annotations

import stripe

from refunds.gateway import (
    PermanentGatewayError,
    ProviderPayment,
    ProviderRefund,
    TransientGatewayError,
)

#: How often the SDK itself retries a failed request (connection errors, 409 and 5xx) with the
#: same idempotency key before the executor's own backoff takes over.
SDK_NETWORK_RETRIES = 2


def make_stripe_client(
    api_key: str, api_base: str | None = None, timeout: float = 20.0
) -> stripe.StripeClient:
    """A ``StripeClient``; ``api_base`` points it at a local Stripe-compatible server."""
    options = {}
    if api_base:
        options["base_addresses"] = {"api": api_base}
    return stripe.StripeClient(
        api_key,
        max_network_retries=SDK_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=timeout),
        **options,
    )


def _refund(obj) -> ProviderRefund:
    data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    payment_intent = data.get("payment_intent")
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id")
    return ProviderRefund(
        id=data["id"],
        payment_intent_id=payment_intent or "",
        amount_minor=int(data["amount"]),
        currency=str(data.get("currency", "")).upper(),
        status=data.get("status") or "pending",
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        failure_reason=data.get("failure_reason"),
    )


def _translate(error: stripe.StripeError) -> Exception:
    # Connection problems, rate limits and server errors may pass; anything else is the
    # request's own fault (a refused refund, a too-old charge, a bad key) and will not.
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return TransientGatewayError(str(error))
    if isinstance(error, stripe.APIError) or (error.http_status or 0) >= 500:
        return TransientGatewayError(str(error))
    if error.http_status == 409:  # an idempotent request still in flight at Stripe
        return TransientGatewayError(str(error))
    return PermanentGatewayError(f"{type(error).__name__}: {error.user_message or error}")


class StripeGateway:
    """Refunds through Stripe.

    Reads are retried by the SDK. Creates are not (``create_retries=0``): the executor retries
    them itself, listing the PaymentIntent's refunds first, which stays safe even where the
    provider ignores idempotency keys (or has forgotten them, after 24 hours).
    """

    def __init__(self, client: stripe.StripeClient, *, create_retries: int = 0):
        self.client = client
        self.create_retries = create_retries

    def create_refund(
        self,
        *,
        payment_intent_id: str,
        amount_minor: int,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> ProviderRefund:
        try:
            refund = self.client.v1.refunds.create(
                params={
                    "payment_intent": payment_intent_id,
                    "amount": amount_minor,
                    "metadata": metadata,
                },
                options={
                    "idempotency_key": idempotency_key,
                    "max_network_retries": self.create_retries,
                },
            )
        except stripe.StripeError as error:
            raise _translate(error) from error
        return _refund(refund)

    def list_refunds(self, payment_intent_id: str) -> list[ProviderRefund]:
        try:
            page = self.client.v1.refunds.list(
                params={"payment_intent": payment_intent_id, "limit": 100}
            )
            return [_refund(refund) for refund in page.auto_paging_iter()]
        except stripe.StripeError as error:
            raise _translate(error) from error

    def get_refund(self, refund_id: str) -> ProviderRefund:
        try:
            return _refund(self.client.v1.refunds.retrieve(refund_id))
        except stripe.StripeError as error:
            raise _translate(error) from error

    def get_payment(self, payment_intent_id: str) -> ProviderPayment:
        try:
            intent = self.client.v1.payment_intents.retrieve(payment_intent_id)
        except stripe.StripeError as error:
            raise _translate(error) from error
        data = intent.to_dict() if hasattr(intent, "to_dict") else dict(intent)
        return ProviderPayment(
            id=data["id"],
            amount_minor=int(data.get("amount_received") or data["amount"]),
            currency=str(data.get("currency", "")).upper(),
            status=data.get("status") or "",
        )
