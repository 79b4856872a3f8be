"""The guarantee rule, as pure functions over plain values.

This is the one home of the window computation (the six-month rule), the qualifying-job test and
a graduate's guarantee status. The API, the pages, the sweep and the reports call these; nothing
re-implements them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from dateutil.relativedelta import relativedelta

from app.guarantee.sentences import N_, IsoDay, Sentence
from app.guarantee.terms import (
    OPEN_ENDED_TYPES,
    REGIONS,
    EligibilityFacts,
    JobFacts,
    OutcomeStatus,
    PolicyTerms,
    WindowStart,
    WorkAuthorisation,
)


def window_start(qualified_on: date, starts: WindowStart) -> date:
    """The first day of the guarantee window for a graduate who qualified on ``qualified_on``."""
    if starts is WindowStart.QUALIFICATION_DATE:
        return qualified_on
    if starts is WindowStart.DAY_AFTER_QUALIFICATION:
        return qualified_on + timedelta(days=1)
    if starts is WindowStart.FIRST_MONDAY_AFTER_QUALIFICATION:
        # Strictly after: a graduate who qualifies on a Monday starts the next Monday.
        return qualified_on + timedelta(days=7 - qualified_on.weekday())
    raise ValueError(f"unknown window start {starts!r}")


def guarantee_deadline(
    qualified_on: date,
    months: int,
    starts: WindowStart = WindowStart.QUALIFICATION_DATE,
    paused_days: int = 0,
) -> date:
    """The last day of the window: its start plus ``months`` calendar months, plus any pause.

    Calendar months clip to the end of a shorter month: 31 Aug + 6 months is 28 Feb (29 Feb in
    a leap year). A job that starts on the deadline still counts.
    """
    if months < 1:
        raise ValueError("a guarantee window lasts at least one month")
    return (
        window_start(qualified_on, starts)
        + relativedelta(months=months)
        + timedelta(days=paused_days)
    )


def paused_days(pauses: Iterable[tuple[date, date]], limit: int) -> int:
    """The days by which ``pauses`` extend the window: their lengths added up, at most ``limit``.

    Each pause is ``(first day, last day)``, both days paused. Pauses never overlap (the
    service refuses one that would), so their lengths simply add up; a policy that allows no
    pauses has a ``limit`` of 0.
    """
    if limit < 0:
        raise ValueError("the limit on paused days cannot be negative")
    return min(total_paused_days(pauses), limit)


def total_paused_days(pauses: Iterable[tuple[date, date]]) -> int:
    """Every day of ``pauses`` (first and last day of each included), before any limit."""
    total = 0
    for starts_on, ends_on in pauses:
        if ends_on < starts_on:
            raise ValueError(f"a pause cannot end ({ends_on}) before it starts ({starts_on})")
        total += (ends_on - starts_on).days + 1
    return total


def claim_deadline(deadline: date, claim_deadline_days: int) -> date:
    """The last day on which a refund can be claimed for a window that closed on ``deadline``."""
    return deadline + timedelta(days=claim_deadline_days)


class ClaimDeadlineStanding(StrEnum):
    """Where a claim awaiting a decision stands against its claim deadline."""

    OPEN = "open"
    #: The claim deadline is at most ``CLAIM_DUE_SOON_DAYS`` away (or today).
    DUE_SOON = "due_soon"
    PAST = "past"


#: How close the claim deadline is when a claim awaiting a decision becomes due soon.
CLAIM_DUE_SOON_DAYS = 14


def claim_deadline_standing(last_claim_day: date, today: date) -> ClaimDeadlineStanding:
    """Whether ``today`` is well before, close to (``CLAIM_DUE_SOON_DAYS``), or past the last
    day on which the claim could be made: a claim decided after it is decided late."""
    if today > last_claim_day:
        return ClaimDeadlineStanding.PAST
    if (last_claim_day - today).days <= CLAIM_DUE_SOON_DAYS:
        return ClaimDeadlineStanding.DUE_SOON
    return ClaimDeadlineStanding.OPEN


def area_countries(areas: Iterable[str]) -> frozenset[str]:
    """The countries that ``areas`` (country codes and ``REGIONS`` names) cover."""
    countries: set[str] = set()
    for area in areas:
        countries |= REGIONS.get(area, {area})
    return frozenset(countries)


def in_search_areas(country: str | None, areas: frozenset[str]) -> bool:
    """Whether ``country`` is one of ``areas`` (always, when the policy names none)."""
    return not areas or country in area_countries(areas)


def qualify_by(studies_started_on: date, months: int) -> date:
    """The last day on which a student who started on ``studies_started_on`` qualifies in time:
    ``months`` calendar months later (clipped to the month's end, like the window)."""
    return studies_started_on + relativedelta(months=months)


def eligibility_shortfalls(
    eligibility: EligibilityFacts, terms: PolicyTerms, qualified_on: date
) -> list[str]:
    """Each reason a graduate who qualified on ``qualified_on`` is not covered under ``terms``;
    empty when they are.

    Only a recorded fact takes the guarantee away: a prerequisite no registrar verified, a
    qualification after the time limit from a recorded start of studies, a work authorisation
    recorded as "no", a search country outside the policy's. An unrecorded start of studies or
    an unknown work authorisation leaves the graduate covered: recording them is the school's
    part, and missing an owed graduate is the worse mistake.
    """
    reasons = [
        Sentence(N_("the prerequisite “%(label)s” was not verified at enrollment"), label=label)
        for label in terms.prerequisites
        if label not in eligibility.verified_prerequisites
    ]
    started = eligibility.studies_started_on
    if terms.qualify_within_months is not None and started is not None:
        last_day = qualify_by(started, terms.qualify_within_months)
        if qualified_on > last_day:
            reasons.append(
                Sentence(
                    N_(
                        "qualified on %(qualified)s, after the time limit of %(months)s months"
                        " from the start of studies (%(started)s; last day %(last)s)"
                    ),
                    qualified=IsoDay.of(qualified_on),
                    months=terms.qualify_within_months,
                    started=IsoDay.of(started),
                    last=IsoDay.of(last_day),
                )
            )
    country = eligibility.search_country
    if not in_search_areas(country, terms.search_areas):
        reasons.append(
            Sentence(
                N_("the search country (%(country)s) is not one of the policy's (%(areas)s)"),
                country=country or Sentence(N_("not recorded")),
                areas=", ".join(sorted(terms.search_areas)),
            )
        )
    if terms.requires_work_authorisation and eligibility.work_authorisation is WorkAuthorisation.NO:
        reasons.append(
            Sentence(
                N_("not authorised to work in the search country (%(country)s)"), country=country
            )
        )
    return reasons


def job_location_shortfalls(
    job: JobFacts, terms: PolicyTerms, search_country: str | None
) -> list[str]:
    """Each reason ``job`` does not count where it is under ``terms``: it is done outside the
    policy's countries, or it is remote for an employer outside them and the policy does not
    count those. A job with no country recorded is in the graduate's search country."""
    if not terms.search_areas:
        return []
    reasons = []
    where = job.country or search_country
    if not in_search_areas(where, terms.search_areas):
        reasons.append(
            Sentence(
                N_("the job is in %(where)s, outside the policy's"),
                where=where or Sentence(N_("an unrecorded country")),
            )
        )
    employer = job.remote_employer_country
    if (
        employer is not None
        and not terms.remote_abroad_counts
        and not in_search_areas(employer, terms.search_areas)
    ):
        reasons.append(
            Sentence(
                N_(
                    "a remote job for an employer in %(country)s, outside the policy's"
                    " countries, does not count under this policy"
                ),
                country=employer,
            )
        )
    return reasons


#: Outcome statuses that count as a job: the graduate or the school said so and nobody denied it.
#: An employer's denial (``disputed``) takes the job out of the count.
COUNTED_STATUSES = frozenset({OutcomeStatus.REPORTED, OutcomeStatus.CONFIRMED})


def job_shortfalls(
    job: JobFacts,
    terms: PolicyTerms,
    deadline: date,
    qualified_on: date | None = None,
    search_country: str | None = None,
) -> list[str]:
    """Each reason ``job`` is not a qualifying job under ``terms``; empty when it qualifies.

    Where the record cannot show a condition is met (no salary against a pay floor, no contract
    length for a fixed-term job), the job does not qualify: the graduate is then flagged and
    finance, who sees the evidence, decides. Missing an owed graduate is the worse mistake.

    With ``qualified_on``, a job that started before the graduate qualified does not count: the
    guarantee is about the job found after qualifying, not one held during the studies. (A job
    starting between qualifying and a window that opens later, the first Monday say, counts.)
    Where the policy names countries, the job counts only there (``job_location_shortfalls``;
    ``search_country`` is where a job with no country recorded is).
    """
    reasons = []
    if job.status not in COUNTED_STATUSES:
        reasons.append(
            Sentence(N_("the employer disputed this job (status %(status)s)"), status=job.status)
        )
    if job.employment_type not in terms.qualifying_types:
        reasons.append(
            Sentence(
                N_("%(kind)s is not a qualifying type of employment"),
                kind=job.employment_type,
            )
        )
    if terms.requires_in_field and not job.in_field:
        reasons.append(Sentence(N_("the job is out of field")))
    if job.employment_type not in OPEN_ENDED_TYPES:
        if job.contract_months is None:
            reasons.append(Sentence(N_("the contract length is unknown")))
        elif job.contract_months < terms.min_contract_months:
            reasons.append(
                Sentence(
                    N_("the contract lasts %(months)s months, under the %(required)s required"),
                    months=job.contract_months,
                    required=terms.min_contract_months,
                )
            )
    if terms.min_annual_salary_minor is not None:
        if job.annual_salary_minor is None:
            reasons.append(Sentence(N_("the salary is unknown and the policy has a pay floor")))
        elif job.salary_currency != terms.currency:
            reasons.append(
                Sentence(
                    N_("the salary is not in %(currency)s, the pay floor's currency"),
                    currency=terms.currency,
                )
            )
        elif job.annual_salary_minor < terms.min_annual_salary_minor:
            reasons.append(Sentence(N_("the salary is under the policy's pay floor")))
    if job.start_date > deadline:
        reasons.append(
            Sentence(
                N_("the job starts after the guarantee deadline (%(deadline)s)"),
                deadline=IsoDay.of(deadline),
            )
        )
    if qualified_on is not None and job.start_date < qualified_on:
        reasons.append(
            Sentence(
                N_("the job started before the graduate qualified (%(qualified)s)"),
                qualified=IsoDay.of(qualified_on),
            )
        )
    reasons += job_location_shortfalls(job, terms, search_country)
    return reasons


def job_qualifies(
    job: JobFacts,
    terms: PolicyTerms,
    deadline: date,
    qualified_on: date | None = None,
    search_country: str | None = None,
) -> bool:
    """Whether ``job`` is a qualifying job under ``terms`` for a window closing on ``deadline``
    (and, with ``qualified_on``, for a graduate who qualified that day; with
    ``search_country``, for one who searched there)."""
    return not job_shortfalls(job, terms, deadline, qualified_on, search_country)


class GuaranteeState(StrEnum):
    """Where a graduate stands with the guarantee on a given day."""

    NOT_COVERED = "not_covered"
    IN_WINDOW = "in_window"
    PLACED = "placed"
    OWED_REFUND = "owed_refund"
    PAST_CLAIM_DEADLINE = "past_claim_deadline"
    #: A documented excluded outcome (further study, military service, incarceration, death)
    #: took the graduate out of the guarantee.
    EXCLUDED = "excluded"


@dataclass(frozen=True)
class GuaranteeStatus:
    """A graduate's standing on ``as_of``."""

    state: GuaranteeState
    as_of: date
    deadline: date
    claim_deadline: date
    #: Days until the window closes (0 on the deadline itself); ``None`` once it has closed.
    days_left: int | None
    #: Index, in the jobs given, of the first qualifying one; ``None`` when none qualifies.
    qualifying_job: int | None = None
    #: Why the graduate is not covered by the terms they enrolled under (a prerequisite, the
    #: time limit, the search country, work authorisation); empty when they are.
    not_covered_reasons: tuple[str, ...] = ()


def guarantee_status(
    *,
    opted_in: bool,
    qualified_on: date,
    terms: PolicyTerms,
    jobs: Iterable[JobFacts],
    as_of: date,
    paused_days: int = 0,
    excluded: bool = False,
    eligibility: EligibilityFacts | None = None,
) -> GuaranteeStatus:
    """A graduate's guarantee status on ``as_of``.

    Not covered without the opt-in, nor when ``eligibility`` falls short of the policy's
    conditions (``eligibility_shortfalls``: the reasons are kept on the status, never a silent
    exclusion; without ``eligibility``, the prerequisites count as verified and nothing else
    is recorded); excluded, whatever else holds, once a documented excluded
    outcome took them out of the guarantee; placed as soon as one job qualifies (an accepted
    offer starting inside the window counts before its start date); otherwise in the window
    until the deadline (extended by ``paused_days``, already capped by the policy's limit),
    owed a refund after it, and past the claim deadline once that has gone by too.
    """
    deadline = guarantee_deadline(
        qualified_on, terms.window_months, terms.window_starts, paused_days
    )
    last_claim_day = claim_deadline(deadline, terms.claim_deadline_days)
    days_left = (deadline - as_of).days if as_of <= deadline else None
    eligibility = eligibility or EligibilityFacts(
        verified_prerequisites=frozenset(terms.prerequisites)
    )
    not_covered = tuple(eligibility_shortfalls(eligibility, terms, qualified_on))
    qualifying = next(
        (
            index
            for index, job in enumerate(jobs)
            if job_qualifies(job, terms, deadline, qualified_on, eligibility.search_country)
        ),
        None,
    )
    if not opted_in or not_covered:
        state = GuaranteeState.NOT_COVERED
    elif excluded:
        state = GuaranteeState.EXCLUDED
    elif qualifying is not None:
        state = GuaranteeState.PLACED
    elif as_of <= deadline:
        state = GuaranteeState.IN_WINDOW
    elif as_of <= last_claim_day:
        state = GuaranteeState.OWED_REFUND
    else:
        state = GuaranteeState.PAST_CLAIM_DEADLINE
    return GuaranteeStatus(
        state, as_of, deadline, last_claim_day, days_left, qualifying, not_covered
    )
