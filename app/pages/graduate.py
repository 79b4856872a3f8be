"""A graduate's own pages: their guarantee at a glance, and reporting a job or an offer."""

from __future__ import annotations

import re
from dataclasses import asdict

from babel.numbers import format_decimal
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.auth import current_principal, limiter, requires
from app.auth.access import Permission
from app.database import database, db_session
from app.guarantee.rules import GuaranteeState
from app.guarantee.terms import EmploymentType, OutcomeSource, OutcomeStatus, WindowStart
from app.models import ConfirmationAnswer, MessageKind, MessageState, Role
from app.models.base import utc_now
from app.pages import documents as document_pages
from app.pages import search as search_pages
from app.pages.fields import SalaryFields, strip
from app.pages.formatting import major_units, reader_locale, words
from app.pages.sentences import said
from app.services import claim_notices, documents, graduates, reminders
from app.services.confirmations import send_confirmation_email
from app.services.errors import Conflict, Invalid
from refunds.states import ClaimState

blueprint = Blueprint("graduate", __name__)
# The guarantee's reasons (a job that does not count, an obligation missed) in the reader's words.
blueprint.add_app_template_filter(said, "said")

#: Where the window starts, in the graduate's words.
WINDOW_STARTS = {
    WindowStart.QUALIFICATION_DATE: _l("on the day you qualify"),
    WindowStart.DAY_AFTER_QUALIFICATION: _l("on the day after you qualify"),
    WindowStart.FIRST_MONDAY_AFTER_QUALIFICATION: _l("on the first Monday after you qualify"),
}

#: Each guarantee state: its name, a badge class and what it means for the graduate.
GUARANTEE_STATES = {
    GuaranteeState.NOT_COVERED: (
        _l("not covered"),
        "",
        _l("You did not opt in to the job guarantee when you enrolled."),
    ),
    GuaranteeState.IN_WINDOW: (
        _l("searching"),
        "badge-warn",
        _l("Your window is open: a qualifying job starting by the deadline ends the guarantee."),
    ),
    GuaranteeState.PLACED: (
        _l("placed"),
        "badge-good",
        _l("You have a qualifying job, so the guarantee is fulfilled."),
    ),
    GuaranteeState.OWED_REFUND: (
        _l("owed a refund"),
        "badge-bad",
        _l("Your window closed without a qualifying job: your tuition is due back to you."),
    ),
    GuaranteeState.PAST_CLAIM_DEADLINE: (
        _l("past the claim deadline"),
        "",
        _l("Your window closed and the time to claim a refund has passed."),
    ),
    GuaranteeState.EXCLUDED: (
        _l("out of the guarantee"),
        "",
        _l(
            "A documented outcome (further full-time study, military service, incarceration) took"
            " you out of the job guarantee: no refund is due."
        ),
    ),
}

#: Each claim state in the graduate's words, with a badge class.
CLAIM_STATES = {
    ClaimState.FLAGGED: (_l("opened, waiting for review"), "badge-warn"),
    ClaimState.IN_REVIEW: (_l("in review"), "badge-warn"),
    ClaimState.AWAITING_SECOND_APPROVAL: (_l("approved once, waiting for a second approval"), ""),
    ClaimState.APPROVED: (_l("approved, refund about to be sent"), "badge-good"),
    ClaimState.REJECTED: (_l("rejected (you can appeal)"), "badge-bad"),
    ClaimState.WITHDRAWN: (_l("withdrawn"), ""),
    ClaimState.PAYING: (_l("refund on its way"), "badge-good"),
    ClaimState.REFUNDED: (_l("refunded"), "badge-good"),
    ClaimState.FAILED: (
        _l("the refund did not go through; the school is sorting it out"),
        "badge-bad",
    ),
    ClaimState.SETTLED_MANUALLY: (_l("paid by bank transfer"), "badge-good"),
}

#: The employer's answer on a job, with a badge class.
CONFIRMATIONS = {
    "confirmed": (_l("confirmed"), "badge-good"),
    "disputed": (_l("disputed"), "badge-bad"),
    "withdrawn": (_l("withdrawn by you"), ""),
    "pending": (_l("waiting for the employer"), "badge-warn"),
    "unverified": (_l("answered from a contact the school has not verified yet"), "badge-warn"),
    "expired": (_l("the employer did not answer"), ""),
    "not_asked": (_l("not sent to an employer"), ""),
}


