"""Students, enrollments and their payments: the list, the forms that record them, and one
enrollment's page (which the follow-up views render too)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from app.auth import current_principal
from app.database import db_session
from app.guarantee.rules import eligibility_shortfalls
from app.guarantee.terms import CirrIntent, PayerType, WorkAuthorisation
from app.models import Enrollment, JobOutcome, Programme, Role
from app.pages import documents as document_pages
from app.pages import pauses as pause_pages
from app.pages.fields import PageForm, refused
from app.pages.formatting import day
from app.pages.list_args import ListArgs
from app.pages.registrar import audit, blueprint
from app.pages.registrar.forms import (
    CIRR_INTENTS,
    EligibilityForm,
    EnrollmentForm,
    JobCorrectionForm,
    JobDisputeForm,
    PaymentForm,
    PrerequisiteVerificationForm,
    QuestionForm,
    StudentForm,
    programme_choices,
)
from app.services import documents, evidence, listings, records
from app.services import search as search_log
from app.services.errors import Conflict, Invalid

blueprint.add_app_template_global(CIRR_INTENTS, "cirr_intents")


@blueprint.route("/enrollments", methods=["GET", "POST"])
def enrollments():
    """Enrollments with what was paid; the forms record a student and enroll one."""
    session = db_session()
    programmes = listings.programmes_with_policies(session)
    form = EnrollmentForm(prefix="enrollment")
    programme_choices(form, programmes)
    if not form.is_submitted():
        form = EnrollmentForm(formdata=None, prefix="enrollment")
        form.student_email.data = request.args.get("student", "")
        programme_choices(form, programmes)
        return _enrollments_page(enrollment_form=form, programmes=programmes)
    if not form.validate():
        return _enrollments_page(enrollment_form=form, programmes=programmes, status=400)
    student = listings.student_with_email(session, form.student_email.data)
    if student is None:
        form.student_email.errors.append(_("No student has this email; record the student first."))
        return _enrollments_page(enrollment_form=form, programmes=programmes, status=400)
    try:
        enrollment = records.enroll(
            session,
            student_id=student.id,
            programme_id=form.programme_id.data,
            signed_on=form.signed_on.data,
            guarantee_opt_in=form.guarantee_opt_in.data,
            scholarship_minor=form.scholarship.minor or 0,
            cirr_intent=CirrIntent(form.cirr_intent.data),
            expected_graduation_on=form.expected_graduation_on.data,
            studies_started_on=form.studies_started_on.data,
            search_country=form.search_country.data or None,
            work_authorisation=WorkAuthorisation(form.work_authorisation.data),
            study_country=form.study_country.data or None,
            study_work_authorisation=WorkAuthorisation(form.study_work_authorisation.data),
        )
    except (Invalid, Conflict) as error:
        field_of = {"student_id": "student_email", "scholarship_minor": "scholarship"}
        return _enrollments_page(
            enrollment_form=form, programmes=programmes, status=refused(form, error, field_of)
        )
    policy = enrollment.policy
    audit(
        "enrollment.created",
        f"enrollment:{enrollment.id}",
        f"{student.email} in {enrollment.programme.name}, policy v{policy.version}",
    )
    session.commit()
    flash(
        _(
            "%(student)s is enrolled in %(programme)s under guarantee policy version %(version)s"
            " (in force from %(day)s).",
            student=student.name,
            programme=enrollment.programme.name,
            version=policy.version,
            day=day(policy.effective_from),
        ),
        "success",
    )
    return redirect(url_for(".enrollment", enrollment_id=enrollment.id))


@blueprint.post("/students")
def create_student():
    """Record a student; the email must be new."""
    form = StudentForm(prefix="student")
    if not form.validate():
        return _enrollments_page(student_form=form, status=400)
    session = db_session()
    try:
        student = records.create_student(
            session, name=form.name.data, email=form.email.data, country=form.country.data
        )
    except (Invalid, Conflict) as error:
        return _enrollments_page(student_form=form, status=refused(form, error, {}))
    audit("student.created", f"student:{student.id}", student.email)
    session.commit()
    flash(
        _(
            "Student %(name)s (%(email)s) recorded. Enroll them below.",
            name=student.name,
            email=student.email,
        ),
        "success",
    )
    return redirect(url_for(".enrollments", student=student.email) + "#enroll")


def _enrollments_page(
    *,
    student_form: StudentForm | None = None,
    enrollment_form: EnrollmentForm | None = None,
    programmes: list[Programme] | None = None,
    status: int = 200,
):
    """The list and its forms; ``programmes``: those the caller has read already (with their
    policies), read here otherwise."""
    session = db_session()
    if programmes is None:
        programmes = listings.programmes_with_policies(session)
    if enrollment_form is None:
        enrollment_form = EnrollmentForm(formdata=None, prefix="enrollment")
        programme_choices(enrollment_form, programmes)
    args, query = _enrollments_query(programmes)
    for error in args.errors:
        flash(error, "error")
    page = listings.enrollments_page(
        session,
        args.page(),
        query,
        size=PER_PAGE,
        after=request.args.get("after"),
        before=request.args.get("before"),
    )
    return render_template(
        "registrar/enrollments.html",
        page=page,
        programmes=programmes,
        programme_id=query.programme_id,
        params=args.params,
        query=query,
        sorts=ENROLLMENT_SORTS,
        student_form=student_form or StudentForm(formdata=None, prefix="student"),
        enrollment_form=enrollment_form,
    ), (400 if args.errors and status == 200 else status)


#: Enrollments per page of the list.
PER_PAGE = listings.PAGE_SIZE
#: The enrollments list's sort keys, as its sort control names them.
ENROLLMENT_SORTS = {
    listings.EnrollmentSort.SIGNED.value: lazy_gettext("Signed on"),
    listings.EnrollmentSort.NAME.value: lazy_gettext("Student's name"),
    listings.EnrollmentSort.EXPECTED_GRADUATION.value: lazy_gettext("Expected graduation"),
}
#: The guarantee filter's values: opted in or not.
OPT_IN = {"opted_in": True, "not_opted_in": False}


def _enrollments_query(programmes) -> tuple[ListArgs, listings.EnrollmentQuery]:
    """The list's query parameters, checked (a wrong one ignored, and said so)."""
    args = ListArgs()
    programme = args.choice(
        "programme", {str(programme.id) for programme in programmes}, None, "programme"
    )
    status = args.choice(
        "status", {status.value for status in listings.EnrollmentStatus}, None, "status"
    )
    opt_in = args.choice("guarantee", OPT_IN, None, "guarantee choice")
    search = args.search()
    sort = args.choice("sort", ENROLLMENT_SORTS, listings.EnrollmentSort.SIGNED.value, "sort")
    query = listings.EnrollmentQuery(
        programme_id=int(programme) if programme else None,
        status=listings.EnrollmentStatus(status) if status else None,
        opted_in=OPT_IN[opt_in] if opt_in else None,
        search=search,
        sort=listings.EnrollmentSort(sort),
        descending=args.order("desc"),
    )
    return args, query


