"""Excluded outcomes: the registrar records one with its evidence, once; a claim not yet paying
is withdrawn with it, a claim paying or paid refuses it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.auth.access import Forbidden, Principal
from app.guarantee.rules import GuaranteeState
from app.guarantee.terms import ExclusionReason
from app.labels import label
from app.models import AuditEvent, ExcludedOutcome, Role
from app.services.errors import Conflict, Invalid, NotFound
from app.services.exclusions import record_exclusion
from app.services.guarantee import evaluate_guarantee
from refunds.models import ClaimTransition
from refunds.states import ClaimState, RefundState
from tests.factories import (
    AuditedRefundClaimFactory,
    ExcludedOutcomeFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    RefundFactory,
    SearchPauseFactory,
)

S = ClaimState
#: The factories' graduation: qualified 31 Aug 2025, six months, window closes 28 Feb 2026.
TODAY = date(2026, 3, 10)
REGISTRAR = Principal(actor="user:900", role=Role.REGISTRAR, user_id=900)
EVIDENCE = "Enrolment letter, École Centrale, ref. EC-2026-0042"


def _exclude(session, graduation, **fields):
    return record_exclusion(
        session,
        fields.pop("principal", REGISTRAR),
        graduation.id,
        fields.pop("reason", ExclusionReason.FURTHER_STUDY),
        fields.pop("occurred_on", date(2026, 1, 12)),
        fields.pop("evidence", EVIDENCE),
        today=fields.pop("today", TODAY),
    )


def _exclusions(session) -> int:
    return session.scalar(select(func.count()).select_from(ExcludedOutcome))


def test_recording_an_exclusion_takes_the_graduate_out_of_the_guarantee_and_audits_it(session):
    graduation = GraduationFactory()

    exclusion = _exclude(session, graduation, evidence=f"  {EVIDENCE} ")

    assert (exclusion.reason, exclusion.occurred_on, exclusion.evidence) == (
        ExclusionReason.FURTHER_STUDY,
        date(2026, 1, 12),
        EVIDENCE,
    )
    assert exclusion.recorded_by == "user:900"
    view = evaluate_guarantee(session, graduation.id, TODAY)
    assert view.status.state is GuaranteeState.EXCLUDED
    assert view.exclusion == exclusion
    audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "exclusion.recorded"))
    assert audit.target == f"graduation:{graduation.id}"
    assert "further_study" in audit.detail


@pytest.mark.parametrize("state", [S.FLAGGED, S.IN_REVIEW, S.AWAITING_SECOND_APPROVAL])
def test_an_exclusion_withdraws_an_open_claim_with_the_reason(session, state):
    graduation = GraduationFactory()
    claim = AuditedRefundClaimFactory(graduation=graduation, state=state)

    _exclude(session, graduation, reason=ExclusionReason.MILITARY_SERVICE)

    session.refresh(claim)
    assert claim.state is S.WITHDRAWN
    last = session.scalar(
        select(ClaimTransition)
        .where(ClaimTransition.claim_id == claim.id)
        .order_by(ClaimTransition.id.desc())
        .limit(1)
    )
    assert (last.from_state, last.to_state, last.actor) == (state, S.WITHDRAWN, "user:900")
    assert "military_service" in last.reason and EVIDENCE in last.reason


def test_an_exclusion_withdraws_an_approved_claim_and_cancels_its_unsent_refunds(session):
    graduation = GraduationFactory()
    claim = AuditedRefundClaimFactory(graduation=graduation, state=S.APPROVED)
    refund = RefundFactory(claim=claim)

    _exclude(session, graduation)

    session.refresh(claim)
    session.refresh(refund)
    assert (claim.state, refund.state) == (S.WITHDRAWN, RefundState.CANCELED)


@pytest.mark.parametrize("state", [S.PAYING, S.REFUNDED, S.FAILED, S.SETTLED_MANUALLY])
def test_an_exclusion_is_refused_once_money_has_gone_out_and_nothing_is_recorded(session, state):
    graduation = GraduationFactory()
    claim = AuditedRefundClaimFactory(graduation=graduation, state=state)

    with pytest.raises(Conflict) as refused:
        _exclude(session, graduation)

    assert f"is {label(state)}: money has gone out" in refused.value.message
    session.refresh(claim)
    assert claim.state is state
    assert _exclusions(session) == 0


@pytest.mark.parametrize("state", [S.REJECTED, S.WITHDRAWN])
def test_an_exclusion_leaves_a_closed_claim_as_it_is(session, state):
    graduation = GraduationFactory()
    claim = AuditedRefundClaimFactory(graduation=graduation, state=state)

    _exclude(session, graduation)

    session.refresh(claim)
    assert claim.state is state
    assert _exclusions(session) == 1


def test_a_second_exclusion_of_the_same_graduation_is_a_conflict(session):
    graduation = GraduationFactory()
    ExcludedOutcomeFactory(graduation=graduation)

    with pytest.raises(Conflict):
        _exclude(session, graduation, reason=ExclusionReason.DEATH)

    assert _exclusions(session) == 1


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"evidence": ""}, "evidence", "name the document"),
        ({"evidence": "   "}, "evidence", "name the document"),
        ({"evidence": "x" * 501}, "evidence", "at most 500"),
        ({"evidence": "letter\nref"}, "evidence", "one line"),
        ({"occurred_on": date(2026, 3, 11)}, "occurred_on", "once it has happened"),
        # The window closed on 28 February: an outcome after it takes nothing back.
        ({"occurred_on": date(2026, 3, 1)}, "occurred_on", "closed on 2026-02-28"),
    ],
)
def test_an_exclusion_that_breaks_a_rule_is_refused_with_its_field(session, fields, field, words):
    graduation = GraduationFactory()
    claim = AuditedRefundClaimFactory(graduation=graduation, state=S.FLAGGED)

    with pytest.raises(Invalid) as refused:
        _exclude(session, graduation, **fields)

    assert words in refused.value.errors[field][0]
    assert _exclusions(session) == 0
    session.refresh(claim)
    assert claim.state is S.FLAGGED


def test_an_outcome_inside_a_window_extended_by_a_pause_can_be_recorded(session):
    graduation = GraduationFactory(
        enrollment__policy=GuaranteePolicyFactory(max_pause_days=30),
    )
    SearchPauseFactory(
        graduation=graduation, starts_on=date(2025, 10, 1), ends_on=date(2025, 10, 5)
    )

    _exclude(session, graduation, occurred_on=date(2026, 3, 5))  # deadline 5 March

    assert _exclusions(session) == 1


@pytest.mark.parametrize("role", [Role.GRADUATE, Role.FINANCE, Role.ADMIN])
def test_only_a_registrar_records_an_exclusion(app, session, role):
    graduation = GraduationFactory()
    principal = Principal(
        actor="user:5", role=role, user_id=5, student_id=graduation.enrollment.student_id
    )

    with app.app_context(), pytest.raises(Forbidden):
        _exclude(session, graduation, principal=principal)


def test_excluding_an_unknown_graduation_is_not_found(session):
    with pytest.raises(NotFound):
        record_exclusion(
            session,
            REGISTRAR,
            10**6,
            ExclusionReason.DEATH,
            date(2026, 1, 1),
            EVIDENCE,
            today=TODAY,
        )
