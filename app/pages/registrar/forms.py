"""The registrar's forms: programmes and policy versions, students, enrollments and payments,
graduations, questions and job evidence, and the CSV import."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import LazyString, gettext, lazy_gettext
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
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
    WorkAuthorisation,
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


def _capitalized(value) -> str:
    """A coded value's label as the first word of a line: ``Full time permanent``."""
    return words(value).capitalize()


#: The work authorisation question's answers, in the reader's language.
_WORK_AUTHORISATIONS = [
    (value.value, LazyString(_capitalized, value)) for value in WorkAuthorisation
]


#: What the country of study and the work authorisation there are for (the outcomes report).
_STUDY_COUNTRY_HELP = lazy_gettext("Where the student studies from (ISO code).")
_STUDY_AUTHORISATION_HELP = lazy_gettext(
    "For the outcomes report (CIRR): \u201cno\u201d takes the graduate out of its base."
)

_PAYMENT_INTENT = r"^pi_[A-Za-z0-9_]{1,250}\Z"

# -- Forms -------------------------------------------------------------------------------------


class ProgrammeForm(PageForm):
    name = StringField(
        lazy_gettext("Name"), [DataRequired(), Length(max=200), plain_text], filters=[strip]
    )
    currency = StringField(
        lazy_gettext("Currency"),
        [DataRequired(), currency_code],
        filters=[strip],
        description=lazy_gettext("ISO 4217 code: EUR, USD, GBP ..."),
        render_kw={"autocomplete": "off", "maxlength": 3},
    )
    tuition = MoneyField(
        lazy_gettext("Tuition list price"),
        [DataRequired()],
        description=lazy_gettext(
            "In the currency's main unit, e.g. 6500.00 for €6,500.00 "
            "(0 decimals for JPY). Refunds use what was actually paid."
        ),
    )

    @property
    def amount_currency(self) -> str | None:
        return self.currency.data if self.currency.data and not self.currency.errors else None


_WINDOW_STARTS = select_choices(
    [
        (WindowStart.QUALIFICATION_DATE.value, lazy_gettext("The day the graduate qualifies")),
        (WindowStart.DAY_AFTER_QUALIFICATION.value, lazy_gettext("The day after qualifying")),
        (
            WindowStart.FIRST_MONDAY_AFTER_QUALIFICATION.value,
            lazy_gettext("The first Monday after qualifying"),
        ),
    ]
)


#: The CIRR intent question's answers, in the registrar's words.
CIRR_INTENTS = {
    CirrIntent.IN_FIELD_JOB: lazy_gettext("find a job in the programme's field"),
    CirrIntent.OUT_OF_FIELD_JOB: lazy_gettext("find a job outside the field"),
    CirrIntent.FURTHER_STUDY: lazy_gettext("go on to further study"),
    CirrIntent.NOT_SEEKING_WORK: lazy_gettext("not look for work"),
}


