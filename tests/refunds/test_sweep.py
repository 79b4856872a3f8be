"""The sweep: its SQL agrees with the pure rule, it flags each owed graduate once, and two
sweeps racing on PostgreSQL still write one claim per enrollment."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.guarantee.rules import (
    GuaranteeState,
    claim_deadline,
    guarantee_deadline,
    guarantee_status,
    paused_days,
    window_start,
)
from app.guarantee.terms import (
    DEFAULT_QUALIFYING_TYPES,
    OPEN_ENDED_TYPES,
    EligibilityFacts,
    EmploymentType,
    ExclusionReason,
    JobFacts,
    OutcomeStatus,
    PauseReason,
    PolicyTerms,
    WindowStart,
    WorkAuthorisation,
)
from app.models import (
    Base,
    Graduation,
    PolicyPrerequisite,
    PolicyQualifyingType,
    PolicySearchArea,
    PrerequisiteVerification,
)
from refunds.amounts import refundable_amount
from refunds.models import ClaimTransition, RefundClaim
from refunds.states import ClaimState
from refunds.sweep import SweepResult, owed_without_claim, sweep
from tests import factories
from tests.factories import (
    ClaimTransitionFactory,
    EmployerFactory,
    EnrollmentFactory,
    ExcludedOutcomeFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    JobOutcomeFactory,
    PrerequisiteVerificationFactory,
    ProgrammeFactory,
    RefundClaimFactory,
    SearchPauseFactory,
    TuitionPaymentFactory,
)

#: The states in which the rule says a refund is (or was) owed; the sweep flags both, so that a
#: run that comes late loses nobody.
OWED_STATES = frozenset({GuaranteeState.OWED_REFUND, GuaranteeState.PAST_CLAIM_DEADLINE})

CURRENCIES = ("EUR", "GBP", "USD")

#: Every 28th, 29th, 30th and 31st from 2023 to 2028: month ends, 29 Feb of two leap years,
#: 31 Jan and 31 Aug (whose six-month windows end in February).
MONTH_END_DATES = tuple(
    date(year, month, 1) + timedelta(days=day - 1)
    for year in range(2023, 2029)
    for month in range(1, 13)
    for day in (28, 29, 30, 31)
    if (date(year, month, 1) + timedelta(days=day - 1)).month == month
)


# --- The property: the SQL and the rule find the same graduates owed --------------------------


@dataclass(frozen=True)
class GraduateSpec:
    """One graduate as plain values: what is written to the database and given to the rule."""

    terms: PolicyTerms
    opted_in: bool
    qualified_on: date
    payments: tuple[int, ...]
    scholarship: int
    jobs: tuple[JobFacts, ...]
    has_claim: bool
    #: Pauses of the search, (first day, last day), never overlapping.
    pauses: tuple[tuple[date, date], ...] = ()
    #: Whether a documented excluded outcome took the graduate out of the guarantee.
    excluded: bool = False
    #: What the enrollment records of the policy's eligibility terms.
    eligibility: EligibilityFacts = EligibilityFacts()

    @property
    def paused_days(self) -> int:
        return paused_days(self.pauses, self.terms.max_pause_days)

    @property
    def deadline_without_pauses(self) -> date:
        return guarantee_deadline(
            self.qualified_on, self.terms.window_months, self.terms.window_starts
        )

    @property
    def deadline(self) -> date:
        return guarantee_deadline(
            self.qualified_on,
            self.terms.window_months,
            self.terms.window_starts,
            self.paused_days,
        )


#: Policy versions around the edges: every window start, windows of 1 to 36 months, with and
#: without a pay floor (at least 2, so one unit under it is still a salary), a refund cap,
#: scholarships deducted or not, a claim period of none to 60 days, pauses not allowed (0) or
#: allowed up to a day, a month, three or six months, or anything up to 400 days.
POLICY_TERMS = st.builds(
    PolicyTerms,
    window_months=st.integers(min_value=1, max_value=36),
    window_starts=st.sampled_from(WindowStart),
    qualifying_types=(
        st.just(DEFAULT_QUALIFYING_TYPES) | st.frozensets(st.sampled_from(EmploymentType))
    ),
    min_contract_months=st.sampled_from((0, 1, 6, 12)),
    requires_in_field=st.booleans(),
    min_annual_salary_minor=st.none() | st.integers(min_value=2, max_value=10**8),
    currency=st.sampled_from(CURRENCIES),
    claim_deadline_days=st.sampled_from((0, 1, 30, 60)),
    refund_cap_minor=st.none() | st.integers(min_value=1, max_value=2 * 10**7),
    deduct_scholarships=st.booleans(),
    max_pause_days=st.sampled_from((0, 0, 1, 30, 90, 183))
    | st.integers(min_value=0, max_value=400),
    prerequisites=st.sampled_from(((), (), ("Bachelor's degree, mathematics",), ("A", "B"))),
    qualify_within_months=st.none() | st.sampled_from((1, 12, 13)),
    search_areas=st.sampled_from(
        (frozenset(), frozenset(), frozenset({"US", "GB", "CA", "FR"}), frozenset({"EU", "US"}))
    ),
    requires_work_authorisation=st.booleans(),
    remote_abroad_counts=st.booleans(),
)

#: Countries inside and outside the areas above: in the seed's four and the EU (FR), in the
#: seed's four only (US), in the EU only (DE), in none (CH).
COUNTRIES = ("FR", "US", "DE", "CH")


@st.composite
def eligibilities(draw, terms: PolicyTerms, qualified_on: date) -> EligibilityFacts:
    """What an enrollment records: every prerequisite verified or one missing; a start of
    studies unrecorded, or with the time limit met on its last day, or missed by a day; a
    search country in or out of the policy's areas; any work authorisation."""
    verified = set(terms.prerequisites)
    if verified and draw(st.booleans()):
        verified.discard(draw(st.sampled_from(sorted(verified))))
    started = None
    if terms.qualify_within_months is not None and draw(st.booleans()):
        last_start = qualified_on - relativedelta(months=terms.qualify_within_months)
        started = draw(st.sampled_from((last_start, last_start - timedelta(days=1))))
    return EligibilityFacts(
        verified_prerequisites=frozenset(verified),
        studies_started_on=started,
        search_country=draw(st.sampled_from(COUNTRIES)),
        work_authorisation=draw(st.sampled_from(WorkAuthorisation)),
    )