@blueprint.get("/enrollments/<id:enrollment_id>")
def enrollment(enrollment_id: int):
    """One enrollment: its bound policy version, payments and graduation."""
    return enrollment_page(enrollment_id, None, 200)


@blueprint.post("/enrollments/<id:enrollment_id>/payments")
def record_payment(enrollment_id: int):
    """Record a tuition payment of the enrollment."""
    session = db_session()
    enrollment = records.get_or_404(session, Enrollment, enrollment_id)
    form = PaymentForm()
    if not form.validate():
        return enrollment_page(enrollment_id, form, 400)
    paid_at = datetime.combine(form.paid_on.data, form.paid_time.data, tzinfo=UTC)
    try:
        payment = records.record_payment(
            session,
            enrollment.id,
            amount_minor=form.amount.minor,
            currency=form.currency.data,
            paid_at=paid_at,
            payer_type=PayerType(form.payer_type.data),
            payer_name=form.payer_name.data or None,
            stripe_payment_intent_id=form.stripe_payment_intent_id.data or None,
        )
    except (Invalid, Conflict) as error:
        field_of = {"amount_minor": "amount", "paid_at": "paid_on"}
        return enrollment_page(enrollment_id, form, refused(form, error, field_of))
    audit(
        "payment.recorded",
        f"payment:{payment.id}",
        f"enrollment:{enrollment.id} {payment.amount_minor} {payment.currency}",
    )
    session.commit()
    flash(_("Payment recorded."), "success")
    return redirect(url_for(".enrollment", enrollment_id=enrollment.id))


@blueprint.post("/enrollments/<id:enrollment_id>/eligibility")
def record_eligibility(enrollment_id: int):
    """Record the start of studies, the search country and the work authorisation there, and
    the country of study and the work authorisation there (for the outcomes report)."""
    session = db_session()
    enrollment = records.get_or_404(session, Enrollment, enrollment_id)
    form = EligibilityForm(prefix="eligibility")
    if not form.validate():
        return enrollment_page(enrollment_id, None, 400, eligibility_form=form)
    try:
        records.record_eligibility(
            session,
            enrollment.id,
            studies_started_on=form.studies_started_on.data,
            search_country=form.search_country.data,
            work_authorisation=WorkAuthorisation(form.work_authorisation.data),
            study_country=form.study_country.data,
            study_work_authorisation=WorkAuthorisation(form.study_work_authorisation.data),
        )
    except Invalid as error:
        return enrollment_page(enrollment_id, None, refused(form, error, {}), eligibility_form=form)
    audit(
        "enrollment.eligibility_recorded",
        f"enrollment:{enrollment.id}",
        f"studies from {enrollment.studies_started_on}, search in {enrollment.search_country},"
        f" work authorisation {enrollment.work_authorisation.value}; studies in"
        f" {enrollment.study_country}, work authorisation"
        f" {enrollment.study_work_authorisation.value}",
    )
    session.commit()
    flash(_("Eligibility recorded."), "success")
    return redirect(url_for(".enrollment", enrollment_id=enrollment.id) + "#eligibility")