class PolicyForm(PageForm):
    effective_from = DateField(
        lazy_gettext("Effective from"),
        [InputRequired(message=lazy_gettext("Enter the first day these terms apply."))],
        description=lazy_gettext(
            "Enrollments signed on or after this day are bound to this version."
        ),
    )
    window_months = IntegerField(
        lazy_gettext("Window (months)"), [InputRequired(), NumberRange(1, 60)], default=6
    )
    window_starts = SelectField(
        lazy_gettext("Window starts on"),
        choices=_WINDOW_STARTS,
        default=WindowStart.QUALIFICATION_DATE.value,
    )
    qualifying_types = SelectMultipleField(
        lazy_gettext("Qualifying types of employment"),
        choices=select_choices((kind.value, LazyString(words, kind)) for kind in EmploymentType),
        default=sorted(kind.value for kind in DEFAULT_QUALIFYING_TYPES),
        option_widget=CheckboxInput(),
        validate_choice=True,
    )
    min_contract_months = IntegerField(
        lazy_gettext("Minimum contract (months)"),
        [InputRequired(), NumberRange(0, 120)],
        default=6,
        description=lazy_gettext("For every type but permanent jobs and founding a company."),
    )
    requires_in_field = BooleanField(
        lazy_gettext("Only jobs in the programme's field count"), default=True
    )
    pay_floor = MoneyField(
        lazy_gettext("Pay floor (yearly salary)"),
        [Optional()],
        description=lazy_gettext("Optional; in the programme's currency, main unit."),
    )
    claim_deadline_days = IntegerField(
        lazy_gettext("Claim deadline (days after the window closes)"),
        [InputRequired(), NumberRange(0, 3650)],
        default=60,
    )
    refund_cap = MoneyField(
        lazy_gettext("Refund cap"),
        [Optional()],
        description=lazy_gettext("Optional; in the programme's currency."),
    )
    deduct_scholarships = BooleanField(
        lazy_gettext("Take scholarships off the refund"), default=True
    )
    weekly_applications = IntegerField(
        lazy_gettext("Job applications a week"),
        [Optional(), NumberRange(0, 100)],
        default=0,
        description=lazy_gettext(
            "The graduate logs them (employer, position, date); empty or 0 for none."
        ),
    )
    coaching_every_weeks = IntegerField(
        lazy_gettext("A coaching check-in every (weeks)"),
        [Optional(), NumberRange(1, 52)],
        description=lazy_gettext("Optional; leave empty for no coaching requirement."),
    )
    answer_within_days = IntegerField(
        lazy_gettext("Answer the school within (days)"),
        [Optional(), NumberRange(1, 90)],
        description=lazy_gettext("Optional; leave empty for no deadline."),
    )
    report_offers_within_days = IntegerField(
        lazy_gettext("Report every offer within (days)"),
        [Optional(), NumberRange(1, 90)],
        description=lazy_gettext("Optional; leave empty if offers need not be reported."),
    )
    declined_offer_voids = BooleanField(
        lazy_gettext("Declining a qualifying offer voids the claim")
    )
    max_pause_days = IntegerField(
        lazy_gettext("Pauses may extend the window by up to (days)"),
        [Optional(), NumberRange(0, 1100)],
        default=0,
        description=lazy_gettext(
            "Illness, parental leave ...; empty or 0 when pauses are not allowed."
        ),
    )
    notes = TextAreaField(
        lazy_gettext("Notes"), [Optional(), Length(max=5000), plain_text], filters=[strip]
    )
    prerequisites = TextAreaField(
        lazy_gettext("Prerequisites verified at enrollment"),
        [Optional(), Length(max=4000), plain_text],
        filters=[strip],
        description=lazy_gettext(
            "One a line, e.g. \u201cBachelor's degree, mathematics\u201d; a graduate"
            " with one not verified is not covered. Empty for none."
        ),
    )
    qualify_within_months = IntegerField(
        lazy_gettext("Time limit to qualify (months from the start of studies)"),
        [Optional(), NumberRange(1, 120)],
        description=lazy_gettext("Optional; a graduate who qualifies later is not covered."),
    )
    search_areas = StringField(
        lazy_gettext("Countries or regions of the search"),
        [Optional(), Length(max=1000), plain_text],
        filters=[strip],
        description=lazy_gettext(
            "ISO codes or EU, separated by spaces or commas (US GB CA FR); a job"
            " counts only there. Empty for anywhere."
        ),
    )
    requires_work_authorisation = BooleanField(
        lazy_gettext("A graduate not authorised to work in the search country is not covered")
    )
    remote_abroad_counts = BooleanField(
        lazy_gettext("A remote job for an employer outside these countries counts"),
        default=True,
        description=lazy_gettext("When the graduate works from one of them."),
    )
    correction = BooleanField(
        lazy_gettext("This version corrects an earlier one"),
        description=lazy_gettext(
            "Needed for a version effective before the newest one; no version may"
            " govern a day on which an enrollment was signed already."
        ),
    )

    def validate_qualifying_types(self, field) -> None:
        if not field.data:
            raise ValidationError(gettext("Tick at least one type of employment."))

    @property
    def prerequisite_labels(self) -> list[str]:
        """The prerequisites typed, one a line, blank lines left out."""
        return [
            line.strip() for line in (self.prerequisites.data or "").splitlines() if line.strip()
        ]

    @property
    def search_area_codes(self) -> list[str]:
        """The countries and regions typed, upper-cased."""
        return (self.search_areas.data or "").replace(",", " ").upper().split()


