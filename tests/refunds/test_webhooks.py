"""``POST /stripe/webhook``: verified, handled once, forward only, whatever the order."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import count

import pytest
import stripe
from sqlalchemy import func, select

from refunds.executor import execute_refunds
from refunds.models import ProcessedWebhookEvent, Refund, RefundClaim
from refunds.states import ClaimState, RefundState

SECRET = "whsec_test_secret"
_event_ids = count(1)


class ProviderSays:
    """The real gateway, except that chosen refunds report a chosen status.

    localstripe cannot make a refund fail later, as card refunds sometimes do at Stripe; this
    is the one thing the tests pretend.
    """

    def __init__(self, real):
        self.real = real
        self.status: dict[str, str] = {}

    def _as_told(self, refund):
        return (
            replace(refund, status=self.status[refund.id]) if refund.id in self.status else refund
        )

    def create_refund(self, **kwargs):
        return self._as_told(self.real.create_refund(**kwargs))

    def list_refunds(self, payment_intent_id):
        return [self._as_told(refund) for refund in self.real.list_refunds(payment_intent_id)]

    def get_refund(self, refund_id):
        return self._as_told(self.real.get_refund(refund_id))

    def get_payment(self, payment_intent_id):

        return self.real.get_payment(payment_intent_id)


@pytest.fixture
def provider(app, gateway) -> ProviderSays:
    provider = ProviderSays(gateway)
    app.config["STRIPE_WEBHOOK_SECRET"] = SECRET
    app.extensions["payment_gateway"] = provider
    return provider


def event(event_type: str, obj: dict, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_test_{next(_event_ids)}",
        "object": "event",
        "type": event_type,
        "data": {"object": obj},
    }


def deliver(client, payload: dict | str, secret: str = SECRET, signature: str | None = None):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    header = signature or stripe.WebhookSignature.generate_signature_header(body, secret)
    return client.post(
        "/stripe/webhook",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


def processed(session) -> int:
    return session.scalar(select(func.count()).select_from(ProcessedWebhookEvent))


def state_of(session, model, key):
    session.expire_all()
    return session.get(model, key).state


def test_webhook_without_a_signature_is_400_and_records_nothing(client, session, provider):
    response = client.post("/stripe/webhook", json=event("refund.updated", {"id": "re_x"}))
    assert response.status_code == 400
    assert "Stripe-Signature" in response.json["message"]
    assert processed(session) == 0


@pytest.mark.parametrize(
    "signature",
    ["t=1,v1=deadbeef", "garbage", "v1=abc"],
)
def test_webhook_with_a_wrong_signature_is_400(client, session, provider, signature):
    response = deliver(client, event("refund.updated", {"id": "re_x"}), signature=signature)
    assert response.status_code == 400
    assert processed(session) == 0


def test_webhook_signed_with_another_secret_is_400(client, session, provider):
    response = deliver(client, event("refund.updated", {"id": "re_x"}), secret="whsec_other")
    assert response.status_code == 400


@pytest.mark.parametrize("body", ["{not json", "[]", '{"id": 1, "type": "refund.updated"}', "{}"])
def test_webhook_with_a_signed_but_malformed_body_is_400(client, session, provider, body):
    assert deliver(client, body).status_code == 400
    assert processed(session) == 0


def test_webhook_with_an_event_id_too_long_to_record_is_400(client, session, provider):
    response = deliver(client, event("refund.updated", {"id": "re_x"}, event_id="evt_" + "x" * 300))
    assert response.status_code == 400
    assert processed(session) == 0


UNUSABLE = {
    "no object id": (event("refund.updated", {"object": "refund"}), "data.object.id is missing"),
    "object id not a string": (event("refund.failed", {"id": 42}), "data.object.id is missing"),
    "data a string": (
        {"id": "evt_data_string", "type": "refund.updated", "data": "re_123"},
        "data.object is missing",
    ),
    "no data": ({"id": "evt_no_data", "type": "charge.refunded"}, "data.object is missing"),
    "payment intent not an id": (
        event("charge.refunded", {"id": "ch_x", "payment_intent": 7}),
        "payment_intent is not an id",
    ),
    "refund the provider does not know": (
        event("refund.updated", {"id": "re_nobody_made_this"}),
        "the provider refused 're_nobody_made_this'",
    ),
}


@pytest.mark.parametrize("news, reason", UNUSABLE.values(), ids=UNUSABLE.keys())
def test_a_signed_event_the_service_cannot_use_is_recorded_and_acknowledged_with_its_reason(
    client, session, provider, caplog, news, reason
):
    response = deliver(client, news)

    assert response.status_code == 200, response.json
    assert response.json["outcome"].startswith("unusable: ")
    assert reason in response.json["outcome"]
    [record] = session.scalars(select(ProcessedWebhookEvent))
    assert (record.event_id, record.outcome) == (news["id"], response.json["outcome"])
    assert f"webhook event {news['id']}" in caplog.text and reason in caplog.text
    # Delivered again, it is a duplicate: nothing more is done.
    again = deliver(client, news)
    assert again.status_code == 200
    assert again.json["outcome"] == "duplicate: already handled"
    assert processed(session) == 1


def test_webhook_before_the_executor_recorded_the_refund_adopts_it(
    client, session, session_factory, provider, approved_claim, stripe_proxy, localstripe_client
):
    # The provider made the refund but the executor never heard back (and has not retried):
    # the webhook finds our row through the refund's metadata.
    claim_id = approved_claim((300_000,))
    stripe_proxy.drop_response("POST", "/v1/refunds")
    execute_refunds(session_factory, provider)
    [row] = session.scalars(select(Refund).where(Refund.claim_id == claim_id))
    intent = row.payment.stripe_payment_intent_id
    [made] = localstripe_client.v1.refunds.list(params={"payment_intent": intent}).data

    response = deliver(client, event("refund.created", {"id": made.id, "object": "refund"}))

    assert response.status_code == 200, response.json
    session.expire_all()
    row = session.get(Refund, row.id)
    assert (row.provider_refund_id, row.state) == (made.id, RefundState.SUCCEEDED)
    assert state_of(session, RefundClaim, claim_id) is ClaimState.REFUNDED
    # The executor's retry then finds nothing left to do.
    assert execute_refunds(session_factory, provider).sent == 0
    assert len(localstripe_client.v1.refunds.list(params={"payment_intent": intent}).data) == 1


def test_the_same_event_delivered_twice_is_handled_once(
    client, session, session_factory, provider, approved_claim
):
    claim_id = approved_claim((300_000,))
    execute_refunds(session_factory, provider)
    [row] = session.scalars(select(Refund).where(Refund.claim_id == claim_id))
    twice = event("refund.updated", {"id": row.provider_refund_id, "object": "refund"})

    first, second = deliver(client, twice), deliver(client, twice)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json["outcome"].startswith("duplicate")
    assert processed(session) == 1


def test_a_refund_that_fails_later_reopens_the_claim_and_old_news_does_not_undo_it(
    client, session, session_factory, provider, approved_claim
):
    claim_id = approved_claim((300_000,))
    execute_refunds(session_factory, provider)
    [row] = session.scalars(select(Refund).where(Refund.claim_id == claim_id))
    assert state_of(session, RefundClaim, claim_id) is ClaimState.REFUNDED

    provider.status[row.provider_refund_id] = "failed"
    failed = deliver(client, event("refund.failed", {"id": row.provider_refund_id}))

    assert failed.status_code == 200
    assert state_of(session, Refund, row.id) is RefundState.FAILED
    assert state_of(session, RefundClaim, claim_id) is ClaimState.FAILED

    # An older event arrives late, and the provider is (wrongly) still caching "pending":
    # nothing moves backwards.
    provider.status[row.provider_refund_id] = "pending"
    late = deliver(client, event("refund.created", {"id": row.provider_refund_id}))

    assert late.status_code == 200
    assert state_of(session, Refund, row.id) is RefundState.FAILED
    assert state_of(session, RefundClaim, claim_id) is ClaimState.FAILED


def test_out_of_order_events_settle_on_what_the_provider_says_now(
    client, session, session_factory, provider, approved_claim
):
    claim_id = approved_claim((300_000,))
    execute_refunds(session_factory, provider)
    [row] = session.scalars(select(Refund).where(Refund.claim_id == claim_id))
    # "updated" (succeeded) is delivered before "created"; each is checked with the provider.
    for kind in ("refund.updated", "refund.created"):
        assert deliver(client, event(kind, {"id": row.provider_refund_id})).status_code == 200
    assert state_of(session, Refund, row.id) is RefundState.SUCCEEDED
    assert state_of(session, RefundClaim, claim_id) is ClaimState.REFUNDED


def test_charge_refunded_event_refreshes_the_refunds_of_its_payment_intent(
    client, session, session_factory, provider, approved_claim, stripe_proxy
):
    claim_id = approved_claim((300_000,))
    stripe_proxy.drop_response("POST", "/v1/refunds")
    execute_refunds(session_factory, provider)
    [row] = session.scalars(select(Refund).where(Refund.claim_id == claim_id))
    intent = row.payment.stripe_payment_intent_id

    response = deliver(client, event("charge.refunded", {"id": "ch_x", "payment_intent": intent}))

    assert response.status_code == 200
    assert state_of(session, Refund, row.id) is RefundState.SUCCEEDED


def test_a_webhook_for_a_refund_we_do_not_know_is_left_for_reconciliation(
    client, session, provider, localstripe_client
):
    from tests.stripe_harness import paid_payment_intent

    intent = paid_payment_intent(localstripe_client, 5_000)
    stranger = localstripe_client.v1.refunds.create(
        params={"payment_intent": intent, "amount": 100}
    )

    response = deliver(client, event("refund.created", {"id": stranger.id}))

    assert response.status_code == 200
    assert "reconciliation" in response.json["outcome"]
    assert processed(session) == 1


def test_a_provider_outage_while_handling_is_503_and_the_redelivery_is_handled(
    client, session, session_factory, provider, approved_claim, stripe_proxy
):
    claim_id = approved_claim((300_000,))
    execute_refunds(session_factory, provider)
    [row] = session.scalars(select(Refund).where(Refund.claim_id == claim_id))
    news = event("refund.updated", {"id": row.provider_refund_id})
    stripe_proxy.server_error("GET", "/v1/refunds/", times=None)

    outage = deliver(client, news)

    assert outage.status_code == 503
    assert processed(session) == 0  # not recorded, so Stripe's redelivery is handled
    stripe_proxy.reset()
    assert deliver(client, news).status_code == 200
    assert processed(session) == 1


def test_an_event_type_we_do_not_handle_is_acknowledged(client, session, provider):
    response = deliver(client, event("customer.created", {"id": "cus_1"}))
    assert response.status_code == 200
    assert response.json["outcome"].startswith("ignored")


def test_webhooks_are_refused_when_no_secret_is_configured(app, client, provider):
    app.config["STRIPE_WEBHOOK_SECRET"] = None
    assert deliver(client, event("refund.updated", {"id": "re_x"})).status_code == 503
