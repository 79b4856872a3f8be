"""What is recorded about a graduate after qualifying, from their enrollment's page: pauses,
excluded outcomes, questions to the graduate, and job evidence (disputes, corrections, verified
contacts)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from app.auth import current_principal
from app.database import db_session
from app.guarantee.terms import ExclusionReason, PauseReason
from app.models import Enrollment, JobOutcome
from app.models.base import utc_now
from app.pages import pauses as pause_pages
from app.pages.fields import refused
from app.pages.registrar import blueprint
from app.pages.registrar.enrollments import enrollment_page
from app.pages.registrar.forms import JobCorrectionForm, JobDisputeForm, QuestionForm
from app.services import evidence, exclusions, pauses, records
from app.services import search as search_log
from app.services.errors import Conflict, Invalid, NotFound


@blueprint.post("/enrollments/<id:enrollment_id>/pauses")
def record_pause(enrollment_id: int):
    """Record a pause of the graduate's search, past ones included (documented illness)."""
    session = db_session()
    enrollment = records.get_or_404(session, Enrollment, enrollment_id)
    form = pause_pages.PauseForm(prefix="pause")
    if not form.validate():
        return enrollment_page(enrollment_id, None, 400, pause_form=form)
    if enrollment.graduation is None:
        form.form_errors.append(
            _("The student has not qualified yet: there is no window to pause.")
        )
        return enrollment_page(enrollment_id, None, 409, pause_form=form)
    try:
        recorded = pauses.record_pause(
            session,
            current_principal(),
            enrollment.graduation.id,
            form.starts_on.data,
            form.ends_on.data,
            PauseReason(form.reason.data),
            form.note.data,
            today=utc_now().date(),
        )
    except (Invalid, Conflict) as error:
        status = refused(form, error, {})
        return enrollment_page(enrollment_id, None, status, pause_form=form)
    session.commit()
    flash(pause_pages.pause_message(recorded), "success")
    return redirect(url_for(".enrollment", enrollment_id=enrollment.id, _anchor="pauses"))


@blueprint.post("/enrollments/<id:enrollment_id>/exclusion")
def record_exclusion(enrollment_id: int):
    """Record a documented excluded outcome; a claim not yet paying is withdrawn with it."""
    session = db_session()
    enrollment = records.get_or_404(session, Enrollment, enrollment_id)
    form = pause_pages.ExclusionForm(prefix="exclusion")
    if not form.validate():
        return enrollment_page(enrollment_id, None, 400, exclusion_form=form)
    if enrollment.graduation is None:
        form.form_errors.append(
            _("The student has not qualified yet: record the graduation first.")
        )
        return enrollment_page(enrollment_id, None, 409, exclusion_form=form)
    try:
        exclusions.record_exclusion(
            session,
            current_principal(),
            enrollment.graduation.id,
            ExclusionReason(form.reason.data),
            form.occurred_on.data,
            form.evidence.data,
            today=utc_now().date(),
        )
    except (Invalid, Conflict) as error:
        status = refused(form, error, {})
        return enrollment_page(enrollment_id, None, status, exclusion_form=form)
    session.commit()
    flash(
        _(
            "%(name)s is out of the guarantee (%(reason)s). Any refund claim not yet paying"
            " was withdrawn.",
            name=enrollment.student.name,
            reason=str(pause_pages.EXCLUSION_REASONS[ExclusionReason(form.reason.data)]).lower(),
        ),
        "success",
    )
    return redirect(url_for(".enrollment", enrollment_id=enrollment.id, _anchor="pauses"))


@blueprint.post("/enrollments/<id:enrollment_id>/questions")
def ask_question(enrollment_id: int):
    """Ask the enrollment's graduate a question, which they answer on their page."""
    session = db_session()
    enrollment = records.get_or_404(session, Enrollment, enrollment_id)
    form = QuestionForm(prefix="question")
    if not form.validate():
        return enrollment_page(enrollment_id, None, 400, form)
    if enrollment.graduation is None:
        form.question.errors = [_("The student has not qualified yet: there is no one to ask.")]
        return enrollment_page(enrollment_id, None, 409, form)
    try:
        search_log.ask_question(
            session, current_principal(), enrollment.graduation.id, form.question.data
        )
    except (Invalid, Conflict) as error:
        return enrollment_page(enrollment_id, None, refused(form, error, {}), form)
    session.commit()
    flash(_("Question sent to the graduate."), "success")
    return redirect(url_for(".enrollment", enrollment_id=enrollment.id, _anchor="questions"))


