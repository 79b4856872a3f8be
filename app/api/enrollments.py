"""Enrollments, their tuition payments, and graduations."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from app.api import ApiBlueprint
from app.api.listing import Keyset, page_of, paged
from app.api.schemas import (
    EligibilityIn,
    EnrollmentIn,
    EnrollmentOut,
    EnrollmentQuery,
    GraduationIn,
    GraduationOut,
    GraduationQuery,
    GuaranteeOut,
    GuaranteeQuery,
    PaymentIn,
    PaymentOut,
    PrerequisiteVerificationIn,
    PrerequisiteVerificationOut,
)
from app.auth import current_principal, requires
from app.auth.access import Permission
from app.database import db_session
from app.models import Enrollment, Graduation, TuitionPayment
from app.models.base import utc_now
from app.services import records
from app.services.guarantee import guarantee_for

#: The enrollments list's order, newest first; a deep page starts after a key (migration 0017).
ENROLLMENTS_ORDER = Keyset((Enrollment.signed_on, Enrollment.id), descending=True)
#: The graduations list's order, most recent qualification first.
GRADUATIONS_ORDER = Keyset((Graduation.qualified_on, Graduation.id), descending=True)

blueprint = ApiBlueprint(
    "enrollments",
    __name__,
    url_prefix="/api/v1",
    description="Enrollments, tuition payments and graduations.",
)


@blueprint.get("/enrollments")
@requires(Permission.READ_RECORDS)
@blueprint.arguments(EnrollmentQuery, location="query", as_kwargs=True)
@blueprint.response(200, paged(EnrollmentOut))
@blueprint.paginate()
def list_enrollments(
    pagination_parameters, student_id=None, programme_id=None, guarantee_opt_in=None, cursor=None
):
    """List enrollments with their payments, newest first."""
    # Everything an item shows is loaded with the page: a few statements whatever its size.
    statement = (
        select(Enrollment)
        .options(
            joinedload(Enrollment.policy),
            joinedload(Enrollment.programme),
            joinedload(Enrollment.graduation),
            selectinload(Enrollment.payments),
        )
        .order_by(*ENROLLMENTS_ORDER.order_by())
    )
    if student_id is not None:
        statement = statement.where(Enrollment.student_id == student_id)
    if programme_id is not None:
        statement = statement.where(Enrollment.programme_id == programme_id)
    if guarantee_opt_in is not None:
        statement = statement.where(Enrollment.guarantee_opt_in == guarantee_opt_in)
    return page_of(statement, pagination_parameters, keyset=ENROLLMENTS_ORDER, cursor=cursor)


@blueprint.post("/enrollments")
@requires(Permission.WRITE_RECORDS)
@blueprint.arguments(EnrollmentIn, as_kwargs=True)
@blueprint.response(201, EnrollmentOut)
@blueprint.alt_response(409, description="The enrollment conflicts with one on record.")
def create_enrollment(**fields):
    """Enroll a student; the enrollment is bound to the policy version in force on ``signed_on``."""
    session = db_session()
    enrollment = records.enroll(session, **fields)
    session.commit()
    return enrollment


@blueprint.get("/enrollments/<id:enrollment_id>")
@requires(Permission.READ_RECORDS)
@blueprint.response(200, EnrollmentOut)
def get_enrollment(enrollment_id):
    """Read an enrollment with its payments."""
    return records.get_or_404(db_session(), Enrollment, enrollment_id)


@blueprint.post("/enrollments/<id:enrollment_id>/eligibility")
@requires(Permission.WRITE_RECORDS)
@blueprint.arguments(EligibilityIn, as_kwargs=True)
@blueprint.response(200, EnrollmentOut)
def record_eligibility(enrollment_id, **fields):
    """Record (or correct) the start of studies, the search country and the work authorisation
    there, which the policy's eligibility terms read."""
    session = db_session()
    enrollment = records.record_eligibility(session, enrollment_id, **fields)
    session.commit()
    return enrollment


