"""A graduate's job-search pages: logging applications, interviews, offers and coaching
check-ins, deciding offers, answering the school, and saying they stopped looking.

Each view parses a form, calls ``app.services.search`` (which checks the graduation is the
graduate's own) and goes back to ``/me``, where the section "Your search obligations" shows where
they stand. A refused form answers 400 with each field's error and writes nothing.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.auth import current_principal, requires
from app.auth.access import Permission
from app.database import db_session
from app.guarantee.obligations import WeekState
from app.guarantee.rules import GuaranteeState
from app.guarantee.terms import EmploymentType, OfferDecision, SearchActivityKind
from app.models.base import utc_now
from app.pages.fields import SalaryFields, strip
from app.pages.formatting import words
from app.services import graduates, search
from app.services.errors import Conflict, Invalid

blueprint = Blueprint("search", __name__, url_prefix="/me/search")

#: Each kind of log entry: the page's title and the button that saves it.
KINDS = {
    SearchActivityKind.APPLICATION: (_l("Log a job application"), _l("Log this application")),
    SearchActivityKind.INTERVIEW: (_l("Log an interview"), _l("Log this interview")),
    SearchActivityKind.OFFER: (_l("Log a job offer"), _l("Log this offer")),
    SearchActivityKind.COACHING_CHECKIN: (_l("Log a coaching check-in"), _l("Log this check-in")),
}

#: What the graduate reads once an entry of each kind is saved.
LOGGED = {
    SearchActivityKind.APPLICATION: _l("Your application is logged."),
    SearchActivityKind.INTERVIEW: _l("Your interview is logged."),
    SearchActivityKind.OFFER: _l("Your offer is logged."),
    SearchActivityKind.COACHING_CHECKIN: _l("Your coaching check-in is logged."),
}

#: Each week state in the graduate's words, with a badge class.
WEEK_STATES = {
    WeekState.MET: (_l("done"), "badge-good"),
    WeekState.BEHIND: (_l("to do"), "badge-warn"),
    WeekState.MISSED: (_l("missed"), "badge-bad"),
    WeekState.PAUSED: (_l("paused"), ""),
    WeekState.UPCOMING: (_l("upcoming"), ""),
}

#: Each offer decision in the graduate's words, with a badge class.
DECISIONS = {
    OfferDecision.PENDING: (_l("not decided"), "badge-warn"),
    OfferDecision.ACCEPTED: (_l("accepted"), "badge-good"),
    OfferDecision.DECLINED: (_l("declined"), ""),
}

#: Each offer decision as a choice of the form.
DECISION_CHOICES = [
    SelectChoice(OfferDecision.PENDING.value, _l("Not decided")),
    SelectChoice(OfferDecision.ACCEPTED.value, _l("Accepted")),
    SelectChoice(OfferDecision.DECLINED.value, _l("Declined")),
]


def employment_type_choices() -> list[SelectChoice]:
    """Each type of contract in the reader's words (called as each form is made)."""
    # Only the first letter raised: a French label keeps its acronym ("CDI à temps plein").
    return [
        SelectChoice(kind.value, words(kind)[:1].upper() + words(kind)[1:])
        for kind in EmploymentType
    ]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _one_line(_form, field):
    if field.data and _CONTROL.search(field.data):
        raise ValidationError(_("Use letters, digits and punctuation only."))


