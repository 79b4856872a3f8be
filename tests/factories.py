"""factory-boy factories for every record, writing through the test's session."""

from __future__ import annotations

from datetime import UTC, date, datetime

import factory
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.guarantee.terms import EmploymentType, OutcomeSource, OutcomeStatus, PayerType
from app.models import (
    Employer,
    Enrollment,
    Graduation,
    GuaranteePolicy,
    JobOutcome,
    PolicyQualifyingType,
    PrerequisiteVerification,
    Programme,
    Student,
    TuitionPayment,
)
from refunds.models import ClaimTransition, Refund, RefundClaim
from refunds.states import ClaimState, RefundState

_current: dict[str, Session | None] = {"session": None}


def use_session(session: Session | None) -> None:
    """Make the factories write through ``session`` (the conftest does this per test)."""
    _current["session"] = session


def current_session() -> Session:
    session = _current["session"]
    if session is None:
        raise RuntimeError("factories need the `session` fixture")
    return session


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "flush"


class ProgrammeFactory(BaseFactory):
    class Meta:
        model = Programme

    name = factory.Sequence(lambda n: f"Programme {n}")
    currency = "EUR"
    tuition_list_price_minor = 600_000


class GuaranteePolicyFactory(BaseFactory):
    class Meta:
        model = GuaranteePolicy

    programme = factory.SubFactory(ProgrammeFactory)
    version = factory.Sequence(lambda n: n + 1)
    effective_from = date(2020, 1, 1)
    window_months = 6
    min_contract_months = 6
    requires_in_field = True
    claim_deadline_days = 60
    deduct_scholarships = True
    qualifying_types = factory.LazyFunction(
        lambda: [
            PolicyQualifyingType(employment_type=EmploymentType.FULL_TIME_PERMANENT),
            PolicyQualifyingType(employment_type=EmploymentType.FIXED_TERM_CONTRACT),
        ]
    )


class StudentFactory(BaseFactory):
    class Meta:
        model = Student

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"student{n}@example.org")
    country = "FR"


class EmployerFactory(BaseFactory):
    class Meta:
        model = Employer

    name = factory.Sequence(lambda n: f"Employer {n}")
    contact_email = factory.Sequence(lambda n: f"hiring{n}@employer.example")
    # Recorded by the school, so its contact is verified; pass ``contact_verified_at=None``
    # for a contact a graduate typed.
    contact_verified_at = factory.LazyFunction(lambda: datetime.now(UTC))
    contact_verified_by = "registrar:factory"


class EnrollmentFactory(BaseFactory):
    class Meta:
        model = Enrollment

    student = factory.SubFactory(StudentFactory)
    policy = factory.SubFactory(GuaranteePolicyFactory)
    programme = factory.SelfAttribute("policy.programme")
    signed_on = date(2024, 1, 15)
    guarantee_opt_in = True
    scholarship_minor = 0


class PrerequisiteVerificationFactory(BaseFactory):
    """A registrar's verification of the first prerequisite of the enrollment's policy."""

    class Meta:
        model = PrerequisiteVerification

    enrollment = factory.SubFactory(EnrollmentFactory)
    prerequisite = factory.LazyAttribute(lambda row: row.enrollment.policy.prerequisites[0])
    verified_by = "registrar:test"
    verified_at = datetime(2024, 1, 16, 10, 0, tzinfo=UTC)
    note = "diploma seen"


class TuitionPaymentFactory(BaseFactory):
    class Meta:
        model = TuitionPayment

    enrollment = factory.SubFactory(EnrollmentFactory)
    amount_minor = 300_000
    currency = factory.SelfAttribute("enrollment.programme.currency")
    paid_at = datetime(2024, 1, 20, 9, 30, tzinfo=UTC)
    payer_type = PayerType.STUDENT
    payer_name = None
    stripe_payment_intent_id = None


class GraduationFactory(BaseFactory):
    class Meta:
        model = Graduation

    enrollment = factory.SubFactory(EnrollmentFactory)
    qualified_on = date(2025, 8, 31)


class JobOutcomeFactory(BaseFactory):
    class Meta:
        model = JobOutcome

    graduation = factory.SubFactory(GraduationFactory)
    employer = factory.SubFactory(EmployerFactory)
    title = "Machine learning engineer"
    employment_type = EmploymentType.FULL_TIME_PERMANENT
    in_field = True
    start_date = date(2025, 11, 3)
    contract_months = None
    annual_salary_minor = None
    salary_currency = None
    source = OutcomeSource.GRADUATE
    status = OutcomeStatus.REPORTED


