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
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.auth import current_principal, requires
from app.auth.access import Permission
from app.database import database, db_session
from app.guarantee.rules import CLAIM_DUE_SOON_DAYS, ClaimDeadlineStanding
from app.labels import label
from app.models import Role
from app.models.base import utc_now
from app.pages import documents as document_pages
from app.pages import search as search_pages
from app.pages.formatting import csv_download, major_units
from app.pages.list_args import ListArgs
from app.pages.sentences import said_again
from app.services import claim_notices, documents, finance
from app.services import forecast as forecast_service
from app.services import search as search_log
from app.services.errors import Conflict, Invalid, NotFound
from app.services.records import MAX_ID
from refunds import claims
from refunds.models import RecoveryItem, RefundClaim
from refunds.provider import configured_gateway
from refunds.states import ClaimState, RefundState

blueprint = Blueprint("finance", __name__, url_prefix="/finance")
blueprint.add_app_template_filter(said_again, "said_again")

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

STALE = lazy_gettext(
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


def _queue_request(session: Session) -> tuple[ListArgs, finance.QueueQuery]:
    """Read the queue's query parameters; a value that is not one of the choices is ignored,
    with a message saying so, rather than guessed at."""
    args = ListArgs()
    state = args.choice("state", FILTERS, NEEDS_ACTION, "claim state called")
    programmes = {str(programme_id) for programme_id, _name in finance.queue_programmes(session)}
    programme = args.choice("programme", programmes, None, "programme")
    currency = args.choice("currency", finance.queue_currencies(session), None, "claim in")
    deadline = args.choice(
        "deadline",
        {standing.value for standing in ClaimDeadlineStanding},
        None,
        "claim-deadline state (open, due_soon or past) called",
    )
    sort = args.choice(
        "sort", {key.value for key in finance.QueueSort}, finance.QueueSort.OPENED.value, "sort"
    )
    search = args.search()
    query = finance.QueueQuery(
        states=FILTERS[state],
        programme_id=int(programme) if programme else None,
        currency=currency,
        standing=ClaimDeadlineStanding(deadline) if deadline else None,
        search=search,
        sort=finance.QueueSort(sort),
        descending=args.order("asc"),
    )
    return args, query


@blueprint.get("")
@requires(Permission.READ_CLAIMS)
def queue():
    """The claims queue, by state (those needing action by default), oldest first; searched,
    filtered and sorted by the query parameters, every one of them checked."""
    session = db_session()
    args, query = _queue_request(session)
    for error in args.errors:
        flash(error, "error")
    today = utc_now().date()
    page = finance.claims_queue(session, query, today, args.page(), per_page=PER_PAGE)
    counts = finance.count_by_state(session)
    return render_template(
        "finance/queue.html",
        selected=args.params.get("state", NEEDS_ACTION),
        params=args.params,
        sort=query.sort.value,
        descending=query.descending,
        page=page,
        counts=counts,
        programmes=finance.queue_programmes(session),
        currencies=finance.queue_currencies(session),
        standings=list(ClaimDeadlineStanding),
        due_soon_days=CLAIM_DUE_SOON_DAYS,
        can_decide=current_principal().can(Permission.DECIDE_CLAIMS),
        bulk_reviewable=BULK_REVIEWABLE,
        sorts=SORTS,
        needs_action=finance.NEEDS_ACTION,
        needs_action_count=sum(counts[state] for state in finance.NEEDS_ACTION),
        failed=finance.failed_claims(session) if counts[ClaimState.FAILED] else [],
        recoveries=finance.open_recovery_items(session),
        appeals=finance.waiting_appeals(session),
    ), (400 if args.errors else 200)


#: The queue's sort keys, as the sort control names them.
SORTS = {
    finance.QueueSort.OPENED.value: lazy_gettext("Flagged on"),
    finance.QueueSort.CLAIM_DEADLINE.value: lazy_gettext("Claim deadline"),
    finance.QueueSort.AMOUNT.value: lazy_gettext("Amount"),
    finance.QueueSort.NAME.value: lazy_gettext("Graduate"),
}


#: The claims download's columns (titled in the reader's language: ``csv_columns``).
QUEUE_COLUMNS = [
    "claim_id",
    "graduate",
    "email",
    "programme",
    "state",
    "amount_minor",
    "amount",
    "currency",
    "guarantee_deadline",
    "claim_deadline",
    "claim_deadline_state",
    "flagged_on",
]
#: The forecast download's columns.
_FORECAST_COLUMNS = ["month", "currency", "graduates", "amount_minor", "amount"]


@blueprint.get("/claims.csv")
@requires(Permission.READ_CLAIMS)
def queue_csv():
    """The claims the queue's query parameters select, all of them, in the queue's order."""
    session = db_session()
    args, query = _queue_request(session)
    if args.errors:
        return Response(" ".join(args.errors), status=400, mimetype="text/plain")
    today = utc_now().date()
    lines = [
        [
            row.claim_id,
            row.graduate,
            row.email,
            row.programme,
            row.state.value,
            row.amount_minor,
            major_units(row.amount_minor, row.currency),
            row.currency,
            row.deadline.isoformat(),
            row.claim_deadline.isoformat(),
            row.standing.value if row.standing else "",
            row.flagged_on.isoformat(),
        ]
        for row in finance.queue_export(session, query, today)
    ]
    return csv_download(lines, f"claims-{today.isoformat()}.csv", columns=QUEUE_COLUMNS)


# --- sending several claims to review at once ----------------------------------------------------

#: The claims the queue offers to send to review together: those awaiting a first or second
#: approval. (An appeal, or a claim already approved, is decided one at a time on its page.)
BULK_REVIEWABLE = frozenset({ClaimState.FLAGGED, ClaimState.AWAITING_SECOND_APPROVAL})
#: The most claims one bulk review takes: a page of the queue.
BULK_LIMIT = 200


def _picked_claims() -> tuple[list[tuple[int, int]], str | None]:
    """The ``claim`` values of the bulk form, each ``<id>:<version>`` as the queue showed it;
    with a sentence when they are missing or malformed."""
    values = request.form.getlist("claim")
    if not values:
        return [], _("Tick the claims to send to review.")
    if len(values) > BULK_LIMIT:
        return [], _("Send at most %(count)s claims to review at once.", count=BULK_LIMIT)
    picked = []
    for value in values:
        claim_id, _colon, version = value.partition(":")
        if not (claim_id.isdigit() and version.isdigit() and len(value) <= 30):
            return [], _("The form's claims are not as the queue wrote them: reload it.")
        picked.append((int(claim_id), int(version)))
    return picked, None


@blueprint.post("/claims/review")
@requires(Permission.DECIDE_CLAIMS)
def review_several():
    """Send the ticked claims to review with one reason, all or none: a claim that changed
    since the queue was read (or cannot go to review) leaves every claim as it was."""
    picked, error = _picked_claims()
    reason = request.form.get("reason", "").strip()
    if error is None and not reason:
        error = _("Give a reason: the graduates read it on their page.")
    elif error is None and len(reason) > 2000:
        error = _("Keep the reason under 2,000 characters.")
    if error:
        flash(_("Nothing was changed. %(why)s", why=error), "error")
        return redirect(url_for("finance.queue"), 303)
    session = db_session()
    actor = current_principal().actor
    for claim_id, version in picked:
        claim = session.get(RefundClaim, claim_id) if claim_id <= MAX_ID else None
        failure = None
        if claim is None:
            failure = _("there is no claim %(id)s", id=claim_id)
        elif claim.state not in BULK_REVIEWABLE:
            failure = _(
                "claim %(id)s is %(state)s: decide it on its own page",
                id=claim_id,
                state=label(claim.state),
            )
        else:
            try:
                # The one text is written for the graduates (the form says they read it).
                claims.start_review(
                    session,
                    claim_id,
                    actor=actor,
                    reason=reason,
                    graduate_note=reason,
                    expected_version=version,
                )
            except (Conflict, NotFound, StaleDataError):
                failure = _("claim %(id)s changed since the queue was read", id=claim_id)
        if failure:
            session.rollback()
            flash(
                _("Nothing was changed: %(why)s. Check the queue and try again.", why=failure),
                "error",
            )
            return redirect(url_for("finance.queue"), 303)
    session.commit()
    count = len(picked)
    flash(
        ngettext("%(num)s claim sent to review.", "%(num)s claims sent to review.", count),
        "success",
    )
    return redirect(url_for("finance.queue", state=ClaimState.IN_REVIEW.value), 303)


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
        appeal_status=claim_notices.appeal_status,
        appeal_words=claim_notices.APPEAL_WORDS,
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


#: The two notes of every decision: one for staff, one the graduate reads (page and email).
INTERNAL_NOTE = lazy_gettext("Internal note (staff only, never shown to the graduate)")
GRADUATE_NOTE = lazy_gettext("Note for the graduate (they read it on their page and in an email)")


class DecisionForm(FlaskForm):
    """What every decision carries: the version decided on, why (for staff), and what the
    graduate is told."""

    version = IntegerField(
        lazy_gettext("Claim version"),
        validators=[
            InputRequired(
                lazy_gettext("This form has no claim version: reload the page and try again.")
            ),
            NumberRange(min=1),
        ],
    )
    reason = TextAreaField(INTERNAL_NOTE, validators=[Optional(), Length(max=2000)])
    graduate_note = TextAreaField(GRADUATE_NOTE, validators=[Optional(), Length(max=2000)])


class ReasonedDecisionForm(DecisionForm):
    reason = TextAreaField(
        INTERNAL_NOTE, validators=[DataRequired(lazy_gettext("Give a reason.")), Length(max=2000)]
    )


class RejectionForm(DecisionForm):
    """A rejection tells the graduate why, in words for them; the internal note is optional."""

    graduate_note = TextAreaField(
        GRADUATE_NOTE,
        validators=[
            DataRequired(lazy_gettext("Write what the graduate reads: why, in words for them.")),
            Length(max=2000),
        ],
    )


class SettlementForm(ReasonedDecisionForm):
    transfer_reference = StringField(
        lazy_gettext("Bank transfer reference"),
        validators=[
            DataRequired(lazy_gettext("Give the bank transfer's reference.")),
            Length(max=200),
        ],
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
        graduate_note=form.graduate_note.data,
        dual_approval_threshold_minor=_threshold(),
        provider=configured_gateway(),
        expected_version=form.version.data,
    )


def _approved(claim: RefundClaim) -> str:
    if claim.state is ClaimState.AWAITING_SECOND_APPROVAL:
        return _("Your approval is recorded. The claim needs a second approval by someone else.")
    if claim.state is ClaimState.REFUNDED:
        return _("Approved. There was nothing to refund, so the claim is closed as refunded.")
    return _("Approved. The refunds are written and will be sent to the payment provider.")


def _simple(service):
    def perform(session, claim_id, actor, form):
        return service(
            session,
            claim_id,
            actor=actor,
            reason=form.reason.data,
            graduate_note=form.graduate_note.data,
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
        graduate_note=form.graduate_note.data,
        provider=configured_gateway(),
        expected_version=form.version.data,
    )


DECISIONS = {
    "approve": Decision(DecisionForm, _approve, _approved),
    "reject": Decision(
        RejectionForm,
        _simple(claims.reject),
        lambda claim: _("Rejected. The graduate can appeal; a different reviewer hears it."),
    ),
    "review": Decision(
        ReasonedDecisionForm,
        _simple(claims.start_review),
        lambda claim: _("The claim is under review. Refunds not yet sent are called off."),
    ),
    "withdraw": Decision(
        ReasonedDecisionForm,
        _simple(claims.withdraw),
        lambda claim: _("The claim is withdrawn. Refunds not yet sent are called off."),
    ),
    "retry": Decision(
        ReasonedDecisionForm,
        _simple(claims.retry_failed),
        lambda claim: _("The failed refunds will be sent to the payment provider again."),
    ),
    "settle": Decision(
        SettlementForm,
        _settle,
        lambda claim: _("The claim is recorded as settled by bank transfer."),
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
        flash(_("Nothing was changed: correct the form below."), "error")
        return _claim_page(claim_id, {action: form}, 400)
    session = db_session()
    try:
        claim = decision.perform(session, claim_id, current_principal().actor, form)
        session.commit()
        claim_notices.notify_quietly(database().sessionmaker, utc_now(), claim_id)
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
        flash(_("Nothing was changed: correct the form below."), "error")
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
    flash(_("The recovery item is closed."), "success")
    return redirect(url_for("finance.claim", claim_id=item.claim_id), 303)


# --- the liability forecast --------------------------------------------------------------------


#: The days a forecast can be made on: its months, and the windows it counts, stay in the calendar.
FORECAST_DAYS = (date(1900, 1, 1), date(2999, 12, 31))


def _forecast_day() -> tuple[date, str | None]:
    """The ``as_of`` query parameter (default today, UTC), and an error when it is not a date
    or is outside ``FORECAST_DAYS``."""
    text = request.args.get("as_of")
    today = utc_now().date()
    if not text:
        return today, None
    try:
        as_of = date.fromisoformat(text)
    except ValueError:
        return today, _(
            "“%(text)s” is not a date (YYYY-MM-DD): showing today's forecast.", text=text[:40]
        )
    first, last = FORECAST_DAYS
    if not first <= as_of <= last:
        return today, _(
            "as_of: a forecast is made on a day from %(first)s to %(last)s: "
            "showing today's forecast.",
            first=first.isoformat(),
            last=last.isoformat(),
        )
    return as_of, None


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
    return csv_download(
        lines, f"liability-forecast-{as_of.isoformat()}.csv", columns=_FORECAST_COLUMNS
    )