class EligibilityForm(PageForm):
    studies_started_on = DateField(lazy_gettext("Studies started on"), [Optional()])
    search_country = StringField(
        lazy_gettext("Country of the job search"),
        [DataRequired(), country_code],
        filters=[strip],
        render_kw={"autocomplete": "off", "maxlength": 2},
    )
    work_authorisation = SelectField(
        lazy_gettext("Authorised to work in the search country"),
        choices=select_choices(_WORK_AUTHORISATIONS),
    )
    study_country = StringField(
        lazy_gettext("Country of study"),
        [DataRequired(), country_code],
        filters=[strip],
        description=_STUDY_COUNTRY_HELP,
        render_kw={"autocomplete": "off", "maxlength": 2},
    )
    study_work_authorisation = SelectField(
        lazy_gettext("Authorised to work in the country of study"),
        choices=select_choices(_WORK_AUTHORISATIONS),
        description=_STUDY_AUTHORISATION_HELP,
    )


class PrerequisiteVerificationForm(PageForm):
    note = TextAreaField(
        lazy_gettext("What you saw"),
        [Optional(), Length(max=2000), plain_text],
        filters=[strip],
        description=lazy_gettext("The evidence (diploma, issuer, year); staff only."),
    )


class StudentForm(PageForm):
    name = StringField(
        lazy_gettext("Name"), [DataRequired(), Length(max=200), plain_text], filters=[strip]
    )
    email = StringField(
        lazy_gettext("Email"), [DataRequired(), Length(max=254), email_address], filters=[strip]
    )
    country = StringField(
        lazy_gettext("Country of the job search"),
        [DataRequired(), country_code],
        filters=[strip],
        description=lazy_gettext("Two-letter code: FR, GB, US ..."),
        render_kw={"autocomplete": "off", "maxlength": 2},
    )


