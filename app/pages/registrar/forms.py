"""The registrar's forms: programmes and policy versions, students, enrollments and payments,
graduations, questions and job evidence, and the CSV import."""

from __future__ import annotations

from collections.abc import Sequence

from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput

from app import imports
from app.guarantee.terms import (
    DEFAULT_QUALIFYING_TYPES,
    CirrIntent,
    EmploymentType,
    OutcomeStatus,
    PayerType,
    WindowStart,
)
from app.models import Programme
from app.pages.fields import (
    MoneyField,
    PageForm,
    country_code,
    currency_code,
    email_address,
    optional_id,
    plain_text,
    select_choices,
    strip,
)
from app.pages.formatting import words
from app.services import evidence

_PAYMENT_INTENT = r"^pi_[A-Za-z0-9_]{1,250}\Z"

# -- Forms -------------------------------------------------------------------------------------


class ProgrammeForm(PageForm):
    name = StringField("Name", [DataRequired(), Length(max=200), plain_text], filters=[strip])
    currency = StringField(
        "Currency",
        [DataRequired(), currency_code],
        filters=[strip],
        description="ISO 4217 code: EUR, USD, GBP ...",
        render_kw={"autocomplete": "off", "maxlength": 3},
    )
    tuition = MoneyField(
        "Tuition list price",
        [DataRequired()],
        description="In the currency's main unit, e.g. 6500.00 for €6,500.00 "
        "(0 decimals for JPY). Refunds use what was actually paid.",
    )

    @property
    def amount_currency(self) -> str | None:
        return self.currency.data if self.currency.data and not self.currency.errors else None


_WINDOW_STARTS = select_choices(
    [
        (WindowStart.QUALIFICATION_DATE.value, "The day the graduate qualifies"),
        (WindowStart.DAY_AFTER_QUALIFICATION.value, "The day after qualifying"),
        (WindowStart.FIRST_MONDAY_AFTER_QUALIFICATION.value, "The first Monday after qualifying"),
    ]
)


#: The CIRR intent question's answers, in the registrar's words.
CIRR_INTENTS = {
    CirrIntent.IN_FIELD_JOB: "find a job in the programme's field",
    CirrIntent.OUT_OF_FIELD_JOB: "find a job outside the field",
    CirrIntent.FURTHER_STUDY: "go on to further study",
    CirrIntent.NOT_SEEKING_WORK: "not look for work",
}


class PolicyForm(PageForm):
    effective_from = DateField(
        "Effective from",
        [InputRequired(message="Enter the first day these terms apply.")],
        description="Enrollments signed on or after this day are bound to this version.",
    )
    window_months = IntegerField(
        "Window (months)", [InputRequired(), NumberRange(1, 60)], default=6
    )
    window_starts = SelectField(
        "Window starts on", choices=_WINDOW_STARTS, default=WindowStart.QUALIFICATION_DATE.value
    )
    qualifying_types = SelectMultipleField(
        "Qualifying types of employment",
        choices=select_choices((kind.value, words(kind)) for kind in EmploymentType),
        default=sorted(kind.value for kind in DEFAULT_QUALIFYING_TYPES),
        option_widget=CheckboxInput(),
        validate_choice=True,
    )
    min_contract_months = IntegerField(
        "Minimum contract (months)",
        [InputRequired(), NumberRange(0, 120)],
        default=6,
        description="For every type but permanent jobs and founding a company.",
    )
    requires_in_field = BooleanField("Only jobs in the programme's field count", default=True)
    pay_floor = MoneyField(
        "Pay floor (yearly salary)",
        [Optional()],
        description="Optional; in the programme's currency, main unit.",
    )
    claim_deadline_days = IntegerField(
        "Claim deadline (days after the window closes)",
        [InputRequired(), NumberRange(0, 3650)],
        default=60,
    )
    refund_cap = MoneyField(
        "Refund cap", [Optional()], description="Optional; in the programme's currency."
    )
    deduct_scholarships = BooleanField("Take scholarships off the refund", default=True)
    weekly_applications = IntegerField(
        "Job applications a week",
        [Optional(), NumberRange(0, 100)],
        default=0,
        description="The graduate logs them (employer, position, date); empty or 0 for none.",
    )
    coaching_every_weeks = IntegerField(
        "A coaching check-in every (weeks)",
        [Optional(), NumberRange(1, 52)],
        description="Optional; leave empty for no coaching requirement.",
    )
    answer_within_days = IntegerField(
        "Answer the school within (days)",
        [Optional(), NumberRange(1, 90)],
        description="Optional; leave empty for no deadline.",
    )
    report_offers_within_days = IntegerField(
        "Report every offer within (days)",
        [Optional(), NumberRange(1, 90)],
        description="Optional; leave empty if offers need not be reported.",
    )
    declined_offer_voids = BooleanField("Declining a qualifying offer voids the claim")
    max_pause_days = IntegerField(
        "Pauses may extend the window by up to (days)",
        [Optional(), NumberRange(0, 1100)],
        default=0,
        description="Illness, parental leave ...; empty or 0 when pauses are not allowed.",
    )
    notes = TextAreaField("Notes", [Optional(), Length(max=5000), plain_text], filters=[strip])
    correction = BooleanField(
        "This version corrects an earlier one",
        description="Needed for a version effective before the newest one; no version may"
        " govern a day on which an enrollment was signed already.",
    )

    def validate_qualifying_types(self, field) -> None:
        if not field.data:
            raise ValidationError("Tick at least one type of employment.")