@st.composite
def located_jobs(draw, terms: PolicyTerms, deadline: date) -> JobFacts:
    """A reported job (``reported_jobs``) done in the search country or another, remote for
    an employer in another country or not."""
    job = draw(reported_jobs(terms, deadline))
    return replace(
        job,
        country=draw(st.none() | st.sampled_from(COUNTRIES)),
        remote_employer_country=draw(st.none() | st.sampled_from(COUNTRIES)),
    )


QUALIFICATION_DATES = st.sampled_from(MONTH_END_DATES) | st.dates(
    min_value=date(2019, 1, 1), max_value=date(2030, 12, 31)
)

#: Up to three instalments.
PAYMENTS = st.lists(st.integers(min_value=1, max_value=10**7), max_size=3).map(tuple)


#: Each way a job can fall short of a policy, by the least margin.
SHORTFALLS = (
    "disputed",
    "type not accepted",
    "out of field",
    "contract a month short",
    "contract length unknown",
    "salary unknown",
    "salary in another currency",
    "salary a unit under the floor",
    "starts the day after the deadline",
)


@st.composite
def reported_jobs(draw, terms: PolicyTerms, deadline: date) -> JobFacts:
    """A job that meets ``terms`` on every point but one or two shortfalls, each missed by the
    least (a month, a unit, a day), and met by the least otherwise (a contract of exactly the
    minimum, a salary of exactly the floor, a start on the deadline itself). Mostly one
    shortfall; one job in four has none, one in four two.
    """
    accepted = tuple(sorted(terms.qualifying_types))
    refused = tuple(sorted(set(EmploymentType) - terms.qualifying_types))
    employment_type = draw(st.sampled_from(accepted or tuple(EmploymentType)))
    # Only the shortfalls these terms and this type can have, so that each one drawn counts.
    possible = {"disputed", "starts the day after the deadline"}
    if refused:
        possible.add("type not accepted")
    if terms.requires_in_field:
        possible.add("out of field")
    if employment_type not in OPEN_ENDED_TYPES:
        possible.add("contract length unknown")
        if terms.min_contract_months > 1:
            possible.add("contract a month short")
    if terms.min_annual_salary_minor is not None:
        possible |= {
            "salary unknown",
            "salary in another currency",
            "salary a unit under the floor",
        }
    shortfalls = st.sampled_from(tuple(name for name in SHORTFALLS if name in possible))
    how_many = draw(st.sampled_from((1, 1, 0, 2)))
    misses = {draw(shortfalls) for _ in range(how_many)}
    if "type not accepted" in misses:
        employment_type = draw(st.sampled_from(refused))

    minimum = terms.min_contract_months
    if "contract length unknown" in misses:
        contract_months = None
    elif "contract a month short" in misses:
        contract_months = minimum - 1
    else:
        lengths = tuple(m for m in (minimum, minimum + 1) if m > 0)
        if employment_type in OPEN_ENDED_TYPES:
            lengths += (None,)  # an open-ended job needs no contract length
        contract_months = draw(st.sampled_from(lengths))

    floor = terms.min_annual_salary_minor
    other_currency = draw(st.sampled_from(tuple(c for c in CURRENCIES if c != terms.currency)))
    if "salary unknown" in misses:
        salary, salary_currency = None, None
    elif "salary in another currency" in misses:
        salary, salary_currency = floor, other_currency
    elif "salary a unit under the floor" in misses:
        salary, salary_currency = floor - 1, terms.currency
    elif floor is None:  # without a pay floor, any salary (or none) will do
        salary, salary_currency = draw(
            st.sampled_from(((None, None), (1, terms.currency), (3_000_000, other_currency)))
        )
    else:
        salary, salary_currency = floor + draw(st.sampled_from((0, 1))), terms.currency

    if "starts the day after the deadline" in misses:
        start_offset = 1
    else:
        start_offset = -draw(st.sampled_from((0, 1)) | st.integers(min_value=2, max_value=400))

    return JobFacts(
        employment_type=employment_type,
        in_field="out of field" not in misses,
        start_date=deadline + timedelta(days=start_offset),
        status=(
            OutcomeStatus.DISPUTED
            if "disputed" in misses
            else draw(st.sampled_from((OutcomeStatus.REPORTED, OutcomeStatus.CONFIRMED)))
        ),
        contract_months=contract_months,
        annual_salary_minor=salary,
        salary_currency=salary_currency,
    )


