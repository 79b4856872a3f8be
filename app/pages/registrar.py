"""The registrar's pages: programmes and their policy versions, students, enrollments, payments,
graduations, and the CSV import.

Every page needs READ_RECORDS (finance may look) and every change WRITE_RECORDS. A view parses
its form, calls ``app.services.records`` (or ``app.imports``) and redirects. A form the rules
refuse is shown again with each reason next to its field (400) and nothing written; a clash
with a record that exists (a duplicate email, a second graduation) is shown with 409.

Amounts are typed in the currency's main unit (``6500.00`` euros) and stored in minor units,
with as many decimals as babel says the currency has (2 for EUR, 0 for JPY).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from decimal import Decimal

import pycountry
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from marshmallow import ValidationError as MarshmallowError
from marshmallow import validate as marshmallow_validate
from werkzeug.exceptions import RequestEntityTooLarge
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
from app.api.fields import MAX_MINOR_UNITS
from app.audit import record
from app.auth import current_principal
from app.auth.access import Permission, authorize
from app.database import db_session
from app.guarantee.terms import (
    DEFAULT_QUALIFYING_TYPES,
    CirrIntent,
    EmploymentType,
    ExclusionReason,
    OutcomeStatus,
    PauseReason,
    PayerType,
    WindowStart,
)
from app.models import Enrollment, JobOutcome, Programme
from app.models.base import utc_now
from app.pages import pauses as pause_pages
from app.pages.fields import strip
from app.pages.formatting import day, minor_units, words
from app.services import evidence, exclusions, listings, pauses, records
from app.services import search as search_log
from app.services.errors import Conflict, Invalid, NotFound, ServiceError

blueprint = Blueprint("registrar", __name__, url_prefix="/registrar")

#: Largest CSV file the import accepts.
IMPORT_MAX_BYTES = 5 * 1024 * 1024


@blueprint.url_value_preprocessor
def _limit_upload_size(endpoint: str | None, _values) -> None:
    # URL value preprocessors run before every before_request hook, CSRFProtect's included,
    # which reads the body: the limit must be in place before anything parses the upload.
    if endpoint == "registrar.import_csv":
        request.max_content_length = current_app.config.get("IMPORT_MAX_BYTES", IMPORT_MAX_BYTES)


@blueprint.before_request
def _guard() -> None:
    """Every registrar page needs READ_RECORDS; every change needs WRITE_RECORDS."""
    looking = request.method in ("GET", "HEAD", "OPTIONS")
    permission = Permission.READ_RECORDS if looking else Permission.WRITE_RECORDS
    authorize(current_principal(), permission, target=request.path)


@blueprint.errorhandler(NotFound)
def _not_found(_error: NotFound):
    db_session().rollback()
    return render_template("errors/404.html"), 404


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    if request.endpoint != "registrar.import_csv":
        return error
    limit = request.max_content_length or IMPORT_MAX_BYTES
    form = ImportForm(formdata=None)
    form.file.errors = [
        f"The file is larger than {_size(limit)}. Split it into smaller files and import each one."
    ]
    return _import_page(form, status=413)


# -- Fields and validators ---------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_AMOUNT = re.compile(r"[0-9]{1,15}(\.[0-9]{1,4})?")
_PAYMENT_INTENT = r"^pi_[A-Za-z0-9_]{1,250}\Z"


def plain_text(_form, field) -> None:
    """Refuse control characters, which no one types and some databases cannot store."""
    if field.data and _CONTROL.search(field.data):
        raise ValidationError("Remove the control characters from this text.")


def email_address(_form, field) -> None:
    """An email address, kept in lower case."""
    try:
        marshmallow_validate.Email()(field.data or "")
    except MarshmallowError as error:
        raise ValidationError("Enter an email address such as name@example.org.") from error
    field.data = field.data.lower()


def currency_code(_form, field) -> None:
    """An ISO 4217 code (lower case accepted)."""
    code = field.data or ""
    if not re.fullmatch(r"[A-Za-z]{3}", code) or not pycountry.currencies.get(alpha_3=code.upper()):
        raise ValidationError("Enter an ISO 4217 currency code such as EUR, USD or GBP.")
    field.data = code.upper()


def country_code(_form, field) -> None:
    """An ISO 3166-1 alpha-2 code (lower case accepted)."""
    code = field.data or ""
    if not re.fullmatch(r"[A-Za-z]{2}", code) or not pycountry.countries.get(alpha_2=code.upper()):
        raise ValidationError("Enter a two-letter country code such as FR, GB or US.")
    field.data = code.upper()


class MoneyField(StringField):
    """An amount typed in the currency's main unit; ``minor`` holds it in minor units.

    The currency is the form's ``amount_currency``: known only once the rest of the form is
    read (the programme chosen, the currency typed), so the conversion runs after validation.
    """

    def __init__(self, label=None, validators=None, *, allow_zero: bool = False, **kwargs):
        render_kw = {"inputmode": "decimal", "autocomplete": "off", **kwargs.pop("render_kw", {})}
        super().__init__(label, validators, filters=[strip], render_kw=render_kw, **kwargs)
        self.allow_zero = allow_zero
        self.minor: int | None = None

    def post_validate(self, form, validation_stopped: bool) -> None:
        self.minor = None
        if validation_stopped or self.errors or not self.data:
            return
        if not _AMOUNT.fullmatch(self.data):
            raise ValidationError(
                "Write the amount in digits with a decimal point, such as 6500.00 "
                "(no spaces, commas or currency signs)."
            )
        currency = form.amount_currency
        if currency is None:
            return  # the currency's own error says what to fix
        try:
            minor = minor_units(Decimal(self.data), currency)
        except ValueError as error:
            raise ValidationError(str(error)) from error
        if minor < (0 if self.allow_zero else 1):
            raise ValidationError("Enter an amount above zero.")
        if minor > MAX_MINOR_UNITS:
            raise ValidationError("That amount is larger than the service accepts.")
        self.minor = minor


def optional_id(value) -> int | None:
    """A select's coercion: an id, or None for the empty "choose one" option."""
    if value in (None, ""):
        return None
    return int(value)