class LogActivityForm(SalaryFields, FlaskForm):
    """One entry of the search log; the offer's terms only for an offer."""

    graduation_id = IntegerField(_l("Programme"), validators=[InputRequired()])
    kind = HiddenField(validators=[InputRequired()])
    occurred_on = DateField(_l("Date"), validators=[InputRequired(_l("Enter the date."))])
    employer_name = StringField(
        _l("Employer"), filters=[strip], validators=[Optional(), Length(max=200), _one_line]
    )
    position = StringField(
        _l("Position"), filters=[strip], validators=[Optional(), Length(max=200), _one_line]
    )
    link = StringField(
        _l("Link to the advert or application (optional)"),
        filters=[strip],
        validators=[Optional(), Length(max=2000)],
    )
    notes = TextAreaField(
        _l("Notes (optional)"), filters=[strip], validators=[Optional(), Length(max=5000)]
    )
    employment_type = SelectField(
        _l("Type of contract"),
        choices=employment_type_choices,
        default=EmploymentType.FULL_TIME_PERMANENT.value,
    )
    in_field = RadioField(
        _l("Is the job in the field you studied?"),
        choices=[SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
        validators=[Optional()],
    )
    offer_starts_on = DateField(_l("Proposed first day (optional)"), validators=[Optional()])
    contract_months = IntegerField(
        _l("Contract length in months (optional)"),
        validators=[
            Optional(),
            NumberRange(min=1, max=600, message=_l("Between 1 and 600 months.")),
        ],
    )
    decision = RadioField(
        _l("Your answer so far"),
        choices=DECISION_CHOICES,
        default=OfferDecision.PENDING.value,
    )

    def validate_kind(self, field):
        if field.data not in {kind.value for kind in SearchActivityKind}:
            raise ValidationError(_("Choose what to log."))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.kind.data != SearchActivityKind.OFFER.value:
            return valid
        checks = [self._check_in_field(), self._check_salary()]
        return valid and all(checks)

    def _check_in_field(self) -> bool:
        if self.in_field.data in ("yes", "no"):
            return True
        self.in_field.errors.append(_("Say whether the job is in your field."))
        return False


class DecideOfferForm(FlaskForm):
    """Accept or decline one pending offer."""

    activity_id = IntegerField(validators=[InputRequired()])
    decision = RadioField(
        _l("Your answer"),
        choices=[
            SelectChoice(OfferDecision.ACCEPTED.value, _l("Accept")),
            SelectChoice(OfferDecision.DECLINED.value, _l("Decline")),
        ],
        validators=[InputRequired(_l("Accept or decline the offer."))],
    )


class AnswerForm(FlaskForm):
    """The graduate's answer to a question from the school."""

    request_id = IntegerField(validators=[InputRequired()])
    answer = TextAreaField(
        _l("Your answer"),
        filters=[strip],
        validators=[InputRequired(_l("Write your answer.")), Length(max=5000)],
    )


class StopSeekingForm(FlaskForm):
    """The graduate says they are no longer looking for work."""

    graduation_id = IntegerField(validators=[InputRequired()])
    confirm = BooleanField(
        _l("I have stopped looking for work"),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


#: Guarantee states in which the search record matters to the graduate: while searching, and
#: once the window closed without a job (the claim is judged on it).
SEARCHING = frozenset(
    {GuaranteeState.IN_WINDOW, GuaranteeState.OWED_REFUND, GuaranteeState.PAST_CLAIM_DEADLINE}
)


def records_for(overviews) -> dict[int, search.SearchRecord]:
    """Each graduation's search record on today's date, for the graduate's home page."""
    session = db_session()
    principal = current_principal()
    today = utc_now().date()
    return {
        overview.graduation.id: search.own_search_record(
            session,
            principal,
            overview.graduation.id,
            today,
            overview.guarantee.status.deadline,
        )
        for overview in overviews
        if overview.graduation is not None and overview.guarantee.status.state in SEARCHING
    }


def section_context() -> dict:
    """What the home page's search section needs besides the records."""
    return {
        "search_kinds": KINDS,
        "week_states": WEEK_STATES,
        "offer_decisions": DECISIONS,
    }


@blueprint.route("/new", methods=["GET", "POST"])
@requires(Permission.OWN_GUARANTEE)
def log_activity():
    """Log an application, interview, offer or coaching check-in (``?kind=`` picks which)."""
    session = db_session()
    principal = current_principal()
    graduations = graduates.graduations_of(session, principal)
    if not graduations:
        flash(_("You can log your job search once you have qualified."), "info")
        return redirect(url_for("graduate.home"))
    form = LogActivityForm()
    if request.method == "GET":
        kind = request.args.get("kind", SearchActivityKind.APPLICATION.value)
        if kind not in {k.value for k in SearchActivityKind}:
            abort(404)
        form.kind.data = kind
        form.graduation_id.data = graduations[0].id
        form.occurred_on.data = utc_now().date()
        form.salary_currency.data = graduations[0].enrollment.programme.currency
    elif form.validate_on_submit():
        try:
            logged = search.log_activity(
                session, principal, form.graduation_id.data, **_entry(form)
            )
        except (Invalid, Conflict) as error:
            session.rollback()
            _show_service_errors(form, error)
        else:
            session.commit()
            flash(_logged_message(form), "success")
            return _back_home(logged.graduation_id)
    kind = _kind(form.kind.data)
    title, button = KINDS[kind]
    status = 400 if request.method == "POST" else 200
    return render_template(
        "graduate/log_activity.html",
        form=form,
        kind=kind,
        title=title,
        button=button,
        graduations=graduations,
    ), status


def _kind(value) -> SearchActivityKind:
    try:
        return SearchActivityKind(value)
    except ValueError:
        return SearchActivityKind.APPLICATION


def _entry(form: LogActivityForm) -> dict:
    kind = SearchActivityKind(form.kind.data)
    entry = {
        "kind": kind,
        "occurred_on": form.occurred_on.data,
        "notes": form.notes.data or None,
    }
    if kind is not SearchActivityKind.COACHING_CHECKIN:
        entry |= {
            "employer_name": form.employer_name.data or None,
            "position": form.position.data or None,
            "link": form.link.data or None,
        }
    if kind is SearchActivityKind.OFFER:
        salary = form.salary_minor
        entry["offer"] = search.OfferTerms(
            employment_type=EmploymentType(form.employment_type.data),
            in_field=form.in_field.data == "yes",
            starts_on=form.offer_starts_on.data,
            contract_months=form.contract_months.data,
            annual_salary_minor=salary,
            salary_currency=form.salary_currency.data if salary is not None else None,
        )
        entry["decision"] = OfferDecision(form.decision.data)
    return entry


def _logged_message(form: LogActivityForm) -> str:
    kind = SearchActivityKind(form.kind.data)
    if kind is SearchActivityKind.OFFER and form.decision.data == OfferDecision.ACCEPTED.value:
        return _("Your offer is logged. Report it as your job too, so that it counts.")
    return str(LOGGED[kind])


@blueprint.post("/offers/decide")
@requires(Permission.OWN_GUARANTEE)
def decide_offer():
    """Accept or decline a pending offer."""
    session = db_session()
    form = DecideOfferForm()
    if form.validate_on_submit():
        try:
            offer = search.decide_offer(
                session,
                current_principal(),
                form.activity_id.data,
                OfferDecision(form.decision.data),
            )
        except (Invalid, Conflict) as error:
            session.rollback()
            return _refused(error)
        session.commit()
        if offer.decision is OfferDecision.ACCEPTED:
            flash(
                _(
                    "You accepted the offer from %(employer)s. Report it as your job,"
                    " so that it counts.",
                    employer=offer.employer_name,
                ),
                "success",
            )
            return redirect(url_for("graduate.report_job"))
        flash(
            _("You declined the offer from %(employer)s.", employer=offer.employer_name), "success"
        )
        return _back_home(offer.graduation_id)
    return _refused_form(form)


@blueprint.post("/questions/answer")
@requires(Permission.OWN_GUARANTEE)
def answer_question():
    """Answer a question from the school."""
    session = db_session()
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            answered = search.answer_question(
                session, current_principal(), form.request_id.data, form.answer.data
            )
        except (Invalid, Conflict) as error:
            session.rollback()
            return _refused(error)
        session.commit()
        flash(_("Your answer is sent to the school."), "success")
        return _back_home(answered.graduation_id)
    return _refused_form(form)


@blueprint.post("/stop")
@requires(Permission.OWN_GUARANTEE)
def stop_seeking():
    """Record that the graduate has stopped looking for work."""
    session = db_session()
    form = StopSeekingForm()
    if form.validate_on_submit():
        try:
            search.stop_seeking(session, current_principal(), form.graduation_id.data)
        except (Invalid, Conflict) as error:
            session.rollback()
            return _refused(error)
        session.commit()
        flash(_("We have noted that you stopped looking for work."), "success")
        return _back_home(form.graduation_id.data)
    return _refused_form(form)


def _back_home(graduation_id: int):
    return redirect(url_for("graduate.home", _anchor=f"search-{graduation_id}"))


def _refused(error: Invalid | Conflict):
    if isinstance(error, Invalid):
        return _error_page(error.errors, 400)
    return _error_page({error.field or "form": [error.message]}, 409)


def _refused_form(form: FlaskForm):
    errors = {name: list(reasons) for name, reasons in form.errors.items()}
    return _error_page(errors, 400)


#: The fields a refusal may name, in the graduate's words.
FIELD_NAMES = {
    "answer": _l("Your answer"),
    "decision": _l("Your answer"),
    "decided_on": _l("Date"),
    "stopped_on": _l("Date"),
    "confirm": _l("I have stopped looking for work"),
}


def _error_page(errors: dict[str, list[str]], status: int):
    named = {
        str(FIELD_NAMES.get(field, words(field).capitalize())): why for field, why in errors.items()
    }
    return render_template("graduate/search_refused.html", errors=named), status


def _show_service_errors(form: FlaskForm, error: Invalid | Conflict) -> None:
    errors = error.errors if isinstance(error, Invalid) else {error.field: [error.message]}
    for name, reasons in errors.items():
        field = getattr(form, name or "", None)
        target = field.errors if field is not None else form.form_errors
        target.extend(reason[:1].upper() + reason[1:] + "." for reason in reasons)
