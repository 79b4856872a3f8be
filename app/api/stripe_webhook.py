"""``POST /stripe/webhook``: Stripe's events about refunds, verified and handled once each."""

from __future__ import annotations

import json

import stripe
from flask import Blueprint, current_app, request

from app.database import db_session
from refunds.gateway import TransientGatewayError
from refunds.provider import payment_gateway
from refunds.webhooks import handle_event

blueprint = Blueprint("stripe_webhook", __name__)


@blueprint.post("/stripe/webhook")
def stripe_webhook():
    """400 without a valid Stripe-Signature or without an event id and type; 200 once handled
    (a repeat, or an event the service cannot use, is a 200 recorded with its reason); 503
    while the provider cannot be reached, so that the event is delivered again."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    signature = request.headers.get("Stripe-Signature")
    if not secret:
        return {
            "code": 503,
            "status": "Service Unavailable",
            "message": "webhooks are not configured",
        }, 503
    if not signature:
        return {
            "code": 400,
            "status": "Bad Request",
            "message": "missing Stripe-Signature header",
        }, 400
    payload = request.get_data(as_text=True)
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance=300)
        event = json.loads(payload)
        event_id, event_type = event["id"], event["type"]
        if not isinstance(event_id, str) or not isinstance(event_type, str):
            raise ValueError("event id and type are strings")
        if not 0 < len(event_id) <= 255 or not 0 < len(event_type) <= 100:
            raise ValueError("event id (at most 255 characters) and type (100) are not empty")
    except (stripe.SignatureVerificationError, ValueError, KeyError, TypeError) as error:
        return {"code": 400, "status": "Bad Request", "message": f"invalid event: {error}"}, 400
    session = db_session()
    try:
        outcome = handle_event(session, payment_gateway(), event)
    except TransientGatewayError as error:
        session.rollback()
        # Not recorded: Stripe delivers the event again later.
        return {"code": 503, "status": "Service Unavailable", "message": str(error)}, 503
    session.commit()
    return {"received": event_id, "outcome": outcome}
