"""Fixtures for the refund tests: the real Stripe SDK through the fault proxy, and claims
approved against real PaymentIntents in localstripe."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import select

from refunds import claims
from refunds.models import ClaimTransition, Refund, RefundClaim
from refunds.stripe_gateway import StripeGateway
from refunds.sweep import owed_without_claim, sweep
from tests.factories import EnrollmentFactory, GraduationFactory, TuitionPaymentFactory
from tests.stripe_harness import paid_payment_intent

QUALIFIED_ON = date(2025, 1, 31)  # deadline 31 Jul 2025
AS_OF = date(2025, 9, 1)


@pytest.fixture
def gateway(stripe_proxy, stripe_client_factory) -> StripeGateway:
    """The Stripe gateway talking to localstripe through the fault proxy, with short timeouts."""
    return StripeGateway(
        stripe_client_factory(stripe_proxy.url, max_network_retries=0, timeout=2.0)
    )


@pytest.fixture
def approved_claim(session, localstripe_client) -> Callable[..., int]:
    """``make(amounts)``: a graduate who paid ``amounts`` through Stripe, flagged and approved."""

    def make(amounts=(300_000, 300_000), *, approve=True, with_payment_intents=True) -> int:
        graduation = GraduationFactory(
            qualified_on=QUALIFIED_ON, enrollment=EnrollmentFactory(signed_on=date(2024, 1, 10))
        )
        for amount in amounts:
            TuitionPaymentFactory(
                enrollment=graduation.enrollment,
                amount_minor=amount,
                stripe_payment_intent_id=(
                    paid_payment_intent(localstripe_client, amount)
                    if with_payment_intents
                    else None
                ),
            )
        sweep(session, AS_OF)
        claim_id = session.scalar(
            select(RefundClaim.id).where(RefundClaim.graduation_id == graduation.id)
        )
        if approve:
            claims.approve(
                session,
                claim_id,
                actor="finance:ada",
                reason="window closed, no job",
                dual_approval_threshold_minor=10**9,
                provider=StripeGateway(localstripe_client),
            )
        session.commit()
        return claim_id

    return make


def provider_refunds(localstripe_client, payment_intent_id: str) -> list:
    """Every refund localstripe holds for a PaymentIntent (read directly, never faulted)."""
    page = localstripe_client.v1.refunds.list(params={"payment_intent": payment_intent_id})
    return list(page.auto_paging_iter())


@pytest.fixture
def assert_invariants(session, localstripe_client) -> Callable[[], None]:
    """Check what must hold after anything: nothing paid twice, nobody missed, all audited."""

    def check() -> None:
        session.expire_all()
        for refund in session.scalars(select(Refund)):
            payment = refund.payment
            if payment.stripe_payment_intent_id is None:
                continue
            live = [
                r
                for r in provider_refunds(localstripe_client, payment.stripe_payment_intent_id)
                if r.status not in ("failed", "canceled")
            ]
            # At most what was paid goes back, in at most one refund per payment.
            assert sum(r.amount for r in live) <= payment.amount_minor
            assert len(live) <= 1, f"payment {payment.id} refunded {len(live)} times"
            if refund.state.value == "succeeded":
                assert [r.id for r in live] == [refund.provider_refund_id]
                assert live[0].amount == refund.amount_minor
        # Every owed graduate has a claim.
        assert session.execute(owed_without_claim(AS_OF)).all() == []
        # Every state change has its audit row, and the trail is a chain ending in the state.
        for claim in session.scalars(select(RefundClaim)):
            trail = list(
                session.scalars(
                    select(ClaimTransition)
                    .where(ClaimTransition.claim_id == claim.id)
                    .order_by(ClaimTransition.id)
                )
            )
            assert trail, f"claim {claim.id} has no audit trail"
            assert trail[0].from_state is None
            for before, after in zip(trail, trail[1:], strict=False):
                assert after.from_state is before.to_state
            assert trail[-1].to_state is claim.state
            assert claim.version == len(trail)

    return check
