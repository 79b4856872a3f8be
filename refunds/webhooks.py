"""Provider webhooks: each event handled once, refunds moved forward only.

The event is only a nudge: the refund is fetched again from the provider, so a late, repeated
or out-of-order delivery can never move a refund backwards.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from refunds.claims import lock_claim, lock_refund, settle_from_refunds
from refunds.gateway import PaymentGateway, ProviderRefund
from refunds.models import ProcessedWebhookEvent, Refund
from refunds.payments import apply_provider_refund

log = logging.getLogger(__name__)

ACTOR = "system:webhook"

REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed"})


def handle_event(session: Session, gateway: PaymentGateway, event: dict) -> str:
    """Handle one verified event; returns what was done. The caller commits.

    A transient provider error propagates, so nothing is recorded and the provider's own
    retry delivers the event again.
    """
    event_id, event_type = event["id"], event["type"]
    if session.get(ProcessedWebhookEvent, event_id) is not None:
        return "duplicate: already handled"
    obj = event.get("data", {}).get("object", {})
    if event_type in REFUND_EVENTS:
        outcome = _refresh_refund(session, gateway, gateway.get_refund(obj["id"]))
    elif event_type == "charge.refunded":
        payment_intent = obj.get("payment_intent")
        if isinstance(payment_intent, dict):
            payment_intent = payment_intent.get("id")
        outcomes = [
            _refresh_refund(session, gateway, refund)
            for refund in (gateway.list_refunds(payment_intent) if payment_intent else [])
        ]
        outcome = "; ".join(outcomes) or "no refunds on that charge"
    else:
        outcome = "ignored: not an event this service handles"
    try:
        with session.begin_nested():
            session.add(
                ProcessedWebhookEvent(event_id=event_id, event_type=event_type, outcome=outcome)
            )
    except IntegrityError:
        # The same event delivered twice at once: the other delivery recorded it first.
        return "duplicate: handled concurrently"
    return outcome


def _refresh_refund(session: Session, gateway: PaymentGateway, provider: ProviderRefund) -> str:
    refund = session.scalar(select(Refund).where(Refund.provider_refund_id == provider.id))
    if refund is None:
        # The executor may not have recorded the provider's answer yet: the metadata names
        # our row, so adopt it now; the executor finds it settled when it records.
        row_id = provider.metadata.get("refund_id", "")
        refund = session.get(Refund, int(row_id)) if row_id.isdigit() else None
        if refund is None or refund.provider_refund_id not in (None, provider.id):
            log.warning("webhook for unknown refund %s", provider.id)
            return f"unknown refund {provider.id}: left for reconciliation"
    claim = lock_claim(session, refund.claim_id)
    refund = lock_refund(session, refund.id)
    if refund.provider_refund_id not in (None, provider.id):
        return f"refund {refund.id} is another provider refund; left for reconciliation"
    changed = apply_provider_refund(refund, provider)
    settle_from_refunds(session, claim, actor=ACTOR)
    return f"refund {refund.id} {'now ' if changed else 'still '}{refund.state.value}"
