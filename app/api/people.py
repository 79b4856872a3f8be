"""Students and employers."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from app.api import ApiBlueprint
from app.api.listing import contains, page_of, paged
from app.api.schemas import (
    ContactVerificationIn,
    EmployerIn,
    EmployerOut,
    EmployerQuery,
    StudentIn,
    StudentOut,
    StudentQuery,
)
from app.auth import current_principal, requires
from app.auth.access import Permission
from app.database import db_session
from app.models import Employer, Student
from app.services import evidence, records
from app.services.errors import NotFound

blueprint = ApiBlueprint(
    "people", __name__, url_prefix="/api/v1", description="Students and employers."
)


@blueprint.get("/students")
@requires(Permission.READ_RECORDS)
@blueprint.arguments(StudentQuery, location="query", as_kwargs=True)
@blueprint.response(200, paged(StudentOut))
@blueprint.paginate()
def list_students(pagination_parameters, email=None, country=None):
    """List students, by name."""
    statement = select(Student).order_by(Student.name, Student.id)
    if email:
        statement = statement.where(Student.email == email)
    if country:
        statement = statement.where(Student.country == country)
    return page_of(statement, pagination_parameters)


@blueprint.post("/students")
@requires(Permission.WRITE_RECORDS)
@blueprint.arguments(StudentIn, as_kwargs=True)
@blueprint.response(201, StudentOut)
@blueprint.alt_response(409, description="A student with that email exists.")
def create_student(**fields):
    """Record a student."""
    session = db_session()
    student = records.create_student(session, **fields)
    session.commit()
    return student


#: What ``StudentOut`` shows of the student the address names: a row read by name, without
#: the ORM's bookkeeping, for an answer that only shows it.
STUDENT_READING = select(*(getattr(Student, name) for name in StudentOut().fields)).where(
    Student.id == bindparam("student_id")
)


@blueprint.get("/students/<id:student_id>")
@requires(Permission.READ_RECORDS, reading=STUDENT_READING)
@blueprint.response(200, StudentOut)
def get_student(student, student_id):
    """Read a student."""
    if student is None:
        raise NotFound(Student.__name__, student_id)
    return student


@blueprint.get("/employers")
@requires(Permission.READ_RECORDS)
@blueprint.arguments(EmployerQuery, location="query", as_kwargs=True)
@blueprint.response(200, paged(EmployerOut))
@blueprint.paginate()
def list_employers(pagination_parameters, name=None):
    """List employers, by name."""
    statement = select(Employer).order_by(Employer.name, Employer.id)
    if name:
        statement = statement.where(contains(Employer.name, name))
    return page_of(statement, pagination_parameters)


@blueprint.post("/employers")
@requires(Permission.WRITE_RECORDS)
@blueprint.arguments(EmployerIn, as_kwargs=True)
@blueprint.response(201, EmployerOut)
@blueprint.alt_response(409, description="The employer conflicts with one on record.")
def create_employer(**fields):
    """Record an employer; the school vouches for the contact it records (verified)."""
    session = db_session()
    employer = records.create_employer(
        session, contact_verified_by=current_principal().actor, **fields
    )
    session.commit()
    return employer


@blueprint.get("/employers/<id:employer_id>")
@requires(Permission.READ_RECORDS)
@blueprint.response(200, EmployerOut)
def get_employer(employer_id):
    """Read an employer."""
    return records.get_or_404(db_session(), Employer, employer_id)


@blueprint.post("/employers/<id:employer_id>/verify-contact")
@requires(Permission.WRITE_RECORDS)
@blueprint.arguments(ContactVerificationIn, as_kwargs=True)
@blueprint.response(200, EmployerOut)
@blueprint.alt_response(409, description="The employer's contact is another address.")
def verify_employer_contact(employer_id, contact_email):
    """Vouch for the employer's contact address (a registrar checked it is the employer's).

    Answers from it count from then on: requests still open become trusted; answers given
    before stay unverified.
    """
    session = db_session()
    employer = evidence.verify_contact(
        session, current_principal(), employer_id, contact_email=contact_email
    )
    session.commit()
    return employer