#: Pause lengths around the edges: a day, two, every month's length, and anything up to 400.
PAUSE_LENGTHS = st.sampled_from((1, 2, 28, 29, 30, 31)) | st.integers(min_value=1, max_value=400)


@st.composite
def pauses_of(draw, terms: PolicyTerms, qualified_on: date) -> tuple[tuple[date, date], ...]:
    """None to three pauses that never overlap, starting inside the window or at a month end
    (so that they cross the end of February), of any length; often their total is the
    policy's limit, a day under it or a day beyond it, and sometimes far beyond it."""
    count = draw(st.sampled_from((0, 0, 1, 1, 2, 3)))
    if not count:
        return ()
    opens = window_start(qualified_on, terms.window_starts)
    first = draw(
        st.integers(min_value=0, max_value=31 * terms.window_months).map(
            lambda offset: opens + timedelta(days=offset)
        )
        | st.sampled_from(tuple(day for day in MONTH_END_DATES if day >= opens) or (opens,))
    )
    lengths = [draw(PAUSE_LENGTHS) for _ in range(count)]
    limit = terms.max_pause_days
    near_limit = draw(st.sampled_from((None, -1, 0, 1)))
    if near_limit is not None and limit > 0:
        # The last pause takes the total to the limit plus -1, 0 or 1 day (when it can).
        rest = limit + near_limit - sum(lengths[:-1])
        if rest >= 1:
            lengths[-1] = rest
    pauses = []
    starts_on = first
    for length in lengths:
        ends_on = starts_on + timedelta(days=length - 1)
        pauses.append((starts_on, ends_on))
        starts_on = ends_on + timedelta(days=draw(st.sampled_from((1, 2, 30))))
    return tuple(pauses)


@st.composite
def graduates(draw) -> GraduateSpec:
    terms = draw(POLICY_TERMS)
    qualified_on = draw(QUALIFICATION_DATES)
    pauses = draw(pauses_of(terms, qualified_on))
    deadline = guarantee_deadline(
        qualified_on,
        terms.window_months,
        terms.window_starts,
        paused_days(pauses, terms.max_pause_days),
    )
    payments = draw(PAYMENTS)
    paid = sum(payments)
    scholarship = draw(
        st.sampled_from((0, paid, paid + 1)) | st.integers(min_value=1, max_value=2 * 10**7)
    )
    job_count = draw(st.sampled_from((0, 1, 1, 2, 3)))
    return GraduateSpec(
        terms=terms,
        opted_in=draw(st.sampled_from((True,) * 5 + (False,))),
        qualified_on=qualified_on,
        payments=payments,
        scholarship=scholarship,
        jobs=tuple(draw(located_jobs(terms, deadline)) for _ in range(job_count)),
        has_claim=draw(st.sampled_from((False,) * 7 + (True,))),
        pauses=pauses,
        excluded=draw(st.sampled_from((False,) * 5 + (True,))),
        eligibility=draw(eligibilities(terms, qualified_on)),
    )


@st.composite
def populations(draw) -> tuple[list[GraduateSpec], list[date]]:
    """Some graduates, and days to sweep on: a day or two either side of their deadlines and
    claim deadlines, years later, and always the day after the last window closed, on which
    every graduate is past the deadline."""
    population = draw(st.lists(graduates(), min_size=2, max_size=6))
    near_edges = tuple(
        sorted(
            {
                day + timedelta(days=offset)
                for spec in population
                for day, offsets in (
                    (spec.deadline, (-1, 0, 1, 2)),
                    (spec.deadline_without_pauses, (0, 1)),
                    (claim_deadline(spec.deadline, spec.terms.claim_deadline_days), (-1, 0, 1)),
                    (spec.deadline + timedelta(days=3 * 365), (0,)),
                )
                for offset in offsets
            }
        )
    )
    everyone_closed = max(spec.deadline for spec in population) + timedelta(days=1)
    sweep_days = {everyone_closed, *draw(st.lists(st.sampled_from(near_edges), max_size=2))}
    return population, sorted(sweep_days)


