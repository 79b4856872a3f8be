"""A database restored from a backup never makes the service pay twice.

Played as an operator would: real backups (``pg_dump -Fc`` of the schema on PostgreSQL, the
online backup of the SQLite file), the executor sending through localstripe, a restore, then
the documented catch-up (``reconcile(after_restore=True)``, as ``flask refunds reconcile
--after-restore`` runs it) and the executor again.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from app.models import AuditEvent
from refunds import claims
from refunds.executor import execute_refunds
from refunds.models import ClaimApproval, ClaimTransition, Refund, RefundClaim
from refunds.reconcile import reconcile
from refunds.states import ClaimState, RefundState
from refunds.sweep import sweep
from tests import factories
from tests.refunds.conftest import AS_OF, QUALIFIED_ON, provider_refunds
from tests.stripe_harness import paid_payment_intent


class Backups:
    """Backs up and restores the test's own committed database, as its operator would."""

    def __init__(self, url: str, engine, tmp_path: Path):
        self.url, self.engine, self.tmp_path = url, engine, tmp_path
        self.file = tmp_path / "backup"

    def take(self) -> None:
        if self.url.startswith("sqlite"):
            source = sqlite3.connect(self._sqlite_path())
            target = sqlite3.connect(self.file)
            with target:
                source.backup(target)  # the online backup: consistent while others write
            source.close()
            target.close()
        else:
            subprocess.run(
                ["pg_dump", "-Fc", "-n", self._schema(), "-f", str(self.file), self._libpq()],
                check=True,
            )

    def restore(self) -> None:
        self.engine.dispose()
        if self.url.startswith("sqlite"):
            shutil.copyfile(self.file, self._sqlite_path())
        else:
            subprocess.run(
                ["psql", "-q", "-c", f"DROP SCHEMA {self._schema()} CASCADE", self._libpq()],
                check=True,
            )
            subprocess.run(["pg_restore", "-d", self._libpq(), str(self.file)], check=True)

    def _sqlite_path(self) -> str:
        return self.url.removeprefix("sqlite:///")

    def _schema(self) -> str:
        options = parse_qs(urlsplit(self.url).query)["options"][0]
        return unquote(options).removeprefix("-csearch_path=")

    def _libpq(self) -> str:
        parts = urlsplit(self.url)
        return f"postgresql://{parts.netloc}{parts.path}"


@pytest.fixture
def backups(committed_database, tmp_path) -> Backups:
    url, engine = committed_database
    return Backups(url, engine, tmp_path)


@pytest.fixture
def sessions(committed_database) -> sessionmaker:
    return sessionmaker(bind=committed_database[1], expire_on_commit=False)


def approve(sessions, claim_id: int, gateway) -> None:
    with sessions() as session:
        claims.approve(
            session,
            claim_id,
            actor="finance:ada",
            reason="window closed, no job",
            dual_approval_threshold_minor=10**9,
            provider=gateway,
        )
        session.commit()


def approved_claim(
    sessions, localstripe_client, gateway, amounts, *, approved: bool = True
) -> tuple[int, list[str]]:
    """A graduate who paid ``amounts`` through Stripe, flagged (and approved); committed."""
    with sessions() as session:
        factories.use_session(session)
        try:
            graduation = factories.GraduationFactory(
                qualified_on=QUALIFIED_ON,
                enrollment=factories.EnrollmentFactory(signed_on=date(2024, 1, 10)),
            )
            intents = [paid_payment_intent(localstripe_client, amount) for amount in amounts]
            for amount, intent in zip(amounts, intents, strict=True):
                factories.TuitionPaymentFactory(
                    enrollment=graduation.enrollment,
                    amount_minor=amount,
                    stripe_payment_intent_id=intent,
                )
            session.commit()
            sweep(session, AS_OF)
            claim_id = session.scalar(
                select(RefundClaim.id).where(RefundClaim.graduation_id == graduation.id)
            )
            session.commit()
        finally:
            factories.use_session(None)
    if approved:
        approve(sessions, claim_id, gateway)
    return claim_id, intents


def recorded(sessions) -> dict[str, list[tuple]]:
    """What was recorded, to compare before the backup with after the catch-up."""
    with sessions() as session:
        return {
            "claims": session.execute(
                select(RefundClaim.id, RefundClaim.enrollment_id, RefundClaim.flagged_on)
            ).all(),
            "approvals": session.execute(
                select(ClaimApproval.id, ClaimApproval.actor, ClaimApproval.round)
            ).all(),
            "trail": session.execute(
                select(ClaimTransition.id, ClaimTransition.to_state, ClaimTransition.reason)
            ).all(),
            "audit": session.execute(select(AuditEvent.id, AuditEvent.action)).all(),
        }


