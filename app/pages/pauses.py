"""Pausing the job search, on the graduate's page, and the forms the registrar's enrollment page
uses to record a pause or an excluded outcome.

A graduate pauses their own window from ``/me`` (giving notice: from today on) and may call off
a pause that has not started. A refused form answers 400 (409 for a clash with the records)
with each field's error on a page of its own, and nothing is written. The registrar's views live
with the enrollment page in ``app.pages.registrar``; the forms and the page section's context
are here.
"""

from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from app.auth import current_principal, requires
from app.auth.access import Permission
from app.database import db_session
from app.guarantee.terms import ExclusionReason, PauseReason
from app.models.base import utc_now
from app.pages.fields import strip
from app.pages.formatting import day
from app.services import graduates, pauses
from app.services.errors import Conflict, Invalid
from app.services.exclusions import MAX_EVIDENCE_LENGTH
from app.services.guarantee import evaluate_guarantee

blueprint = Blueprint("pauses", __name__)

#: Why a graduate pauses, in their words.
PAUSE_REASONS = {
    PauseReason.ILLNESS: _l("Illness"),
    PauseReason.PARENTAL_LEAVE: _l("Parental leave"),
    PauseReason.CARING: _l("Caring for someone"),
    PauseReason.OTHER: _l("Another reason"),
}