def _build(spec: GraduateSpec, employer) -> tuple[Graduation, list]:
    """Build ``spec``'s records with the factories, unsaved (the example flushes them all at
    once); returns its graduation and every record to add to the session."""
    terms = spec.terms
    policy = GuaranteePolicyFactory.build(
        programme=ProgrammeFactory.build(currency=terms.currency),
        window_months=terms.window_months,
        window_starts=terms.window_starts,
        qualifying_types=[
            PolicyQualifyingType(employment_type=kind) for kind in sorted(terms.qualifying_types)
        ],
        min_contract_months=terms.min_contract_months,
        requires_in_field=terms.requires_in_field,
        min_annual_salary_minor=terms.min_annual_salary_minor,
        claim_deadline_days=terms.claim_deadline_days,
        refund_cap_minor=terms.refund_cap_minor,
        deduct_scholarships=terms.deduct_scholarships,
        max_pause_days=terms.max_pause_days,
        prerequisites=[
            PolicyPrerequisite(label=label, position=position)
            for position, label in enumerate(terms.prerequisites)
        ],
        qualify_within_months=terms.qualify_within_months,
        search_areas=[PolicySearchArea(code=code) for code in sorted(terms.search_areas)],
        requires_work_authorisation=terms.requires_work_authorisation,
        remote_abroad_counts=terms.remote_abroad_counts,
    )
    eligibility = spec.eligibility
    enrollment = EnrollmentFactory.build(
        policy=policy,
        guarantee_opt_in=spec.opted_in,
        scholarship_minor=spec.scholarship,
        studies_started_on=eligibility.studies_started_on,
        search_country=eligibility.search_country,
        work_authorisation=eligibility.work_authorisation,
    )
    verifications = [
        PrerequisiteVerification(
            enrollment=enrollment,
            prerequisite=prerequisite,
            verified_by="registrar:test",
            verified_at=datetime(2024, 1, 16, tzinfo=UTC),
        )
        for prerequisite in policy.prerequisites
        if prerequisite.label in eligibility.verified_prerequisites
    ]
    payments = [
        TuitionPaymentFactory.build(enrollment=enrollment, amount_minor=amount)
        for amount in spec.payments
    ]
    graduation = GraduationFactory.build(enrollment=enrollment, qualified_on=spec.qualified_on)
    jobs = [
        JobOutcomeFactory.build(
            graduation=graduation,
            employer=employer,
            employment_type=job.employment_type,
            in_field=job.in_field,
            start_date=job.start_date,
            status=job.status,
            contract_months=job.contract_months,
            annual_salary_minor=job.annual_salary_minor,
            salary_currency=job.salary_currency,
            country=job.country,
            remote_employer_country=job.remote_employer_country,
        )
        for job in spec.jobs
    ]
    claims = (
        [RefundClaimFactory.build(graduation=graduation, state=ClaimState.WITHDRAWN)]
        if spec.has_claim
        else []
    )
    pauses = [
        SearchPauseFactory.build(
            graduation=graduation, starts_on=starts_on, ends_on=ends_on, reason=PauseReason.OTHER
        )
        for starts_on, ends_on in spec.pauses
    ]
    exclusions = (
        [ExcludedOutcomeFactory.build(graduation=graduation, reason=ExclusionReason.DEATH)]
        if spec.excluded
        else []
    )
    return graduation, [
        graduation,
        *payments,
        *verifications,
        *jobs,
        *claims,
        *pauses,
        *exclusions,
    ]


def _owed_by_the_rule(spec: GraduateSpec, as_of: date) -> tuple[date, int, str] | None:
    """(deadline, amount, currency) when the rule says ``spec`` is owed on ``as_of``."""
    status = guarantee_status(
        opted_in=spec.opted_in,
        qualified_on=spec.qualified_on,
        terms=spec.terms,
        jobs=spec.jobs,
        as_of=as_of,
        paused_days=spec.paused_days,
        excluded=spec.excluded,
        eligibility=spec.eligibility,
    )
    if status.state not in OWED_STATES:
        return None
    amount = refundable_amount(
        spec.payments,
        scholarship=spec.scholarship,
        cap=spec.terms.refund_cap_minor,
        deduct_scholarships=spec.terms.deduct_scholarships,
    )
    return status.deadline, amount, spec.terms.currency


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(population=populations())
def test_owed_without_claim_selects_exactly_the_graduates_the_rule_finds_owed(session, population):
    specs, sweep_days = population
    # The session fixture lives for the whole test: each example works in a savepoint of its
    # own, rolled back at the end, so examples never see each other's rows.
    savepoint = session.begin_nested()
    try:
        employer = EmployerFactory.build()
        graduations = []
        for spec in specs:
            graduation, records = _build(spec, employer)
            graduations.append(graduation)
            session.add_all(records)
        session.flush()
        for as_of in sweep_days:
            expected = {}
            for spec, graduation in zip(specs, graduations, strict=True):
                owed = _owed_by_the_rule(spec, as_of)
                if owed is not None and not spec.has_claim:
                    expected[graduation.id] = owed
            selected = {
                row.graduation_id: (row.deadline, row.amount_minor, row.currency)
                for row in session.execute(owed_without_claim(as_of))
            }
            assert selected == expected, f"as of {as_of}"
    finally:
        savepoint.rollback()


