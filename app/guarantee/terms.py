"""The vocabulary of a guarantee policy, shared by the rules, the models and the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class EmploymentType(StrEnum):
    """The kind of job a graduate took."""

    FULL_TIME_PERMANENT = "full_time_permanent"
    FIXED_TERM_CONTRACT = "fixed_term_contract"
    APPRENTICESHIP = "apprenticeship"
    INTERNSHIP = "internship"
    FREELANCE = "freelance"
    PART_TIME = "part_time"
    FOUNDED_COMPANY = "founded_company"


#: Types with no end date: the minimum contract length does not apply to them.
OPEN_ENDED_TYPES = frozenset({EmploymentType.FULL_TIME_PERMANENT, EmploymentType.FOUNDED_COMPANY})

#: What a policy accepts when it says nothing else: a permanent job, or a long enough contract.
DEFAULT_QUALIFYING_TYPES = frozenset(
    {EmploymentType.FULL_TIME_PERMANENT, EmploymentType.FIXED_TERM_CONTRACT}
)


class WindowStart(StrEnum):
    """The event that starts a graduate's guarantee window."""

    QUALIFICATION_DATE = "qualification_date"
    DAY_AFTER_QUALIFICATION = "day_after_qualification"
    FIRST_MONDAY_AFTER_QUALIFICATION = "first_monday_after_qualification"


class OutcomeStatus(StrEnum):
    """How far a reported job has been verified."""

    REPORTED = "reported"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"


class OutcomeSource(StrEnum):
    """Who told the school about a job: also the verification source accreditors ask for."""

    GRADUATE = "graduate"
    EMPLOYER = "employer"
    REGISTRAR = "registrar"
    RECRUITER = "recruiter"
    EMPLOYMENT_HISTORY_SERVICE = "employment_history_service"


class CirrIntent(StrEnum):
    """What the student said at enrollment they meant to do after graduating (CIRR intent).

    Recorded at enrollment and then locked; only ``in_field_job`` keeps a graduate in the
    outcomes report's denominators.
    """

    IN_FIELD_JOB = "in_field_job"
    OUT_OF_FIELD_JOB = "out_of_field_job"
    FURTHER_STUDY = "further_study"
    NOT_SEEKING_WORK = "not_seeking_work"


class SearchActivityKind(StrEnum):
    """One kind of entry in a graduate's job-search log."""

    APPLICATION = "application"
    INTERVIEW = "interview"
    OFFER = "offer"
    COACHING_CHECKIN = "coaching_checkin"


class OfferDecision(StrEnum):
    """What the graduate did with a job offer."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class PauseReason(StrEnum):
    """Why a graduate paused the search; the window extends by the paused days."""

    ILLNESS = "illness"
    PARENTAL_LEAVE = "parental_leave"
    CARING = "caring"
    OTHER = "other"


class ExclusionReason(StrEnum):
    """A documented outcome that takes a graduate out of the guarantee and the report bases."""

    FURTHER_STUDY = "further_study"
    MILITARY_SERVICE = "military_service"
    INCARCERATION = "incarceration"
    DEATH = "death"


class WorkAuthorisation(StrEnum):
    """Whether a student may work in a country (of their search, or of their studies), as
    recorded at enrollment."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


#: The regions a policy may name among its search countries, and the countries each covers
#: (ISO 3166-1 alpha-2). The European Union: its 27 member states.
_EU_MEMBER_STATES = (
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"
)

REGIONS: dict[str, frozenset[str]] = {"EU": frozenset(_EU_MEMBER_STATES.split())}


class EnrollmentStatus(StrEnum):
    """Where an enrollment stands: still studying, or graduated (the lists' filter)."""

    STUDYING = "studying"
    GRADUATED = "graduated"


class PayerType(StrEnum):
    """Who paid a tuition payment, and so who a refund of it goes back to."""

    STUDENT = "student"
    SPONSOR = "sponsor"


@dataclass(frozen=True)
class PolicyTerms:
    """The terms of one guarantee policy version, as plain values."""

    window_months: int = 6
    window_starts: WindowStart = WindowStart.QUALIFICATION_DATE
    qualifying_types: frozenset[EmploymentType] = field(default=DEFAULT_QUALIFYING_TYPES)
    min_contract_months: int = 6
    requires_in_field: bool = True
    #: Annual pay floor in minor units of ``currency``; ``None`` for no floor.
    min_annual_salary_minor: int | None = None
    currency: str = "EUR"
    claim_deadline_days: int = 60
    #: Most a refund may be, in minor units; ``None`` for no cap.
    refund_cap_minor: int | None = None
    deduct_scholarships: bool = True
    #: Job applications the graduate must log each week of the window; 0 for none.
    weekly_applications: int = 0
    #: At least one coaching check-in every this many weeks; ``None`` for no requirement.
    coaching_every_weeks: int | None = None
    #: Days the graduate has to answer a question from the school; ``None`` for no deadline.
    answer_within_days: int | None = None
    #: Days the graduate has to log an offer after receiving it; ``None`` if offers need not
    #: be reported.
    report_offers_within_days: int | None = None
    #: Whether declining a qualifying offer voids the refund claim.
    declined_offer_voids: bool = False
    #: Most paused days that extend the window; 0 when pauses are not allowed.
    max_pause_days: int = 0
    #: What a registrar verifies at enrollment (e.g. "Bachelor's degree, mathematics"); a
    #: graduate with one unverified is not covered.
    prerequisites: tuple[str, ...] = ()
    #: Months from the start of studies within which a student must qualify to be covered;
    #: ``None`` for no time limit.
    qualify_within_months: int | None = None
    #: Countries (ISO 3166-1 alpha-2) or regions (``REGIONS``) where the search must take
    #: place and where a job counts; empty for anywhere.
    search_areas: frozenset[str] = frozenset()
    #: Whether a graduate recorded as not authorised to work in their search country is not
    #: covered.
    requires_work_authorisation: bool = False
    #: Whether a remote job, done from one of the policy's countries for an employer based
    #: outside them, counts. By default it does: a job is where the graduate works.
    remote_abroad_counts: bool = True


@dataclass(frozen=True)
class EligibilityFacts:
    """What an enrollment records about the graduate's eligibility, as plain values."""

    #: The labels of the policy's prerequisites a registrar verified.
    verified_prerequisites: frozenset[str] = frozenset()
    #: The first day of studies; ``None`` when not recorded.
    studies_started_on: date | None = None
    #: Country (ISO 3166-1 alpha-2) where the graduate searches for work.
    search_country: str | None = None
    #: Whether the graduate may work in ``search_country``.
    work_authorisation: WorkAuthorisation = WorkAuthorisation.UNKNOWN


@dataclass(frozen=True)
class JobFacts:
    """What the rules need to know about one reported job."""

    employment_type: EmploymentType
    in_field: bool
    start_date: date
    status: OutcomeStatus = OutcomeStatus.REPORTED
    contract_months: int | None = None
    annual_salary_minor: int | None = None
    salary_currency: str | None = None
    #: Country (ISO 3166-1 alpha-2) the graduate works in (for a remote job, works from);
    #: ``None`` for the graduate's search country.
    country: str | None = None
    #: For a remote job, the country of the employer it is done for; ``None`` otherwise.
    remote_employer_country: str | None = None