class EnrollmentForm(PageForm):
    student_email = StringField(
        lazy_gettext("Student's email"),
        [DataRequired(), Length(max=254), email_address],
        filters=[strip],
        description=lazy_gettext("Record the student first if they are new."),
    )
    programme_id = SelectField(
        lazy_gettext("Programme"),
        [InputRequired(message=lazy_gettext("Choose a programme."))],
        coerce=optional_id,
        choices=[],
    )
    signed_on = DateField(
        lazy_gettext("Signed on"),
        [InputRequired(message=lazy_gettext("Enter the day the agreement was signed."))],
        description=lazy_gettext("Binds the enrollment to the policy version in force that day."),
    )
    guarantee_opt_in = BooleanField(
        lazy_gettext("The student opted in to the job guarantee"), default=True
    )
    scholarship = MoneyField(
        lazy_gettext("Scholarships and grants"),
        [Optional()],
        allow_zero=True,
        description=lazy_gettext("Optional; in the programme's currency, main unit."),
    )
    cirr_intent = SelectField(
        lazy_gettext("After graduating, the student means to"),
        choices=select_choices((intent.value, CIRR_INTENTS[intent]) for intent in CirrIntent),
        default=CirrIntent.IN_FIELD_JOB.value,
        description=lazy_gettext(
            "Asked at enrollment for the outcomes report; it cannot be changed later."
        ),
    )
    expected_graduation_on = DateField(
        lazy_gettext("Cohort graduates on"),
        [Optional()],
        description=lazy_gettext(
            "Optional; the scheduled graduation day decides the report's half-year."
        ),
    )
    studies_started_on = DateField(
        lazy_gettext("Studies start on"),
        [Optional()],
        description=lazy_gettext("Optional; the policy's time limit to qualify runs from it."),
    )
    search_country = StringField(
        lazy_gettext("Country of the job search"),
        [Optional(), country_code],
        filters=[strip],
        description=lazy_gettext("ISO code; empty for the student's own country."),
        render_kw={"autocomplete": "off", "maxlength": 2},
    )
    work_authorisation = SelectField(
        lazy_gettext("Authorised to work in the search country"),
        choices=select_choices(_WORK_AUTHORISATIONS),
        default=WorkAuthorisation.UNKNOWN.value,
    )
    study_country = StringField(
        lazy_gettext("Country of study"),
        [Optional(), country_code],
        filters=[strip],
        description=lazy_gettext(
            "Where the student studies from; ISO code, empty for the student's own country."
        ),
        render_kw={"autocomplete": "off", "maxlength": 2},
    )
    study_work_authorisation = SelectField(
        lazy_gettext("Authorised to work in the country of study"),
        choices=select_choices(_WORK_AUTHORISATIONS),
        default=WorkAuthorisation.UNKNOWN.value,
        description=_STUDY_AUTHORISATION_HELP,
    )

    #: Each programme's currency by id, set by the view.
    currencies: dict[int, str] = {}

    @property
    def amount_currency(self) -> str | None:
        return self.currencies.get(self.programme_id.data)


class PaymentForm(PageForm):
    amount = MoneyField(
        lazy_gettext("Amount"),
        [DataRequired()],
        description=lazy_gettext("In the main unit, e.g. 3000.00."),
    )
    currency = StringField(
        lazy_gettext("Currency"),
        [DataRequired(), currency_code],
        filters=[strip],
        render_kw={"autocomplete": "off", "maxlength": 3},
    )
    paid_on = DateField(
        lazy_gettext("Paid on"),
        [InputRequired(message=lazy_gettext("Enter the day the money arrived."))],
    )
    paid_time = TimeField(
        lazy_gettext("Time (UTC)"),
        [InputRequired(message=lazy_gettext("Enter the time, in UTC."))],
        format=["%H:%M", "%H:%M:%S"],
    )
    payer_type = RadioField(
        lazy_gettext("Paid by"),
        choices=select_choices(
            [
                (PayerType.STUDENT.value, lazy_gettext("The student")),
                (PayerType.SPONSOR.value, lazy_gettext("A sponsor")),
            ]
        ),
        default=PayerType.STUDENT.value,
    )
    payer_name = StringField(
        lazy_gettext("Sponsor's name"),
        [Length(max=200), plain_text],
        filters=[strip],
        description=lazy_gettext("Required when a sponsor (an employer, a lender) paid."),
    )
    stripe_payment_intent_id = StringField(
        lazy_gettext("Stripe PaymentIntent id"),
        [
            Optional(),
            Regexp(
                _PAYMENT_INTENT, message=lazy_gettext("A PaymentIntent id looks like pi_3Nk...")
            ),
        ],
        filters=[strip],
        description=lazy_gettext("Optional; leave empty for payments made outside Stripe."),
        render_kw={"autocomplete": "off"},
    )

    @property
    def amount_currency(self) -> str | None:
        return self.currency.data if self.currency.data and not self.currency.errors else None

    def validate_payer_name(self, field) -> None:
        if self.payer_type.data == PayerType.SPONSOR.value and not field.data:
            raise ValidationError(gettext("Name the sponsor who paid."))


