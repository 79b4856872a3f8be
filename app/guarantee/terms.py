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
    """Who told the school about a job."""

    GRADUATE = "graduate"
    EMPLOYER = "employer"
    REGISTRAR = "registrar"


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