def _choices(pairs: Iterable[tuple[object, str]]) -> list[SelectChoice]:
    return [SelectChoice(value=str(value), label=label) for value, label in pairs]


class PageForm(FlaskForm):
    """A form of these pages.

    CSRFProtect checks the token of every POST before any view runs, so the form does not
    check it again; templates put the token in with ``csrf_field()``.
    """

    class Meta:
        csrf = False

    #: The currency of the form's amounts, when it is known.
    amount_currency: str | None = None


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


_WINDOW_STARTS = _choices(
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
blueprint.add_app_template_global(CIRR_INTENTS, "cirr_intents")


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
        choices=_choices((kind.value, words(kind)) for kind in EmploymentType),
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
        choices=_choices((intent.value, CIRR_INTENTS[intent]) for intent in CirrIntent),
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
        choices=_choices(
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
        choices=_choices((kind, kind.capitalize()) for kind in imports.KINDS),
    )
    file = FileField("CSV file", [FileRequired(message="Choose a CSV file.")])


# -- Helpers (the admin pages use them too) ----------------------------------------------------


def page_number() -> int:
    """The ``page`` asked for in the query string (1 when absent or wrong)."""
    return max(1, request.args.get("page", 1, type=int))


def refused(form: FlaskForm, error: ServiceError, field_of: dict[str, str]) -> int:
    """Put a service's refusal on the form and roll back; the status to answer with.

    ``field_of`` names the form field of each service argument that differs from it. A reason
    whose field the form lacks is shown for the form as a whole.
    """
    db_session().rollback()
    if isinstance(error, Invalid):
        for name, reasons in error.errors.items():
            _add_error(form, field_of.get(name, name), [_sentence(reason) for reason in reasons])
        return 400
    if isinstance(error, Conflict):
        _add_error(form, field_of.get(error.field, error.field), [_sentence(error.message)])
        return 409
    raise error


def _add_error(form: FlaskForm, name: str | None, reasons: list[str]) -> None:
    field = form._fields.get(name) if name else None
    if field is None:
        form.form_errors.extend(reasons)
    else:
        field.errors = [*field.errors, *reasons]


def _sentence(text: str) -> str:
    # Services speak in clauses ("a student with email ... exists already"); pages in sentences.
    return f"{text[:1].upper()}{text[1:]}" + ("" if text.endswith(".") else ".")


def _audit(action: str, target: str, detail: str | None = None) -> None:
    # The record services take no principal; the page says who wrote what.
    record(db_session(), current_principal().actor, action, target, detail)


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):g} MB" if count >= 1024 * 1024 else f"{count} bytes"