class StudentForm(PageForm):
    name = StringField("Name", [DataRequired(), Length(max=200), plain_text], filters=[strip])
    email = StringField("Email", [DataRequired(), Length(max=254), email_address], filters=[strip])
    country = StringField(
        "Country of the job search",
        [DataRequired(), country_code],
        filters=[strip],
        description="Two-letter code: FR, GB, US ...",
        render_kw={"autocomplete": "off", "maxlength": 2},
    )


class EnrollmentForm(PageForm):
    student_email = StringField(
        "Student's email",
        [DataRequired(), Length(max=254), email_address],
        filters=[strip],
        description="Record the student first if they are new.",
    )
    programme_id = SelectField(
        "Programme",
        [InputRequired(message="Choose a programme.")],
        coerce=optional_id,
        choices=[],
    )
    signed_on = DateField(
        "Signed on",
        [InputRequired(message="Enter the day the agreement was signed.")],
        description="Binds the enrollment to the policy version in force that day.",
    )
    guarantee_opt_in = BooleanField("The student opted in to the job guarantee", default=True)
    scholarship = MoneyField(
        "Scholarships and grants",
        [Optional()],
        allow_zero=True,
        description="Optional; in the programme's currency, main unit.",
    )
    cirr_intent = SelectField(
        "After graduating, the student means to",
        choices=select_choices((intent.value, CIRR_INTENTS[intent]) for intent in CirrIntent),
        default=CirrIntent.IN_FIELD_JOB.value,
        description="Asked at enrollment for the outcomes report; it cannot be changed later.",
    )
    expected_graduation_on = DateField(
        "Cohort graduates on",
        [Optional()],
        description="Optional; the scheduled graduation day decides the report's half-year.",
    )

    #: Each programme's currency by id, set by the view.
    currencies: dict[int, str] = {}

    @property
    def amount_currency(self) -> str | None:
        return self.currencies.get(self.programme_id.data)


