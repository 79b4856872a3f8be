"""Each scheduled job by hand: ``flask guarantee sweep``, ``refunds execute``, ``refunds
reconcile``, ``reminders send``, in the test's transaction (the tasks' sessions come from its
session factory)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.models import MessageKind, MessageState, SentMessage
from refunds.executor import execute_refunds
from refunds.models import ClaimTransition, Refund, RefundClaim
from refunds.states import ClaimState, RefundState
from tests.factories import EnrollmentFactory, GraduationFactory
from tests.jobs.conftest import make_owed_graduate
from tests.mailbox import _free_port
from tests.refunds.conftest import provider_refunds


def claim_count(session) -> int:
    return session.scalar(select(func.count()).select_from(RefundClaim))


def test_guarantee_sweep_dry_run_prints_the_count_and_writes_nothing(runner, session):
    make_owed_graduate()
    make_owed_graduate()

    result = runner.invoke(args=["guarantee", "sweep", "--as-of", "2025-09-01", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert result.output == "as of 2025-09-01: 2 owed without a claim; would flag 2\n"
    assert claim_count(session) == 0
    assert session.scalar(select(func.count()).select_from(ClaimTransition)) == 0


def test_guarantee_sweep_flags_the_owed_and_a_second_run_flags_nobody(runner, session):
    graduation = make_owed_graduate()

    first = runner.invoke(args=["guarantee", "sweep", "--as-of", "2025-09-01"])
    second = runner.invoke(args=["guarantee", "sweep", "--as-of", "2025-09-01"])

    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert first.output == (
        "as of 2025-09-01: 1 owed without a claim; flagged 1\n"
        "search obligations: checked 1, rejected as void 0, sent to review 0\n"
    )
    assert second.output == (
        "as of 2025-09-01: 0 owed without a claim; flagged 0\n"
        "search obligations: checked 0, rejected as void 0, sent to review 0\n"
    )
    [claim] = session.scalars(select(RefundClaim))
    assert (claim.graduation_id, claim.state) == (graduation.id, ClaimState.FLAGGED)


def test_guarantee_sweep_before_the_window_closes_flags_nobody(runner, session):
    make_owed_graduate()  # window closes on 31 Jul 2025

    result = runner.invoke(args=["guarantee", "sweep", "--as-of", "2025-07-31"])

    assert result.output.startswith("as of 2025-07-31: 0 owed without a claim; flagged 0\n")
    assert claim_count(session) == 0


def test_guarantee_sweep_with_a_bad_date_is_a_usage_error(runner, session):
    for bad in ("2025-13-01", "1 Sep 2025", "yesterday"):
        result = runner.invoke(args=["guarantee", "sweep", "--as-of", bad])

        assert result.exit_code == 2, result.output
        assert "Invalid value for '--as-of'" in result.output
        assert "Traceback" not in result.output
        assert isinstance(result.exception, SystemExit)
    assert claim_count(session) == 0


def test_refunds_execute_sends_an_approved_claims_refunds_through_the_gateway(
    app, runner, session, gateway, approved_claim, localstripe_client
):
    app.extensions["payment_gateway"] = gateway
    claim_id = approved_claim((300_000, 200_000))

    result = runner.invoke(args=["refunds", "execute"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("sent 2, adopted 0,")
    session.expire_all()
    assert session.get(RefundClaim, claim_id).state is ClaimState.REFUNDED
    refunds = list(session.scalars(select(Refund).where(Refund.claim_id == claim_id)))
    assert {refund.state for refund in refunds} == {RefundState.SUCCEEDED}
    for refund in refunds:
        at_provider = provider_refunds(localstripe_client, refund.payment.stripe_payment_intent_id)
        assert [(r.id, r.amount) for r in at_provider] == [
            (refund.provider_refund_id, refund.amount_minor)
        ]


def test_refunds_execute_with_nothing_approved_sends_nothing(app, runner, session, gateway):
    app.extensions["payment_gateway"] = gateway

    result = runner.invoke(args=["refunds", "execute"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("sent 0, adopted 0,")


def test_refunds_reconcile_exits_0_when_nothing_is_unresolved(
    app, runner, session, session_factory, gateway, approved_claim
):
    app.extensions["payment_gateway"] = gateway
    approved_claim((300_000,))
    execute_refunds(session_factory, gateway)

    result = runner.invoke(args=["refunds", "reconcile"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 claims checked\n")
    assert "UNRESOLVED" not in result.output


def test_refunds_reconcile_exits_1_and_lists_what_is_unresolved(
    app, runner, session, session_factory, gateway, approved_claim, localstripe_client
):
    app.extensions["payment_gateway"] = gateway
    claim_id = approved_claim((300_000,))
    execute_refunds(session_factory, gateway)
    [refund] = session.scalars(select(Refund).where(Refund.claim_id == claim_id))
    # Someone refunded the same payment again by hand, naming the claim.
    localstripe_client.v1.refunds.create(
        params={
            "payment_intent": refund.payment.stripe_payment_intent_id,
            "amount": 300_000,
            "metadata": {"claim_id": str(claim_id), "refund_id": "manual"},
        }
    )

    result = runner.invoke(args=["refunds", "reconcile"])

    assert result.exit_code == 1, result.output
    unresolved = [line for line in result.output.splitlines() if line.startswith("UNRESOLVED: ")]
    assert any("a duplicate to recover" in line for line in unresolved), result.output
    assert any("more than the 300000 paid" in line for line in unresolved), result.output
    assert "Traceback" not in result.output


def reminders_due_on_21_feb_2026() -> None:
    """A graduate seven days from their deadline (28 Feb 2026) on 21 Feb 2026."""
    GraduationFactory(qualified_on=date(2025, 8, 31), enrollment=EnrollmentFactory())


def test_reminders_send_dry_run_prints_what_is_due_and_writes_nothing(runner, session, mailbox):
    reminders_due_on_21_feb_2026()

    result = runner.invoke(args=["reminders", "send", "--as-of", "2026-02-21", "--dry-run"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "as of 2026-02-21:" and len(lines) == 1 + len(MessageKind)
    assert "  deadline_approaching: would send 1 new, retry 0" in lines
    others = [line for line in lines[1:] if not line.startswith("  deadline_approaching:")]
    assert all(line.endswith(": would send 0 new, retry 0") for line in others), lines
    assert session.scalar(select(func.count()).select_from(SentMessage)) == 0
    assert mailbox.messages == []


def test_reminders_send_sends_each_once_and_a_second_run_sends_nothing(runner, session, mailbox):
    reminders_due_on_21_feb_2026()

    first = runner.invoke(args=["reminders", "send", "--as-of", "2026-02-21"])
    second = runner.invoke(args=["reminders", "send", "--as-of", "2026-02-21"])

    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert "  deadline_approaching: 1 new, 1 sent, 0 failed, 0 retried" in first.output
    assert "  deadline_approaching: 0 new, 0 sent, 0 failed, 0 retried" in second.output
    assert len(mailbox.messages) == 1


def test_reminders_send_exits_1_when_a_message_could_not_be_sent(app, runner, session, mailbox):
    reminders_due_on_21_feb_2026()
    app.config["SMTP_PORT"] = _free_port()

    result = runner.invoke(args=["reminders", "send", "--as-of", "2026-02-21"])

    assert result.exit_code == 1, result.output
    assert "  deadline_approaching: 1 new, 0 sent, 1 failed, 0 retried" in result.output
    [message] = session.scalars(select(SentMessage))
    assert message.state is MessageState.FAILED


def test_reminders_send_with_a_bad_date_is_a_usage_error(runner, session):
    result = runner.invoke(args=["reminders", "send", "--as-of", "21/02/2026"])

    assert result.exit_code == 2, result.output
    assert "Invalid value for '--as-of'" in result.output
    assert session.scalar(select(func.count()).select_from(SentMessage)) == 0