def _programme_choices(form: EnrollmentForm, programmes: Sequence[Programme]) -> None:
    form.programme_id.choices = _choices(
        [("", "Choose a programme"), *((p.id, f"{p.name} ({p.currency})") for p in programmes)]
    )
    form.currencies = {programme.id: programme.currency for programme in programmes}


# -- Overview ----------------------------------------------------------------------------------


@blueprint.get("")
def home():
    """Counts of the records and what was written last."""
    session = db_session()
    return render_template(
        "registrar/home.html",
        counts=listings.record_counts(session),
        activity=listings.recent_activity(session),
    )


# -- Programmes and policies -------------------------------------------------------------------


@blueprint.route("/programmes", methods=["GET", "POST"])
def programmes():
    """Programmes with their policy versions; the form records a new programme."""
    form = ProgrammeForm()
    if form.validate_on_submit():
        session = db_session()
        try:
            programme = records.create_programme(
                session,
                name=form.name.data,
                currency=form.currency.data,
                tuition_list_price_minor=form.tuition.minor,
            )
        except (Invalid, Conflict) as error:
            status = refused(form, error, {"tuition_list_price_minor": "tuition"})
            return _programmes_page(form, status)
        _audit("programme.created", f"programme:{programme.id}", programme.name)
        session.commit()
        flash(
            f"Programme {programme.name} recorded. Publish its first guarantee policy version "
            "before enrolling students.",
            "success",
        )
        return redirect(url_for(".programme", programme_id=programme.id))
    return _programmes_page(form, 400 if form.is_submitted() else 200)


def _programmes_page(form: ProgrammeForm, status: int):
    programmes = listings.programmes_with_policies(db_session())
    return render_template("registrar/programmes.html", programmes=programmes, form=form), status


@blueprint.get("/programmes/<int:programme_id>")
def programme(programme_id: int):
    """One programme, its policy versions and the form to publish the next one."""
    return _programme_page(programme_id, None, 200)


@blueprint.post("/programmes/<int:programme_id>/policies")
def publish_policy(programme_id: int):
    """Publish the programme's next policy version; earlier versions stay as they were."""
    session = db_session()
    programme = records.get_or_404(session, Programme, programme_id)
    form = PolicyForm()
    form.amount_currency = programme.currency
    if not form.validate():
        return _programme_page(programme_id, form, 400)
    try:
        policy = records.publish_policy(
            session,
            programme.id,
            effective_from=form.effective_from.data,
            qualifying_types=[EmploymentType(kind) for kind in form.qualifying_types.data],
            window_months=form.window_months.data,
            window_starts=WindowStart(form.window_starts.data),
            min_contract_months=form.min_contract_months.data,
            requires_in_field=form.requires_in_field.data,
            min_annual_salary_minor=form.pay_floor.minor,
            claim_deadline_days=form.claim_deadline_days.data,
            refund_cap_minor=form.refund_cap.minor,
            deduct_scholarships=form.deduct_scholarships.data,
            weekly_applications=form.weekly_applications.data or 0,
            coaching_every_weeks=form.coaching_every_weeks.data,
            answer_within_days=form.answer_within_days.data,
            report_offers_within_days=form.report_offers_within_days.data,
            declined_offer_voids=form.declined_offer_voids.data,
            max_pause_days=form.max_pause_days.data or 0,
            notes=form.notes.data or None,
            correction=form.correction.data,
        )
    except (Invalid, Conflict) as error:
        field_of = {"min_annual_salary_minor": "pay_floor", "refund_cap_minor": "refund_cap"}
        return _programme_page(programme_id, form, refused(form, error, field_of))
    _audit(
        "policy.published",
        f"policy:{policy.id}",
        f"{programme.name} v{policy.version} from {policy.effective_from}"
        + (" (a correction)" if form.correction.data else ""),
    )
    session.commit()
    flash(
        f"Version {policy.version} of {programme.name}'s guarantee published; enrollments signed "
        f"from {day(policy.effective_from)} are bound to it.",
        "success",
    )
    return redirect(url_for(".programme", programme_id=programme.id))