class RefundClaimFactory(BaseFactory):
    """A claim as the sweep writes it; pass ``state`` for one further along."""

    class Meta:
        model = RefundClaim

    graduation = factory.SubFactory(GraduationFactory)
    enrollment = factory.SelfAttribute("graduation.enrollment")
    state = ClaimState.FLAGGED
    amount_minor = 600_000
    currency = factory.SelfAttribute("enrollment.programme.currency")
    deadline = date(2026, 2, 28)
    flagged_on = date(2026, 3, 1)


class ClaimTransitionFactory(BaseFactory):
    """One audit row of a claim (the table is append-only)."""

    class Meta:
        model = ClaimTransition

    class Params:
        claim = factory.SubFactory(RefundClaimFactory)

    claim_id = factory.SelfAttribute("claim.id")
    from_state = None
    to_state = ClaimState.FLAGGED
    actor = "system:sweep"
    reason = "window closed without a qualifying job"
    at = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


class AuditedRefundClaimFactory(RefundClaimFactory):
    """A claim in ``state`` with the audit row that put it there, so its trail is whole.

    The trail starts at ``state`` (``from_state`` NULL) and the version is 1, as after the sweep.
    """

    @factory.post_generation
    def initial_transition(claim, create, extracted, **kwargs):  # noqa: N805 - factory-boy hook
        if create:
            ClaimTransitionFactory(
                claim=claim,
                to_state=claim.state,
                reason=f"made {claim.state.value} for the test",
            )


class RefundFactory(BaseFactory):
    """One payment's refund of a paying claim; the payment belongs to the claim's enrollment."""

    class Meta:
        model = Refund

    claim = factory.SubFactory(AuditedRefundClaimFactory, state=ClaimState.PAYING)
    payment = factory.SubFactory(
        TuitionPaymentFactory, enrollment=factory.SelfAttribute("..claim.enrollment")
    )
    amount_minor = factory.SelfAttribute("payment.amount_minor")
    currency = factory.SelfAttribute("payment.currency")
    state = RefundState.PENDING
    idempotency_key = factory.LazyAttribute(
        lambda refund: f"claim-{refund.claim.id}-payment-{refund.payment.id}-try-1"
    )


# ---------------------------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------------------------

#: The password of every factory-made account; its hash is computed once per run (argon2 is
#: deliberately slow).
TEST_PASSWORD = "violet-harbour-lantern-42"
_TEST_PASSWORD_HASH: list[str] = []


def _test_password_hash() -> str:
    if not _TEST_PASSWORD_HASH:
        from app.auth.passwords import hash_password

        _TEST_PASSWORD_HASH.append(hash_password(TEST_PASSWORD))
    return _TEST_PASSWORD_HASH[0]


#: The authenticator secret of every finance and admin account the factories make (those roles
#: cannot sign in without a second factor); ``second_factor_code`` gives its current code.
TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

#: The data encryption key (``DATA_ENCRYPTION_KEYS``) of every app and process the tests start
#: (``tests/conftest.py`` puts it in the environment): the factories seal secrets with it.
TEST_DATA_ENCRYPTION_KEY = "ta2IlSUB5A9d0VIKPR22CuM5P3YTI0bvVToEW2FrYms="  # noqa: S105


def factory_keyring():
    """The keyring of ``TEST_DATA_ENCRYPTION_KEY``, as the tests' apps have it."""
    from app.auth.sealing import Keyring

    return Keyring([TEST_DATA_ENCRYPTION_KEY])


def _enrolled_secret(user) -> str | None:
    from app.auth.second_factor import REQUIRED_FOR

    return TEST_TOTP_SECRET if user.role in REQUIRED_FOR else None


def second_factor_code(user_id: int, session: Session | None = None) -> str:
    """A code the account's authenticator would show now and the app has not accepted yet (a
    code is accepted once: a second sign-in within 30 seconds takes the next step's code)."""
    import pyotp

    from app.models import User
    from app.models.base import utc_now

    session = session or current_session()
    sealed, last = session.execute(
        select(User.sealed_totp_secret, User.totp_last_counter).where(User.id == user_id)
    ).one()
    totp = pyotp.TOTP(factory_keyring().open(sealed))
    counter = max(totp.timecode(utc_now()), (last if last is not None else -1) + 1)
    return totp.generate_otp(counter)


