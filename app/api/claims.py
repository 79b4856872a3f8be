"""Refund claims: the finance queue, decisions, and the audit trail of each claim."""

from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.api import ApiBlueprint
from app.api.fields import Cursor, Id, QueryBoolean, Text
from app.api.listing import Keyset, page_of, paged
from app.auth import current_principal, requires
from app.auth.access import Permission
from app.database import database, db_session
from app.models.base import utc_now
from app.services import claim_notices
from app.services.records import get_or_404
from refunds import claims
from refunds.models import RecoveryItem, RefundClaim
from refunds.provider import configured_gateway
from refunds.states import ClaimState, RefundState

blueprint = ApiBlueprint(
    "claims",
    __name__,
    url_prefix="/api/v1",
    description="Refund claims: flagged by the sweep, decided by finance, paid by the executor.",
)


class TransitionOut(Schema):
    from_state = fields.Enum(ClaimState, by_value=True, allow_none=True)
    to_state = fields.Enum(ClaimState, by_value=True)
    actor = fields.String()
    reason = fields.String(metadata={"description": "The internal note: staff only."})
    graduate_note = fields.String(
        allow_none=True,
        metadata={"description": "What the graduate was told of this step (page and email)."},
    )
    at = fields.AwareDateTime()


class ApprovalOut(Schema):
    actor = fields.String()
    reason = fields.String()
    at = fields.AwareDateTime()
    round = fields.Integer(metadata={"description": "Only approvals of the claim's round count."})
    amount_minor = fields.Integer(
        allow_none=True, metadata={"description": "The refundable amount this person approved."}
    )


class RecoveryItemOut(Schema):
    id = fields.Integer()
    claim_id = fields.Integer()
    job_outcome_id = fields.Integer()
    reason = fields.String()
    opened_by = fields.String()
    created_at = fields.AwareDateTime()
    resolved_at = fields.AwareDateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)


class RecoveryQuery(Schema):
    open = QueryBoolean(
        load_default=True, metadata={"description": "Only the items finance has not closed."}
    )


class ResolutionIn(Schema):
    resolution = Text(max_length=2000, required=True)