@blueprint.post("/enrollments/<id:enrollment_id>/prerequisites/<id:prerequisite_id>/verify")
def verify_prerequisite(enrollment_id: int, prerequisite_id: int):
    """Record that you verified one of the enrollment's policy prerequisites."""
    session = db_session()
    enrollment = records.get_or_404(session, Enrollment, enrollment_id)
    form = PrerequisiteVerificationForm(prefix=f"verify-{prerequisite_id}")
    if not form.validate():
        return enrollment_page(enrollment_id, None, 400, verification_form=(prerequisite_id, form))
    try:
        verification = records.verify_prerequisite(
            session,
            enrollment.id,
            prerequisite_id,
            verified_by=current_principal().actor,
            note=form.note.data or None,
        )
    except Conflict as error:
        return enrollment_page(
            enrollment_id,
            None,
            refused(form, error, {"prerequisite_id": "note"}),
            verification_form=(prerequisite_id, form),
        )
    audit(
        "enrollment.prerequisite_verified",
        f"enrollment:{enrollment.id}",
        verification.prerequisite.label,
    )
    session.commit()
    flash(
        _(
            "\u201c%(prerequisite)s\u201d recorded as verified.",
            prerequisite=verification.prerequisite.label,
        ),
        "success",
    )
    return redirect(url_for(".enrollment", enrollment_id=enrollment.id) + "#eligibility")


def enrollment_page(
    enrollment_id: int,
    form: PaymentForm | None,
    status: int,
    question_form: QuestionForm | None = None,
    *,
    pause_form: pause_pages.PauseForm | None = None,
    exclusion_form: pause_pages.ExclusionForm | None = None,
    job_form: tuple[int, PageForm] | None = None,
    eligibility_form: EligibilityForm | None = None,
    verification_form: tuple[int, PrerequisiteVerificationForm] | None = None,
):
    enrollment = records.get_or_404(db_session(), Enrollment, enrollment_id)
    if form is None:
        form = PaymentForm(formdata=None, currency=enrollment.programme.currency)
    if eligibility_form is None:
        eligibility_form = EligibilityForm(
            formdata=None,
            prefix="eligibility",
            studies_started_on=enrollment.studies_started_on,
            search_country=enrollment.search_country,
            work_authorisation=enrollment.work_authorisation.value,
            study_country=enrollment.study_country,
            study_work_authorisation=enrollment.study_work_authorisation.value,
        )
    verification_forms = {
        check.prerequisite.id: PrerequisiteVerificationForm(
            formdata=None, prefix=f"verify-{check.prerequisite.id}"
        )
        for check in enrollment.prerequisite_checklist
    }
    if verification_form is not None:
        verification_forms[verification_form[0]] = verification_form[1]
    graduation = enrollment.graduation
    return render_template(
        "registrar/enrollment.html",
        enrollment=enrollment,
        eligibility_form=eligibility_form,
        verification_forms=verification_forms,
        not_covered_reasons=(
            eligibility_shortfalls(
                enrollment.eligibility(), enrollment.policy.terms(), graduation.qualified_on
            )
            if graduation is not None
            else []
        ),
        paid_minor=sum(payment.amount_minor for payment in enrollment.payments),
        form=form,
        question_form=question_form or QuestionForm(formdata=None, prefix="question"),
        questions=search_log.questions_of(db_session(), enrollment.graduation),
        jobs=_jobs_of(enrollment),
        job_forms=_job_forms(enrollment, job_form),
        documents=document_pages.sections_for(
            current_principal(),
            [enrollment.id],
            documents.ATTACHABLE[Role.REGISTRAR],
            url_for(".enrollment", enrollment_id=enrollment.id),
        )[enrollment.id],
        **pause_pages.enrollment_section(enrollment, pause_form, exclusion_form),
    ), status


def _jobs_of(enrollment: Enrollment) -> list[JobOutcome]:
    if enrollment.graduation is None:
        return []
    return evidence.jobs_of(db_session(), enrollment.graduation.id)


def _job_forms(enrollment: Enrollment, failed: tuple[int, PageForm] | None) -> dict:
    """Each job's dispute and correction forms, the failed one with what was typed."""
    forms = {}
    for outcome in _jobs_of(enrollment):
        dispute = JobDisputeForm(formdata=None, prefix=f"dispute-{outcome.id}")
        correct = JobCorrectionForm(formdata=None, prefix=f"correct-{outcome.id}")
        if failed is not None and failed[0] == outcome.id:
            if isinstance(failed[1], JobDisputeForm):
                dispute = failed[1]
            else:
                correct = failed[1]
        forms[outcome.id] = (dispute, correct)
    return forms
