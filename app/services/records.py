"""Recording the school's data: programmes, policy versions, people, enrollments, payments,
graduations and job outcomes.

Each function takes already-parsed values (the API and the CSV import validate shapes), checks
what only the database can tell, adds the record and flushes. The caller commits.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar

import pycountry
from flask_babel import gettext, lazy_gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.guarantee.rules import claim_deadline, guarantee_deadline
from app.guarantee.terms import (
    DEFAULT_QUALIFYING_TYPES,
    REGIONS,
    CirrIntent,
    EmploymentType,
    OutcomeStatus,
    PayerType,
    WorkAuthorisation,
)
from app.i18n import said_day
from app.models import (
    Base,
    Employer,
    Enrollment,
    Graduation,
    GuaranteePolicy,
    JobOutcome,
    PolicyPrerequisite,
    PolicyQualifyingType,
    PolicySearchArea,
    PrerequisiteVerification,
    Programme,
    Student,
    TuitionPayment,
)
from app.models.base import utc_now
from app.services.errors import Conflict, Invalid, NotFound
from refunds import claims as refund_claims

Model = TypeVar("Model", bound=Base)

#: Largest id a 32-bit integer key can hold; anything above cannot exist.
MAX_ID = 2**31 - 1


def get_or_404(session: Session, model: type[Model], record_id: int) -> Model:
    """The ``model`` row with ``record_id``, or ``NotFound``."""
    record = session.get(model, record_id) if 0 < record_id <= MAX_ID else None
    if record is None:
        raise NotFound(model.__name__, record_id)
    return record


def _add(session: Session, record: Model, conflict: str, field: str | None = None) -> Model:
    """Add and flush ``record`` in a savepoint; a constraint it breaks becomes ``Conflict``.

    The service checks come first and name the field; this catches the race in which another
    transaction wrote the same record between the check and the insert.
    """
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError as error:
        raise Conflict(conflict, field) from error
    return record


def create_programme(
    session: Session, *, name: str, currency: str, tuition_list_price_minor: int
) -> Programme:
    """Record a programme; its name must be new."""
    exists = gettext("a programme named %(name)s exists already", name=repr(name))
    if session.scalar(select(Programme.id).where(Programme.name == name)) is not None:
        raise Conflict(exists, "name")
    programme = Programme(
        name=name, currency=currency, tuition_list_price_minor=tuition_list_price_minor
    )
    return _add(session, programme, exists, "name")


def publish_policy(
    session: Session,
    programme_id: int,
    *,
    effective_from: date,
    qualifying_types: list[EmploymentType] | None = None,
    correction: bool = False,
    prerequisites: list[str] | None = None,
    search_areas: list[str] | None = None,
    **terms: Any,
) -> GuaranteePolicy:
    """Publish the programme's next policy version; earlier versions stay as they were.

    A version never changes the terms of an enrollment already recorded, nor makes two
    enrollments signed the same day differ by when each was recorded:
    - one effective before the newest existing version is refused (``Conflict``) unless it is
      explicitly a ``correction`` (of a version published with the wrong terms, say);
    - any version is refused when an enrollment was signed on a day it would govern (from its
      ``effective_from`` up to the next existing version's): those are bound to another one.

    Its eligibility terms: ``prerequisites`` (labels a registrar verifies at enrollment, each
    once) and ``search_areas`` (ISO country codes or ``REGIONS`` names; none for anywhere).
    """
    programme = get_or_404(session, Programme, programme_id)
    _check_policy_dates(session, programme.id, effective_from, correction)
    latest = session.scalar(
        select(func.max(GuaranteePolicy.version)).where(
            GuaranteePolicy.programme_id == programme.id
        )
    )
    types = DEFAULT_QUALIFYING_TYPES if qualifying_types is None else frozenset(qualifying_types)
    if not types:
        raise Invalid.field("qualifying_types", gettext("name at least one type of employment"))
    labels = [label.strip() for label in prerequisites or []]
    if any(not label for label in labels):
        raise Invalid.field("prerequisites", gettext("a prerequisite needs a label"))
    if len(set(labels)) != len(labels):
        raise Invalid.field("prerequisites", gettext("each prerequisite is listed once"))
    areas = sorted({area.strip().upper() for area in search_areas or []})
    for area in areas:
        if problem := search_area_problem(area):
            raise Invalid.field("search_areas", problem)
    policy = GuaranteePolicy(
        programme_id=programme.id,
        version=(latest or 0) + 1,
        effective_from=effective_from,
        qualifying_types=[PolicyQualifyingType(employment_type=kind) for kind in sorted(types)],
        prerequisites=[
            PolicyPrerequisite(label=label, position=position)
            for position, label in enumerate(labels)
        ],
        search_areas=[PolicySearchArea(code=area) for area in areas],
        **terms,
    )
    return _add(
        session, policy, gettext("another version was published at the same time; try again")
    )


def _check_policy_dates(
    session: Session, programme_id: int, effective_from: date, correction: bool
) -> None:
    newest = session.scalar(
        select(GuaranteePolicy)
        .where(GuaranteePolicy.programme_id == programme_id)
        .order_by(GuaranteePolicy.effective_from.desc(), GuaranteePolicy.version.desc())
        .limit(1)
    )
    if newest is not None and effective_from < newest.effective_from and not correction:
        raise Conflict(
            gettext(
                "version %(version)s is effective from %(day)s: a version effective before it is"
                " refused unless it is marked a correction",
                version=newest.version,
                day=said_day(newest.effective_from),
            ),
            "effective_from",
        )
    # The days the new version would govern: up to the next version already effective after it.
    next_from = session.scalar(
        select(func.min(GuaranteePolicy.effective_from)).where(
            GuaranteePolicy.programme_id == programme_id,
            GuaranteePolicy.effective_from > effective_from,
        )
    )
    governed = select(Enrollment.signed_on).where(
        Enrollment.programme_id == programme_id, Enrollment.signed_on >= effective_from
    )
    if next_from is not None:
        governed = governed.where(Enrollment.signed_on < next_from)
    signed_on = session.scalar(governed.order_by(Enrollment.signed_on).limit(1))
    if signed_on is not None:
        if next_from is not None:
            message = gettext(
                "an enrollment signed on %(signed_on)s is bound to another version already: a new"
                " version may only govern days (from %(start)s and before %(end)s) on which no"
                " enrollment was signed yet",
                signed_on=said_day(signed_on),
                start=said_day(effective_from),
                end=said_day(next_from),
            )
        else:
            message = gettext(
                "an enrollment signed on %(signed_on)s is bound to another version already: a new"
                " version may only govern days (from %(start)s) on which no enrollment was signed"
                " yet",
                signed_on=said_day(signed_on),
                start=said_day(effective_from),
            )
        raise Conflict(message, "effective_from")


def policy_in_force(session: Session, programme_id: int, on: date) -> GuaranteePolicy | None:
    """The programme's policy version in force on ``on``: the newest one effective by then."""
    return session.scalar(
        select(GuaranteePolicy)
        .where(GuaranteePolicy.programme_id == programme_id, GuaranteePolicy.effective_from <= on)
        .order_by(GuaranteePolicy.effective_from.desc(), GuaranteePolicy.version.desc())
        .limit(1)
    )


def create_student(session: Session, *, name: str, email: str, country: str) -> Student:
    """Record a student; the email (compared in lower case) must be new."""
    email = email.lower()
    exists = gettext("a student with email %(email)s exists already", email=email)
    if session.scalar(select(Student.id).where(Student.email == email)) is not None:
        raise Conflict(exists, "email")
    student = Student(name=name, email=email, country=country)
    return _add(session, student, exists, "email")


#: Who vouches for an employer contact recorded by the school's own staff or systems.
SCHOOL_RECORD = "school record"


def create_employer(
    session: Session,
    *,
    name: str,
    contact_email: str,
    is_school: bool = False,
    contact_verified_by: str | None = SCHOOL_RECORD,
) -> Employer:
    """Record an employer; ``is_school`` marks the school itself.

    Its contact is verified when the school records it (``contact_verified_by`` names who did);
    ``None`` for a contact a graduate typed, unverified until a registrar verifies it.
    """
    employer = Employer(
        name=name,
        contact_email=contact_email.lower(),
        is_school=is_school,
        contact_verified_at=utc_now() if contact_verified_by else None,
        contact_verified_by=contact_verified_by,
    )
    return _add(session, employer, "duplicate")


def enroll(
    session: Session,
    *,
    student_id: int,
    programme_id: int,
    signed_on: date,
    guarantee_opt_in: bool,
    scholarship_minor: int = 0,
    cirr_intent: CirrIntent = CirrIntent.IN_FIELD_JOB,
    expected_graduation_on: date | None = None,
    studies_started_on: date | None = None,
    search_country: str | None = None,
    work_authorisation: WorkAuthorisation = WorkAuthorisation.UNKNOWN,
    study_country: str | None = None,
    study_work_authorisation: WorkAuthorisation = WorkAuthorisation.UNKNOWN,
) -> Enrollment:
    """Enroll a student, binding the enrollment to the policy version in force on ``signed_on``.

    The CIRR intent (what the student means to do after graduating) is asked now and locked.
    The search country and the country of study are the student's own unless given; the
    policy's prerequisites are verified afterwards, one by one (``verify_prerequisite``).
    """
    student = _get_field(session, Student, student_id, "student_id")
    programme = _get_field(session, Programme, programme_id, "programme_id")
    policy = policy_in_force(session, programme.id, signed_on)
    if policy is None:
        raise Invalid.field(
            "signed_on",
            gettext(
                "no guarantee policy of programme %(programme)s is in force on %(day)s",
                programme=programme.id,
                day=said_day(signed_on),
            ),
        )
    enrollment = Enrollment(
        student_id=student.id,
        programme_id=programme.id,
        policy_id=policy.id,
        signed_on=signed_on,
        guarantee_opt_in=guarantee_opt_in,
        scholarship_minor=scholarship_minor,
        cirr_intent=cirr_intent,
        expected_graduation_on=expected_graduation_on,
        studies_started_on=studies_started_on,
        search_country=search_country or student.country,
        work_authorisation=work_authorisation,
        study_country=study_country or student.country,
        study_work_authorisation=study_work_authorisation,
    )
    if expected_graduation_on is not None and expected_graduation_on < signed_on:
        raise Invalid.field(
            "expected_graduation_on",
            gettext("the cohort cannot graduate before the enrollment is signed"),
        )
    return _add(session, enrollment, gettext("the enrollment conflicts with an existing record"))


def record_eligibility(
    session: Session,
    enrollment_id: int,
    *,
    studies_started_on: date | None,
    search_country: str,
    work_authorisation: WorkAuthorisation,
    study_country: str | None = None,
    study_work_authorisation: WorkAuthorisation | None = None,
) -> Enrollment:
    """Record (or correct) what an enrollment says about eligibility: the start of studies,
    the search country and the work authorisation there (a permit granted later, say); and,
    for the outcomes report, the country of study and the work authorisation there (each left
    as recorded when ``None``)."""
    enrollment = get_or_404(session, Enrollment, enrollment_id)
    graduation = enrollment.graduation
    if studies_started_on and graduation and studies_started_on > graduation.qualified_on:
        raise Invalid.field("studies_started_on", gettext("studies cannot start after qualifying"))
    enrollment.studies_started_on = studies_started_on
    enrollment.search_country = search_country
    enrollment.work_authorisation = work_authorisation
    if study_country is not None:
        enrollment.study_country = study_country
    if study_work_authorisation is not None:
        enrollment.study_work_authorisation = study_work_authorisation
    session.flush()
    return enrollment


def verify_prerequisite(
    session: Session,
    enrollment_id: int,
    prerequisite_id: int,
    *,
    verified_by: str,
    note: str | None = None,
) -> PrerequisiteVerification:
    """Record that a registrar verified one of the enrollment's policy prerequisites, once."""
    enrollment = get_or_404(session, Enrollment, enrollment_id)
    prerequisite = session.get(PolicyPrerequisite, prerequisite_id)
    if prerequisite is None or prerequisite.policy_id != enrollment.policy_id:
        # Only the enrollment's own policy's prerequisites exist for it.
        raise NotFound("Prerequisite", prerequisite_id)
    done = gettext(
        "\u201c%(prerequisite)s\u201d is verified already for this enrollment",
        prerequisite=prerequisite.label,
    )
    taken = select(PrerequisiteVerification.id).where(
        PrerequisiteVerification.enrollment_id == enrollment.id,
        PrerequisiteVerification.prerequisite_id == prerequisite.id,
    )
    if session.scalar(taken) is not None:
        raise Conflict(done, "prerequisite_id")
    verification = PrerequisiteVerification(
        enrollment_id=enrollment.id,
        prerequisite_id=prerequisite.id,
        verified_by=verified_by,
        verified_at=utc_now(),
        note=note,
    )
    _add(session, verification, done, "prerequisite_id")
    # The enrollment's list, loaded already, does not know the new row yet.
    session.expire(enrollment, ["prerequisite_verifications"])
    return verification


def search_area_problem(area: str) -> str | None:
    """Why ``area`` cannot be a policy's search area, or ``None``: an ISO 3166-1 alpha-2
    country code or one of ``REGIONS``."""
    if area in REGIONS or (len(area) == 2 and pycountry.countries.get(alpha_2=area)):
        return None
    return gettext(
        "%(area)s is neither an ISO country code nor a region (%(regions)s)",
        area=repr(area),
        regions=", ".join(REGIONS),
    )


def record_payment(
    session: Session,
    enrollment_id: int,
    *,
    amount_minor: int,
    currency: str,
    paid_at: datetime,
    payer_type: PayerType,
    payer_name: str | None = None,
    stripe_payment_intent_id: str | None = None,
) -> TuitionPayment:
    """Record a tuition payment; it is in the programme's currency and each PaymentIntent once."""
    enrollment = get_or_404(session, Enrollment, enrollment_id)
    if currency != enrollment.programme.currency:
        raise Invalid.field(
            "currency",
            gettext(
                "tuition of this programme is paid in %(currency)s",
                currency=enrollment.programme.currency,
            ),
        )
    if payer_type is PayerType.SPONSOR and not payer_name:
        raise Invalid.field("payer_name", gettext("name the sponsor who paid"))
    if stripe_payment_intent_id is not None:
        taken = select(TuitionPayment.id).where(
            TuitionPayment.stripe_payment_intent_id == stripe_payment_intent_id
        )
        if session.scalar(taken) is not None:
            raise Conflict(
                gettext("payment %(intent)s is recorded already", intent=stripe_payment_intent_id),
                "stripe_payment_intent_id",
            )
    payment = TuitionPayment(
        enrollment_id=enrollment.id,
        amount_minor=amount_minor,
        currency=currency,
        paid_at=paid_at,
        payer_type=payer_type,
        payer_name=payer_name,
        stripe_payment_intent_id=stripe_payment_intent_id,
    )
    return _add(
        session, payment, gettext("the payment is recorded already"), "stripe_payment_intent_id"
    )


def record_graduation(session: Session, *, enrollment_id: int, qualified_on: date) -> Graduation:
    """Record that the student of an enrollment qualified; once per enrollment."""
    enrollment = _get_field(session, Enrollment, enrollment_id, "enrollment_id")
    if qualified_on < enrollment.signed_on:
        raise Invalid.field("qualified_on", gettext("a student cannot qualify before enrolling"))
    terms = enrollment.policy.terms()
    try:
        claim_deadline(
            guarantee_deadline(qualified_on, terms.window_months, terms.window_starts),
            terms.claim_deadline_days,
        )
    except (OverflowError, ValueError) as error:
        # Dates stop at 9999-12-31: the guarantee of a later window could never be evaluated.
        raise Invalid.field(
            "qualified_on",
            gettext("too late: the guarantee's claim deadline would be after 9999-12-31"),
        ) from error
    graduated = gettext("enrollment %(number)s has a graduation already", number=enrollment.id)
    if enrollment.graduation is not None:
        raise Conflict(graduated, "enrollment_id")
    graduation = Graduation(enrollment_id=enrollment.id, qualified_on=qualified_on)
    return _add(session, graduation, graduated, "enrollment_id")


def report_job_outcome(
    session: Session,
    *,
    graduation_id: int,
    employer_id: int | None,
    title: str,
    employment_type: EmploymentType,
    in_field: bool,
    start_date: date,
    source: Any,
    status: OutcomeStatus = OutcomeStatus.REPORTED,
    contract_months: int | None = None,
    annual_salary_minor: int | None = None,
    salary_currency: str | None = None,
    country: str | None = None,
    remote_employer_country: str | None = None,
) -> JobOutcome:
    """Record a job a graduate took (``country``: where they work; ``None``, the country of
    their search)."""
    graduation = _get_field(session, Graduation, graduation_id, "graduation_id")
    employer = None
    if employer_id is not None:
        employer = _get_field(session, Employer, employer_id, "employer_id")
    elif employment_type is not EmploymentType.FOUNDED_COMPANY:
        raise Invalid.field(
            "employer_id", gettext("name the employer (only a founded company has none)")
        )
    if (annual_salary_minor is None) != (salary_currency is None):
        raise Invalid.field("salary_currency", gettext("give the salary and its currency together"))
    outcome = JobOutcome(
        graduation_id=graduation.id,
        employer_id=employer.id if employer else None,
        title=title,
        employment_type=employment_type,
        in_field=in_field,
        start_date=start_date,
        source=source,
        status=status,
        contract_months=contract_months,
        annual_salary_minor=annual_salary_minor,
        salary_currency=salary_currency,
        country=country,
        remote_employer_country=remote_employer_country,
    )
    _add(session, outcome, "the job outcome conflicts with an existing record")
    # A qualifying job reported after the graduate was flagged stops the claim for review.
    refund_claims.review_after_job_report(
        session, graduation.id, outcome_id=outcome.id, actor=f"system:report:{source.value}"
    )
    return outcome


def _get_field(session: Session, model: type[Model], record_id: int, field: str) -> Model:
    # An id given in a body names a field, so a missing record is a 422 on that field.
    try:
        return get_or_404(session, model, record_id)
    except NotFound as error:
        missing = _MISSING.get(model.__name__)
        reason = str(missing) % {"key": record_id} if missing else str(error)
        raise Invalid.field(field, reason) from error


#: What a page says of a record its form named and that does not exist (``NotFound``'s words).
_MISSING = {
    "Student": lazy_gettext("Student %(key)s does not exist"),
    "Programme": lazy_gettext("Programme %(key)s does not exist"),
    "Enrollment": lazy_gettext("Enrollment %(key)s does not exist"),
    "Graduation": lazy_gettext("Graduation %(key)s does not exist"),
    "Employer": lazy_gettext("Employer %(key)s does not exist"),
}