# --- The sweep itself ---------------------------------------------------------------------------

#: The factories' default policy: a six-month window from qualification, 60 days to claim.
QUALIFIED_ON = date(2025, 8, 31)
DEADLINE = date(2026, 2, 28)
AS_OF = date(2026, 3, 2)


def _graduate(
    *,
    qualified_on: date = QUALIFIED_ON,
    opted_in: bool = True,
    payments: tuple[int, ...] = (300_000, 300_000),
    scholarship_minor: int = 0,
    **enrollment_fields,
) -> Graduation:
    enrollment = EnrollmentFactory(
        guarantee_opt_in=opted_in, scholarship_minor=scholarship_minor, **enrollment_fields
    )
    for amount in payments:
        TuitionPaymentFactory(enrollment=enrollment, amount_minor=amount)
    return GraduationFactory(enrollment=enrollment, qualified_on=qualified_on)


def _placed_graduate(**fields) -> Graduation:
    """A graduate with a confirmed permanent job in field starting on the deadline."""
    graduation = _graduate(**fields)
    JobOutcomeFactory(graduation=graduation, start_date=DEADLINE, status=OutcomeStatus.CONFIRMED)
    return graduation


def _claims(session: Session) -> list[RefundClaim]:
    return list(session.scalars(select(RefundClaim).order_by(RefundClaim.id)))


def _transitions(session: Session) -> list[ClaimTransition]:
    return list(session.scalars(select(ClaimTransition).order_by(ClaimTransition.id)))


def _seed_policy(**fields):
    """The seed programme's eligibility terms: a degree, 12 months to qualify, the four
    countries, work authorisation required (remote jobs abroad count unless ``fields`` say)."""
    return GuaranteePolicyFactory(
        **{
            "prerequisites": [
                PolicyPrerequisite(label="Bachelor's degree, mathematics", position=0)
            ],
            "qualify_within_months": 12,
            "search_areas": [PolicySearchArea(code=code) for code in ("CA", "FR", "GB", "US")],
            "requires_work_authorisation": True,
            **fields,
        }
    )


def _eligible_graduate(policy, *, verified: bool = True, **enrollment_fields) -> Graduation:
    """A graduate of ``policy`` who started studies on 31 Aug 2024 (so qualified, on 31 Aug
    2025, on the time limit's last day), searching in France, authorised to work there."""
    fields = {
        "studies_started_on": date(2024, 8, 31),
        "search_country": "FR",
        "work_authorisation": WorkAuthorisation.YES,
        **enrollment_fields,
    }
    graduation = _graduate(policy=policy, **fields)
    if verified:
        for prerequisite in policy.prerequisites:
            PrerequisiteVerificationFactory(
                enrollment=graduation.enrollment, prerequisite=prerequisite
            )
    return graduation


def test_sweep_and_expected_liability_leave_out_each_graduate_who_is_not_covered(session):
    from app.services.expected_liability import search_records

    policy = _seed_policy()
    covered = _eligible_graduate(policy)
    remote_abroad = _eligible_graduate(policy)
    JobOutcomeFactory(graduation=remote_abroad, start_date=DEADLINE, remote_employer_country="CH")
    _eligible_graduate(policy, verified=False)
    _eligible_graduate(policy, studies_started_on=date(2024, 8, 30))  # a day late
    _eligible_graduate(policy, search_country="DE")
    _eligible_graduate(policy, work_authorisation=WorkAuthorisation.NO)
    abroad = _eligible_graduate(policy)
    JobOutcomeFactory(graduation=abroad, start_date=DEADLINE, country="DE")
    strict = _seed_policy(remote_abroad_counts=False)
    remote_not_counted = _eligible_graduate(strict)
    JobOutcomeFactory(
        graduation=remote_not_counted, start_date=DEADLINE, remote_employer_country="CH"
    )
    session.flush()

    sweep(session, AS_OF)
    assert {claim.graduation_id for claim in _claims(session)} == {
        covered.id,
        abroad.id,
        remote_not_counted.id,
    }
    assert {record.key for record in search_records(session)} == {
        covered.id,
        remote_abroad.id,
        abroad.id,
        remote_not_counted.id,
    }