class SendsAfter:
    """The real gateway; the backup is taken in the middle of the first send."""

    def __init__(self, real, backups: Backups):
        self.real, self.backups, self.taken = real, backups, False

    def create_refund(self, **kwargs):
        if not self.taken:
            self.backups.take()  # the row is `submitting` in this backup
            self.taken = True
        return self.real.create_refund(**kwargs)

    def list_refunds(self, payment_intent_id):
        return self.real.list_refunds(payment_intent_id)

    def get_refund(self, refund_id):
        return self.real.get_refund(refund_id)

    def get_payment(self, payment_intent_id):
        return self.real.get_payment(payment_intent_id)


@pytest.mark.parametrize("backup_taken", ["after approval", "while sending"])
def test_a_restored_backup_then_the_catch_up_pays_nothing_twice(
    backups, sessions, localstripe_client, gateway, backup_taken
):
    claim_id, intents = approved_claim(sessions, localstripe_client, gateway, (200_000, 100_000))
    if backup_taken == "after approval":
        backups.take()
        before = recorded(sessions)
        execute_refunds(sessions, gateway)
    else:
        before = recorded(sessions)
        execute_refunds(sessions, SendsAfter(gateway, backups))
    with sessions() as session:
        assert session.get(RefundClaim, claim_id).state is ClaimState.REFUNDED

    backups.restore()
    with sessions() as session:
        restored = session.get(RefundClaim, claim_id).state
        assert restored in (ClaimState.APPROVED, ClaimState.PAYING)  # it forgot the sends
        report = reconcile(session, gateway, after_restore=True)
    execute_refunds(sessions, gateway)

    assert report.unresolved == []
    assert len(report.repaired) == 2
    for intent, amount in zip(intents, (200_000, 100_000), strict=True):
        held = [r for r in provider_refunds(localstripe_client, intent) if r.status == "succeeded"]
        assert [r.amount for r in held] == [amount]  # exactly one refund per refund row
    with sessions() as session:
        assert session.get(RefundClaim, claim_id).state is ClaimState.REFUNDED
        rows = session.scalars(select(Refund).where(Refund.claim_id == claim_id)).all()
        assert {row.state for row in rows} == {RefundState.SUCCEEDED}
        assert reconcile(session, gateway).unresolved == []
    after = recorded(sessions)
    for kind, rows in before.items():
        assert after[kind][: len(rows)] == rows, f"{kind} recorded before the backup changed"


def test_the_executor_alone_after_a_restore_adopts_instead_of_sending_again(
    backups, sessions, localstripe_client, gateway, stripe_proxy
):
    # An operator who forgot the catch-up: every send looks first, so still nothing is paid twice.
    claim_id, intents = approved_claim(sessions, localstripe_client, gateway, (150_000,))
    backups.take()
    execute_refunds(sessions, gateway)
    backups.restore()
    stripe_proxy.reset()

    result = execute_refunds(sessions, gateway)

    assert (result.adopted, result.sent) == (1, 0)
    assert stripe_proxy.count("POST", "/v1/refunds") == 0
    assert len(provider_refunds(localstripe_client, intents[0])) == 1
    with sessions() as session:
        assert session.get(RefundClaim, claim_id).state is ClaimState.REFUNDED


def test_a_backup_older_than_the_approval_reports_the_refunds_then_adopts_them_on_approval(
    backups, sessions, localstripe_client, gateway
):
    claim_id, intents = approved_claim(
        sessions, localstripe_client, gateway, (120_000,), approved=False
    )
    backups.take()  # the claim is flagged; no refund row exists yet
    approve(sessions, claim_id, gateway)
    execute_refunds(sessions, gateway)
    backups.restore()

    with sessions() as session:
        assert session.get(RefundClaim, claim_id).state is ClaimState.FLAGGED
        report = reconcile(session, gateway, after_restore=True)
    assert any("does not have" in line for line in report.unresolved)

    approve(sessions, claim_id, gateway)  # finance approves again, as the report says
    result = execute_refunds(sessions, gateway)

    assert (result.adopted, result.sent) == (1, 0)
    assert len(provider_refunds(localstripe_client, intents[0])) == 1
    with sessions() as session:
        assert session.get(RefundClaim, claim_id).state is ClaimState.REFUNDED
        assert reconcile(session, gateway, after_restore=True).unresolved == []
