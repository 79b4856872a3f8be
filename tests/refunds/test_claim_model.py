"""The claim's whole life as a stateful model: random sequences of what people, the scheduler
and the provider do, with the invariants checked after every step.

Steps: payments recorded, refunds made from the provider's dashboard, jobs reported (qualifying
or not) and disputed, pauses recorded by a registrar, exclusions, sweeps at advancing dates,
approvals by three finance people, reviews, rejections, appeals, withdrawals, retries, bank
settlements, executor runs against a provider that sometimes loses answers, refuses, or refuses
while making the refund, refunds failing later, webhooks, reconciliation, and a database restored
from an earlier snapshot while the provider keeps everything it did.

The provider is an in-memory stand-in for the gateway port that behaves as localstripe does
where it matters here (idempotency keys ignored, over-refunds allowed): the invariants must hold
anyway. The tests of ``tests/refunds/test_claim_lifecycle.py`` and ``test_restore.py`` play the
same dangers against localstripe itself. The database is the suite's (SQLite or PostgreSQL);
a snapshot is a savepoint, and restoring it rolls the database back under the provider's feet.

``make test`` runs a bounded number of examples; ``make soak`` many more
(``CLAIM_MODEL_EXAMPLES``).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from app.auth.access import Principal
from app.errors import ServiceError
from app.guarantee.terms import EmploymentType, ExclusionReason, OutcomeStatus, PauseReason
from app.models import JobOutcome, Role, TuitionPayment
from app.models.base import utc_now
from app.services.exclusions import record_exclusion
from app.services.pauses import record_pause
from refunds import claims
from refunds.executor import execute_refunds
from refunds.gateway import (
    PermanentGatewayError,
    ProviderPayment,
    ProviderRefund,
    TransientGatewayError,
)
from refunds.models import RecoveryItem, Refund, RefundClaim
from refunds.reconcile import reconcile
from refunds.states import OPEN_STATES, TRANSITIONS, ClaimState, RefundState
from refunds.sweep import sweep
from refunds.webhooks import handle_event
from tests import factories

S = ClaimState
PEOPLE = ("finance:ada", "finance:grace", "finance:lin")
REGISTRAR = Principal(actor="registrar:ines", role=Role.REGISTRAR, name="Ines")
THRESHOLD = 200_000
#: The third graduate's window is still open at the first sweep: pauses can still move it.
QUALIFIED = (date(2025, 1, 15), date(2025, 2, 28), date(2025, 6, 30))
FIRST_SWEEP = date(2025, 10, 1)
REVIEWABLE = frozenset({S.FLAGGED, S.AWAITING_SECOND_APPROVAL, S.APPROVED, S.REJECTED})
WITHDRAWABLE = frozenset({S.FLAGGED, S.IN_REVIEW, S.AWAITING_SECOND_APPROVAL, S.APPROVED})
CREATE_MODES = (
    "ok",
    "ok",
    "lost",
    "refused",
    "refused_but_made",
    "refused_but_made_then_blind",
    "down",
)
EXAMPLES = int(os.environ.get("CLAIM_MODEL_EXAMPLES", "50"))
STEPS = int(os.environ.get("CLAIM_MODEL_STEPS", "30"))


class ModelProvider:
    """The payment provider, in memory: PaymentIntents and their refunds, faults on demand."""

    def __init__(self):
        self.intents: dict[str, ProviderPayment] = {}
        self.refunds: list[ProviderRefund] = []
        self.next_create = "ok"
        self.blind = False
        self.ids = itertools.count(1)

    def charge(self, amount_minor: int, currency: str = "EUR") -> str:
        intent = f"pi_model_{next(self.ids)}"
        self.intents[intent] = ProviderPayment(intent, amount_minor, currency, "succeeded")
        return intent

    def create_refund(self, *, payment_intent_id, amount_minor, idempotency_key, metadata):
        mode, self.next_create = self.next_create, "ok"
        if mode == "down":
            raise TransientGatewayError("connection refused (model)")
        if mode == "refused":
            raise PermanentGatewayError("card_error: expired_or_canceled_card (model)")
        refund = self._add(payment_intent_id, amount_minor, dict(metadata))
        if mode == "lost":
            raise TransientGatewayError("read timed out (model): the refund was made")
        if mode.startswith("refused_but_made"):
            # ...and with "then_blind" the provider cannot be listed right after: the service
            # has no way to see the refund before it records the failure.
            self.blind = mode.endswith("blind")
            raise PermanentGatewayError("card_error answered, but the refund was made (model)")
        return refund

    def dashboard_refund(self, payment_intent_id: str, amount_minor: int) -> None:
        self._add(payment_intent_id, amount_minor, {})

    def _add(self, payment_intent_id, amount_minor, metadata) -> ProviderRefund:
        currency = self.intents[payment_intent_id].currency
        refund = ProviderRefund(
            f"re_model_{next(self.ids)}",
            payment_intent_id,
            amount_minor,
            currency,
            "succeeded",
            metadata,
        )
        self.refunds.append(refund)
        return refund

    def fail_later(self, refund_id: str) -> None:
        self.refunds = [
            replace(r, status="failed", failure_reason="lost_or_stolen_card")
            if r.id == refund_id
            else r
            for r in self.refunds
        ]

    def list_refunds(self, payment_intent_id):
        if self.blind:
            self.blind = False
            raise TransientGatewayError("the provider is not answering (model)")
        return self.all_refunds(payment_intent_id)

    def all_refunds(self, payment_intent_id):
        return [r for r in self.refunds if r.payment_intent_id == payment_intent_id]

    def get_refund(self, refund_id):
        return next(r for r in self.refunds if r.id == refund_id)

    def get_payment(self, payment_intent_id):
        return self.intents[payment_intent_id]

    def live(self, payment_intent_id: str) -> list[ProviderRefund]:
        return [
            r for r in self.all_refunds(payment_intent_id) if r.status not in ("failed", "canceled")
        ]


@dataclass
class Counts:
    examples: int = 0
    steps: int = 0
    #: Claim states seen by the invariants, to show the run went somewhere.
    states: set = None


COUNTS = Counts()


def model_for(connection, session_factory):
    """The state machine class, bound to the test's database connection."""

    class ClaimModel(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            COUNTS.examples += 1
            self.example = connection.begin_nested()
            self.snapshot = None
            self.provider = ModelProvider()
            self.as_of = FIRST_SWEEP
            self.clock = utc_now()  # the executor's clock: backoffs and leases run out
            self.swept = False  # the last step was a sweep: everyone owed must have a claim
            self.events = itertools.count(1)
            with session_factory() as session:
                factories.use_session(session)
                try:
                    self.graduations = []
                    for index, qualified_on in enumerate(QUALIFIED):
                        graduation = factories.GraduationFactory(
                            qualified_on=qualified_on,
                            enrollment=factories.EnrollmentFactory(
                                scholarship_minor=50_000 * index,
                                policy=factories.GuaranteePolicyFactory(max_pause_days=90),
                            ),
                        )
                        for amount in ((150_000,), (200_000, 150_000), (300_000, 150_000))[index]:
                            self._pay(graduation, amount)
                        self.graduations.append(graduation.id)
                    session.commit()
                    # Two windows have closed: the first sweep flags those two.
                    sweep(session, self.as_of)
                    session.commit()
                finally:
                    factories.use_session(None)

        def teardown(self):
            if self.snapshot is not None and self.snapshot.is_active:
                self.snapshot.rollback()
            if self.example.is_active:
                self.example.rollback()

        def _pay(self, graduation, amount):
            factories.TuitionPaymentFactory(
                enrollment=graduation.enrollment,
                amount_minor=amount,
                stripe_payment_intent_id=self.provider.charge(amount),
            )

        def _act(self, action) -> None:
            """Run one user action in its own session; a refusal (4xx) changes nothing."""
            COUNTS.steps += 1
            self.swept = False
            with session_factory() as session:
                try:
                    action(session)
                    session.commit()
                except ServiceError:
                    session.rollback()

        def _claim_id(self, session, index: int) -> int | None:
            return session.scalar(
                select(RefundClaim.id).where(RefundClaim.graduation_id == self.graduations[index])
            )

        # --- facts -----------------------------------------------------------------------

        @rule(index=st.integers(0, 2), amount=st.sampled_from([50_000, 100_000]))
        def record_payment(self, index, amount):
            def action(session):
                factories.use_session(session)
                try:
                    graduation = session.get(factories.Graduation, self.graduations[index])
                    self._pay(graduation, amount)
                finally:
                    factories.use_session(None)

            self._act(action)

        @rule(index=st.integers(0, 2), amount=st.sampled_from([10_000, 60_000]))
        def refund_from_the_dashboard(self, index, amount):
            def action(session):
                payment = session.scalar(
                    select(TuitionPayment)
                    .join(factories.Enrollment)
                    .join(factories.Graduation)
                    .where(factories.Graduation.id == self.graduations[index])
                    .order_by(TuitionPayment.id)
                )
                intent = payment.stripe_payment_intent_id
                left = payment.amount_minor - sum(
                    r.amount_minor for r in self.provider.live(intent)
                )
                if left >= amount:
                    self.provider.dashboard_refund(intent, amount)

            self._act(action)

        @rule(
            index=st.integers(0, 2),
            qualifying=st.booleans(),
            status=st.sampled_from([OutcomeStatus.REPORTED, OutcomeStatus.CONFIRMED]),
        )
        def report_job(self, index, qualifying, status):
            def action(session):
                factories.use_session(session)
                try:
                    graduation = session.get(factories.Graduation, self.graduations[index])
                    job = factories.JobOutcomeFactory(
                        graduation=graduation,
                        start_date=graduation.qualified_on + timedelta(days=40),
                        employment_type=(
                            EmploymentType.FULL_TIME_PERMANENT
                            if qualifying
                            else EmploymentType.INTERNSHIP
                        ),
                        contract_months=None if qualifying else 3,
                        status=status,
                    )
                finally:
                    factories.use_session(None)
                claims.review_after_job_report(
                    session, graduation.id, outcome_id=job.id, actor="graduate:model"
                )

            self._act(action)

        @rule(index=st.integers(0, 2))
        def employer_denies_the_jobs(self, index):
            def action(session):
                for job in session.scalars(
                    select(JobOutcome).where(JobOutcome.graduation_id == self.graduations[index])
                ):
                    job.status = OutcomeStatus.DISPUTED
                session.flush()
                claims.reopen_for_graduation(
                    session,
                    self.graduations[index],
                    actor="employer:model",
                    reason="the employer denied the job",
                )

            self._act(action)

        @rule(index=st.integers(0, 2))
        def record_an_exclusion(self, index):
            def action(session):
                graduation = session.get(factories.Graduation, self.graduations[index])
                record_exclusion(
                    session,
                    REGISTRAR,
                    graduation.id,
                    ExclusionReason.FURTHER_STUDY,
                    graduation.qualified_on + timedelta(days=20),
                    "enrolment letter",
                )

            self._act(action)

        @rule(index=st.integers(0, 2), days=st.integers(1, 60))
        def record_a_pause(self, index, days):
            def action(session):
                graduation = session.get(factories.Graduation, self.graduations[index])
                starts_on = graduation.qualified_on + timedelta(days=10)
                record_pause(
                    session,
                    REGISTRAR,
                    graduation.id,
                    starts_on,
                    starts_on + timedelta(days=days - 1),
                    PauseReason.ILLNESS,
                    today=self.as_of,
                )

            self._act(action)

        # --- the scheduler ---------------------------------------------------------------

        @rule(days=st.integers(0, 60))
        def run_the_sweep(self, days):
            self.as_of += timedelta(days=days)
            self._act(lambda session: sweep(session, self.as_of))
            self.swept = True

        @rule(mode=st.sampled_from(CREATE_MODES))
        def run_the_executor(self, mode):
            COUNTS.steps += 1
            self.swept = False
            self.provider.next_create = mode
            self.clock += timedelta(hours=2)
            execute_refunds(session_factory, self.provider, now=lambda: self.clock)
            self.provider.next_create = "ok"
            self.provider.blind = False

        @rule()
        def run_the_reconciliation(self):
            COUNTS.steps += 1
            self.swept = False
            with session_factory() as session:
                reconcile(session, self.provider, now=self.clock)

        @rule(data=st.data())
        def a_card_refund_fails_later_and_the_webhook_says_so(self, data):
            made = [r for r in self.provider.refunds if r.status == "succeeded" and r.metadata]
            if not made:
                return
            refund = data.draw(st.sampled_from(made))
            self.provider.fail_later(refund.id)
            event = {
                "id": f"evt_model_{next(self.events)}",
                "type": "refund.updated",
                "data": {"object": {"id": refund.id}},
            }
            self._act(lambda session: handle_event(session, self.provider, event))

        # --- finance: each decision is drawn among the claims it could apply to -------------

        def _claims_in(self, states) -> list[int]:
            with session_factory() as session:
                return list(
                    session.scalars(
                        select(RefundClaim.id)
                        .where(RefundClaim.state.in_(list(states)))
                        .order_by(RefundClaim.id)
                    )
                )

        def _decide(self, data, states, decide) -> None:
            eligible = self._claims_in(states)
            if not eligible:
                return
            claim_id = data.draw(st.sampled_from(eligible), label="claim")
            person = data.draw(st.sampled_from(PEOPLE), label="person")
            self._act(lambda session: decide(session, claim_id, person))

        @precondition(lambda self: self._claims_in(claims.DECIDABLE))
        @rule(data=st.data())
        def approve(self, data):
            self._decide(
                data,
                claims.DECIDABLE,
                lambda session, claim_id, person: claims.approve(
                    session,
                    claim_id,
                    actor=person,
                    reason="model",
                    dual_approval_threshold_minor=THRESHOLD,
                    provider=self.provider,
                ),
            )

        @precondition(lambda self: self._claims_in(REVIEWABLE))
        @rule(data=st.data())
        def review_or_appeal(self, data):
            self._decide(
                data,
                REVIEWABLE,
                lambda session, claim_id, person: claims.start_review(
                    session, claim_id, actor=person, reason="look again"
                ),
            )

        @precondition(lambda self: self._claims_in(claims.DECIDABLE))
        @rule(data=st.data())
        def reject(self, data):
            self._decide(
                data,
                claims.DECIDABLE,
                lambda session, claim_id, person: claims.reject(
                    session, claim_id, actor=person, reason="obligations missed"
                ),
            )

        @precondition(lambda self: self._claims_in(WITHDRAWABLE))
        @rule(data=st.data())
        def withdraw(self, data):
            self._decide(
                data,
                WITHDRAWABLE,
                lambda session, claim_id, person: claims.withdraw(
                    session, claim_id, actor=person, reason="a job turned up"
                ),
            )

        @precondition(lambda self: self._claims_in({S.FAILED}))
        @rule(data=st.data())
        def retry(self, data):
            self._decide(
                data,
                {S.FAILED},
                lambda session, claim_id, person: claims.retry_failed(
                    session, claim_id, actor=person, reason="card renewed"
                ),
            )

        @precondition(lambda self: self._claims_in({S.FAILED}))
        @rule(data=st.data())
        def settle_by_bank_transfer(self, data):
            self._decide(
                data,
                {S.FAILED},
                lambda session, claim_id, person: claims.settle_manually(
                    session,
                    claim_id,
                    actor=person,
                    transfer_reference="TRF-MODEL",
                    reason="card refused",
                    provider=self.provider,
                ),
            )

        # --- backups ---------------------------------------------------------------------

        @precondition(lambda self: self.snapshot is None)
        @rule()
        def take_a_snapshot(self):
            self.snapshot = connection.begin_nested()

        @precondition(lambda self: self.snapshot is not None)
        @rule()
        def restore_the_snapshot(self):
            COUNTS.steps += 1
            self.snapshot.rollback()
            self.snapshot = None
            self.swept = False

        # --- invariants ------------------------------------------------------------------

        @invariant()
        def every_owed_graduate_has_an_open_or_paid_claim(self):
            if not self.swept:
                return
            with session_factory() as session:
                for graduation_id in self.graduations:
                    view = claims.evaluate_guarantee(session, graduation_id, self.as_of)
                    if view.status.state is not claims.GuaranteeState.OWED_REFUND:
                        continue
                    claim = session.scalar(
                        select(RefundClaim).where(RefundClaim.graduation_id == graduation_id)
                    )
                    assert claim is not None, f"graduation {graduation_id} owed, no claim"
                    assert claim.state in OPEN_STATES | {S.REFUNDED, S.SETTLED_MANUALLY}, (
                        f"graduation {graduation_id} owed, its claim {claim.state.value}"
                    )

        @invariant()
        def no_payment_gets_back_more_than_it_paid(self):
            for intent, payment in self.provider.intents.items():
                back = sum(r.amount_minor for r in self.provider.live(intent))
                assert back <= payment.amount_minor, f"{intent}: {back} back of {payment}"

        @invariant()
        def no_refund_row_has_two_provider_refunds(self):
            with session_factory() as session:
                for refund in session.scalars(select(Refund)):
                    intent = refund.payment.stripe_payment_intent_id
                    mine = [
                        r
                        for r in self.provider.live(intent)
                        if r.metadata.get("claim_id") == str(refund.claim_id)
                    ]
                    assert len(mine) <= 1, f"refund row {refund.id}: {mine}"

        @invariant()
        def what_is_paid_back_is_the_amount_approved(self):
            with session_factory() as session:
                for claim in session.scalars(
                    select(RefundClaim).where(RefundClaim.state == S.REFUNDED)
                ):
                    rows = [r for r in claim.refunds if r.state is not RefundState.CANCELED]
                    assert sum(r.amount_minor for r in rows) == claim.amount_minor
                    approvals = [a for a in claim.approvals if a.round == claim.approval_round]
                    if rows:
                        assert approvals and approvals[-1].amount_minor == claim.amount_minor
                    for row in rows:
                        intent = row.payment.stripe_payment_intent_id
                        at_provider = [
                            r
                            for r in self.provider.live(intent)
                            if r.metadata.get("claim_id") == str(claim.id)
                        ]
                        assert [r.amount_minor for r in at_provider] == [row.amount_minor]
                for claim in session.scalars(
                    select(RefundClaim).where(RefundClaim.state == S.SETTLED_MANUALLY)
                ):
                    for row in claim.refunds:
                        if row.state is RefundState.SETTLED_MANUALLY:
                            intent = row.payment.stripe_payment_intent_id
                            paid_by_card = [
                                r
                                for r in self.provider.live(intent)
                                if r.metadata.get("claim_id") == str(claim.id)
                            ]
                            assert paid_by_card == [], f"row {row.id} paid by card and bank"

        @invariant()
        def every_claim_can_still_reach_an_end(self):
            ends = {S.REFUNDED, S.SETTLED_MANUALLY, S.WITHDRAWN, S.REJECTED}
            with session_factory() as session:
                for claim in session.scalars(select(RefundClaim)):
                    COUNTS.states.add(claim.state.value)
                    assert _reaches(claim.state, ends), claim.state
                    if claim.state in claims.DECIDABLE:
                        approved = {a.actor for a in claims.current_approvals(session, claim)}
                        assert set(PEOPLE) - approved, f"claim {claim.id}: nobody may approve"
                    if claim.state in (S.APPROVED, S.PAYING):
                        rows = [r for r in claim.refunds if r.state is not RefundState.CANCELED]
                        assert rows, f"claim {claim.id} {claim.state.value} with nothing to send"

        @invariant()
        def a_placed_graduate_who_was_paid_has_a_recovery_item(self):
            with session_factory() as session:
                for claim in session.scalars(
                    select(RefundClaim).where(
                        RefundClaim.state.in_([S.REFUNDED, S.SETTLED_MANUALLY])
                    )
                ):
                    view = claims.evaluate_guarantee(session, claim.graduation_id, claim.flagged_on)
                    if view.qualifying_outcome_id is None:
                        continue
                    items = session.scalars(
                        select(RecoveryItem).where(RecoveryItem.claim_id == claim.id)
                    ).all()
                    assert items, f"claim {claim.id} paid, graduate placed, no recovery item"

    return ClaimModel


def _reaches(state: ClaimState, ends: set[ClaimState]) -> bool:
    seen, frontier = {state}, [state]
    while frontier:
        current = frontier.pop()
        if current in ends:
            return True
        for target in TRANSITIONS[current] - seen:
            seen.add(target)
            frontier.append(target)
    return False


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_the_claim_lifecycle_holds_its_invariants_after_every_step(
    connection, session_factory, capsys
):
    COUNTS.examples = COUNTS.steps = 0
    COUNTS.states = set()
    run_state_machine_as_test(
        model_for(connection, session_factory),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
    with capsys.disabled():
        dialect = connection.dialect.name
        print(
            f"\nclaim model on {dialect}: {COUNTS.examples} examples, {COUNTS.steps} steps;"
            f" claim states reached: {', '.join(sorted(COUNTS.states))}"
        )
