"""The Stripe test harness itself: localstripe, the fault-injecting proxy, the SDK helpers.

Every call goes through the real ``stripe`` SDK. Clients that meet a fault keep short timeouts
so the file runs in seconds.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import stripe

from tests.stripe_harness import paid_payment_intent


@pytest.fixture
def proxied_client(stripe_client_factory, stripe_proxy):
    """A client through the proxy that does not retry."""
    return stripe_client_factory(stripe_proxy.url, timeout=2.0)


@pytest.fixture
def payment_intent(localstripe_client) -> str:
    return paid_payment_intent(localstripe_client, 120_000)


def refunds_in_localstripe(client: stripe.StripeClient, payment_intent: str) -> list[str]:
    listed = client.v1.refunds.list(params={"payment_intent": payment_intent})
    return [refund.id for refund in listed.data]


def new_key() -> str:
    return f"refund-{uuid.uuid4()}"


# -- localstripe ------------------------------------------------------------------------------


def test_paid_payment_intent_is_a_succeeded_charge_in_localstripe(localstripe_client):
    intent_id = paid_payment_intent(localstripe_client, 450_00, currency="usd")

    intent = localstripe_client.v1.payment_intents.retrieve(intent_id)
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 450_00, "usd")
    assert intent.customer


def test_paid_payment_intent_uses_the_given_customer(localstripe_client):
    customer = localstripe_client.v1.customers.create(params={"email": "sponsor@example.com"})

    intent_id = paid_payment_intent(localstripe_client, 100, customer=customer.id)

    assert localstripe_client.v1.payment_intents.retrieve(intent_id).customer == customer.id


def test_localstripe_keeps_its_state_in_a_private_file(localstripe_server, localstripe_client):
    localstripe_client.v1.customers.create(params={"email": "graduate@example.com"})

    assert localstripe_server.state_file.stat().st_size > 0
    assert localstripe_server.state_file.is_relative_to(localstripe_server.workdir)


# -- forwarding and recording ----------------------------------------------------------------


def test_refund_through_the_proxy_succeeds_and_records_the_idempotency_key(
    proxied_client, stripe_proxy, localstripe_client, payment_intent
):
    key = new_key()

    refund = proxied_client.v1.refunds.create(
        params={"payment_intent": payment_intent, "amount": 30_000},
        options={"idempotency_key": key},
    )

    assert (refund.status, refund.amount) == ("succeeded", 30_000)
    assert refunds_in_localstripe(localstripe_client, payment_intent) == [refund.id]
    [request] = stripe_proxy.requests_to("POST", "/v1/refunds")
    assert request.idempotency_key == key
    assert request.header("authorization").startswith("Bearer sk_test_")
    assert request.params["payment_intent"] == [payment_intent]
    assert request.outcome == "forwarded"


def test_proxy_counts_requests_by_method_and_path_prefix(proxied_client, stripe_proxy):
    customer = proxied_client.v1.customers.create(params={"email": "graduate@example.com"})
    proxied_client.v1.customers.retrieve(customer.id)
    proxied_client.v1.customers.list(params={"limit": 1})

    assert stripe_proxy.count("POST", "/v1/customers") == 1
    assert stripe_proxy.count("GET", "/v1/customers") == 2
    assert stripe_proxy.count("GET", f"/v1/customers/{customer.id}") == 1
    assert stripe_proxy.count("POST", "/v1/refunds") == 0


def test_fault_leaves_other_methods_and_paths_alone(proxied_client, stripe_proxy):
    stripe_proxy.server_error("POST", "/v1/refunds")
    proxied_client.v1.customers.create(params={"email": "graduate@example.com"})
    proxied_client.v1.refunds.list()

    assert [f.hits for f in stripe_proxy.unused_faults()] == [0]
    stripe_proxy.reset()  # the unused fault is the point here


# -- injected errors -------------------------------------------------------------------------


def test_injected_server_error_becomes_api_error_and_reaches_no_one(
    proxied_client, stripe_proxy, localstripe_client, payment_intent
):
    stripe_proxy.server_error("POST", "/v1/refunds")

    with pytest.raises(stripe.APIError) as raised:
        proxied_client.v1.refunds.create(params={"payment_intent": payment_intent})

    assert raised.value.http_status == 500
    assert refunds_in_localstripe(localstripe_client, payment_intent) == []
    assert [r.outcome for r in stripe_proxy.requests] == ["injected 500"]


def test_sdk_retries_a_server_error_with_the_same_idempotency_key(
    stripe_client_factory, stripe_proxy, localstripe_client, payment_intent
):
    client = stripe_client_factory(stripe_proxy.url, max_network_retries=2, timeout=2.0)
    stripe_proxy.server_error("POST", "/v1/refunds", times=1)

    refund = client.v1.refunds.create(params={"payment_intent": payment_intent})

    first, second = stripe_proxy.requests_to("POST", "/v1/refunds")
    assert (first.outcome, second.outcome) == ("injected 500", "forwarded")
    assert first.idempotency_key and first.idempotency_key == second.idempotency_key
    assert refunds_in_localstripe(localstripe_client, payment_intent) == [refund.id]


def test_server_error_with_should_retry_false_is_not_retried(
    stripe_client_factory, stripe_proxy, payment_intent
):
    client = stripe_client_factory(stripe_proxy.url, max_network_retries=2, timeout=2.0)
    stripe_proxy.server_error("POST", "/v1/refunds", should_retry=False)

    with pytest.raises(stripe.APIError):
        client.v1.refunds.create(params={"payment_intent": payment_intent})

    assert stripe_proxy.count("POST", "/v1/refunds") == 1


def test_rate_limit_becomes_rate_limit_error_and_is_not_retried(
    stripe_client_factory, stripe_proxy, payment_intent
):
    client = stripe_client_factory(stripe_proxy.url, max_network_retries=2, timeout=2.0)
    stripe_proxy.rate_limit("POST", "/v1/refunds")

    with pytest.raises(stripe.RateLimitError) as raised:
        client.v1.refunds.create(params={"payment_intent": payment_intent})

    assert raised.value.http_status == 429
    assert raised.value.json_body["error"]["code"] == "rate_limit"
    assert stripe_proxy.count("POST", "/v1/refunds") == 1


def test_rate_limit_with_should_retry_true_is_retried(
    stripe_client_factory, stripe_proxy, payment_intent
):
    client = stripe_client_factory(stripe_proxy.url, max_network_retries=2, timeout=2.0)
    stripe_proxy.rate_limit("POST", "/v1/refunds", should_retry=True)

    client.v1.refunds.create(params={"payment_intent": payment_intent})

    outcomes = [r.outcome for r in stripe_proxy.requests_to("POST", "/v1/refunds")]
    assert outcomes == ["injected 429", "forwarded"]


def test_fault_without_a_count_applies_to_every_matching_request(
    stripe_client_factory, stripe_proxy, payment_intent
):
    client = stripe_client_factory(stripe_proxy.url, max_network_retries=1, timeout=2.0)
    fault = stripe_proxy.server_error("POST", "/v1/refunds", status=503, times=None)

    with pytest.raises(stripe.APIError) as raised:
        client.v1.refunds.create(params={"payment_intent": payment_intent})

    assert raised.value.http_status == 503
    assert fault.hits == 2


# -- lost responses and timeouts -------------------------------------------------------------


def test_dropped_response_leaves_the_refund_made_and_the_client_without_an_answer(
    proxied_client, stripe_proxy, localstripe_client, payment_intent
):
    stripe_proxy.drop_response("POST", "/v1/refunds")

    with pytest.raises(stripe.APIConnectionError):
        proxied_client.v1.refunds.create(params={"payment_intent": payment_intent})

    assert len(refunds_in_localstripe(localstripe_client, payment_intent)) == 1
    assert [r.outcome for r in stripe_proxy.requests] == ["dropped"]


def test_stall_past_the_client_timeout_becomes_api_connection_error(
    stripe_client_factory, stripe_proxy, localstripe_client, payment_intent
):
    client = stripe_client_factory(stripe_proxy.url, timeout=0.3)
    stripe_proxy.stall("POST", "/v1/refunds", seconds=5)

    with pytest.raises(stripe.APIConnectionError):
        client.v1.refunds.create(params={"payment_intent": payment_intent})

    assert refunds_in_localstripe(localstripe_client, payment_intent) == []


def test_forwarded_stall_times_out_after_the_refund_was_made(
    stripe_client_factory, stripe_proxy, localstripe_client, payment_intent
):
    client = stripe_client_factory(stripe_proxy.url, timeout=0.3)
    stripe_proxy.stall("POST", "/v1/refunds", seconds=5, forward=True)

    with pytest.raises(stripe.APIConnectionError):
        client.v1.refunds.create(params={"payment_intent": payment_intent})

    assert len(refunds_in_localstripe(localstripe_client, payment_intent)) == 1


# -- idempotent replay -----------------------------------------------------------------------


def test_localstripe_alone_ignores_idempotency_keys(
    proxied_client, localstripe_client, payment_intent
):
    key = new_key()
    params = {"payment_intent": payment_intent, "amount": 1_000}

    first = proxied_client.v1.refunds.create(params=params, options={"idempotency_key": key})
    second = proxied_client.v1.refunds.create(params=params, options={"idempotency_key": key})

    assert first.id != second.id
    assert len(refunds_in_localstripe(localstripe_client, payment_intent)) == 2


def test_replay_mode_returns_the_same_refund_for_a_repeated_key(
    proxied_client, stripe_proxy, localstripe_client, payment_intent
):
    stripe_proxy.replay_idempotent_requests()
    key = new_key()
    params = {"payment_intent": payment_intent, "amount": 1_000}

    first = proxied_client.v1.refunds.create(params=params, options={"idempotency_key": key})
    second = proxied_client.v1.refunds.create(params=params, options={"idempotency_key": key})

    assert second.id == first.id
    assert refunds_in_localstripe(localstripe_client, payment_intent) == [first.id]
    replayed = stripe_proxy.requests_to("POST", "/v1/refunds")[1]
    assert replayed.outcome == "replayed"


def test_replay_mode_answers_a_retry_after_a_dropped_response_with_the_refund_made(
    stripe_client_factory, stripe_proxy, localstripe_client, payment_intent
):
    client = stripe_client_factory(stripe_proxy.url, max_network_retries=1, timeout=2.0)
    stripe_proxy.replay_idempotent_requests()
    stripe_proxy.drop_response("POST", "/v1/refunds")

    refund = client.v1.refunds.create(params={"payment_intent": payment_intent})

    assert refunds_in_localstripe(localstripe_client, payment_intent) == [refund.id]
    outcomes = [r.outcome for r in stripe_proxy.requests_to("POST", "/v1/refunds")]
    assert outcomes == ["dropped", "replayed"]


def test_replay_mode_forgets_a_key_after_24_hours(
    proxied_client, stripe_proxy, localstripe_client, payment_intent
):
    stripe_proxy.replay_idempotent_requests()
    key = new_key()
    params = {"payment_intent": payment_intent, "amount": 1_000}

    first = proxied_client.v1.refunds.create(params=params, options={"idempotency_key": key})
    stripe_proxy.advance_clock(timedelta(hours=23, minutes=59))
    again = proxied_client.v1.refunds.create(params=params, options={"idempotency_key": key})
    stripe_proxy.advance_clock(timedelta(minutes=1))
    later = proxied_client.v1.refunds.create(params=params, options={"idempotency_key": key})

    assert again.id == first.id
    assert later.id != first.id
    assert len(refunds_in_localstripe(localstripe_client, payment_intent)) == 2


def test_replay_mode_refuses_a_key_reused_with_other_parameters(
    proxied_client, stripe_proxy, payment_intent
):
    stripe_proxy.replay_idempotent_requests()
    key = new_key()
    proxied_client.v1.refunds.create(
        params={"payment_intent": payment_intent, "amount": 1_000},
        options={"idempotency_key": key},
    )

    with pytest.raises(stripe.IdempotencyError):
        proxied_client.v1.refunds.create(
            params={"payment_intent": payment_intent, "amount": 2_000},
            options={"idempotency_key": key},
        )


def test_replay_mode_does_not_store_an_injected_fault(
    stripe_client_factory, stripe_proxy, localstripe_client, payment_intent
):
    client = stripe_client_factory(stripe_proxy.url, max_network_retries=1, timeout=2.0)
    stripe_proxy.replay_idempotent_requests()
    stripe_proxy.server_error("POST", "/v1/refunds")

    refund = client.v1.refunds.create(params={"payment_intent": payment_intent})

    assert refund.status == "succeeded"
    assert refunds_in_localstripe(localstripe_client, payment_intent) == [refund.id]
