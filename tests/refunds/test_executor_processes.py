"""The executor killed mid-flight, and two executors racing: on committed data, in real
processes and threads, never a second refund."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from app.models.base import utc_now
from refunds import claims
from refunds.executor import LEASE, execute_refunds
from refunds.models import Refund, RefundClaim
from refunds.states import ClaimState, RefundState
from refunds.stripe_gateway import StripeGateway
from refunds.sweep import sweep
from tests import factories
from tests.refunds.conftest import AS_OF, QUALIFIED_ON, provider_refunds
from tests.stripe_harness import TEST_API_KEY, paid_payment_intent

ROOT = Path(__file__).resolve().parents[2]


def approve_committed_claim(engine, localstripe_client, amounts) -> int:
    """Write a graduate who paid ``amounts`` through Stripe, flag and approve; really commit."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        factories.use_session(session)
        try:
            graduation = factories.GraduationFactory(
                qualified_on=QUALIFIED_ON,
                enrollment=factories.EnrollmentFactory(signed_on=date(2024, 1, 10)),
            )
            for amount in amounts:
                factories.TuitionPaymentFactory(
                    enrollment=graduation.enrollment,
                    amount_minor=amount,
                    stripe_payment_intent_id=paid_payment_intent(localstripe_client, amount),
                )
            sweep(session, AS_OF)
            claim_id = session.scalar(
                select(RefundClaim.id).where(RefundClaim.graduation_id == graduation.id)
            )
            claims.approve(
                session,
                claim_id,
                actor="finance:ada",
                reason="owed",
                dual_approval_threshold_minor=10**9,
                provider=StripeGateway(localstripe_client),
            )
            session.commit()
        finally:
            factories.use_session(None)
    return claim_id


CHILD = textwrap.dedent(
    """
    import os, sys
    import stripe
    from app import create_app
    from app.database import database
    from refunds.executor import execute_refunds
    from refunds.stripe_gateway import StripeGateway

    url, api_base, api_key, when = sys.argv[1:5]
    real = StripeGateway(stripe.StripeClient(api_key, base_addresses={"api": api_base}))

    class DiesMidFlight:
        def create_refund(self, **kwargs):
            if when == "before":
                os._exit(137)  # killed before the provider heard of it
            real.create_refund(**kwargs)
            os._exit(137)  # killed after the provider made it, before anything was recorded

        def list_refunds(self, payment_intent_id):
            return real.list_refunds(payment_intent_id)

        def get_refund(self, refund_id):
            return real.get_refund(refund_id)


        def get_payment(self, payment_intent_id):

            return real.get_payment(payment_intent_id)

    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        execute_refunds(database().sessionmaker, DiesMidFlight())
    sys.exit(0)
    """
)


@pytest.mark.parametrize("when", ["before", "after"])
def test_an_executor_process_killed_around_the_provider_call_never_pays_twice(
    when, committed_database, localstripe_url, localstripe_client, stripe_client_factory
):
    url, engine = committed_database
    claim_id = approve_committed_claim(engine, localstripe_client, (300_000,))

    child = subprocess.run(
        [sys.executable, "-c", CHILD, url, localstripe_url, TEST_API_KEY, when],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )

    assert child.returncode == 137, child.stderr
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        [refund] = session.scalars(select(Refund).where(Refund.claim_id == claim_id))
        intent = refund.payment.stripe_payment_intent_id
        assert refund.state is RefundState.SUBMITTING
    assert len(provider_refunds(localstripe_client, intent)) == (1 if when == "after" else 0)

    gateway = StripeGateway(stripe_client_factory(localstripe_url))
    moment = utc_now() + LEASE + timedelta(minutes=1)
    result = execute_refunds(factory, gateway, now=lambda: moment)

    assert (result.sent, result.adopted) == ((0, 1) if when == "after" else (1, 0))
    assert len(provider_refunds(localstripe_client, intent)) == 1
    with factory() as session:
        assert session.get(RefundClaim, claim_id).state is ClaimState.REFUNDED


class SlowGateway:
    """The real gateway, slowed so that two executors overlap."""

    def __init__(self, real):
        self.real = real

    def create_refund(self, **kwargs):
        time.sleep(0.05)
        return self.real.create_refund(**kwargs)

    def list_refunds(self, payment_intent_id):
        return self.real.list_refunds(payment_intent_id)

    def get_refund(self, refund_id):
        return self.real.get_refund(refund_id)

    def get_payment(self, payment_intent_id):

        return self.real.get_payment(payment_intent_id)


def test_two_executors_racing_send_each_refund_once(
    database_url, committed_database, localstripe_url, localstripe_client, stripe_client_factory
):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent executors are proven on PostgreSQL (row locks, SKIP LOCKED)")
    url, engine = committed_database
    claim_ids = [
        approve_committed_claim(engine, localstripe_client, (100_000, 100_000, 100_000))
        for _ in range(3)
    ]
    factory = sessionmaker(engine, expire_on_commit=False)
    results, errors = [], []

    def run():
        try:
            gateway = SlowGateway(StripeGateway(stripe_client_factory(localstripe_url)))
            results.append(execute_refunds(factory, gateway))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(result.sent for result in results) == 9
    assert all(result.sent > 0 for result in results), "both executors should have worked"
    with factory() as session:
        for claim_id in claim_ids:
            assert session.get(RefundClaim, claim_id).state is ClaimState.REFUNDED
            for refund in session.scalars(select(Refund).where(Refund.claim_id == claim_id)):
                intent = refund.payment.stripe_payment_intent_id
                assert [r.id for r in provider_refunds(localstripe_client, intent)] == [
                    refund.provider_refund_id
                ]