def _programme_page(programme_id: int, form: PolicyForm | None, status: int):
    programme = records.get_or_404(db_session(), Programme, programme_id)
    if form is None:
        form = PolicyForm(formdata=None)
    return render_template("registrar/programme.html", programme=programme, form=form), status


# -- Students, enrollments and payments --------------------------------------------------------


@blueprint.route("/enrollments", methods=["GET", "POST"])
def enrollments():
    """Enrollments with what was paid; the forms record a student and enroll one."""
    session = db_session()
    programmes = listings.programmes_with_policies(session)
    form = EnrollmentForm(prefix="enrollment")
    _programme_choices(form, programmes)
    if not form.is_submitted():
        form = EnrollmentForm(formdata=None, prefix="enrollment")
        form.student_email.data = request.args.get("student", "")
        _programme_choices(form, programmes)
        return _enrollments_page(enrollment_form=form)
    if not form.validate():
        return _enrollments_page(enrollment_form=form, status=400)
    student = listings.student_with_email(session, form.student_email.data)
    if student is None:
        form.student_email.errors.append("No student has this email; record the student first.")
        return _enrollments_page(enrollment_form=form, status=400)
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
        )
    except (Invalid, Conflict) as error:
        field_of = {"student_id": "student_email", "scholarship_minor": "scholarship"}
        return _enrollments_page(enrollment_form=form, status=refused(form, error, field_of))
    policy = enrollment.policy
    _audit(
        "enrollment.created",
        f"enrollment:{enrollment.id}",
        f"{student.email} in {enrollment.programme.name}, policy v{policy.version}",
    )
    session.commit()
    flash(
        f"{student.name} is enrolled in {enrollment.programme.name} under guarantee policy "
        f"version {policy.version} (in force from {day(policy.effective_from)}).",
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
    _audit("student.created", f"student:{student.id}", student.email)
    session.commit()
    flash(f"Student {student.name} ({student.email}) recorded. Enroll them below.", "success")
    return redirect(url_for(".enrollments", student=student.email) + "#enroll")


def _enrollments_page(
    *,
    student_form: StudentForm | None = None,
    enrollment_form: EnrollmentForm | None = None,
    status: int = 200,
):
    session = db_session()
    programmes = listings.programmes_with_policies(session)
    if enrollment_form is None:
        enrollment_form = EnrollmentForm(formdata=None, prefix="enrollment")
        _programme_choices(enrollment_form, programmes)
    programme_id = request.args.get("programme", type=int)
    page = listings.enrollments_page(session, page_number(), programme_id=programme_id)
    return render_template(
        "registrar/enrollments.html",
        page=page,
        programmes=programmes,
        programme_id=programme_id,
        student_form=student_form or StudentForm(formdata=None, prefix="student"),
        enrollment_form=enrollment_form,
    ), status


@blueprint.get("/enrollments/<int:enrollment_id>")
def enrollment(enrollment_id: int):
    """One enrollment: its bound policy version, payments and graduation."""
    return _enrollment_page(enrollment_id, None, 200)


@blueprint.post("/enrollments/<int:enrollment_id>/payments")
def record_payment(enrollment_id: int):
    """Record a tuition payment of the enrollment."""
    session = db_session()
    enrollment = records.get_or_404(session, Enrollment, enrollment_id)
    form = PaymentForm()
    if not form.validate():
        return _enrollment_page(enrollment_id, form, 400)
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
        return _enrollment_page(enrollment_id, form, refused(form, error, field_of))
    _audit(
        "payment.recorded",
        f"payment:{payment.id}",
        f"enrollment:{enrollment.id} {payment.amount_minor} {payment.currency}",
    )
    session.commit()
    flash("Payment recorded.", "success")
    return redirect(url_for(".enrollment", enrollment_id=enrollment.id))


def _enrollment_page(
    enrollment_id: int,
    form: PaymentForm | None,
    status: int,
    question_form: QuestionForm | None = None,
    *,
    pause_form: pause_pages.PauseForm | None = None,
    exclusion_form: pause_pages.ExclusionForm | None = None,
    job_form: tuple[int, PageForm] | None = None,
):
    enrollment = records.get_or_404(db_session(), Enrollment, enrollment_id)
    if form is None:
        form = PaymentForm(formdata=None, currency=enrollment.programme.currency)
    return render_template(
        "registrar/enrollment.html",
        enrollment=enrollment,
        paid_minor=sum(payment.amount_minor for payment in enrollment.payments),
        form=form,
        question_form=question_form or QuestionForm(formdata=None, prefix="question"),
        questions=search_log.questions_of(db_session(), enrollment.graduation),
        jobs=_jobs_of(enrollment),
        job_forms=_job_forms(enrollment, job_form),
        **pause_pages.enrollment_section(enrollment, pause_form, exclusion_form),
    ), status


# -- Pauses and excluded outcomes --------------------------------------------------------------


@blueprint.post("/enrollments/<int:enrollment_id>/pauses")
def record_pause(enrollment_id: int):
    """Record a pause of the graduate's search, past ones included (documented illness)."""
    session = db_session()
    enrollment = records.get_or_404(session, Enrollment, enrollment_id)
    form = pause_pages.PauseForm(prefix="pause")
    if not form.validate():
        return _enrollment_page(enrollment_id, None, 400, pause_form=form)
    if enrollment.graduation is None:
        form.form_errors.append("The student has not qualified yet: there is no window to pause.")
        return _enrollment_page(enrollment_id, None, 409, pause_form=form)
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
        return _enrollment_page(enrollment_id, None, status, pause_form=form)
    session.commit()
    flash(pause_pages.pause_message(recorded), "success")
    return redirect(url_for(".enrollment", enrollment_id=enrollment.id, _anchor="pauses"))


@blueprint.post("/enrollments/<int:enrollment_id>/exclusion")
def record_exclusion(enrollment_id: int):
    """Record a documented excluded outcome; a claim not yet paying is withdrawn with it."""
    session = db_session()
    enrollment = records.get_or_404(session, Enrollment, enrollment_id)
    form = pause_pages.ExclusionForm(prefix="exclusion")
    if not form.validate():
        return _enrollment_page(enrollment_id, None, 400, exclusion_form=form)
    if enrollment.graduation is None:
        form.form_errors.append("The student has not qualified yet: record the graduation first.")
        return _enrollment_page(enrollment_id, None, 409, exclusion_form=form)
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
        return _enrollment_page(enrollment_id, None, status, exclusion_form=form)
    session.commit()
    flash(
        f"{enrollment.student.name} is out of the guarantee"
        f" ({pause_pages.EXCLUSION_REASONS[ExclusionReason(form.reason.data)].lower()})."
        " Any refund claim not yet paying was withdrawn.",
        "success",
    )
    return redirect(url_for(".enrollment", enrollment_id=enrollment.id, _anchor="pauses"))


# -- Questions to the graduate -----------------------------------------------------------------


class QuestionForm(PageForm):
    question = TextAreaField(
        "Question",
        [InputRequired(message="Write the question."), Length(max=5000), plain_text],
        filters=[strip],
        description="The graduate sees it on their page; the policy may set a time to answer.",
    )


@blueprint.post("/enrollments/<int:enrollment_id>/questions")
def ask_question(enrollment_id: int):
    """Ask the enrollment's graduate a question, which they answer on their page."""
    session = db_session()
    enrollment = records.get_or_404(session, Enrollment, enrollment_id)
    form = QuestionForm(prefix="question")
    if not form.validate():
        return _enrollment_page(enrollment_id, None, 400, form)
    if enrollment.graduation is None:
        form.question.errors = ["The student has not qualified yet: there is no one to ask."]
        return _enrollment_page(enrollment_id, None, 409, form)
    try:
        search_log.ask_question(
            session, current_principal(), enrollment.graduation.id, form.question.data
        )
    except (Invalid, Conflict) as error:
        return _enrollment_page(enrollment_id, None, refused(form, error, {}), form)
    session.commit()
    flash("Question sent to the graduate.", "success")
    return redirect(url_for(".enrollment", enrollment_id=enrollment.id, _anchor="questions"))


# -- Job evidence: disputes, corrections, verified contacts -------------------------------------


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


def _job_of(session, enrollment_id: int, outcome_id: int) -> JobOutcome:
    """Job ``outcome_id`` of the enrollment's graduation, or 404."""
    enrollment = records.get_or_404(session, Enrollment, enrollment_id)
    outcome = records.get_or_404(session, JobOutcome, outcome_id)
    if enrollment.graduation is None or outcome.graduation_id != enrollment.graduation.id:
        raise NotFound("JobOutcome", outcome_id)
    return outcome


def _back_to_jobs(enrollment_id: int):
    return redirect(url_for(".enrollment", enrollment_id=enrollment_id, _anchor="jobs"))


@blueprint.post("/enrollments/<int:enrollment_id>/jobs/<int:outcome_id>/dispute")
def dispute_job(enrollment_id: int, outcome_id: int):
    """Record that a job did not happen as reported, with the reason: it stops counting."""
    session = db_session()
    outcome = _job_of(session, enrollment_id, outcome_id)
    form = JobDisputeForm(prefix=f"dispute-{outcome.id}")
    if not form.validate():
        return _enrollment_page(enrollment_id, None, 400, job_form=(outcome.id, form))
    try:
        evidence.dispute_job(session, current_principal(), outcome.id, reason=form.reason.data)
    except (Invalid, Conflict) as error:
        status = refused(form, error, {})
        return _enrollment_page(enrollment_id, None, status, job_form=(outcome.id, form))
    session.commit()
    flash(f"The job {outcome.title} is recorded as disputed.", "success")
    return _back_to_jobs(enrollment_id)


@blueprint.post("/enrollments/<int:enrollment_id>/jobs/<int:outcome_id>/correct")
def correct_job(enrollment_id: int, outcome_id: int):
    """Correct a job's facts or status, with the reason; the guarantee reads the correction."""
    session = db_session()
    outcome = _job_of(session, enrollment_id, outcome_id)
    form = JobCorrectionForm(prefix=f"correct-{outcome.id}")
    if not form.validate():
        return _enrollment_page(enrollment_id, None, 400, job_form=(outcome.id, form))
    try:
        evidence.correct_job(
            session, current_principal(), outcome.id, form.correction(), reason=form.reason.data
        )
    except (Invalid, Conflict) as error:
        status = refused(form, error, {})
        return _enrollment_page(enrollment_id, None, status, job_form=(outcome.id, form))
    session.commit()
    flash(f"The job {outcome.title} is corrected.", "success")
    return _back_to_jobs(enrollment_id)


@blueprint.post("/enrollments/<int:enrollment_id>/jobs/<int:outcome_id>/verify-contact")
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
        flash(f"Nothing verified: {error.message}.", "error")
        return _enrollment_page(enrollment_id, None, 409)
    session.commit()
    flash(f"{employer.contact_email} is verified as {employer.name}'s contact.", "success")
    return _back_to_jobs(enrollment_id)


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


# -- Graduations -------------------------------------------------------------------------------


@blueprint.route("/graduations", methods=["GET", "POST"])
def graduations():
    """Graduations with their guarantee status today; the form records one."""
    form = GraduationForm()
    if not form.is_submitted():
        form = GraduationForm(formdata=None, enrollment_id=request.args.get("enrollment", type=int))
        return _graduations_page(form, 200)
    if not form.validate():
        return _graduations_page(form, 400)
    session = db_session()
    try:
        graduation = records.record_graduation(
            session, enrollment_id=form.enrollment_id.data, qualified_on=form.qualified_on.data
        )
    except (Invalid, Conflict) as error:
        return _graduations_page(form, refused(form, error, {}))
    student = graduation.enrollment.student
    _audit(
        "graduation.recorded",
        f"graduation:{graduation.id}",
        f"enrollment:{graduation.enrollment_id} qualified on {graduation.qualified_on}",
    )
    session.commit()
    flash(f"Graduation of {student.name} on {day(graduation.qualified_on)} recorded.", "success")
    return redirect(url_for(".graduations"))


def _graduations_page(form: GraduationForm, status: int):
    session = db_session()
    programme_id = request.args.get("programme", type=int)
    page = listings.graduations_page(
        session, page_number(), as_of=utc_now().date(), programme_id=programme_id
    )
    return render_template(
        "registrar/graduations.html",
        page=page,
        form=form,
        programmes=listings.programmes_with_policies(session),
        programme_id=programme_id,
    ), status


# -- CSV import --------------------------------------------------------------------------------


class CheckedRows:
    """A ``Track`` for ``import_rows`` that counts the rows reached in each pass."""

    def __init__(self) -> None:
        self.passes: list[int] = []

    def __call__(self, items: Sequence, label: str) -> AbstractContextManager[Iterable]:
        return self._counting(items)

    @contextmanager
    def _counting(self, items: Sequence) -> Iterator[Iterable]:
        self.passes.append(0)
        number = len(self.passes) - 1

        def counted():
            for item in items:
                self.passes[number] += 1
                yield item

        yield counted()

    @property
    def checked(self) -> int:
        """Rows checked: the first pass goes over every row before anything is written."""
        return self.passes[0] if self.passes else 0


@blueprint.route("/import", methods=["GET", "POST"])
def import_csv():
    """Upload a CSV file: every row is checked, and all are written only if none is wrong."""
    form = ImportForm()
    if not form.is_submitted():
        return _import_page(form)
    if not form.validate():
        return _import_page(form, status=400)
    kind = form.kind.data
    upload = form.file.data
    try:
        rows = imports.read_csv(upload.read(), kind)
    except imports.ImportFileError as error:
        form.file.errors.append(f"{str(error)[:1].upper()}{str(error)[1:]}.")
        return _import_page(form, status=400)
    session = db_session()
    progress = CheckedRows()
    report = imports.import_rows(session, kind, rows, track=progress)
    if report.errors:
        session.rollback()
        return _import_page(form, report=report, checked=progress.checked, status=400)
    _audit("import.written", f"import:{kind}", f"{report.written} rows from {upload.filename}")
    session.commit()
    flash(
        f"Checked {progress.checked} of {report.rows} rows: {report.written} rows written "
        f"({kind}).",
        "success",
    )
    return redirect(url_for(".import_csv"))


def _import_page(
    form: ImportForm,
    *,
    report: imports.ImportReport | None = None,
    checked: int = 0,
    status: int = 200,
):
    columns = {kind: imports.columns_of(kind) for kind in imports.KINDS}
    limit = request.max_content_length or IMPORT_MAX_BYTES
    return render_template(
        "registrar/import.html",
        form=form,
        report=report,
        checked=checked,
        columns=columns,
        limit=_size(limit),
    ), status