class UserFactory(BaseFactory):
    """A staff account by default; pass ``role`` and ``student``/``employer`` for the others.

    Finance and admin accounts have the second factor on, with ``TEST_TOTP_SECRET`` (sealed with
    ``TEST_DATA_ENCRYPTION_KEY``); ``totp_secret=None`` makes one without, another secret one
    with that secret.
    """

    class Meta:
        model = __import__("app.models", fromlist=["User"]).User

    class Params:
        #: The authenticator secret, plain: only its sealed token reaches the account.
        totp_secret = factory.LazyAttribute(_enrolled_secret)

    email = factory.Sequence(lambda n: f"user{n}@school.example")
    name = factory.Faker("name")
    role = __import__("app.models", fromlist=["Role"]).Role.FINANCE
    password_hash = factory.LazyFunction(_test_password_hash)
    active = True
    student = None
    employer = None
    sealed_totp_secret = factory.LazyAttribute(
        lambda user: factory_keyring().seal(user.totp_secret) if user.totp_secret else None
    )
    totp_enabled_at = factory.LazyAttribute(
        lambda user: datetime.now(UTC) if user.totp_secret else None
    )


# ---------------------------------------------------------------------------------------------
# Pauses and excluded outcomes
# ---------------------------------------------------------------------------------------------


class SearchPauseFactory(BaseFactory):
    """A pause of the search, as a registrar records it: ten days of illness by default."""

    class Meta:
        model = __import__("app.models", fromlist=["SearchPause"]).SearchPause

    graduation = factory.SubFactory(GraduationFactory)
    starts_on = date(2025, 10, 1)
    ends_on = date(2025, 10, 10)
    reason = __import__("app.guarantee.terms", fromlist=["PauseReason"]).PauseReason.ILLNESS
    note = None
    recorded_by = "registrar:factory"


class ExcludedOutcomeFactory(BaseFactory):
    """A documented excluded outcome: further full-time study by default."""

    class Meta:
        model = __import__("app.models", fromlist=["ExcludedOutcome"]).ExcludedOutcome

    graduation = factory.SubFactory(GraduationFactory)
    reason = __import__(
        "app.guarantee.terms", fromlist=["ExclusionReason"]
    ).ExclusionReason.FURTHER_STUDY
    occurred_on = date(2025, 10, 1)
    evidence = "Enrolment letter, University of Lyon, ref. UL-2025-118"
    recorded_by = "registrar:factory"


# ---------------------------------------------------------------------------------------------
# The job-search log and the school's questions
# ---------------------------------------------------------------------------------------------


class SearchActivityFactory(BaseFactory):
    """One entry of the search log: an application by default, logged the day it was made."""

    class Meta:
        model = __import__("app.models", fromlist=["SearchActivity"]).SearchActivity

    graduation = factory.SubFactory(GraduationFactory)
    kind = __import__(
        "app.guarantee.terms", fromlist=["SearchActivityKind"]
    ).SearchActivityKind.APPLICATION
    occurred_on = date(2025, 9, 2)
    employer_name = "Acme"
    position = "Data scientist"
    created_at = factory.LazyAttribute(
        lambda o: datetime(
            o.occurred_on.year, o.occurred_on.month, o.occurred_on.day, 18, tzinfo=UTC
        )
    )


class SchoolRequestFactory(BaseFactory):
    """A question from the school, not yet answered."""

    class Meta:
        model = __import__("app.models", fromlist=["SchoolRequest"]).SchoolRequest

    graduation = factory.SubFactory(GraduationFactory)
    asked_at = datetime(2025, 9, 10, 9, tzinfo=UTC)
    asked_by = "registrar:factory"
    question = "Which companies did you apply to last week?"


class ProviderAsRecorded:
    """A payment provider that holds every recorded payment exactly as recorded, and no refunds.

    For page and API tests whose payments carry made-up PaymentIntent ids: the decisions that
    ask the provider first get the answer the records expect. Tests of the provider itself use
    localstripe.
    """

    def __init__(self, session):
        self.session = session

    def get_payment(self, payment_intent_id):
        from refunds.gateway import PermanentGatewayError, ProviderPayment

        payment = self.session.scalar(
            select(TuitionPayment).where(
                TuitionPayment.stripe_payment_intent_id == payment_intent_id
            )
        )
        if payment is None:
            raise PermanentGatewayError(f"No such payment_intent: {payment_intent_id}")
        return ProviderPayment(
            payment_intent_id, payment.amount_minor, payment.currency, "succeeded"
        )

    def list_refunds(self, payment_intent_id):
        return []

    def get_refund(self, refund_id):
        from refunds.gateway import PermanentGatewayError

        raise PermanentGatewayError(f"No such refund: {refund_id}")

    def create_refund(self, **kwargs):
        from refunds.gateway import PermanentGatewayError

        raise PermanentGatewayError("this provider only answers questions")
