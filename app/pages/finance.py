"""Finance's pages: the claims queue, the evidence behind a claim, and the decisions on it.

Each decision is a form that carries the claim version the person saw, so a decision taken on a
page that has gone stale is refused instead of applied to something they have not read. The
actor is always the signed-in person, never a form field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.auth import current_principal, requires
from app.auth.access import Permission
from app.database import db_session
from app.models import Role
from app.models.base import utc_now
from app.pages import documents as document_pages
from app.pages import search as search_pages
from app.pages.formatting import csv_download, major_units
from app.services import documents, finance
from app.services import forecast as forecast_service
from app.services import search as search_log
from app.services.errors import Conflict, Invalid, NotFound
from refunds import claims
from refunds.models import RecoveryItem, RefundClaim
from refunds.provider import configured_gateway
from refunds.states import ClaimState, RefundState

blueprint = Blueprint("finance", __name__, url_prefix="/finance")

PER_PAGE = 50

#: The badge class of each claim state: good news, waiting on someone, or trouble.
CLAIM_BADGES = {
    ClaimState.FLAGGED: "badge-warn",
    ClaimState.IN_REVIEW: "badge-warn",
    ClaimState.AWAITING_SECOND_APPROVAL: "badge-warn",
    ClaimState.APPROVED: "badge-good",
    ClaimState.PAYING: "",
    ClaimState.REFUNDED: "badge-good",
    ClaimState.SETTLED_MANUALLY: "badge-good",
    ClaimState.FAILED: "badge-bad",
    ClaimState.REJECTED: "badge-bad",
    ClaimState.WITHDRAWN: "",
}
#: The badge class of each refund state.
REFUND_BADGES = {
    RefundState.PENDING: "",
    RefundState.SUBMITTING: "",
    RefundState.PROCESSING: "badge-warn",
    RefundState.SUCCEEDED: "badge-good",
    RefundState.SETTLED_MANUALLY: "badge-good",
    RefundState.FAILED: "badge-bad",
    RefundState.CANCELED: "",
}

STALE = (
    "This claim changed since you opened it, so nothing was done. It is shown below as it"
    " stands now: check it and decide again."
)


@blueprint.context_processor
def _badges():
    return {"claim_badges": CLAIM_BADGES, "refund_badges": REFUND_BADGES}


# --- the queue ---------------------------------------------------------------------------------

#: The ``state`` filters besides a single state: the default, and everything.
NEEDS_ACTION, ALL = "needs_action", "all"
#: What each ``state`` filter shows.
FILTERS = {
    NEEDS_ACTION: finance.NEEDS_ACTION,
    ALL: tuple(ClaimState),
    **{state.value: (state,) for state in ClaimState},
}


@blueprint.get("")
@requires(Permission.READ_CLAIMS)
def queue():
    """The claims queue, by state (those needing action by default), oldest first."""
    session = db_session()
    selected = request.args.get("state", NEEDS_ACTION)
    status = 200
    if selected not in FILTERS:
        flash(
            f"There is no claim state called “{selected}”: showing the claims needing action.",
            "error",
        )
        selected, status = NEEDS_ACTION, 400
    states = FILTERS[selected]
    page = finance.claims_queue(
        session, states, request.args.get("page", 1, type=int), per_page=PER_PAGE
    )
    counts = finance.count_by_state(session)
    return render_template(
        "finance/queue.html",
        selected=selected,
        page=page,
        counts=counts,
        needs_action=finance.NEEDS_ACTION,
        needs_action_count=sum(counts[state] for state in finance.NEEDS_ACTION),
        failed=finance.failed_claims(session) if counts[ClaimState.FAILED] else [],
        recoveries=finance.open_recovery_items(session),
    ), status


# --- one claim ---------------------------------------------------------------------------------


@blueprint.get("/claims/<id:claim_id>")
@requires(Permission.READ_CLAIMS)
def claim(claim_id: int):
    """The evidence behind one claim, its trail, and the decisions its state allows."""
    return _claim_page(claim_id)


def _claim_page(claim_id: int, forms: dict[str, FlaskForm] | None = None, status: int = 200):
    principal = current_principal()
    try:
        evidence = finance.claim_evidence(
            db_session(),
            claim_id,
            actor=principal.actor,
            threshold_minor=_threshold(),
            today=utc_now().date(),
        )
    except NotFound:
        return render_template("errors/404.html"), 404
    return render_template(
        "finance/claim.html",
        evidence=evidence,
        claim=evidence.claim,
        search=search_log.record_at_close(
            db_session(), evidence.graduation, evidence.claim.deadline
        ),
        week_states=search_pages.WEEK_STATES,
        offer_decisions=search_pages.DECISIONS,
        forms=forms or {},
        can_decide=principal.can(Permission.DECIDE_CLAIMS),
        threshold_minor=_threshold(),
        documents=document_pages.sections_for(
            principal,
            [evidence.claim.enrollment_id],
            documents.ATTACHABLE[Role.FINANCE],
            url_for("finance.claim", claim_id=claim_id),
        )[evidence.claim.enrollment_id],
    ), status


def _threshold() -> int:
    return current_app.config["DUAL_APPROVAL_THRESHOLD_MINOR"]


# --- decisions ---------------------------------------------------------------------------------


class DecisionForm(FlaskForm):
    """What every decision carries: the version decided on, and why."""

    version = IntegerField(
        "Claim version",
        validators=[
            InputRequired("This form has no claim version: reload the page and try again."),
            NumberRange(min=1),
        ],
    )
    reason = TextAreaField("Reason", validators=[Optional(), Length(max=2000)])


class ReasonedDecisionForm(DecisionForm):
    reason = TextAreaField("Reason", validators=[DataRequired("Give a reason."), Length(max=2000)])


class SettlementForm(ReasonedDecisionForm):
    transfer_reference = StringField(
        "Bank transfer reference",
        validators=[DataRequired("Give the bank transfer's reference."), Length(max=200)],
    )


@dataclass(frozen=True)
class Decision:
    """One thing finance can do to a claim, from a form on its page."""

    form: type[DecisionForm]
    #: ``(session, claim_id, actor, form) -> claim``: the service call.
    perform: Callable[[Session, int, str, DecisionForm], RefundClaim]
    #: What to tell the person once it is done.
    done: Callable[[RefundClaim], str]


def _approve(session, claim_id, actor, form):
    return claims.approve(
        session,
        claim_id,
        actor=actor,
        reason=form.reason.data,
        dual_approval_threshold_minor=_threshold(),
        provider=configured_gateway(),
        expected_version=form.version.data,
    )


def _approved(claim: RefundClaim) -> str:
    if claim.state is ClaimState.AWAITING_SECOND_APPROVAL:
        return "Your approval is recorded. The claim needs a second approval by someone else."
    if claim.state is ClaimState.REFUNDED:
        return "Approved. There was nothing to refund, so the claim is closed as refunded."
    return "Approved. The refunds are written and will be sent to the payment provider."


def _simple(service):
    def perform(session, claim_id, actor, form):
        return service(
            session,
            claim_id,
            actor=actor,
            reason=form.reason.data,
            expected_version=form.version.data,
        )

    return perform


def _settle(session, claim_id, actor, form):
    return claims.settle_manually(
        session,
        claim_id,
        actor=actor,
        transfer_reference=form.transfer_reference.data,
        reason=form.reason.data,
        provider=configured_gateway(),
        expected_version=form.version.data,
    )


DECISIONS = {
    "approve": Decision(DecisionForm, _approve, _approved),
    "reject": Decision(
        ReasonedDecisionForm,
        _simple(claims.reject),
        lambda claim: "Rejected. The graduate can appeal; a different reviewer hears it.",
    ),
    "review": Decision(
        ReasonedDecisionForm,
        _simple(claims.start_review),
        lambda claim: "The claim is under review. Refunds not yet sent are called off.",
    ),
    "withdraw": Decision(
        ReasonedDecisionForm,
        _simple(claims.withdraw),
        lambda claim: "The claim is withdrawn. Refunds not yet sent are called off.",
    ),
    "retry": Decision(
        ReasonedDecisionForm,
        _simple(claims.retry_failed),
        lambda claim: "The failed refunds will be sent to the payment provider again.",
    ),
    "settle": Decision(
        SettlementForm,
        _settle,
        lambda claim: "The claim is recorded as settled by bank transfer.",
    ),
}


@blueprint.post(
    "/claims/<id:claim_id>/<any(approve, reject, review, withdraw, retry, settle):action>"
)
@requires(Permission.DECIDE_CLAIMS)
def decide(claim_id: int, action: str):
    """Apply one decision to a claim as the signed-in person, then show the claim again."""
    decision = DECISIONS[action]
    form = decision.form()
    if not form.validate_on_submit():
        flash("Nothing was changed: correct the form below.", "error")
        return _claim_page(claim_id, {action: form}, 400)
    session = db_session()
    try:
        claim = decision.perform(session, claim_id, current_principal().actor, form)
        session.commit()
    except NotFound:
        session.rollback()
        return render_template("errors/404.html"), 404
    except Invalid as error:
        session.rollback()
        for name, reasons in error.errors.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*field.errors, *reasons]
            else:
                flash(f"{name}: {', '.join(reasons)}", "error")
        flash("Nothing was changed: correct the form below.", "error")
        return _claim_page(claim_id, {action: form}, 400)
    except Conflict as error:
        session.rollback()
        flash(STALE if error.field == "version" else _sentence(error.message), "error")
        return _claim_page(claim_id, status=409)
    except StaleDataError:
        # Someone else's change landed between reading the claim and writing it.
        session.rollback()
        flash(STALE, "error")
        return _claim_page(claim_id, status=409)
    flash(decision.done(claim), "success")
    return redirect(url_for("finance.claim", claim_id=claim_id), 303)


def _sentence(message: str) -> str:
    # The services speak in lower-case clauses; the pages in sentences.
    text = message[:1].upper() + message[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


@blueprint.post("/recovery-items/<id:item_id>/resolve")
@requires(Permission.DECIDE_CLAIMS)
def resolve_recovery(item_id: int):
    """Close a recovery item with what finance decided; back to its claim."""
    session = db_session()
    item = session.get(RecoveryItem, item_id)
    if item is None:
        return render_template("errors/404.html"), 404
    try:
        claims.resolve_recovery_item(
            session,
            item_id,
            actor=current_principal().actor,
            resolution=request.form.get("resolution", ""),
        )
        session.commit()
    except (Invalid, Conflict) as error:
        session.rollback()
        flash(_sentence(getattr(error, "message", None) or str(error)), "error")
        return _claim_page(item.claim_id, status=409 if isinstance(error, Conflict) else 400)
    flash("The recovery item is closed.", "success")
    return redirect(url_for("finance.claim", claim_id=item.claim_id), 303)


# --- the liability forecast --------------------------------------------------------------------


def _forecast_day() -> tuple[date, str | None]:
    """The ``as_of`` query parameter (default today, UTC), and an error when it is not a date."""
    text = request.args.get("as_of")
    if not text:
        return utc_now().date(), None
    try:
        return date.fromisoformat(text), None
    except ValueError:
        return utc_now().date(), f"“{text}” is not a date (YYYY-MM-DD): showing today's forecast."


@blueprint.get("/forecast")
@requires(Permission.READ_CLAIMS)
def forecast():
    """The refunds the coming months may bring, per currency, and the claims still open."""
    as_of, error = _forecast_day()
    if error:
        flash(error, "error")
    return render_template(
        "finance/forecast.html", forecast=forecast_service.liability_forecast(db_session(), as_of)
    ), (400 if error else 200)


@blueprint.get("/forecast.csv")
@requires(Permission.READ_CLAIMS)
def forecast_csv():
    """The forecast's month rows as CSV, one per month and currency."""
    as_of, error = _forecast_day()
    if error:
        return Response(error, status=400, mimetype="text/plain")
    result = forecast_service.liability_forecast(db_session(), as_of)
    header = ["month", "currency", "graduates", "amount_minor", "amount"]
    lines = [
        [
            row.month.strftime("%Y-%m"),
            row.currency,
            row.graduates,
            row.amount_minor,
            major_units(row.amount_minor, row.currency),
        ]
        for row in result.rows
    ]
    return csv_download([header, *lines], f"liability-forecast-{as_of.isoformat()}.csv")