#: The excluded outcomes, as the registrar reads them.
EXCLUSION_REASONS = {
    ExclusionReason.FURTHER_STUDY: _l("Further full-time study"),
    ExclusionReason.MILITARY_SERVICE: _l("Military service"),
    ExclusionReason.INCARCERATION: _l("Incarceration"),
    ExclusionReason.DEATH: _l("Death"),
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _plain_text(_form, field) -> None:
    if field.data and _CONTROL.search(field.data):
        raise ValidationError(_("Remove the control characters from this text."))


def _one_line(_form, field) -> None:
    if field.data and ("\n" in field.data or "\r" in field.data):
        raise ValidationError(_("Write the reference on one line."))


class PauseForm(FlaskForm):
    """A pause of the search: its first and last day (both paused), why, and any details.

    CSRFProtect checks every POST before the view runs; templates carry the token.
    """

    class Meta:
        csrf = False

    starts_on = DateField(
        _l("First day of the pause"),
        [InputRequired(message=_l("Enter the first day of the pause."))],
    )
    ends_on = DateField(
        _l("Last day of the pause"),
        [InputRequired(message=_l("Enter the last day of the pause."))],
    )
    reason = SelectField(
        _l("Reason"),
        choices=[SelectChoice(reason.value, label) for reason, label in PAUSE_REASONS.items()],
        default=PauseReason.ILLNESS.value,
    )
    note = TextAreaField(
        _l("Details (optional)"),
        [Optional(), Length(max=pauses.MAX_NOTE_LENGTH), _plain_text],
        filters=[strip],
    )


class ExclusionForm(FlaskForm):
    """A documented excluded outcome, as the registrar records it."""

    class Meta:
        csrf = False

    reason = SelectField(
        _l("Outcome"),
        choices=[SelectChoice(reason.value, label) for reason, label in EXCLUSION_REASONS.items()],
        default=ExclusionReason.FURTHER_STUDY.value,
    )
    occurred_on = DateField(
        _l("Began on"), [InputRequired(message=_l("Enter the day the outcome began."))]
    )
    evidence = StringField(
        _l("Evidence"),
        [
            DataRequired(message=_l("Name the document this rests on.")),
            Length(max=MAX_EVIDENCE_LENGTH),
            _plain_text,
            _one_line,
        ],
        filters=[strip],
        description=_l(
            "The document's reference: an enrolment letter, a service record, a certificate."
        ),
    )


def show_service_errors(form: FlaskForm, error: Invalid | Conflict) -> None:
    """Put a service's refusal next to the fields it names (the rest above the form)."""
    errors = error.errors if isinstance(error, Invalid) else {error.field: [error.message]}
    for name, reasons in errors.items():
        field = form._fields.get(name or "")
        if field is not None:
            field.errors = list(field.errors)  # a tuple until the field is validated
        target = field.errors if field is not None else form.form_errors
        target.extend(reason[:1].upper() + reason[1:] + "." for reason in reasons)


def _prefix(graduation_id: int) -> str:
    # Each graduation's form on the graduate's page has field ids of its own.
    return f"pause-{graduation_id}"


def pause_form(graduation_id: int) -> PauseForm:
    """An empty pause form for one graduation, as the graduate's page shows it."""
    return PauseForm(formdata=None, prefix=_prefix(graduation_id))


def enrollment_section(
    enrollment, pause_form: PauseForm | None = None, exclusion_form: ExclusionForm | None = None
) -> dict:
    """What the registrar's enrollment page shows of pauses and exclusions, and its forms."""
    graduation = enrollment.graduation
    return {
        "guarantee_view": (
            evaluate_guarantee(db_session(), graduation.id, utc_now().date())
            if graduation is not None
            else None
        ),
        "pause_form": pause_form or PauseForm(formdata=None, prefix="pause"),
        "exclusion_form": exclusion_form or ExclusionForm(formdata=None, prefix="exclusion"),
    }


@blueprint.app_context_processor
def _pause_section():
    # The graduate's page and the registrar's enrollment page show pauses with these.
    return {
        "pause_reasons": PAUSE_REASONS,
        "exclusion_reasons": EXCLUSION_REASONS,
        "new_pause_form": pause_form,
    }


@blueprint.post("/me/graduations/<id:graduation_id>/pauses")
@requires(Permission.OWN_GUARANTEE)
def pause_search(graduation_id: int):
    """Pause the graduate's own search from today or later; the window extends by the days."""
    session = db_session()
    principal = current_principal()
    graduation = graduates.own_graduation(session, principal, graduation_id)
    form = PauseForm(prefix=_prefix(graduation.id))
    if not form.validate():
        return _refused(form, graduation, 400)
    try:
        recorded = pauses.record_pause(
            session,
            principal,
            graduation.id,
            form.starts_on.data,
            form.ends_on.data,
            PauseReason(form.reason.data),
            form.note.data,
            today=utc_now().date(),
        )
    except (Invalid, Conflict) as error:
        session.rollback()
        show_service_errors(form, error)
        return _refused(form, graduation, 409 if isinstance(error, Conflict) else 400)
    session.commit()
    flash(pause_message(recorded), "success")
    return redirect(url_for("graduate.home", _anchor=f"pauses-{graduation.id}"))


def pause_message(recorded: pauses.RecordedPause) -> str:
    """What a pause just recorded did to the deadline, in words."""
    pause = recorded.pause
    message = _(
        "Pause from %(first)s to %(last)s recorded. The deadline moves from %(before)s to"
        " %(after)s.",
        first=day(pause.starts_on),
        last=day(pause.ends_on),
        before=day(recorded.deadline_before),
        after=day(recorded.deadline_after),
    )
    if recorded.paused_days_counted >= recorded.max_pause_days:
        message += " " + _(
            "The policy counts at most %(most)s paused days, and that limit is reached: a"
            " longer pause does not move the deadline further.",
            most=recorded.max_pause_days,
        )
    return message


def _refused(form: PauseForm, graduation, status: int):
    return render_template("graduate/pause.html", form=form, graduation=graduation), status


@blueprint.post("/me/pauses/<id:pause_id>/cancel")
@requires(Permission.OWN_GUARANTEE)
def cancel_pause(pause_id: int):
    """Call off one of the graduate's own pauses that has not started yet."""
    session = db_session()
    try:
        pause = pauses.cancel_pause(session, current_principal(), pause_id)
    except Conflict as error:
        session.rollback()
        return render_template("graduate/pause_not_canceled.html", reason=error.message), 409
    session.commit()
    flash(
        _(
            "Pause from %(first)s to %(last)s called off.",
            first=day(pause.starts_on),
            last=day(pause.ends_on),
        ),
        "success",
    )
    return redirect(url_for("graduate.home", _anchor=f"pauses-{pause.graduation_id}"))