def employment_type_choices() -> list[SelectChoice]:
    """Each type of contract in the reader's words (called as each form is made)."""
    # Only the first letter raised: a French label keeps its acronym ("CDI à temps plein").
    return [
        SelectChoice(kind.value, words(kind)[:1].upper() + words(kind)[1:])
        for kind in EmploymentType
    ]


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _one_line_of_text(_form, field):
    # A NUL byte or a line break in a name would reach the database and the employer's email.
    if field.data and _CONTROL.search(field.data):
        raise ValidationError(_("Use letters, digits and punctuation only."))


def _employer_id(value):
    if value in (None, "", "new"):
        return None
    return int(value)


class JobFactsForm(SalaryFields, FlaskForm):
    """What the graduate says of a job: its title, contract, field, first day and pay."""

    title = StringField(
        _l("Job title"),
        filters=[strip],
        validators=[InputRequired(_l("Enter the job title.")), Length(max=200), _one_line_of_text],
    )
    employment_type = SelectField(
        _l("Type of contract"),
        choices=employment_type_choices,
        default=EmploymentType.FULL_TIME_PERMANENT.value,
    )
    in_field = RadioField(
        _l("Is the job in the field you studied?"),
        choices=[SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
        validators=[InputRequired(_l("Say whether the job is in your field."))],
    )
    start_date = DateField(
        _l("First day of work"), validators=[InputRequired(_l("Enter the first day of work."))]
    )
    contract_months = IntegerField(
        _l("Contract length in months (optional)"),
        validators=[
            Optional(),
            NumberRange(min=1, max=600, message=_l("Between 1 and 600 months.")),
        ],
    )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        return self._check_salary() and valid

    def facts(self) -> graduates.JobFacts:
        salary = self.salary_minor
        return graduates.JobFacts(
            title=self.title.data,
            employment_type=EmploymentType(self.employment_type.data),
            in_field=self.in_field.data == "yes",
            start_date=self.start_date.data,
            contract_months=self.contract_months.data,
            annual_salary_minor=salary,
            salary_currency=self.salary_currency.data if salary is not None else None,
        )


class ReportJobForm(JobFactsForm):
    """A job or an accepted offer, as the graduate reports it."""

    graduation_id = IntegerField(_l("Programme"), validators=[InputRequired()])
    employer_id = SelectField(_l("Your employer"), coerce=_employer_id, validate_choice=True)
    new_employer_name = StringField(
        _l("New employer's name"),
        filters=[strip],
        validators=[Optional(), Length(max=200), _one_line_of_text],
    )
    new_employer_email = EmailField(
        _l("Hiring contact's email"), filters=[strip], validators=[Optional(), Length(max=254)]
    )

    def validate_new_employer_email(self, field):
        if field.data and not _EMAIL.fullmatch(field.data):
            raise ValidationError(_("Enter an email address like name@company.com."))

    def validate(self, extra_validators=None) -> bool:
        # Run every cross-field check, so that each field shows its error at once.
        valid = super().validate(extra_validators)
        return self._check_employer() and valid

    def _check_employer(self) -> bool:
        chosen = self.employer_id.data is not None
        new = bool(self.new_employer_name.data or self.new_employer_email.data)
        if chosen and new:
            self.new_employer_name.errors.append(
                _("Choose an employer from the list or enter a new one, not both.")
            )
            return False
        founded = self.employment_type.data == EmploymentType.FOUNDED_COMPANY.value
        if not new and (chosen or founded):
            return True
        ok = True
        if not self.new_employer_name.data:
            self.new_employer_name.errors.append(
                _("Choose your employer from the list, or enter its name here.")
            )
            ok = False
        if not self.new_employer_email.data:
            self.new_employer_email.errors.append(
                _("Enter the email of someone there who can confirm you were hired.")
            )
            ok = False
        return ok


def _job_form(graduations) -> ReportJobForm:
    form = ReportJobForm()
    form.employer_id.choices = [SelectChoice("new", _("Someone else: enter them below"))] + [
        SelectChoice(str(employer_id), name)
        for employer_id, name in graduates.employer_choices(db_session(), current_principal())
    ]
    if request.method == "GET":
        latest = graduations[0]
        form.graduation_id.data = latest.id
        form.salary_currency.data = latest.enrollment.programme.currency
    return form


@blueprint.get("/me")
@requires(Permission.OWN_GUARANTEE)
def home():
    """The graduate's guarantee: deadline, days left, status, terms, jobs and claim."""
    overviews = graduates.guarantees_of(db_session(), current_principal(), utc_now().date())
    return _home_page(overviews)


def _home_page(overviews, *, appeal_forms: dict | None = None) -> str:
    """``/me``: the graduate's guarantees, jobs, search log and claims (an appeal form that
    was refused shown again with what was typed)."""
    return render_template(
        "graduate/home.html",
        overviews=overviews,
        document_sections=document_pages.sections_for(
            current_principal(),
            [overview.enrollment.id for overview in overviews],
            documents.ATTACHABLE[Role.GRADUATE],
            url_for("graduate.home"),
        ),
        searches=search_pages.records_for(overviews),
        **search_pages.section_context(),
        window_starts=WINDOW_STARTS,
        guarantee_states=GUARANTEE_STATES,
        **_claim_context(appeal_forms),
        confirmations=CONFIRMATIONS,
        confirmation_of=_confirmation_state,
        can_correct=_can_correct,
        employment_types=list(EmploymentType),
    )


def _can_correct(line) -> bool:
    """Whether the graduate may still correct or withdraw this job (nobody answered for it)."""
    outcome = line.outcome
    return (
        outcome.source is OutcomeSource.GRADUATE
        and outcome.status is OutcomeStatus.REPORTED
        and not any(confirmation.answered_at for confirmation in outcome.confirmations)
    )


def _claim_context(appeal_forms: dict | None = None) -> dict:
    """What the claim section of ``/me`` needs: the graduate's words for each state and step,
    the refund's shares, and the appeal form (with what was typed, after an error)."""
    return {
        "claim_states": CLAIM_STATES,
        "claim_story": claim_notices.story,
        "latest_appeal": claim_notices.latest_appeal,
        "can_appeal": claim_notices.can_appeal,
        "refund_shares": lambda claim: claim_notices.refund_shares(db_session(), claim),
        "appeal_forms": appeal_forms or {},
        "appeal_max": APPEAL_MAX,
    }


#: The longest appeal the form takes.
APPEAL_MAX = 4000


class AppealForm(FlaskForm):
    """The graduate's reasons for appealing a rejection."""

    reasons = TextAreaField(
        _l("Why should the decision change?"),
        filters=[strip],
        validators=[
            DataRequired(_l("Say why the decision should change.")),
            Length(
                max=APPEAL_MAX,
                message=_l("Keep it under %(most)s characters.", most=APPEAL_MAX),
            ),
        ],
    )


@blueprint.post("/me/claims/<id:claim_id>/appeal")
@requires(Permission.OWN_GUARANTEE)
def appeal(claim_id: int):
    """Appeal the rejection of one's own claim; a second reviewer hears it."""
    session = db_session()
    claim_notices.own_claim(session, current_principal(), claim_id)  # before reading the form
    form = AppealForm()
    if form.validate_on_submit():
        try:
            claim_notices.appeal(session, current_principal(), claim_id, form.reasons.data)
            session.commit()
        except Invalid as error:
            session.rollback()
            form.reasons.errors = [*form.reasons.errors, *error.errors.get("reasons", [])]
        except Conflict as error:
            session.rollback()
            flash(_("Nothing was sent: %(reason)s.", reason=error.message), "error")
            return redirect(url_for("graduate.home"), 303)
        else:
            claim_notices.notify_quietly(database().sessionmaker, utc_now(), claim_id)
            flash(
                _("Your appeal is sent. A second reviewer will hear it; we emailed you a copy."),
                "success",
            )
            return redirect(url_for("graduate.home", _anchor=f"claim-{claim_id}"), 303)
    flash(_("Your appeal was not sent: correct the form below."), "error")
    overviews = graduates.guarantees_of(session, current_principal(), utc_now().date())
    return _home_page(overviews, appeal_forms={claim_id: form}), 400


def _confirmation_state(line) -> str:
    """Where the employer's confirmation of one reported job stands."""
    if line.outcome.status is OutcomeStatus.CONFIRMED:
        return "confirmed"
    if graduates.withdrawn_by_graduate(line.outcome):
        return "withdrawn"
    if line.outcome.status is OutcomeStatus.DISPUTED:
        return "disputed"
    confirmation = line.confirmation
    if confirmation is None:
        return "not_asked"
    if confirmation.answered_at is not None and not confirmation.trusted:
        return "unverified"  # recorded, changes nothing until the school checks the contact
    if confirmation.answer is ConfirmationAnswer.DENIED:
        return "disputed"
    if confirmation.expires_at < utc_now():
        return "expired"
    return "pending"


@blueprint.route("/me/jobs/new", methods=["GET", "POST"])
@requires(Permission.OWN_GUARANTEE)
@limiter.limit("20 per hour", methods=["POST"], key_func=lambda: current_principal().actor)
def report_job():
    """Report a job or an accepted offer; the employer is asked to confirm it by email.

    Limited per graduate: each report can email an address the graduate typed.
    """
    session = db_session()
    principal = current_principal()
    graduations = graduates.graduations_of(session, principal)
    if not graduations:
        flash(_("You can report a job once you have qualified."), "info")
        return redirect(url_for("graduate.home"))
    form = _job_form(graduations)
    if form.validate_on_submit():
        try:
            reported = graduates.report_own_job(session, principal, **_job_fields(form))
        except (Invalid, Conflict) as error:
            session.rollback()
            _show_service_errors(form, error)
        else:
            session.commit()
            _tell_employer(reported)
            return redirect(url_for("graduate.home"))
    status = 400 if request.method == "POST" else 200
    return render_template("graduate/report_job.html", form=form, graduations=graduations), status


def _job_fields(form: ReportJobForm) -> dict:
    new_employer = None
    if form.new_employer_name.data:
        new_employer = graduates.NewEmployer(
            form.new_employer_name.data, form.new_employer_email.data
        )
    return {
        "graduation_id": form.graduation_id.data,
        "employer_id": form.employer_id.data,
        "new_employer": new_employer,
        **asdict(form.facts()),
    }


def _show_service_errors(form: ReportJobForm, error: Invalid | Conflict) -> None:
    errors = error.errors if isinstance(error, Invalid) else {error.field: [error.message]}
    for name, reasons in errors.items():
        field = getattr(form, name or "", None)
        target = field.errors if field is not None else form.form_errors
        target.extend(reason[:1].upper() + reason[1:] + "." for reason in reasons)


def _tell_employer(reported: graduates.ReportedJob) -> None:
    # The employer's name only: the school's contact address there is not the graduate's to see.
    confirmation = reported.confirmation
    if confirmation is None:
        flash(_("Your job is recorded."), "success")
        return
    employer = reported.outcome.employer.name
    if send_confirmation_email(confirmation):
        flash(
            _(
                "Your job is recorded. We have emailed %(employer)s to confirm it.",
                employer=employer,
            ),
            "success",
        )
    else:
        flash(
            _(
                "Your job is recorded, but we could not email %(employer)s to confirm it."
                " The school will follow it up; you don't need to report it again.",
                employer=employer,
            ),
            "warning",
        )


#: Each message state, in the graduate's words, with a badge class.
MESSAGE_STATES = {
    MessageState.SENT: (_l("sent"), "badge-good"),
    MessageState.FAILED: (_l("not delivered"), "badge-bad"),
    MessageState.PENDING: (_l("not confirmed as sent"), "badge-warn"),
}

#: Each kind of message the graduate gets, in their words.
MESSAGE_KINDS = {
    MessageKind.DEADLINE_APPROACHING: _l("Deadline approaching"),
    MessageKind.FALLING_BEHIND: _l("Behind on your job search"),
    MessageKind.CLAIM_OPENED: _l("Your refund claim was opened"),
    MessageKind.CLAIM_APPROVED: _l("Your refund claim was approved"),
    MessageKind.CLAIM_REJECTED: _l("Your refund claim was rejected"),
    MessageKind.CLAIM_REFUNDED: _l("Your refund was paid"),
    MessageKind.CLAIM_SETTLED_MANUALLY: _l("Your refund was paid by bank transfer"),
    MessageKind.APPEAL_RECEIVED: _l("Your appeal was received"),
    MessageKind.APPEAL_DECIDED: _l("Your appeal was decided"),
}


@blueprint.get("/me/messages")
@requires(Permission.OWN_GUARANTEE)
def messages():
    """The reminders the service emailed the graduate: what, when, and whether they went out."""
    sent = reminders.messages_to_graduate(db_session(), current_principal())
    return render_template(
        "graduate/messages.html",
        messages=sent,
        message_states=MESSAGE_STATES,
        message_kinds=MESSAGE_KINDS,
        max_attempts=reminders.MAX_ATTEMPTS,
    )


class WithdrawJobForm(FlaskForm):
    reason = StringField(
        _l("Why you withdraw it"),
        filters=[strip],
        validators=[InputRequired(_l("Say why.")), Length(max=500), _one_line_of_text],
        description=_l("For example: the offer was withdrawn, or I reported it by mistake."),
    )


@blueprint.route("/me/jobs/<id:outcome_id>/edit", methods=["GET", "POST"])
@requires(Permission.OWN_GUARANTEE)
def correct_job(outcome_id: int):
    """Correct or withdraw a job the graduate reported, until the employer answers for it."""
    session = db_session()
    principal = current_principal()
    try:
        outcome = graduates.own_editable_job(session, principal, outcome_id)
    except Conflict as error:
        session.rollback()
        return render_template("graduate/job_not_changed.html", reason=error.message), 409
    form = JobFactsForm(obj=outcome)
    if request.method == "GET":
        form.in_field.data = "yes" if outcome.in_field else "no"
        form.employment_type.data = outcome.employment_type.value
        form.annual_salary.data = _typed(outcome.annual_salary_minor, outcome.salary_currency)
    if form.validate_on_submit():
        try:
            graduates.correct_own_job(session, principal, outcome.id, form.facts())
        except (Invalid, Conflict) as error:
            session.rollback()
            _show_service_errors(form, error)
        else:
            session.commit()
            flash(_("Your job %(title)s is corrected.", title=outcome.title), "success")
            return redirect(url_for("graduate.home", _anchor="jobs"))
    status = 400 if request.method == "POST" else 200
    withdraw = WithdrawJobForm(formdata=None)
    return render_template(
        "graduate/correct_job.html", form=form, outcome=outcome, withdraw=withdraw
    ), status


@blueprint.post("/me/jobs/<id:outcome_id>/withdraw")
@requires(Permission.OWN_GUARANTEE)
def withdraw_job(outcome_id: int):
    """Withdraw a job the graduate reported (an offer that fell through)."""
    session = db_session()
    principal = current_principal()
    try:
        outcome = graduates.own_editable_job(session, principal, outcome_id)
    except Conflict as error:
        session.rollback()
        return render_template("graduate/job_not_changed.html", reason=error.message), 409
    withdraw = WithdrawJobForm()
    if withdraw.validate_on_submit():
        graduates.withdraw_own_job(session, principal, outcome.id, reason=withdraw.reason.data)
        session.commit()
        flash(
            _("Your job %(title)s is withdrawn: it no longer counts.", title=outcome.title),
            "success",
        )
        return redirect(url_for("graduate.home", _anchor="jobs"))
    form = JobFactsForm(formdata=None, obj=outcome)
    return render_template(
        "graduate/correct_job.html", form=form, outcome=outcome, withdraw=withdraw
    ), 400


def _typed(amount_minor: int | None, currency: str | None) -> str | None:
    """An amount as the reader would type it back (``42 000,50`` in French)."""
    if amount_minor is None or currency is None:
        return None
    return format_decimal(major_units(amount_minor, currency), locale=reader_locale())
