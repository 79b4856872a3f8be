"""Table-driven tests of the eligibility terms: who a policy covers, and where a job counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from app.guarantee.rules import (
    GuaranteeState,
    area_countries,
    eligibility_shortfalls,
    guarantee_status,
    job_location_shortfalls,
    qualify_by,
)
from app.guarantee.terms import (
    EligibilityFacts,
    EmploymentType,
    JobFacts,
    PolicyTerms,
    WorkAuthorisation,
)

DEGREE = "Bachelor's degree, mathematics"

#: The seed programme's terms: a degree to verify, 12 months to qualify, the four countries,
#: work authorisation required.
SEED = PolicyTerms(
    prerequisites=(DEGREE,),
    qualify_within_months=12,
    search_areas=frozenset({"US", "GB", "CA", "FR"}),
    requires_work_authorisation=True,
)
STARTED = date(2024, 1, 31)
QUALIFIED = date(2025, 1, 31)  # the last day of the 12 months
MEETS = EligibilityFacts(
    verified_prerequisites=frozenset({DEGREE}),
    studies_started_on=STARTED,
    search_country="FR",
    work_authorisation=WorkAuthorisation.YES,
)


@pytest.mark.parametrize(
    ("terms", "facts", "qualified_on", "expected"),
    [
        pytest.param(SEED, MEETS, QUALIFIED, [], id="meets every term"),
        pytest.param(
            SEED,
            replace(MEETS, verified_prerequisites=frozenset()),
            QUALIFIED,
            ["the prerequisite \u201cBachelor's degree, mathematics\u201d was not verified"],
            id="prerequisite not verified",
        ),
        pytest.param(
            replace(SEED, prerequisites=(DEGREE, "Admission test passed")),
            MEETS,
            QUALIFIED,
            ["the prerequisite \u201cAdmission test passed\u201d was not verified"],
            id="one of two prerequisites not verified",
        ),
        pytest.param(
            SEED,
            MEETS,
            date(2025, 2, 1),
            ["qualified on 2025-02-01, after the time limit of 12 months"],
            id="qualified the day after the time limit",
        ),
        pytest.param(
            SEED,
            replace(MEETS, studies_started_on=date(2023, 12, 31)),
            date(2024, 12, 31),
            [],
            id="qualified on the last day of the time limit",
        ),
        pytest.param(
            SEED,
            replace(MEETS, studies_started_on=None),
            date(2030, 1, 1),
            [],
            id="start of studies not recorded: the time limit cannot be held against them",
        ),
        pytest.param(
            SEED,
            replace(MEETS, search_country="DE"),
            QUALIFIED,
            ["the search country (DE) is not one of the policy's (CA, FR, GB, US)"],
            id="search country outside the policy's",
        ),
        pytest.param(
            replace(SEED, search_areas=frozenset({"EU"})),
            replace(MEETS, search_country="DE"),
            QUALIFIED,
            [],
            id="search country in a region the policy names",
        ),
        pytest.param(
            SEED,
            replace(MEETS, work_authorisation=WorkAuthorisation.NO),
            QUALIFIED,
            ["not authorised to work in the search country (FR)"],
            id="no work authorisation",
        ),
        pytest.param(
            SEED,
            replace(MEETS, work_authorisation=WorkAuthorisation.UNKNOWN),
            QUALIFIED,
            [],
            id="work authorisation unknown: covered",
        ),
        pytest.param(
            replace(SEED, requires_work_authorisation=False),
            replace(MEETS, work_authorisation=WorkAuthorisation.NO),
            QUALIFIED,
            [],
            id="no work authorisation where the policy does not require it",
        ),
        pytest.param(
            PolicyTerms(),
            EligibilityFacts(search_country="CH", work_authorisation=WorkAuthorisation.NO),
            date(2030, 1, 1),
            [],
            id="a policy without eligibility terms covers everyone",
        ),
        pytest.param(
            SEED,
            EligibilityFacts(search_country="DE", work_authorisation=WorkAuthorisation.NO),
            date(2030, 1, 1),
            [
                "the prerequisite \u201cBachelor's degree, mathematics\u201d was not verified",
                "the search country (DE) is not one of the policy's",
                "not authorised to work in the search country (DE)",
            ],
            id="every reason is given",
        ),
    ],
)
def test_eligibility_shortfalls(terms, facts, qualified_on, expected):
    reasons = eligibility_shortfalls(facts, terms, qualified_on)
    assert len(reasons) == len(expected), reasons
    for reason, start in zip(reasons, expected, strict=True):
        assert reason.startswith(start), reasons


@pytest.mark.parametrize(
    ("started", "months", "expected"),
    [
        (date(2024, 1, 31), 12, date(2025, 1, 31)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),  # clips to the month's end
        (date(2024, 8, 31), 6, date(2025, 2, 28)),
    ],
)
def test_qualify_by_counts_calendar_months(started, months, expected):
    assert qualify_by(started, months) == expected


def test_a_region_covers_its_member_countries_only():
    eu = area_countries({"EU"})
    assert {"FR", "DE", "IE"} <= eu
    assert not {"GB", "CH", "US"} & eu
    assert area_countries({"EU", "US"}) == eu | {"US"}


JOB = JobFacts(EmploymentType.FULL_TIME_PERMANENT, in_field=True, start_date=date(2025, 3, 1))


@pytest.mark.parametrize(
    ("terms", "job", "search_country", "expected"),
    [
        pytest.param(SEED, JOB, "FR", [], id="no country recorded: the search country"),
        pytest.param(
            SEED, replace(JOB, country="US"), "FR", [], id="in another of the policy's countries"
        ),
        pytest.param(
            SEED,
            replace(JOB, country="DE"),
            "FR",
            ["the job is in DE, outside the policy's"],
            id="outside the policy's countries",
        ),
        pytest.param(
            PolicyTerms(), replace(JOB, country="CH"), "FR", [], id="a policy naming no countries"
        ),
        pytest.param(
            SEED,
            replace(JOB, remote_employer_country="CH"),
            "FR",
            [],
            id="remote for an employer abroad: counts by default",
        ),
        pytest.param(
            replace(SEED, remote_abroad_counts=False),
            replace(JOB, remote_employer_country="CH"),
            "FR",
            ["a remote job for an employer in CH, outside the policy's countries, does not count"],
            id="remote for an employer abroad: the policy does not count it",
        ),
        pytest.param(
            replace(SEED, remote_abroad_counts=False),
            replace(JOB, remote_employer_country="US"),
            "FR",
            [],
            id="remote for an employer in another of the policy's countries",
        ),
        pytest.param(
            SEED,
            replace(JOB, country="CH", remote_employer_country="FR"),
            "FR",
            ["the job is in CH, outside the policy's"],
            id="remote from outside the policy's countries",
        ),
    ],
)
def test_job_location_shortfalls(terms, job, search_country, expected):
    reasons = job_location_shortfalls(job, terms, search_country)
    assert len(reasons) == len(expected), reasons
    for reason, start in zip(reasons, expected, strict=True):
        assert reason.startswith(start), reasons


@pytest.mark.parametrize(
    ("facts", "opted_in", "state"),
    [
        (MEETS, True, GuaranteeState.OWED_REFUND),
        (replace(MEETS, verified_prerequisites=frozenset()), True, GuaranteeState.NOT_COVERED),
        (replace(MEETS, studies_started_on=date(2023, 12, 1)), True, GuaranteeState.NOT_COVERED),
        (replace(MEETS, search_country="CH"), True, GuaranteeState.NOT_COVERED),
        (replace(MEETS, work_authorisation=WorkAuthorisation.NO), True, GuaranteeState.NOT_COVERED),
        (MEETS, False, GuaranteeState.NOT_COVERED),
    ],
)
def test_a_graduate_who_falls_short_is_not_covered_with_the_reasons(facts, opted_in, state):
    status = guarantee_status(
        opted_in=opted_in,
        qualified_on=QUALIFIED,
        terms=SEED,
        jobs=[],
        as_of=date(2025, 9, 1),
        eligibility=facts,
    )
    assert status.state is state
    assert status.not_covered_reasons == tuple(eligibility_shortfalls(facts, SEED, QUALIFIED))
    assert bool(status.not_covered_reasons) == (opted_in and state is GuaranteeState.NOT_COVERED)


def test_a_job_outside_the_policys_countries_leaves_the_graduate_owed():
    abroad = replace(JOB, country="DE")
    at_home = replace(JOB, country="GB")
    as_of = date(2025, 9, 1)
    owed = guarantee_status(
        opted_in=True, qualified_on=QUALIFIED, terms=SEED, jobs=[abroad], as_of=as_of,
        eligibility=MEETS,
    )  # fmt: skip
    placed = guarantee_status(
        opted_in=True, qualified_on=QUALIFIED, terms=SEED, jobs=[abroad, at_home], as_of=as_of,
        eligibility=MEETS,
    )  # fmt: skip
    assert owed.state is GuaranteeState.OWED_REFUND
    assert (placed.state, placed.qualifying_job) == (GuaranteeState.PLACED, 1)