class GraduationForm(PageForm):
    enrollment_id = IntegerField(
        lazy_gettext("Enrollment number"),
        [InputRequired(message=lazy_gettext("Enter the enrollment's number.")), NumberRange(min=1)],
        description=lazy_gettext("The number in the first column of the enrollments list."),
    )
    qualified_on = DateField(
        lazy_gettext("Qualified on"),
        [InputRequired(message=lazy_gettext("Enter the day the student qualified."))],
    )


class InvitationsForm(PageForm):
    """The students of an import to invite, as the result page lists them."""

    student_ids = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,18}(,\d{1,18}){0,9999}$")])

    def ids(self) -> list[int]:
        return [int(part) for part in self.student_ids.data.split(",")]


#: Each kind of file the import reads, as the page names it.
IMPORT_KINDS = {
    "students": lazy_gettext("Students"),
    "enrollments": lazy_gettext("Enrollments"),
    "payments": lazy_gettext("Payments"),
    "graduations": lazy_gettext("Graduations"),
}


class ImportForm(PageForm):
    kind = SelectField(
        lazy_gettext("What the file holds"),
        choices=select_choices((kind, IMPORT_KINDS[kind]) for kind in imports.KINDS),
    )
    file = FileField(
        lazy_gettext("CSV file"), [FileRequired(message=lazy_gettext("Choose a CSV file."))]
    )


def programme_choices(form: EnrollmentForm, programmes: Sequence[Programme]) -> None:
    form.programme_id.choices = select_choices(
        [
            ("", gettext("Choose a programme")),
            *((p.id, f"{p.name} ({p.currency})") for p in programmes),
        ]
    )
    form.currencies = {programme.id: programme.currency for programme in programmes}


class QuestionForm(PageForm):
    question = TextAreaField(
        lazy_gettext("Question"),
        [InputRequired(message=lazy_gettext("Write the question.")), Length(max=5000), plain_text],
        filters=[strip],
        description=lazy_gettext(
            "The graduate sees it on their page; the policy may set a time to answer."
        ),
    )


_JOB_STATUSES = [
    SelectChoice("", lazy_gettext("As it is")),
    SelectChoice(OutcomeStatus.REPORTED.value, lazy_gettext("Reported (counts until disputed)")),
    SelectChoice(OutcomeStatus.CONFIRMED.value, lazy_gettext("Confirmed (the school checked it)")),
    SelectChoice(OutcomeStatus.DISPUTED.value, lazy_gettext("Disputed (does not count)")),
]


class JobDisputeForm(PageForm):
    reason = TextAreaField(
        lazy_gettext("Why the job did not happen as reported"),
        [InputRequired(message=lazy_gettext("Say why.")), Length(max=2000), plain_text],
        filters=[strip],
    )


class JobCorrectionForm(PageForm):
    reason = TextAreaField(
        lazy_gettext("Why you correct it"),
        [InputRequired(message=lazy_gettext("Say why.")), Length(max=2000), plain_text],
        filters=[strip],
        description=lazy_gettext("It stays on the job and in the audit log."),
    )
    status = SelectField(lazy_gettext("Status"), choices=_JOB_STATUSES, validators=[Optional()])
    start_date = DateField(
        lazy_gettext("First day of work (only if different)"), validators=[Optional()]
    )
    employment_type = SelectField(
        lazy_gettext("Type of contract (only if different)"),
        choices=[SelectChoice("", lazy_gettext("As it is"))]
        + [SelectChoice(kind.value, LazyString(_capitalized, kind)) for kind in EmploymentType],
        validators=[Optional()],
    )
    in_field = SelectField(
        lazy_gettext("In the programme's field"),
        choices=[
            SelectChoice("", lazy_gettext("As it is")),
            SelectChoice("yes", lazy_gettext("Yes")),
            SelectChoice("no", lazy_gettext("No")),
        ],
        validators=[Optional()],
    )
    contract_months = IntegerField(
        lazy_gettext("Contract length in months (only if different)"),
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
