"""Employers confirming hires: from the emailed link (no account), or from their account.

Both show only what the employer needs to answer (the graduate's name, the job title, start
date and type of contract), never salaries, refunds or other graduates.
"""

from __future__ import annotations

import re

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import LazyString, lazy_gettext
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    RadioField,
    SelectChoice,
    SelectField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import InputRequired, Length, Optional

from app.auth import current_principal, limiter, requires
from app.auth.access import Permission
from app.database import db_session
from app.guarantee.terms import EmploymentType
from app.pages.formatting import words
from app.services import documents
from app.services.confirmations import (
    LinkProblem,
    answer,
    confirmation_for_employer,
    open_link,
    pending_for,
)
from app.services.errors import Conflict, Invalid, NotFound
from app.storage import document_store

blueprint = Blueprint("employer", __name__)

#: Who answered through the emailed link, in the audit log (the model's convention).
LINK_ACTOR = "link"

#: Control characters other than tab and line breaks: nothing a person types in a comment.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _plain_text(_form, field):
    if field.data and _CONTROL.search(field.data):
        raise ValidationError(_("Use letters, digits and punctuation only."))


def _capitalized(kind: EmploymentType) -> str:
    """A kind of contract as a choice reads it, in the reader's language: ``Internship``."""
    return words(kind).capitalize()


class AnswerForm(FlaskForm):
    """The employer's answer: confirmed (correcting the start date or contract) or denied."""

    decision = RadioField(
        lazy_gettext("Did you hire them for this job?"),
        choices=[
            SelectChoice(
                "confirm",
                lazy_gettext("Yes, we hired them (correct the details below if needed)"),
            ),
            SelectChoice("deny", lazy_gettext("No, or not for this job")),
        ],
        validators=[InputRequired(lazy_gettext("Choose yes or no."))],
    )
    start_date = DateField(
        lazy_gettext("Correct first day of work (only if different)"), validators=[Optional()]
    )
    employment_type = SelectField(
        lazy_gettext("Correct type of contract (only if different)"),
        choices=[SelectChoice("", lazy_gettext("As stated"))]
        + [SelectChoice(kind.value, LazyString(_capitalized, kind)) for kind in EmploymentType],
        validators=[Optional()],
    )
    comment = TextAreaField(
        lazy_gettext("Comment for the school (optional)"),
        filters=[lambda text: text.strip() if isinstance(text, str) else text],
        validators=[Optional(), Length(max=2000), _plain_text],
    )
    document = FileField(lazy_gettext("The contract or offer letter (optional: PDF, PNG or JPEG)"))

    def upload(self) -> documents.Upload | None:
        """The attached file, if one was chosen."""
        file = self.document.data
        if file is None or not getattr(file, "filename", ""):
            return None
        return documents.Upload(file.filename, file.read())

    def answer_fields(self) -> dict:
        """The form as arguments of ``confirmations.answer``; corrections only on a yes."""
        confirmed = self.decision.data == "confirm"
        return {
            "confirmed": confirmed,
            "start_date": self.start_date.data if confirmed else None,
            "employment_type": (
                EmploymentType(self.employment_type.data)
                if confirmed and self.employment_type.data
                else None
            ),
            "comment": self.comment.data or None,
        }


def _attach(session, confirmation, form: AnswerForm, answered_by: str) -> None:
    """Attach the answer's file, if any, to the confirmed job; ``Invalid`` when refused."""
    upload = form.upload()
    if upload is not None:
        documents.attach_to_confirmation(
            session,
            document_store(),
            confirmation,
            upload,
            answered_by=answered_by,
            max_bytes=current_app.config["DOCUMENTS_MAX_BYTES"],
        )


def _file_errors(error: Invalid | Conflict) -> list[str]:
    reasons = error.errors["file"] if isinstance(error, Invalid) else [error.message]
    return [_sentence(reason) for reason in reasons]


