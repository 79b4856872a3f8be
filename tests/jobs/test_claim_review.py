"""The sweep's command and task review the claims they flag against the search obligations."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.guarantee.terms import EmploymentType, OfferDecision, SearchActivityKind
from jobs import tasks
from refunds.models import RefundClaim
from refunds.states import ClaimState
from tests.factories import (
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    SearchActivityFactory,
    TuitionPaymentFactory,
)
from tests.refunds.conftest import QUALIFIED_ON


def graduate_who_declined_a_qualifying_offer():
    policy = GuaranteePolicyFactory(declined_offer_voids=True)
    graduation = GraduationFactory(
        qualified_on=QUALIFIED_ON,
        enrollment=EnrollmentFactory(policy=policy, signed_on=date(2024, 1, 10)),
    )
    TuitionPaymentFactory(enrollment=graduation.enrollment)
    SearchActivityFactory(
        graduation=graduation,
        kind=SearchActivityKind.OFFER,
        occurred_on=date(2025, 3, 3),
        employment_type=EmploymentType.FULL_TIME_PERMANENT,
        in_field=True,
        decision=OfferDecision.DECLINED,
        decided_on=date(2025, 3, 4),
    )
    return graduation


def state_of(session, graduation) -> ClaimState:
    session.expire_all()
    return session.scalar(
        select(RefundClaim.state).where(RefundClaim.graduation_id == graduation.id)
    )


def test_the_sweep_command_reviews_what_it_flagged(runner, session):
    graduation = graduate_who_declined_a_qualifying_offer()

    result = runner.invoke(args=["guarantee", "sweep", "--as-of", "2025-09-01"])

    assert result.exit_code == 0, result.output
    assert "search obligations: checked 1, rejected as void 1, sent to review 0" in result.output
    assert state_of(session, graduation) is ClaimState.REJECTED


def test_a_dry_run_reviews_nothing(runner, session):
    graduate_who_declined_a_qualifying_offer()

    result = runner.invoke(args=["guarantee", "sweep", "--as-of", "2025-09-01", "--dry-run"])

    assert "search obligations" not in result.output
    assert session.scalar(select(RefundClaim)) is None


def test_the_scheduled_sweep_reviews_what_it_flagged(app, session):
    graduation = graduate_who_declined_a_qualifying_offer()

    tasks.run_sweep(app, date(2025, 9, 1))

    assert state_of(session, graduation) is ClaimState.REJECTED