def test_a_job_counts_only_in_the_areas_of_the_graduates_own_policy(session):
    """Each window reads its own policy's areas: a job in Germany does not place a graduate
    whose policy covers France because another programme's policy covers Germany."""
    from app.services.expected_liability import search_records

    in_france = _eligible_graduate(
        _seed_policy(search_areas=[PolicySearchArea(code="FR")]), search_country="FR"
    )
    JobOutcomeFactory(graduation=in_france, start_date=DEADLINE, country="DE")
    in_germany = _eligible_graduate(
        _seed_policy(search_areas=[PolicySearchArea(code="DE")]), search_country="DE"
    )
    JobOutcomeFactory(graduation=in_germany, start_date=DEADLINE, country="DE")
    session.flush()

    sweep(session, AS_OF)

    assert {claim.graduation_id for claim in _claims(session)} == {in_france.id}
    placed = {record.key: record.job_on for record in search_records(session)}
    assert placed == {in_france.id: None, in_germany.id: DEADLINE}


def test_sweep_flags_each_owed_graduate_with_one_claim_and_one_audit_row(session):
    owed_in_full = _graduate()
    owed_capped = _graduate(
        qualified_on=date(2025, 7, 15),
        payments=(450_000,),
        scholarship_minor=50_000,
        policy=GuaranteePolicyFactory(
            programme=ProgrammeFactory(currency="GBP"), refund_cap_minor=300_000
        ),
    )
    _graduate(qualified_on=date(2025, 9, 30))  # still in the window (closes 30 March)
    _placed_graduate()
    _graduate(opted_in=False)

    result = sweep(session, AS_OF)

    assert result == SweepResult(AS_OF, owed=2, flagged=2, dry_run=False)
    claims = _claims(session)
    assert [
        (
            claim.graduation_id,
            claim.enrollment_id,
            claim.state,
            claim.amount_minor,
            claim.currency,
            claim.deadline,
            claim.flagged_on,
            claim.version,
        )
        for claim in sorted(claims, key=lambda claim: claim.graduation_id)
    ] == [
        (
            owed_in_full.id,
            owed_in_full.enrollment_id,
            ClaimState.FLAGGED,
            600_000,
            "EUR",
            DEADLINE,
            AS_OF,
            1,
        ),
        (
            owed_capped.id,
            owed_capped.enrollment_id,
            ClaimState.FLAGGED,
            300_000,
            "GBP",
            date(2026, 1, 15),
            AS_OF,
            1,
        ),
    ]
    transitions = _transitions(session)
    assert sorted(t.claim_id for t in transitions) == sorted(claim.id for claim in claims)
    assert {(t.from_state, t.to_state, t.actor) for t in transitions} == {
        (None, ClaimState.FLAGGED, "system:sweep")
    }


def test_sweep_waits_until_the_day_after_the_deadline(session):
    graduation = _graduate()

    assert sweep(session, DEADLINE) == SweepResult(DEADLINE, owed=0, flagged=0, dry_run=False)
    assert _claims(session) == []

    day_after = DEADLINE + timedelta(days=1)
    assert sweep(session, day_after) == SweepResult(day_after, owed=1, flagged=1, dry_run=False)
    assert [claim.graduation_id for claim in _claims(session)] == [graduation.id]


def test_sweep_run_twice_creates_nothing_the_second_time(session):
    _graduate()
    _graduate(qualified_on=date(2025, 6, 30))
    first = sweep(session, AS_OF)
    claims_before = [(claim.id, claim.version) for claim in _claims(session)]
    transitions_before = [transition.id for transition in _transitions(session)]

    again = sweep(session, AS_OF)
    later = sweep(session, AS_OF + timedelta(days=30))

    assert first == SweepResult(AS_OF, owed=2, flagged=2, dry_run=False)
    assert again == SweepResult(AS_OF, owed=0, flagged=0, dry_run=False)
    assert later.owed == later.flagged == 0
    assert [(claim.id, claim.version) for claim in _claims(session)] == claims_before
    assert [transition.id for transition in _transitions(session)] == transitions_before


def test_sweep_dry_run_counts_the_owed_and_writes_nothing(session):
    _graduate()
    _graduate(qualified_on=date(2025, 6, 30))

    result = sweep(session, AS_OF, dry_run=True)

    assert result == SweepResult(AS_OF, owed=2, flagged=0, dry_run=True)
    assert _claims(session) == []
    assert _transitions(session) == []
    assert sweep(session, AS_OF).flagged == 2


def test_sweep_after_missed_runs_flags_everyone_owed_since_including_past_the_claim_deadline(
    session,
):
    # Windows that closed long before the run, the first so long ago that its claim deadline
    # has gone by too; 31 Aug + 6 months clips to 28 February.
    long_ago = _graduate(qualified_on=date(2024, 1, 31))
    last_year = _graduate(qualified_on=date(2024, 8, 31))
    recent = _graduate()
    as_of = date(2027, 1, 4)

    result = sweep(session, as_of)

    assert result == SweepResult(as_of, owed=3, flagged=3, dry_run=False)
    assert {
        (claim.graduation_id, claim.deadline, claim.flagged_on) for claim in _claims(session)
    } == {
        (long_ago.id, date(2024, 7, 31), as_of),
        (last_year.id, date(2025, 2, 28), as_of),
        (recent.id, DEADLINE, as_of),
    }
    assert len(_transitions(session)) == 3