class PaymentForm(PageForm):
    amount = MoneyField("Amount", [DataRequired()], description="In the main unit, e.g. 3000.00.")
    currency = StringField(
        "Currency",
        [DataRequired(), currency_code],
        filters=[strip],
        render_kw={"autocomplete": "off", "maxlength": 3},
    )
    paid_on = DateField("Paid on", [InputRequired(message="Enter the day the money arrived.")])
    paid_time = TimeField(
        "Time (UTC)",
        [InputRequired(message="Enter the time, in UTC.")],
        format=["%H:%M", "%H:%M:%S"],
    )
    payer_type = RadioField(
        "Paid by",
        choices=select_choices(
            [(PayerType.STUDENT.value, "The student"), (PayerType.SPONSOR.value, "A sponsor")]
        ),
        default=PayerType.STUDENT.value,
    )
    payer_name = StringField(
        "Sponsor's name",
        [Length(max=200), plain_text],
        filters=[strip],
        description="Required when a sponsor (an employer, a lender) paid.",
    )
    stripe_payment_intent_id = StringField(
        "Stripe PaymentIntent id",
        [Optional(), Regexp(_PAYMENT_INTENT, message="A PaymentIntent id looks like pi_3Nk...")],
        filters=[strip],
        description="Optional; leave empty for payments made outside Stripe.",
        render_kw={"autocomplete": "off"},
    )

    @property
    def amount_currency(self) -> str | None:
        return self.currency.data if self.currency.data and not self.currency.errors else None

    def validate_payer_name(self, field) -> None:
        if self.payer_type.data == PayerType.SPONSOR.value and not field.data:
            raise ValidationError("Name the sponsor who paid.")


class GraduationForm(PageForm):
    enrollment_id = IntegerField(
        "Enrollment number",
        [InputRequired(message="Enter the enrollment's number."), NumberRange(min=1)],
        description="The number in the first column of the enrollments list.",
    )
    qualified_on = DateField(
        "Qualified on", [InputRequired(message="Enter the day the student qualified.")]
    )


class ImportForm(PageForm):
    kind = SelectField(
        "What the file holds",
        choices=select_choices((kind, kind.capitalize()) for kind in imports.KINDS),
    )
    file = FileField("CSV file", [FileRequired(message="Choose a CSV file.")])


def programme_choices(form: EnrollmentForm, programmes: Sequence[Programme]) -> None:
    form.programme_id.choices = select_choices(
        [("", "Choose a programme"), *((p.id, f"{p.name} ({p.currency})") for p in programmes)]
    )
    form.currencies = {programme.id: programme.currency for programme in programmes}


class QuestionForm(PageForm):
    question = TextAreaField(
        "Question",
        [InputRequired(message="Write the question."), Length(max=5000), plain_text],
        filters=[strip],
        description="The graduate sees it on their page; the policy may set a time to answer.",
    )


_JOB_STATUSES = [
    SelectChoice("", "As it is"),
    SelectChoice(OutcomeStatus.REPORTED.value, "Reported (counts until disputed)"),
    SelectChoice(OutcomeStatus.CONFIRMED.value, "Confirmed (the school checked it)"),
    SelectChoice(OutcomeStatus.DISPUTED.value, "Disputed (does not count)"),
]


class JobDisputeForm(PageForm):
    reason = TextAreaField(
        "Why the job did not happen as reported",
        [InputRequired(message="Say why."), Length(max=2000), plain_text],
        filters=[strip],
    )


class JobCorrectionForm(PageForm):
    reason = TextAreaField(
        "Why you correct it",
        [InputRequired(message="Say why."), Length(max=2000), plain_text],
        filters=[strip],
        description="It stays on the job and in the audit log.",
    )
    status = SelectField("Status", choices=_JOB_STATUSES, validators=[Optional()])
    start_date = DateField("First day of work (only if different)", validators=[Optional()])
    employment_type = SelectField(
        "Type of contract (only if different)",
        choices=[SelectChoice("", "As it is")]
        + [SelectChoice(kind.value, words(kind).capitalize()) for kind in EmploymentType],
        validators=[Optional()],
    )
    in_field = SelectField(
        "In the programme's field",
        choices=[
            SelectChoice("", "As it is"),
            SelectChoice("yes", "Yes"),
            SelectChoice("no", "No"),
        ],
        validators=[Optional()],
    )
    contract_months = IntegerField(
        "Contract length in months (only if different)",
        [Optional(), NumberRange(1, 600)],
    )

    def correction(self) -> evidence.JobCorrection:
        return evidence.JobCorrection(
            status=OutcomeStatus(self.status.data) if self.status.data else None,
            start_date=self.start_date.data,
            employment_type=(
                EmploymentType(self.employment_type.data) if self.employment_type.data else None
            ),
            in_field={"yes": True, "no": False}.get(self.in_field.data or ""),
            contract_months=self.contract_months.data,
        )
