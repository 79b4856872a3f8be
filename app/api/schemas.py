"""What the API accepts and returns. Money is ``*_minor`` (integer minor units) plus a currency."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.api.fields import (
    COUNTRY_CODES,
    CountryCode,
    CurrencyCode,
    Cursor,
    Email,
    Id,
    MinorUnits,
    Pattern,
    QueryBoolean,
    StrictBoolean,
    Text,
    UTCInstant,
)
from app.guarantee.rules import GuaranteeState
from app.guarantee.terms import (
    REGIONS,
    CirrIntent,
    EmploymentType,
    ExclusionReason,
    OutcomeSource,
    OutcomeStatus,
    PauseReason,
    PayerType,
    WindowStart,
    WorkAuthorisation,
)


def _enum(enum, **kwargs) -> fields.Enum:
    return fields.Enum(enum, by_value=True, **kwargs)


class ProgrammeIn(Schema):
    name = Text(required=True)
    currency = CurrencyCode(required=True)
    tuition_list_price_minor = MinorUnits(required=True)


class ProgrammeOut(Schema):
    id = fields.Integer()
    name = fields.String()
    currency = fields.String()
    tuition_list_price_minor = fields.Integer()
    created_at = fields.AwareDateTime()


class ProgrammeQuery(Schema):
    name = Text(min_length=0, metadata={"description": "Part of the name, any case."})
    currency = CurrencyCode()


class PolicyIn(Schema):
    effective_from = fields.Date(required=True)
    window_months = fields.Integer(strict=True, load_default=6, validate=validate.Range(1, 60))
    window_starts = _enum(WindowStart, load_default=WindowStart.QUALIFICATION_DATE)
    qualifying_types = fields.List(
        _enum(EmploymentType),
        validate=validate.Length(min=1),
        metadata={"description": "Default: full_time_permanent and fixed_term_contract."},
    )
    min_contract_months = fields.Integer(
        strict=True, load_default=6, validate=validate.Range(0, 120)
    )
    requires_in_field = StrictBoolean(load_default=True)
    min_annual_salary_minor = MinorUnits(load_default=None, allow_none=True)
    claim_deadline_days = fields.Integer(
        strict=True, load_default=60, validate=validate.Range(0, 3650)
    )
    refund_cap_minor = MinorUnits(load_default=None, allow_none=True)
    deduct_scholarships = StrictBoolean(load_default=True)
    weekly_applications = fields.Integer(
        strict=True,
        load_default=0,
        validate=validate.Range(0, 100),
        metadata={"description": "Job applications to log each week of the window; 0 for none."},
    )
    coaching_every_weeks = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(1, 52),
        metadata={"description": "At least one coaching check-in every this many weeks."},
    )
    answer_within_days = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(1, 90),
        metadata={"description": "Days a graduate has to answer a question from the school."},
    )
    report_offers_within_days = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(1, 90),
        metadata={"description": "Days a graduate has to log an offer; null: no obligation."},
    )
    declined_offer_voids = StrictBoolean(
        load_default=False,
        metadata={"description": "Whether declining a qualifying offer voids the claim."},
    )
    max_pause_days = fields.Integer(
        strict=True,
        load_default=0,
        validate=validate.Range(0, 1100),
        metadata={"description": "Most paused days that extend the window; 0: no pauses."},
    )
    notes = Text(max_length=5000, load_default=None, allow_none=True)
    prerequisites = fields.List(
        Text(max_length=200, one_line=True),
        load_default=list,
        validate=validate.Length(max=20),
        metadata={
            "description": "What a registrar verifies at enrollment (e.g. \"Bachelor's degree,"
            ' mathematics"); a graduate with one unverified is not covered.'
        },
    )
    qualify_within_months = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(1, 120),
        metadata={
            "description": "Months from the start of studies within which a student must"
            " qualify to be covered; null: no time limit."
        },
    )
    search_areas = fields.List(
        fields.String(
            validate=validate.OneOf(
                [*COUNTRY_CODES, *REGIONS], error="Not an ISO country code nor a region (EU)."
            )
        ),
        load_default=list,
        validate=validate.Length(max=250),
        metadata={
            "description": "ISO 3166-1 alpha-2 countries, or regions (EU), where the search"
            " must take place and where a job counts; empty: anywhere."
        },
    )
    requires_work_authorisation = StrictBoolean(
        load_default=False,
        metadata={
            "description": "Whether a graduate recorded as not authorised to work in their"
            " search country is not covered."
        },
    )
    remote_abroad_counts = StrictBoolean(
        load_default=True,
        metadata={
            "description": "Whether a remote job, done from one of the search areas for an"
            " employer outside them, counts (default: it does)."
        },
    )
    correction = StrictBoolean(
        load_default=False,
        metadata={
            "description": "Marks a version effective before the newest one as a correction;"
            " without it such a version is refused (409). Any version is refused (409) when an"
            " enrollment was already signed on a day it would govern."
        },
    )


class PolicyOut(Schema):
    id = fields.Integer()
    programme_id = fields.Integer()
    version = fields.Integer()
    effective_from = fields.Date()
    window_months = fields.Integer()
    window_starts = _enum(WindowStart)
    qualifying_types = fields.Method("_qualifying_types")
    min_contract_months = fields.Integer()
    requires_in_field = fields.Boolean()
    min_annual_salary_minor = fields.Integer(allow_none=True)
    currency = fields.Function(lambda policy: policy.programme.currency)
    claim_deadline_days = fields.Integer()
    refund_cap_minor = fields.Integer(allow_none=True)
    deduct_scholarships = fields.Boolean()
    weekly_applications = fields.Integer()
    coaching_every_weeks = fields.Integer(allow_none=True)
    answer_within_days = fields.Integer(allow_none=True)
    report_offers_within_days = fields.Integer(allow_none=True)
    declined_offer_voids = fields.Boolean()
    max_pause_days = fields.Integer()
    notes = fields.String(allow_none=True)
    prerequisites = fields.List(fields.Nested(lambda: PrerequisiteOut()))
    qualify_within_months = fields.Integer(allow_none=True)
    search_areas = fields.Method("_search_areas")
    requires_work_authorisation = fields.Boolean()
    remote_abroad_counts = fields.Boolean()
    created_at = fields.AwareDateTime()

    def _qualifying_types(self, policy) -> list[str]:
        return [row.employment_type.value for row in policy.qualifying_types]

    def _search_areas(self, policy) -> list[str]:
        return [row.code for row in policy.search_areas]


class PrerequisiteOut(Schema):
    id = fields.Integer()
    label = fields.String()


class PrerequisiteVerificationIn(Schema):
    note = Text(
        max_length=2000,
        load_default=None,
        allow_none=True,
        metadata={"description": "What was seen (the diploma, its issuer); staff only."},
    )


class PrerequisiteVerificationOut(Schema):
    id = fields.Integer()
    enrollment_id = fields.Integer()
    prerequisite_id = fields.Integer()
    label = fields.Function(lambda row: row.prerequisite.label)
    verified_by = fields.String()
    verified_at = fields.AwareDateTime()
    note = fields.String(allow_none=True)


class EligibilityIn(Schema):
    studies_started_on = fields.Date(
        required=True,
        allow_none=True,
        metadata={"description": "The first day of studies; null when not known."},
    )
    search_country = CountryCode(required=True)
    work_authorisation = _enum(WorkAuthorisation, required=True)
    study_country = CountryCode(
        metadata={
            "description": "Where the student studied from (outcomes report); left as recorded"
            " when absent."
        },
    )
    study_work_authorisation = _enum(
        WorkAuthorisation,
        metadata={
            "description": 'Whether the student may work in the country of study: "no"'
            " takes the graduate out of the outcomes report's base (CIRR); left as recorded"
            " when absent."
        },
    )


class StudentIn(Schema):
    name = Text(required=True)
    email = Email(required=True)
    country = CountryCode(required=True)


class StudentOut(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()
    country = fields.String()
    created_at = fields.AwareDateTime()


class StudentQuery(Schema):
    email = Email()
    country = CountryCode()


class EmployerIn(Schema):
    name = Text(required=True)
    contact_email = Email(required=True)
    is_school = StrictBoolean(
        load_default=False,
        metadata={"description": "The school itself (its hires count apart in outcome reports)."},
    )


class EmployerOut(Schema):
    id = fields.Integer()
    name = fields.String()
    contact_email = fields.String()
    is_school = fields.Boolean()
    contact_verified = fields.Boolean(
        metadata={
            "description": "Whether the school vouches for the contact: recorded by staff or"
            " verified by a registrar. Answers from an unverified contact change nothing."
        }
    )
    contact_verified_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class ContactVerificationIn(Schema):
    contact_email = Email(
        required=True,
        metadata={"description": "The address you checked; 409 if the contact is another."},
    )


class EmployerQuery(Schema):
    name = Text(min_length=0, metadata={"description": "Part of the name, any case."})


class PaymentIn(Schema):
    amount_minor = MinorUnits(required=True)
    currency = CurrencyCode(required=True)
    paid_at = UTCInstant(required=True)
    payer_type = _enum(PayerType, load_default=PayerType.STUDENT)
    payer_name = Text(load_default=None, allow_none=True)
    stripe_payment_intent_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=Pattern(r"^pi_[A-Za-z0-9_]{1,250}$", error="Not a Stripe PaymentIntent id."),
    )


class PaymentOut(Schema):
    id = fields.Integer()
    enrollment_id = fields.Integer()
    amount_minor = fields.Integer()
    currency = fields.String()
    paid_at = fields.AwareDateTime()
    payer_type = _enum(PayerType)
    payer_name = fields.String(allow_none=True)
    stripe_payment_intent_id = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class EnrollmentIn(Schema):
    student_id = Id(required=True)
    programme_id = Id(required=True)
    signed_on = fields.Date(required=True)
    guarantee_opt_in = StrictBoolean(required=True)
    scholarship_minor = MinorUnits(allow_zero=True, load_default=0)
    cirr_intent = _enum(
        CirrIntent,
        load_default=CirrIntent.IN_FIELD_JOB,
        metadata={"description": "What the student means to do after graduating; locked."},
    )
    expected_graduation_on = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={"description": "The cohort's scheduled graduation day (report period)."},
    )
    studies_started_on = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The first day of studies (the time limit to qualify runs from it)."
        },
    )
    search_country = CountryCode(
        load_default=None,
        allow_none=True,
        metadata={"description": "Where the student will search for work; default: theirs."},
    )
    work_authorisation = _enum(
        WorkAuthorisation,
        load_default=WorkAuthorisation.UNKNOWN,
        metadata={"description": "Whether the student may work in the search country."},
    )
    study_country = CountryCode(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Where the student studies from (outcomes report); default: theirs."
        },
    )
    study_work_authorisation = _enum(
        WorkAuthorisation,
        load_default=WorkAuthorisation.UNKNOWN,
        metadata={
            "description": 'Whether the student may work in the country of study: "no"'
            " takes the graduate out of the outcomes report's base (CIRR)."
        },
    )


class EnrollmentOut(Schema):
    id = fields.Integer()
    student_id = fields.Integer()
    programme_id = fields.Integer()
    policy_id = fields.Integer()
    policy_version = fields.Function(lambda enrollment: enrollment.policy.version)
    signed_on = fields.Date()
    guarantee_opt_in = fields.Boolean()
    scholarship_minor = fields.Integer()
    cirr_intent = _enum(CirrIntent)
    expected_graduation_on = fields.Date(allow_none=True)
    studies_started_on = fields.Date(allow_none=True)
    search_country = fields.String()
    work_authorisation = _enum(WorkAuthorisation)
    study_country = fields.String()
    study_work_authorisation = _enum(WorkAuthorisation)
    prerequisites = fields.List(
        fields.Nested(lambda: EnrollmentPrerequisiteOut()),
        attribute="prerequisite_checklist",
        metadata={"description": "The policy's prerequisites, each with its verification."},
    )
    currency = fields.Function(lambda enrollment: enrollment.programme.currency)
    payments = fields.List(fields.Nested(PaymentOut))
    graduation_id = fields.Function(
        lambda enrollment: enrollment.graduation.id if enrollment.graduation else None
    )
    created_at = fields.AwareDateTime()


class EnrollmentPrerequisiteOut(Schema):
    id = fields.Integer(attribute="prerequisite.id")
    label = fields.String(attribute="prerequisite.label")
    verification = fields.Nested(
        PrerequisiteVerificationOut,
        allow_none=True,
        metadata={"description": "The registrar's verification; null: not verified."},
    )


class EnrollmentQuery(Schema):
    student_id = Id(strict=False)
    programme_id = Id(strict=False)
    guarantee_opt_in = QueryBoolean()
    cursor = Cursor()


class GraduationIn(Schema):
    enrollment_id = Id(required=True)
    qualified_on = fields.Date(required=True)


class GraduationOut(Schema):
    id = fields.Integer()
    enrollment_id = fields.Integer()
    student_id = fields.Function(lambda graduation: graduation.enrollment.student_id)
    programme_id = fields.Function(lambda graduation: graduation.enrollment.programme_id)
    qualified_on = fields.Date()
    created_at = fields.AwareDateTime()


class GraduationQuery(Schema):
    programme_id = Id(strict=False)
    student_id = Id(strict=False)
    qualified_from = fields.Date(metadata={"description": "Qualified on or after this day."})
    qualified_to = fields.Date(metadata={"description": "Qualified on or before this day."})
    cursor = Cursor()


class JobOutcomeIn(Schema):
    graduation_id = Id(required=True)
    employer_id = Id(load_default=None, allow_none=True)
    title = Text(required=True)
    employment_type = _enum(EmploymentType, required=True)
    in_field = StrictBoolean(required=True)
    start_date = fields.Date(required=True)
    contract_months = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(1, 600)
    )
    annual_salary_minor = MinorUnits(load_default=None, allow_none=True)
    salary_currency = CurrencyCode(load_default=None, allow_none=True)
    country = CountryCode(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Where the graduate works (for a remote job, works from); null: the"
            " country of their search. Where the policy names countries, a job counts only there."
        },
    )
    remote_employer_country = CountryCode(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "For a remote job, the employer's country; null for a job on site."
            " Outside the policy's countries, the policy decides whether it counts."
        },
    )
    source = _enum(
        OutcomeSource,
        required=True,
        metadata={"description": "Who reported the job; a graduate may only send `graduate`."},
    )
    status = _enum(
        OutcomeStatus,
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Registrars only (default `reported`). Graduates report; a graduate"
            " who sends a status is refused with 422 on this field. Only the employer's"
            " answer or a registrar's dispute or correction changes it."
        },
    )

    @validates_schema
    def _salary_has_currency(self, data, **kwargs):
        if (data.get("annual_salary_minor") is None) != (data.get("salary_currency") is None):
            raise ValidationError("Give the salary and its currency together.", "salary_currency")


class EmployerAnswerOut(Schema):
    answer = fields.Function(
        lambda row: row.answer.value, metadata={"enum": ["confirmed", "denied"]}
    )
    answered_at = fields.AwareDateTime()
    verified = fields.Boolean(
        attribute="trusted",
        metadata={
            "description": "False when the answer came through the link of a contact the"
            " school has not verified: it is recorded and changed nothing."
        },
    )
    proposed_start_date = fields.Date(attribute="corrected_start_date", allow_none=True)
    proposed_employment_type = fields.Function(
        lambda row: row.corrected_employment_type and row.corrected_employment_type.value,
        allow_none=True,
    )


class JobOutcomeOut(Schema):
    id = fields.Integer()
    graduation_id = fields.Integer()
    employer_id = fields.Integer(allow_none=True)
    title = fields.String()
    employment_type = _enum(EmploymentType)
    in_field = fields.Boolean()
    start_date = fields.Date()
    contract_months = fields.Integer(allow_none=True)
    country = fields.String(allow_none=True)
    remote_employer_country = fields.String(allow_none=True)
    annual_salary_minor = fields.Integer(allow_none=True)
    salary_currency = fields.String(allow_none=True)
    source = _enum(OutcomeSource)
    status = _enum(OutcomeStatus)
    employer_answer = fields.Nested(
        EmployerAnswerOut,
        allow_none=True,
        metadata={"description": "The employer's latest answer, verified or not; null if none."},
    )
    revision_reason = fields.String(
        allow_none=True,
        metadata={"description": "Why a registrar last disputed or corrected the job."},
    )
    revised_by = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class JobDisputeIn(Schema):
    reason = Text(required=True, max_length=2000)


class JobCorrectionIn(Schema):
    reason = Text(required=True, max_length=2000)
    status = _enum(OutcomeStatus, load_default=None)
    start_date = fields.Date(load_default=None)
    employment_type = _enum(EmploymentType, load_default=None)
    in_field = StrictBoolean(load_default=None)
    contract_months = fields.Integer(
        strict=True, load_default=None, validate=validate.Range(1, 600)
    )


class JobOutcomeQuery(Schema):
    graduation_id = Id(strict=False)
    employer_id = Id(strict=False)
    status = _enum(OutcomeStatus)
    employment_type = _enum(EmploymentType)


class GuaranteeQuery(Schema):
    as_of = fields.Date(metadata={"description": "The day to evaluate on; today (UTC) by default."})


class RefundShareOut(Schema):
    payment_id = fields.Integer()
    amount_minor = fields.Integer()


class RefundableOut(Schema):
    amount_minor = fields.Integer()
    currency = fields.String()
    paid_minor = fields.Integer()
    split = fields.List(fields.Nested(RefundShareOut))


class OutcomeVerdictOut(Schema):
    job_outcome_id = fields.Integer()
    qualifies = fields.Boolean()
    shortfalls = fields.List(fields.String())


class ClaimSummaryOut(Schema):
    id = fields.Integer()
    state = fields.Function(lambda claim: claim.state.value)
    amount_minor = fields.Integer()
    currency = fields.String()
    flagged_on = fields.Date()


class PauseIn(Schema):
    starts_on = fields.Date(required=True, metadata={"description": "First paused day."})
    ends_on = fields.Date(required=True, metadata={"description": "Last paused day (paused too)."})
    reason = _enum(PauseReason, required=True)
    note = Text(max_length=2000, load_default=None, allow_none=True)


class PauseOut(Schema):
    id = fields.Integer()
    graduation_id = fields.Integer()
    starts_on = fields.Date()
    ends_on = fields.Date()
    days = fields.Function(
        lambda pause: (pause.ends_on - pause.starts_on).days + 1,
        metadata={"description": "Days paused, both ends included."},
    )
    reason = _enum(PauseReason)
    note = fields.String(allow_none=True)
    recorded_by = fields.String()
    created_at = fields.AwareDateTime()


class RecordedPauseOut(Schema):
    pause = fields.Nested(PauseOut)
    deadline_before = fields.Date(metadata={"description": "The window's deadline before it."})
    deadline_after = fields.Date(metadata={"description": "The window's deadline with it."})
    paused_days_counted = fields.Integer(
        metadata={"description": "Paused days that move the deadline, at most the limit."}
    )
    max_pause_days = fields.Integer(metadata={"description": "The policy's limit."})


class ExclusionIn(Schema):
    reason = _enum(ExclusionReason, required=True)
    occurred_on = fields.Date(required=True, metadata={"description": "The day it began."})
    evidence = Text(
        max_length=500,
        one_line=True,
        required=True,
        metadata={"description": "The document it rests on: a letter, a record, a certificate."},
    )


class ExclusionOut(Schema):
    id = fields.Integer()
    graduation_id = fields.Integer()
    reason = _enum(ExclusionReason)
    occurred_on = fields.Date()
    evidence = fields.String()
    recorded_by = fields.String()
    created_at = fields.AwareDateTime()


class GuaranteeOut(Schema):
    graduation_id = fields.Integer()
    state = _enum(GuaranteeState, attribute="status.state")
    as_of = fields.Date(attribute="status.as_of")
    qualified_on = fields.Date()
    deadline = fields.Date(attribute="status.deadline")
    claim_deadline = fields.Date(attribute="status.claim_deadline")
    days_left = fields.Integer(attribute="status.days_left", allow_none=True)
    not_covered_reasons = fields.List(
        fields.String(),
        attribute="status.not_covered_reasons",
        metadata={
            "description": "Why the graduate is not covered by the terms they enrolled under"
            " (a prerequisite, the time limit, the search country, work authorisation)."
        },
    )
    policy_id = fields.Integer()
    policy_version = fields.Integer()
    qualifying_outcome_id = fields.Integer(allow_none=True)
    outcomes = fields.List(fields.Nested(OutcomeVerdictOut))
    refundable = fields.Nested(RefundableOut)
    claim = fields.Nested(
        ClaimSummaryOut,
        allow_none=True,
        metadata={"description": "The refund claim, once the sweep flagged the graduate."},
    )
    deadline_without_pauses = fields.Date(allow_none=True)
    paused_days_requested = fields.Integer(
        metadata={"description": "Every paused day recorded, before the policy's limit."}
    )
    paused_days_counted = fields.Integer(
        metadata={"description": "Paused days that extend the window (at most the limit)."}
    )
    max_pause_days = fields.Integer(metadata={"description": "The policy's limit; 0: none."})
    pauses = fields.List(fields.Nested(PauseOut))
    exclusion = fields.Nested(
        ExclusionOut,
        allow_none=True,
        metadata={"description": "The excluded outcome that took the graduate out, if any."},
    )