@blueprint.post("/enrollments/<id:enrollment_id>/prerequisites/<id:prerequisite_id>/verification")
@requires(Permission.WRITE_RECORDS)
@blueprint.arguments(PrerequisiteVerificationIn, as_kwargs=True)
@blueprint.response(201, PrerequisiteVerificationOut)
@blueprint.alt_response(409, description="The prerequisite is verified already.")
def verify_prerequisite(enrollment_id, prerequisite_id, note=None):
    """Record that you verified one of the enrollment's policy prerequisites (its evidence
    seen); a graduate with a prerequisite unverified is not covered by the guarantee."""
    session = db_session()
    verification = records.verify_prerequisite(
        session,
        enrollment_id,
        prerequisite_id,
        verified_by=current_principal().actor,
        note=note,
    )
    session.commit()
    return verification


@blueprint.get("/enrollments/<id:enrollment_id>/payments")
@requires(Permission.READ_RECORDS)
@blueprint.response(200, paged(PaymentOut))
@blueprint.paginate()
def list_payments(enrollment_id, pagination_parameters):
    """List an enrollment's tuition payments, oldest first."""
    records.get_or_404(db_session(), Enrollment, enrollment_id)
    statement = (
        select(TuitionPayment)
        .where(TuitionPayment.enrollment_id == enrollment_id)
        .order_by(TuitionPayment.paid_at, TuitionPayment.id)
    )
    return page_of(statement, pagination_parameters)


@blueprint.post("/enrollments/<id:enrollment_id>/payments")
@requires(Permission.WRITE_RECORDS)
@blueprint.arguments(PaymentIn, as_kwargs=True)
@blueprint.response(201, PaymentOut)
@blueprint.alt_response(409, description="The Stripe PaymentIntent is recorded already.")
def record_payment(enrollment_id, **fields):
    """Record a tuition payment (an instalment) for an enrollment."""
    session = db_session()
    payment = records.record_payment(session, enrollment_id, **fields)
    session.commit()
    return payment


@blueprint.get("/graduations")
@requires(Permission.READ_RECORDS)
@blueprint.arguments(GraduationQuery, location="query", as_kwargs=True)
@blueprint.response(200, paged(GraduationOut))
@blueprint.paginate()
def list_graduations(
    pagination_parameters,
    programme_id=None,
    student_id=None,
    qualified_from=None,
    qualified_to=None,
    cursor=None,
):
    """List graduations, most recent qualification first."""
    statement = (
        select(Graduation)
        .join(Graduation.enrollment)
        .options(contains_eager(Graduation.enrollment))
        .order_by(*GRADUATIONS_ORDER.order_by())
    )
    if programme_id is not None:
        statement = statement.where(Enrollment.programme_id == programme_id)
    if student_id is not None:
        statement = statement.where(Enrollment.student_id == student_id)
    if qualified_from is not None:
        statement = statement.where(Graduation.qualified_on >= qualified_from)
    if qualified_to is not None:
        statement = statement.where(Graduation.qualified_on <= qualified_to)
    return page_of(statement, pagination_parameters, keyset=GRADUATIONS_ORDER, cursor=cursor)


@blueprint.post("/graduations")
@requires(Permission.WRITE_RECORDS)
@blueprint.arguments(GraduationIn, as_kwargs=True)
@blueprint.response(201, GraduationOut)
@blueprint.alt_response(409, description="The enrollment has a graduation already.")
def create_graduation(**fields):
    """Record a graduation: the student qualified, and the guarantee window opens."""
    session = db_session()
    graduation = records.record_graduation(session, **fields)
    session.commit()
    return graduation


@blueprint.get("/graduations/<id:graduation_id>")
@requires(Permission.READ_RECORDS)
@blueprint.response(200, GraduationOut)
def get_graduation(graduation_id):
    """Read a graduation."""
    return records.get_or_404(db_session(), Graduation, graduation_id)


@blueprint.get("/graduations/<id:graduation_id>/guarantee")
@blueprint.arguments(GuaranteeQuery, location="query", as_kwargs=True)
@blueprint.response(200, GuaranteeOut)
def get_guarantee(graduation_id, as_of=None):
    """The graduate's guarantee: deadline, days left, status and the refundable amount.

    Each reported job is listed with whether it qualifies under the enrollment's policy
    version and, if not, why.
    """
    return guarantee_for(
        db_session(), current_principal(), graduation_id, as_of or utc_now().date()
    )