def _job_of(session, enrollment_id: int, outcome_id: int) -> JobOutcome:
    """Job ``outcome_id`` of the enrollment's graduation, or 404."""
    enrollment = records.get_or_404(session, Enrollment, enrollment_id)
    outcome = records.get_or_404(session, JobOutcome, outcome_id)
    if enrollment.graduation is None or outcome.graduation_id != enrollment.graduation.id:
        raise NotFound("JobOutcome", outcome_id)
    return outcome


def _back_to_jobs(enrollment_id: int):
    return redirect(url_for(".enrollment", enrollment_id=enrollment_id, _anchor="jobs"))


@blueprint.post("/enrollments/<id:enrollment_id>/jobs/<id:outcome_id>/dispute")
def dispute_job(enrollment_id: int, outcome_id: int):
    """Record that a job did not happen as reported, with the reason: it stops counting."""
    session = db_session()
    outcome = _job_of(session, enrollment_id, outcome_id)
    form = JobDisputeForm(prefix=f"dispute-{outcome.id}")
    if not form.validate():
        return enrollment_page(enrollment_id, None, 400, job_form=(outcome.id, form))
    try:
        evidence.dispute_job(session, current_principal(), outcome.id, reason=form.reason.data)
    except (Invalid, Conflict) as error:
        status = refused(form, error, {})
        return enrollment_page(enrollment_id, None, status, job_form=(outcome.id, form))
    session.commit()
    flash(_("The job %(title)s is recorded as disputed.", title=outcome.title), "success")
    return _back_to_jobs(enrollment_id)


@blueprint.post("/enrollments/<id:enrollment_id>/jobs/<id:outcome_id>/correct")
def correct_job(enrollment_id: int, outcome_id: int):
    """Correct a job's facts or status, with the reason; the guarantee reads the correction."""
    session = db_session()
    outcome = _job_of(session, enrollment_id, outcome_id)
    form = JobCorrectionForm(prefix=f"correct-{outcome.id}")
    if not form.validate():
        return enrollment_page(enrollment_id, None, 400, job_form=(outcome.id, form))
    try:
        evidence.correct_job(
            session, current_principal(), outcome.id, form.correction(), reason=form.reason.data
        )
    except (Invalid, Conflict) as error:
        status = refused(form, error, {})
        return enrollment_page(enrollment_id, None, status, job_form=(outcome.id, form))
    session.commit()
    flash(_("The job %(title)s is corrected.", title=outcome.title), "success")
    return _back_to_jobs(enrollment_id)


@blueprint.post("/enrollments/<id:enrollment_id>/jobs/<id:outcome_id>/verify-contact")
def verify_contact(enrollment_id: int, outcome_id: int):
    """Vouch for the contact of the job's employer: its answers count from now on."""
    session = db_session()
    outcome = _job_of(session, enrollment_id, outcome_id)
    if outcome.employer is None:
        raise NotFound("Employer", outcome_id)
    # The form names the address the registrar saw: a contact changed meanwhile is not verified.
    try:
        employer = evidence.verify_contact(
            session,
            current_principal(),
            outcome.employer.id,
            contact_email=request.form.get("contact_email", ""),
        )
    except Conflict as error:
        session.rollback()
        flash(_("Nothing verified: %(reason)s.", reason=error.message), "error")
        return enrollment_page(enrollment_id, None, 409)
    session.commit()
    flash(
        _(
            "%(email)s is verified as %(employer)s's contact.",
            email=employer.contact_email,
            employer=employer.name,
        ),
        "success",
    )
    return _back_to_jobs(enrollment_id)