@pytest.mark.parametrize(
    "state",
    [
        ClaimState.FLAGGED,
        ClaimState.IN_REVIEW,
        ClaimState.APPROVED,
        ClaimState.REJECTED,
        ClaimState.WITHDRAWN,
    ],
)
def test_sweep_leaves_alone_a_graduate_who_already_has_a_claim(session, state):
    # Rejected or withdrawn while the rule said "owed" (judgment, not facts): left alone.
    already_claimed = _graduate()
    claim = RefundClaimFactory(
        graduation=already_claimed, state=state, flagged_on=AS_OF, closed_while_owed=True
    )
    ClaimTransitionFactory(claim=claim)
    if state is not ClaimState.FLAGGED:
        ClaimTransitionFactory(
            claim=claim, from_state=ClaimState.FLAGGED, to_state=state, actor="finance:7"
        )
    newly_owed = _graduate()

    result = sweep(session, AS_OF + timedelta(days=400))

    assert result.owed == result.flagged == 1
    claims = _claims(session)
    assert [c.graduation_id for c in claims] == [already_claimed.id, newly_owed.id]
    session.refresh(claims[0])
    assert (claims[0].state, claims[0].version) == (state, 1)
    history = [(t.claim_id, t.from_state, t.to_state) for t in _transitions(session)]
    expected_history = [(claim.id, None, ClaimState.FLAGGED)]
    if state is not ClaimState.FLAGGED:
        expected_history.append((claim.id, ClaimState.FLAGGED, state))
    expected_history.append((claims[1].id, None, ClaimState.FLAGGED))
    assert history == expected_history


@pytest.mark.parametrize("state", [ClaimState.WITHDRAWN, ClaimState.REJECTED])
def test_sweep_reopens_a_claim_closed_on_facts_that_no_longer_hold(session, state):
    # Withdrawn (or rejected) because a job turned up; the employer then denied it: the
    # graduate is owed again, and the closed claim must not hide them.
    graduate = _graduate()
    claim = RefundClaimFactory(
        graduation=graduate, state=state, flagged_on=AS_OF, closed_while_owed=False
    )
    ClaimTransitionFactory(claim=claim)
    ClaimTransitionFactory(claim=claim, from_state=ClaimState.FLAGGED, to_state=state)
    factories.JobOutcomeFactory(
        graduation=graduate,
        start_date=graduate.qualified_on + timedelta(days=20),
        status=OutcomeStatus.DISPUTED,
    )

    result = sweep(session, AS_OF + timedelta(days=1))

    assert (result.reopened, result.flagged) == (1, 0)
    session.refresh(claim)
    assert claim.state is ClaimState.IN_REVIEW
    assert claim.approval_round == 2
    assert sweep(session, AS_OF + timedelta(days=2)).reopened == 0  # open now: nothing to do


def test_sweep_never_flags_graduates_not_opted_in_or_placed(session):
    _graduate(opted_in=False)
    _graduate(opted_in=False, payments=(600_000,), qualified_on=date(2023, 8, 31))
    _placed_graduate()
    offer = _graduate()  # an accepted offer starting on the deadline counts already
    JobOutcomeFactory(
        graduation=offer,
        employment_type=EmploymentType.FIXED_TERM_CONTRACT,
        contract_months=6,
        start_date=DEADLINE,
    )

    for as_of in (AS_OF, date(2030, 1, 1)):
        assert sweep(session, as_of) == SweepResult(as_of, owed=0, flagged=0, dry_run=False)
    assert _claims(session) == []
    assert _transitions(session) == []


def test_sweep_waits_for_the_paused_days_up_to_the_policy_limit(session):
    # 28 Feb deadline; 20 days of pauses but the policy counts 14: the window closes 14 March.
    graduation = _graduate(policy=GuaranteePolicyFactory(max_pause_days=14))
    SearchPauseFactory(
        graduation=graduation, starts_on=date(2025, 10, 1), ends_on=date(2025, 10, 10)
    )
    SearchPauseFactory(graduation=graduation, starts_on=date(2026, 2, 27), ends_on=date(2026, 3, 8))
    extended = date(2026, 3, 14)

    assert sweep(session, extended).owed == 0
    assert sweep(session, extended + timedelta(days=1)).flagged == 1
    assert [(claim.graduation_id, claim.deadline) for claim in _claims(session)] == [
        (graduation.id, extended)
    ]


def test_sweep_ignores_pauses_under_a_policy_that_allows_none(session):
    graduation = _graduate()  # the factories' policy: max_pause_days 0
    SearchPauseFactory(graduation=graduation)

    assert sweep(session, DEADLINE + timedelta(days=1)).flagged == 1
    assert [claim.deadline for claim in _claims(session)] == [DEADLINE]