def _sentence(reason: str) -> str:
    return f"{reason[:1].upper()}{reason[1:]}."


def _link_problem(problem: LinkProblem):
    # A link that was real but is used or expired is gone (410); anything else never was (404).
    return render_template("employer/link_problem.html", problem=problem), (
        410 if problem.gone else 404
    )


@blueprint.route("/confirm/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"], key_func=lambda: request.path)
def confirm(token: str):
    """The page an employer's emailed link opens: confirm or deny one hire, once.

    Answers are limited per link (a form resent in a loop), not per address: employers of many
    graduates may all answer from one office.
    """
    session = db_session()
    try:
        confirmation, view = open_link(session, token)
    except LinkProblem as problem:
        return _link_problem(problem)
    form = AnswerForm()
    if form.validate_on_submit():
        fields = form.answer_fields()
        try:
            answer(session, confirmation, answered_by=LINK_ACTOR, **fields)
            _attach(session, confirmation, form, LINK_ACTOR)
        except LinkProblem as problem:  # answered by someone else meanwhile
            session.rollback()
            return _link_problem(problem)
        except (Invalid, Conflict) as error:
            session.rollback()
            form.document.errors = _file_errors(error)
            return render_template("employer/confirm.html", view=view, form=form), 422
        session.commit()
        return redirect(
            url_for("employer.thanks", answer="confirmed" if fields["confirmed"] else "denied")
        )
    status = 400 if request.method == "POST" else 200
    return render_template("employer/confirm.html", view=view, form=form), status


@blueprint.get("/confirm/thanks")
def thanks():
    """Where the link leads after an answer."""
    confirmed = request.args.get("answer") == "confirmed"
    return render_template("employer/thanks.html", confirmed=confirmed)


@blueprint.get("/employer")
@requires(Permission.CONFIRM_HIRES)
def home():
    """An employer account's open confirmations, each with its own answer form."""
    return _pending_page()


def _pending_page(failed_id: str | None = None, failed_form: AnswerForm | None = None):
    items = pending_for(db_session(), current_principal())
    forms = {
        item.confirmation_id: (
            failed_form if item.confirmation_id == failed_id else AnswerForm(formdata=None)
        )
        for item in items
    }
    if failed_form is not None and failed_id not in forms:
        flash(_("That hire can no longer be answered here."), "error")
    status = 400 if failed_form is not None else 200
    return render_template("employer/home.html", items=items, forms=forms), status


@blueprint.post("/employer/confirmations/<confirmation_id>")
@requires(Permission.CONFIRM_HIRES)
def answer_confirmation(confirmation_id: str):
    """Answer one of the company's open confirmations from the account."""
    session = db_session()
    principal = current_principal()
    try:
        confirmation = confirmation_for_employer(session, principal, confirmation_id)
    except NotFound:
        return render_template("errors/404.html"), 404
    except Conflict:  # the only one: answered already
        flash(_("This confirmation was answered already."), "error")
        return redirect(url_for("employer.home"))
    form = AnswerForm()
    if not form.validate_on_submit():
        return _pending_page(confirmation_id, form)
    graduate = confirmation.job_outcome.graduation.enrollment.student.name
    try:
        outcome = answer(
            session,
            confirmation,
            answered_by=principal.actor,
            by_account=True,
            **form.answer_fields(),
        )
        _attach(session, confirmation, form, principal.actor)
    except LinkProblem:  # answered by someone else meanwhile
        session.rollback()
        flash(_("This hire was answered already."), "error")
        return redirect(url_for("employer.home"))
    except (Invalid, Conflict) as error:
        session.rollback()
        form.document.errors = _file_errors(error)
        return _pending_page(confirmation_id, form)
    session.commit()
    flash(
        _(
            "Thank you: your answer on %(graduate)s (%(title)s) is recorded.",
            graduate=graduate,
            title=outcome.title,
        ),
        "success",
    )
    return redirect(url_for("employer.home"))
