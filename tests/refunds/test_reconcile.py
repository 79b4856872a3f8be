"""The reconciliation repairs what it can from the provider's records and reports the rest."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.models.base import utc_now
from refunds.executor import LEASE, execute_refunds
from refunds.models import Refund, RefundClaim
from refunds.reconcile import reconcile
from refunds.states import ClaimState, RefundState
from tests.refunds.test_webhooks import ProviderSays


def only_refund(session, claim_id) -> Refund:
    session.expire_all()
    [refund] = session.scalars(select(Refund).where(Refund.claim_id == claim_id))
    return refund


def test_reconcile_adopts_a_refund_whose_response_was_lost_once_the_lease_is_over(
    session, session_factory, gateway, approved_claim, stripe_proxy, assert_invariants
):
    claim_id = approved_claim((300_000,))
    stripe_proxy.drop_response("POST", "/v1/refunds")
    execute_refunds(session_factory, gateway)

    report = reconcile(session, gateway, now=utc_now() + LEASE + timedelta(minutes=1))

    assert report.unresolved == []
    assert len(report.repaired) == 1 and "adopted" in report.repaired[0]
    refund = only_refund(session, claim_id)
    assert refund.state is RefundState.SUCCEEDED
    assert session.get(RefundClaim, claim_id).state is ClaimState.REFUNDED
    assert execute_refunds(session_factory, gateway, now=lambda: utc_now() + LEASE * 2).sent == 0
    assert_invariants()


def test_reconcile_leaves_a_refund_alone_while_an_executor_holds_it(
    session, session_factory, gateway, approved_claim, stripe_proxy
):
    claim_id = approved_claim((300_000,))
    stripe_proxy.stall("POST", "/v1/refunds", seconds=3, forward=True)
    execute_refunds(session_factory, gateway)  # times out; the outcome is unknown
    refund = only_refund(session, claim_id)
    refund.lease_until = utc_now() + LEASE  # as if an executor were sending it right now
    session.commit()

    report = reconcile(session, gateway)

    assert report.repaired == []
    assert only_refund(session, claim_id).state is RefundState.SUBMITTING


def test_reconcile_catches_a_failure_no_webhook_told_us_about(
    session, session_factory, gateway, approved_claim
):
    claim_id = approved_claim((300_000,))
    execute_refunds(session_factory, gateway)
    provider = ProviderSays(gateway)
    provider.status[only_refund(session, claim_id).provider_refund_id] = "failed"

    report = reconcile(session, provider)

    assert any("failed" in line for line in report.repaired)
    assert only_refund(session, claim_id).state is RefundState.FAILED
    assert session.get(RefundClaim, claim_id).state is ClaimState.FAILED


def test_reconcile_reports_a_duplicate_refund_at_the_provider(
    session, session_factory, gateway, approved_claim, localstripe_client
):
    claim_id = approved_claim((300_000,))
    execute_refunds(session_factory, gateway)
    refund = only_refund(session, claim_id)
    # Someone refunded the same payment again by hand, naming the claim.
    localstripe_client.v1.refunds.create(
        params={
            "payment_intent": refund.payment.stripe_payment_intent_id,
            "amount": 300_000,
            "metadata": {"claim_id": str(claim_id), "refund_id": "manual"},
        }
    )

    report = reconcile(session, gateway)

    assert any("duplicate" in line for line in report.unresolved)
    assert any("more than the 300000 paid" in line for line in report.unresolved)


def test_reconcile_reports_the_provider_being_down_and_changes_nothing(
    session, session_factory, gateway, approved_claim, stripe_proxy
):
    claim_id = approved_claim((300_000,))
    stripe_proxy.drop_response("POST", "/v1/refunds")
    execute_refunds(session_factory, gateway)
    stripe_proxy.server_error("GET", "/v1/refunds", times=None)

    report = reconcile(session, gateway, now=utc_now() + LEASE * 2)

    assert report.unresolved and "provider unavailable" in report.unresolved[0]
    assert only_refund(session, claim_id).state is RefundState.SUBMITTING
    stripe_proxy.reset()


def test_reconcile_with_nothing_open_checks_nothing(session, gateway):
    report = reconcile(session, gateway)
    assert (report.claims_checked, report.repaired, report.unresolved) == (0, [], [])