def test_sweep_never_flags_an_excluded_graduate(session):
    excluded = _graduate()
    ExcludedOutcomeFactory(graduation=excluded, reason=ExclusionReason.MILITARY_SERVICE)
    owed = _graduate()

    assert sweep(session, date(2030, 1, 1)).flagged == 1
    assert [claim.graduation_id for claim in _claims(session)] == [owed.id]


# --- Two sweeps racing (PostgreSQL) -------------------------------------------------------------


@pytest.fixture
def committing_engine(engine):
    """The test engine, for a test whose rows are really committed; every table is emptied
    afterwards (TRUNCATE, with triggers off for the cleanup: the audit tables refuse it)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL row locking: two sweeps racing on one database")
    yield engine
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE TABLE {tables} CASCADE"))


def _commit_population(engine, owed_count: int) -> set[int]:
    """Commit ``owed_count`` owed graduates plus some who are not; the owed enrollments' ids."""
    with Session(engine) as session:
        factories.use_session(session)
        try:
            owed = {_graduate().enrollment_id for _ in range(owed_count)}
            _graduate(opted_in=False)
            _placed_graduate()
            _graduate(qualified_on=date(2025, 12, 31))  # still in its window
            session.commit()
        finally:
            factories.use_session(None)
    return owed


def _sweep_and_commit(engine, as_of: date, before=None, after=None) -> SweepResult:
    """One sweep in a session and transaction of its own, really committed."""
    with Session(engine) as session:
        if before is not None:
            before(session)
        result = sweep(session, as_of)
        if after is not None:
            after(session)
        session.commit()
    return result


def _backend_is_waiting_for_a_lock(engine, pid: int) -> bool:
    with engine.connect() as connection:
        return (
            connection.scalar(
                text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid},
            )
            == "Lock"
        )


def _assert_one_claim_and_one_audit_row_per_owed_enrollment(engine, owed: set[int]) -> None:
    with engine.connect() as connection:
        claims_per_enrollment = dict(
            connection.execute(
                select(RefundClaim.enrollment_id, func.count()).group_by(RefundClaim.enrollment_id)
            ).all()
        )
        rows_per_claim = dict(
            connection.execute(
                select(RefundClaim.id, func.count(ClaimTransition.id))
                .outerjoin(ClaimTransition, ClaimTransition.claim_id == RefundClaim.id)
                .group_by(RefundClaim.id)
            ).all()
        )
        transitions = connection.scalar(select(func.count()).select_from(ClaimTransition))
    assert claims_per_enrollment == dict.fromkeys(owed, 1)
    assert set(rows_per_claim.values()) == {1}
    assert transitions == len(owed)


@pytest.mark.postgres_only
def test_two_sweeps_started_together_write_one_claim_per_owed_enrollment(committing_engine):
    owed = _commit_population(committing_engine, owed_count=60)
    start = threading.Barrier(2, timeout=30)

    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [
            pool.submit(_sweep_and_commit, committing_engine, AS_OF, lambda _: start.wait())
            for _ in range(2)
        ]
        results = [run.result(timeout=60) for run in runs]

    assert sum(result.flagged for result in results) == len(owed)
    _assert_one_claim_and_one_audit_row_per_owed_enrollment(committing_engine, owed)


@pytest.mark.postgres_only
def test_a_sweep_racing_an_uncommitted_sweep_waits_for_it_and_then_flags_nothing(
    committing_engine,
):
    owed = _commit_population(committing_engine, owed_count=20)
    first_swept = threading.Event()
    second_pid: list[int] = []

    def note_pid_once_first_swept(session: Session) -> None:
        second_pid.append(session.scalar(text("SELECT pg_backend_pid()")))
        assert first_swept.wait(timeout=30)

    def hold_until_second_is_blocked(session: Session) -> None:
        # The first sweep's claims are written but not committed: the second sweep still
        # counts every graduate as owed, and its insert must wait on this transaction.
        first_swept.set()
        give_up = time.monotonic() + 30
        while not (second_pid and _backend_is_waiting_for_a_lock(committing_engine, *second_pid)):
            assert time.monotonic() < give_up, "the second sweep never waited for the first"
            time.sleep(0.02)

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(
            _sweep_and_commit, committing_engine, AS_OF, None, hold_until_second_is_blocked
        )
        second = pool.submit(_sweep_and_commit, committing_engine, AS_OF, note_pid_once_first_swept)
        first_result, second_result = first.result(timeout=60), second.result(timeout=60)

    assert first_result == SweepResult(AS_OF, owed=len(owed), flagged=len(owed), dry_run=False)
    assert second_result == SweepResult(AS_OF, owed=len(owed), flagged=0, dry_run=False)
    _assert_one_claim_and_one_audit_row_per_owed_enrollment(committing_engine, owed)
