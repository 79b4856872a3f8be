"""The executor pays each approved refund exactly once through the real Stripe SDK, whatever
fails: the network, the provider, or the executor itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import TuitionPayment
from app.models.base import utc_now
from refunds import claims
from refunds.executor import LEASE, execute_refunds
from refunds.models import Refund, RefundClaim
from refunds.states import ClaimState, RefundState
from refunds.stripe_gateway import StripeGateway
from tests.refunds.conftest import provider_refunds


class Crash(Exception):
    """Stands for the executor process dying at a chosen point."""


class CrashingGateway:
    """The real gateway, with the executor 'dying' just before or just after the create call."""

    def __init__(self, real: StripeGateway, *, when: str):
        self.real = real
        self.when = when

    def create_refund(self, **kwargs):
        if self.when == "before":
            raise Crash("died before calling the provider")
        refund = self.real.create_refund(**kwargs)
        raise Crash(f"died after the provider made {refund.id}, before recording it")

    def list_refunds(self, payment_intent_id):
        return self.real.list_refunds(payment_intent_id)

    def get_refund(self, refund_id):
        return self.real.get_refund(refund_id)

    def get_payment(self, payment_intent_id):

        return self.real.get_payment(payment_intent_id)


def later(minutes: float):
    moment = utc_now() + timedelta(minutes=minutes)
    return lambda: moment


def refunds_of(session, claim_id) -> list[Refund]:
    session.expire_all()
    return list(
        session.scalars(select(Refund).where(Refund.claim_id == claim_id).order_by(Refund.id))
    )


def payment_intents(session, claim_id) -> list[str]:
    return [refund.payment.stripe_payment_intent_id for refund in refunds_of(session, claim_id)]


def claim_state(session, claim_id) -> ClaimState:
    session.expire_all()
    return session.get(RefundClaim, claim_id).state


def test_execute_refunds_pays_each_payment_once_and_the_claim_ends_refunded(
    session, session_factory, gateway, approved_claim, localstripe_client, assert_invariants
):
    claim_id = approved_claim((250_000, 250_000, 200_000))

    result = execute_refunds(session_factory, gateway)

    assert (result.sent, result.succeeded, result.failed) == (3, 3, 0)
    assert claim_state(session, claim_id) is ClaimState.REFUNDED
    for refund, intent in zip(
        refunds_of(session, claim_id), payment_intents(session, claim_id), strict=True
    ):
        assert refund.state is RefundState.SUCCEEDED
        [at_provider] = provider_refunds(localstripe_client, intent)
        assert at_provider.id == refund.provider_refund_id
        assert at_provider.amount == refund.amount_minor
        assert at_provider.metadata.to_dict() == {
            "claim_id": str(claim_id),
            "refund_id": str(refund.id),
        }
    assert execute_refunds(session_factory, gateway).sent == 0  # nothing left to send
    assert_invariants()


def test_execute_refunds_sends_the_idempotency_key_derived_from_the_refund_row(
    session, session_factory, gateway, approved_claim, stripe_proxy
):
    claim_id = approved_claim((100_000,))

    execute_refunds(session_factory, gateway)

    [request] = stripe_proxy.requests_to("POST", "/v1/refunds")
    [refund] = refunds_of(session, claim_id)
    assert request.idempotency_key == refund.idempotency_key
    assert request.params["metadata[refund_id]"] == [str(refund.id)]


def test_lost_response_after_the_refund_was_made_is_adopted_not_paid_again(
    session,
    session_factory,
    gateway,
    approved_claim,
    stripe_proxy,
    localstripe_client,
    assert_invariants,
):
    claim_id = approved_claim((300_000,))
    stripe_proxy.drop_response("POST", "/v1/refunds")

    first = execute_refunds(session_factory, gateway)

    assert (first.sent, first.retrying) == (0, 1)
    [refund] = refunds_of(session, claim_id)
    assert refund.state is RefundState.SUBMITTING and refund.provider_refund_id is None
    assert claim_state(session, claim_id) is ClaimState.PAYING

    second = execute_refunds(session_factory, gateway, now=later(60))

    assert (second.sent, second.adopted) == (0, 1)
    [refund] = refunds_of(session, claim_id)
    assert refund.state is RefundState.SUCCEEDED
    assert len(provider_refunds(localstripe_client, payment_intents(session, claim_id)[0])) == 1
    assert stripe_proxy.count("POST", "/v1/refunds") == 1
    assert claim_state(session, claim_id) is ClaimState.REFUNDED
    assert_invariants()


@pytest.mark.parametrize(
    "inject",
    [
        pytest.param(lambda proxy: proxy.server_error("POST", "/v1/refunds"), id="500"),
        pytest.param(lambda proxy: proxy.server_error("POST", "/v1/refunds", status=503), id="503"),
        pytest.param(lambda proxy: proxy.rate_limit("POST", "/v1/refunds"), id="429"),
        pytest.param(
            lambda proxy: proxy.stall("POST", "/v1/refunds", seconds=4, forward=True),
            id="timeout-after-the-refund-was-made",
        ),
        pytest.param(
            lambda proxy: proxy.stall("POST", "/v1/refunds", seconds=4, forward=False),
            id="timeout-before-the-refund-was-made",
        ),
    ],
)
def test_transient_errors_back_off_and_the_retry_pays_exactly_once(
    inject,
    session,
    session_factory,
    gateway,
    approved_claim,
    stripe_proxy,
    localstripe_client,
    assert_invariants,
):
    claim_id = approved_claim((300_000,))
    inject(stripe_proxy)

    first = execute_refunds(session_factory, gateway)
    assert first.retrying == 1
    [refund] = refunds_of(session, claim_id)
    assert refund.state is RefundState.SUBMITTING
    assert refund.next_attempt_at > utc_now()  # backing off
    assert execute_refunds(session_factory, gateway).sent == 0  # not before the backoff

    execute_refunds(session_factory, gateway, now=later(60))

    [refund] = refunds_of(session, claim_id)
    assert refund.state is RefundState.SUCCEEDED and refund.attempts == 2
    assert len(provider_refunds(localstripe_client, payment_intents(session, claim_id)[0])) == 1
    assert claim_state(session, claim_id) is ClaimState.REFUNDED
    assert_invariants()


def test_a_retry_of_a_lost_create_is_replayed_by_the_provider_with_the_same_key(
    session,
    session_factory,
    stripe_proxy,
    stripe_client_factory,
    approved_claim,
    localstripe_client,
    assert_invariants,
):
    # Like Stripe, the proxy replays a repeated idempotency key; the SDK's own retry of the
    # create (when allowed) then returns the refund the lost response was about.
    stripe_proxy.replay_idempotent_requests()
    client = stripe_client_factory(stripe_proxy.url, timeout=2.0)
    gateway = StripeGateway(client, create_retries=1)
    claim_id = approved_claim((300_000,))
    stripe_proxy.drop_response("POST", "/v1/refunds")

    result = execute_refunds(session_factory, gateway)

    assert result.sent == 1
    outcomes = [request.outcome for request in stripe_proxy.requests_to("POST", "/v1/refunds")]
    assert outcomes == ["dropped", "replayed"]
    first, second = stripe_proxy.requests_to("POST", "/v1/refunds")
    assert first.idempotency_key == second.idempotency_key
    assert len(provider_refunds(localstripe_client, payment_intents(session, claim_id)[0])) == 1
    assert_invariants()


def test_retry_after_the_24_hour_idempotency_window_lists_and_adopts(
    session,
    session_factory,
    gateway,
    approved_claim,
    stripe_proxy,
    localstripe_client,
    assert_invariants,
):
    stripe_proxy.replay_idempotent_requests()
    claim_id = approved_claim((300_000,))
    stripe_proxy.drop_response("POST", "/v1/refunds")
    execute_refunds(session_factory, gateway)
    stripe_proxy.advance_clock(timedelta(hours=25))  # the provider forgot the key

    execute_refunds(session_factory, gateway, now=later(25 * 60))

    assert stripe_proxy.count("POST", "/v1/refunds") == 1  # listed and adopted, not re-sent
    # Every send looks first: the first attempt listed before creating, the retry listed again.
    assert stripe_proxy.count("GET", "/v1/refunds") == 2
    assert len(provider_refunds(localstripe_client, payment_intents(session, claim_id)[0])) == 1
    assert claim_state(session, claim_id) is ClaimState.REFUNDED
    assert_invariants()


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_crash_around_the_provider_call_never_pays_twice(
    when, session, session_factory, gateway, approved_claim, localstripe_client, assert_invariants
):
    claim_id = approved_claim((300_000,))

    with pytest.raises(Crash):
        execute_refunds(session_factory, CrashingGateway(gateway, when=when))

    [refund] = refunds_of(session, claim_id)
    assert refund.state is RefundState.SUBMITTING and refund.attempts == 1
    intent = payment_intents(session, claim_id)[0]
    assert len(provider_refunds(localstripe_client, intent)) == (1 if when == "after" else 0)
    # Another executor leaves it alone while the crashed one's lease runs...
    assert execute_refunds(session_factory, gateway, now=later(1)).sent == 0

    # ...and takes over once it has run out.
    result = execute_refunds(session_factory, gateway, now=later(LEASE.total_seconds() / 60 + 1))

    assert (result.sent, result.adopted) == ((0, 1) if when == "after" else (1, 0))
    assert len(provider_refunds(localstripe_client, intent)) == 1
    assert claim_state(session, claim_id) is ClaimState.REFUNDED
    assert_invariants()


def test_a_crash_after_a_commit_leaves_the_rest_to_the_next_run(
    session, session_factory, gateway, approved_claim, localstripe_client, assert_invariants
):
    claim_id = approved_claim((200_000, 200_000, 200_000))

    assert execute_refunds(session_factory, gateway, limit=1).sent == 1  # then "dies"
    assert claim_state(session, claim_id) is ClaimState.PAYING

    assert execute_refunds(session_factory, gateway).sent == 2

    assert claim_state(session, claim_id) is ClaimState.REFUNDED
    for intent in payment_intents(session, claim_id):
        assert len(provider_refunds(localstripe_client, intent)) == 1
    assert_invariants()


def test_a_permanent_error_fails_the_refund_and_puts_the_claim_before_finance(
    session, session_factory, gateway, approved_claim, stripe_proxy, assert_invariants
):
    claim_id = approved_claim((300_000,))
    stripe_proxy.respond(
        "POST",
        "/v1/refunds",
        400,
        error={
            "type": "invalid_request_error",
            "code": "charge_expired_for_refund",
            "message": "too old",
        },
    )

    result = execute_refunds(session_factory, gateway)

    assert result.failed == 1
    [refund] = refunds_of(session, claim_id)
    assert refund.state is RefundState.FAILED
    assert "too old" in refund.last_error
    assert claim_state(session, claim_id) is ClaimState.FAILED
    assert execute_refunds(session_factory, gateway).sent == 0  # not retried by itself

    claims.settle_manually(
        session,
        claim_id,
        provider=gateway,
        actor="finance:bo",
        transfer_reference="BANK-2025-0042",
        reason="card too old; paid by bank transfer",
    )
    session.commit()
    assert claim_state(session, claim_id) is ClaimState.SETTLED_MANUALLY
    [refund] = refunds_of(session, claim_id)
    assert (refund.state, refund.manual_reference) == (
        RefundState.SETTLED_MANUALLY,
        "BANK-2025-0042",
    )
    assert_invariants()


def test_a_payment_made_outside_stripe_fails_at_once_for_manual_settlement(
    session, session_factory, gateway, approved_claim, stripe_proxy
):
    claim_id = approved_claim((300_000,), with_payment_intents=False)

    result = execute_refunds(session_factory, gateway)

    assert result.failed == 1
    assert stripe_proxy.requests == []
    [refund] = refunds_of(session, claim_id)
    assert "bank transfer" in refund.last_error
    assert claim_state(session, claim_id) is ClaimState.FAILED


def test_retrying_a_failed_claim_sends_a_new_request_and_pays_once(
    session,
    session_factory,
    gateway,
    approved_claim,
    stripe_proxy,
    localstripe_client,
    assert_invariants,
):
    claim_id = approved_claim((300_000,))
    stripe_proxy.respond(
        "POST", "/v1/refunds", 402, error={"type": "card_error", "message": "lost card"}
    )
    execute_refunds(session_factory, gateway)
    [failed] = refunds_of(session, claim_id)
    failed_key = failed.idempotency_key
    claims.retry_failed(session, claim_id, actor="finance:bo", reason="card replaced")
    session.commit()

    execute_refunds(session_factory, gateway)

    [refund] = refunds_of(session, claim_id)
    assert refund.state is RefundState.SUCCEEDED
    assert refund.idempotency_key != failed_key
    assert len(provider_refunds(localstripe_client, payment_intents(session, claim_id)[0])) == 1
    assert claim_state(session, claim_id) is ClaimState.REFUNDED
    assert_invariants()


def test_refunds_of_a_claim_sent_back_to_review_are_not_sent(
    session, session_factory, gateway, approved_claim, stripe_proxy
):
    claim_id = approved_claim((300_000,))
    claims.start_review(session, claim_id, actor="finance:bo", reason="a job was mentioned")
    session.commit()

    assert execute_refunds(session_factory, gateway).sent == 0

    assert stripe_proxy.requests == []
    [refund] = refunds_of(session, claim_id)
    assert refund.state is RefundState.CANCELED


def test_refund_amounts_never_exceed_the_payment_they_return(session, approved_claim):
    claim_id = approved_claim((123_457, 200_001, 76_542))
    for refund in refunds_of(session, claim_id):
        assert (
            0 < refund.amount_minor <= session.get(TuitionPayment, refund.payment_id).amount_minor
        )
    assert (
        sum(refund.amount_minor for refund in refunds_of(session, claim_id))
        == session.get(RefundClaim, claim_id).amount_minor
    )