class RefundOut(Schema):
    id = fields.Integer()
    payment_id = fields.Integer()
    amount_minor = fields.Integer()
    currency = fields.String()
    state = fields.Enum(RefundState, by_value=True)
    provider_refund_id = fields.String(allow_none=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    manual_reference = fields.String(allow_none=True)
    updated_at = fields.AwareDateTime()


class ClaimOut(Schema):
    id = fields.Integer()
    enrollment_id = fields.Integer()
    graduation_id = fields.Integer()
    student_id = fields.Function(lambda claim: claim.enrollment.student_id)
    state = fields.Enum(ClaimState, by_value=True)
    amount_minor = fields.Integer()
    currency = fields.String()
    deadline = fields.Date()
    flagged_on = fields.Date()
    approval_round = fields.Integer()
    version = fields.Integer()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class ClaimDetailOut(ClaimOut):
    approvals = fields.List(fields.Nested(ApprovalOut))
    recovery_items = fields.List(fields.Nested(RecoveryItemOut))
    refunds = fields.List(fields.Nested(RefundOut))
    transitions = fields.List(fields.Nested(TransitionOut))


class ClaimQuery(Schema):
    state = fields.Enum(ClaimState, by_value=True)
    graduation_id = Id(strict=False)
    cursor = Cursor()


#: The claims queue's order, oldest first; a deep page starts after a key (migration 0017).
CLAIMS_ORDER = Keyset((RefundClaim.created_at, RefundClaim.id))


#: What ``graduate_note`` is, in every decision.
GRADUATE_NOTE = (
    "What the graduate is told of this decision, on their page and in an email; ``reason`` is"
    " the internal note, which never reaches them."
)


class DecisionIn(Schema):
    reason = Text(max_length=2000, required=True)
    graduate_note = Text(
        max_length=2000, load_default=None, metadata={"description": GRADUATE_NOTE}
    )
    version = fields.Integer(
        strict=True,
        validate=validate.Range(min=1),
        metadata={"description": "The claim version you decided on; a changed claim is a 409."},
    )


class ApprovalIn(DecisionIn):
    reason = Text(max_length=2000, load_default=None)


class RejectionIn(DecisionIn):
    reason = Text(max_length=2000, load_default=None, metadata={"description": "Internal note."})
    graduate_note = Text(
        max_length=2000,
        required=True,
        metadata={"description": GRADUATE_NOTE + " They read it with how to appeal."},
    )


class ManualSettlementIn(DecisionIn):
    transfer_reference = Text(required=True)


@blueprint.get("/claims")
@requires(Permission.READ_CLAIMS)
@blueprint.arguments(ClaimQuery, location="query", as_kwargs=True)
@blueprint.response(200, paged(ClaimOut))
@blueprint.paginate()
def list_claims(pagination_parameters, state=None, graduation_id=None, cursor=None):
    """The claims queue, oldest first."""
    statement = (
        select(RefundClaim)
        .options(joinedload(RefundClaim.enrollment))
        .order_by(*CLAIMS_ORDER.order_by())
    )
    if state is not None:
        statement = statement.where(RefundClaim.state == state)
    if graduation_id is not None:
        statement = statement.where(RefundClaim.graduation_id == graduation_id)
    return page_of(statement, pagination_parameters, keyset=CLAIMS_ORDER, cursor=cursor)


@blueprint.get("/claims/<id:claim_id>")
@requires(Permission.READ_CLAIMS)
@blueprint.response(200, ClaimDetailOut)
def get_claim(claim_id):
    """A claim with its approvals, refunds and audit trail."""
    return get_or_404(db_session(), RefundClaim, claim_id)


def _decide(action, claim_id, **kwargs):
    """Apply ``action`` as the signed-in person (or token): the actor is never taken from input."""
    session = db_session()
    get_or_404(session, RefundClaim, claim_id)
    kwargs["actor"] = current_principal().actor
    kwargs["expected_version"] = kwargs.pop("version", None)
    claim = action(session, claim_id, **kwargs)
    session.commit()
    claim_notices.notify_quietly(database().sessionmaker, utc_now(), claim_id)
    session.refresh(claim)
    return claim


#: The 409 of every decision: the claim's state forbids it, or the claim changed since it was read.
STATE_CONFLICT = "The claim is not in a state that allows this, or changed since it was read."


@blueprint.post("/claims/<id:claim_id>/review")
@requires(Permission.DECIDE_CLAIMS)
@blueprint.arguments(DecisionIn, as_kwargs=True)
@blueprint.response(200, ClaimDetailOut)
@blueprint.alt_response(409, description=STATE_CONFLICT)
def review_claim(claim_id, **decision):
    """Put a claim under review; a rejected claim reviewed again is an appeal (second reviewer)."""
    return _decide(claims.start_review, claim_id, **decision)


@blueprint.post("/claims/<id:claim_id>/approve")
@requires(Permission.DECIDE_CLAIMS)
@blueprint.arguments(ApprovalIn, as_kwargs=True, required=False)
@blueprint.response(200, ClaimDetailOut)
@blueprint.alt_response(409, description=STATE_CONFLICT)
def approve_claim(claim_id, **decision):
    """Approve a claim; above the threshold, two different people must approve."""
    threshold = current_app.config["DUAL_APPROVAL_THRESHOLD_MINOR"]
    return _decide(
        claims.approve,
        claim_id,
        dual_approval_threshold_minor=threshold,
        provider=configured_gateway(),
        **decision,
    )


@blueprint.post("/claims/<id:claim_id>/reject")
@requires(Permission.DECIDE_CLAIMS)
@blueprint.arguments(RejectionIn, as_kwargs=True)
@blueprint.response(200, ClaimDetailOut)
@blueprint.alt_response(409, description=STATE_CONFLICT)
def reject_claim(claim_id, **decision):
    """Reject a claim, with a note for the graduate (who can appeal) and an internal one."""
    return _decide(claims.reject, claim_id, **decision)


@blueprint.post("/claims/<id:claim_id>/withdraw")
@requires(Permission.DECIDE_CLAIMS)
@blueprint.arguments(DecisionIn, as_kwargs=True)
@blueprint.response(200, ClaimDetailOut)
@blueprint.alt_response(409, description=STATE_CONFLICT)
def withdraw_claim(claim_id, **decision):
    """Withdraw a claim, with a reason; unsent refunds are called off."""
    return _decide(claims.withdraw, claim_id, **decision)


@blueprint.post("/claims/<id:claim_id>/retry")
@requires(Permission.DECIDE_CLAIMS)
@blueprint.arguments(DecisionIn, as_kwargs=True)
@blueprint.response(200, ClaimDetailOut)
@blueprint.alt_response(409, description=STATE_CONFLICT)
def retry_claim(claim_id, **decision):
    """Send a failed claim's failed refunds again."""
    return _decide(claims.retry_failed, claim_id, **decision)


@blueprint.post("/claims/<id:claim_id>/settle-manually")
@requires(Permission.DECIDE_CLAIMS)
@blueprint.arguments(ManualSettlementIn, as_kwargs=True)
@blueprint.response(200, ClaimDetailOut)
@blueprint.alt_response(409, description=STATE_CONFLICT)
def settle_claim_manually(claim_id, **decision):
    """Record the bank transfer that paid a failed claim; the claim ends settled manually."""
    return _decide(claims.settle_manually, claim_id, provider=configured_gateway(), **decision)


@blueprint.get("/recovery-items")
@requires(Permission.READ_CLAIMS)
@blueprint.arguments(RecoveryQuery, location="query", as_kwargs=True)
@blueprint.response(200, paged(RecoveryItemOut))
@blueprint.paginate()
def list_recovery_items(pagination_parameters, open=True):  # noqa: A002 - the query's name
    """Paid claims a qualifying job reported afterwards contradicts, oldest first."""
    statement = select(RecoveryItem).order_by(RecoveryItem.id)
    if open:
        statement = statement.where(RecoveryItem.resolved_at.is_(None))
    return page_of(statement, pagination_parameters)


@blueprint.post("/recovery-items/<id:item_id>/resolve")
@requires(Permission.DECIDE_CLAIMS)
@blueprint.arguments(ResolutionIn, as_kwargs=True)
@blueprint.response(200, RecoveryItemOut)
@blueprint.alt_response(409, description="The recovery item is closed already.")
def resolve_recovery_item(item_id, resolution):
    """Close a recovery item with what finance decided (recovered, waived, not a placement)."""
    session = db_session()
    item = claims.resolve_recovery_item(
        session, item_id, actor=current_principal().actor, resolution=resolution
    )
    session.commit()
    return item
