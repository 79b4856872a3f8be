"""How the refund sweep's SQL compares with hand-written SQL on a million graduations.

Builds a school in a PostgreSQL schema of its own (dropped at the end, even on failure), then
times two things against the best plain SQL we could write by hand for the same result (the
same rule: the policies' eligibility terms and where a job counts included, and the school's
data leaves graduates out under each term, so that the check that both select the same rows
means something):

- detection: ``owed_without_claim(as_of)`` counted exactly as ``sweep`` counts it;
- flagging: ``sweep(session, as_of)`` writing the whole backlog (claims and their audit rows).

Each figure is the median of several timed runs after a warm-up. The last two lines of the
output are ``detect_ratio=<x>`` and ``flag_ratio=<y>`` (service time over hand-written time).

Run with ``make bench`` or ``.venv/bin/python -m bench.sweep_bench``. Environment:
``BENCH_DATABASE_URL`` (PostgreSQL), ``BENCH_GRADUATIONS`` (default 1,000,000),
``BENCH_RUNS`` (timed detection runs, default 5), ``BENCH_FLAG_RUNS`` (timed flagging runs,
default 3: each writes the whole backlog), ``BENCH_EXPLAIN=1`` (print both detection plans
with EXPLAIN ANALYZE).
"""

from __future__ import annotations

import os
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, event, func, literal_column, select, text
from sqlalchemy.orm import Session

import migrations
from app.database import make_engine
from app.guarantee.terms import REGIONS
from refunds.sweep import owed_without_claim, sweep

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

#: The day the sweep runs; qualification dates go back about three years from it.
AS_OF = date(2026, 7, 1)
#: A fixed instant for every timestamp written, so runs are comparable.
NOW = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
HISTORY_DAYS = 3 * 365

#: What the sweep writes as the reason of each first audit row; the baseline writes the same.
SWEEP_REASON = f"window closed without a qualifying job (sweep as of {AS_OF})"


def _hash(column: str, seed: int) -> str:
    """A deterministic, well-mixed non-negative integer per row (SQL), one stream per seed."""
    return f"(hashint4extended({column}, {seed}) & 1073741823)"


# --- the data -------------------------------------------------------------------------------

PROGRAMMES_SQL = """
INSERT INTO programmes (id, name, currency, tuition_list_price_minor, created_at) VALUES
    (1, 'Web Development', 'EUR', 800000, :now),
    (2, 'Data Science', 'EUR', 1200000, :now),
    (3, 'UX Design', 'GBP', 600000, :now),
    (4, 'Cloud Engineering', 'USD', 1000000, :now)
"""

# Two versions per programme; version v of programme p has id 2p - 2 + v. Every version counts
# permanent jobs and fixed-term contracts, so the "placed" job templates qualify under all.
POLICIES_SQL = """
INSERT INTO guarantee_policies (
    id, programme_id, version, effective_from, window_months, window_starts,
    min_contract_months, requires_in_field, min_annual_salary_minor, claim_deadline_days,
    refund_cap_minor, deduct_scholarships, created_at
) VALUES
    (1, 1, 1, '2020-01-01', 6, 'qualification_date', 6, true, NULL, 60, NULL, true, :now),
    (2, 1, 2, '2024-01-01', 6, 'day_after_qualification', 6, true, 2800000, 60, 500000, true,
        :now),
    (3, 2, 1, '2020-01-01', 9, 'first_monday_after_qualification', 12, false, NULL, 90, NULL,
        false, :now),
    (4, 2, 2, '2024-01-01', 12, 'qualification_date', 6, true, 4000000, 60, 800000, true, :now),
    (5, 3, 1, '2020-01-01', 3, 'first_monday_after_qualification', 3, true, 2500000, 30, NULL,
        true, :now),
    (6, 3, 2, '2024-01-01', 6, 'day_after_qualification', 6, false, NULL, 60, 400000, true,
        :now),
    (7, 4, 1, '2020-01-01', 6, 'qualification_date', 6, true, 5000000, 60, 700000, false, :now),
    (8, 4, 2, '2024-01-01', 12, 'first_monday_after_qualification', 9, true, NULL, 60, NULL,
        true, :now)
"""

QUALIFYING_TYPES_SQL = """
INSERT INTO policy_qualifying_types (policy_id, employment_type)
SELECT policy_id, employment_type
FROM (VALUES
    (1, 'full_time_permanent,fixed_term_contract'),
    (2, 'full_time_permanent,fixed_term_contract,apprenticeship'),
    (3, 'full_time_permanent,fixed_term_contract,founded_company'),
    (4, 'full_time_permanent,fixed_term_contract'),
    (5, 'full_time_permanent,fixed_term_contract,part_time'),
    (6, 'full_time_permanent,fixed_term_contract,freelance'),
    (7, 'full_time_permanent,fixed_term_contract'),
    (8, 'full_time_permanent,fixed_term_contract,founded_company,apprenticeship')
) AS policy (policy_id, types)
CROSS JOIN LATERAL unnest(string_to_array(types, ',')) AS employment_type
"""

# One row per graduate: every choice made once, so the inserts below agree with each other.
# fate < 69: placed (one qualifying job, sometimes an internship besides); fate < 83: only jobs
# that do not qualify (disputed, wrong type, too late, too short, or failing some policies'
# field or pay conditions); otherwise no job at all. About one in five ends up owed.
PLAN_SQL = f"""
CREATE TEMPORARY TABLE bench_plan ON COMMIT DROP AS
SELECT
    g,
    programme_id,
    2 * programme_id - 1 + {_hash("g", 3)} % 2 AS policy_id,
    qualified_on,
    qualified_on - 270 AS signed_on,
    {_hash("g", 4)} % 10 <> 0 AS opted_in,
    CASE
        WHEN {_hash("g", 5)} % 50 = 0 THEN 2000000
        WHEN {_hash("g", 5)} % 5 = 0 THEN 100000
        ELSE 0
    END AS scholarship_minor,
    CAST(1 + {_hash("g", 6)} % 3 AS integer) AS payments,
    {_hash("g", 8)} % 20 * 10000 AS discount_minor,
    CASE
        WHEN fate < 69 THEN 'placed:' || variant % 4
        WHEN fate < 83 THEN 'unplaced:' || variant % 7
    END AS first_job,
    CASE
        WHEN fate < 69 AND variant / 7 % 4 = 0 THEN 'internship'
        WHEN fate >= 69 AND fate < 83 AND variant / 7 % 2 = 0 THEN 'unplaced:' || variant / 28 % 7
    END AS second_job,
    -- Studies started 240 days before qualifying; one in 25 started 800 days before (past a
    -- 24-month limit), one in 25 has no start recorded.
    CASE {_hash("g", 15)} % 25
        WHEN 0 THEN qualified_on - 800
        WHEN 1 THEN NULL
        ELSE qualified_on - 240
    END AS studies_started_on,
    CASE {_hash("g", 16)} % 20 WHEN 0 THEN 'no' WHEN 1 THEN 'unknown' ELSE 'yes' END
        AS work_authorisation,
    -- One in 15 lacks the verification of its policy's last prerequisite.
    {_hash("g", 17)} % 15 <> 0 AS verified_all,
    -- Where the graduate's jobs are: in the search country (none recorded) mostly, else in
    -- Switzerland or Germany, or remote for an employer in the United States.
    CASE {_hash("g", 18)} % 10 WHEN 0 THEN 'CH' WHEN 1 THEN 'DE' END AS job_country,
    CASE WHEN {_hash("g", 18)} % 10 = 2 THEN 'US' END AS remote_employer_country
FROM (
    SELECT
        g,
        CAST(1 + {_hash("g", 2)} % 4 AS integer) AS programme_id,
        CAST(:as_of AS date) - 1 - CAST({_hash("g", 1)} % :history_days AS integer)
            AS qualified_on,
        {_hash("g", 7)} % 100 AS fate,
        {_hash("g", 9)} AS variant
    FROM generate_series(1, :n) AS g
) AS draws
"""

# The jobs a graduate may have reported, by template; start = qualified_on + days + months.
JOB_TEMPLATES_SQL = """
CREATE TEMPORARY TABLE bench_job_templates ON COMMIT DROP AS
SELECT * FROM (VALUES
    ('placed:0', 'Developer', 'full_time_permanent', true, 14, 0, NULL, 9000000, 'own',
        'reported', 'graduate'),
    ('placed:1', 'Analyst', 'full_time_permanent', true, 40, 0, NULL, 9000000, 'own',
        'confirmed', 'employer'),
    ('placed:2', 'Consultant', 'fixed_term_contract', true, 20, 0, 12, 9000000, 'own',
        'confirmed', 'employer'),
    ('placed:3', 'Engineer', 'full_time_permanent', true, 0, 1, NULL, 9000000, 'own',
        'reported', 'registrar'),
    ('internship', 'Intern', 'internship', true, 5, 0, 6, NULL, NULL, 'reported', 'graduate'),
    ('unplaced:0', 'Developer', 'full_time_permanent', true, 14, 0, NULL, 9000000, 'own',
        'disputed', 'employer'),
    ('unplaced:1', 'Intern', 'internship', true, 14, 0, 6, NULL, NULL, 'reported', 'graduate'),
    ('unplaced:2', 'Late starter', 'full_time_permanent', true, 10, 13, NULL, 9000000, 'own',
        'confirmed', 'employer'),
    ('unplaced:3', 'Temp', 'fixed_term_contract', true, 14, 0, 1, 9000000, 'own', 'reported',
        'graduate'),
    ('unplaced:4', 'Barista', 'full_time_permanent', false, 14, 0, NULL, 9000000, 'foreign',
        'reported', 'graduate'),
    ('unplaced:5', 'Developer', 'full_time_permanent', true, 14, 0, NULL, NULL, NULL,
        'reported', 'graduate'),
    ('unplaced:6', 'Junior', 'full_time_permanent', true, 14, 0, NULL, 100000, 'own',
        'reported', 'graduate')
) AS template (
    code, title, employment_type, in_field, start_days, start_months, contract_months,
    salary_minor, salary_currency, status, source
)
"""

STUDENTS_SQL = f"""
INSERT INTO students (id, name, email, country, created_at)
SELECT g, 'Graduate ' || g, 'graduate' || g || '@bench.example',
       (ARRAY['GB', 'FR', 'DE', 'US'])[1 + {_hash("g", 10)} % 4], :now
FROM generate_series(1, :n) AS g
"""

ENROLLMENTS_SQL = """
INSERT INTO enrollments (
    id, student_id, programme_id, policy_id, signed_on, guarantee_opt_in, scholarship_minor,
    search_country, studies_started_on, work_authorisation, study_country, created_at
)
SELECT p.g, p.g, p.programme_id, p.policy_id, p.signed_on, p.opted_in, p.scholarship_minor,
       s.country, p.studies_started_on, p.work_authorisation, s.country, :now
FROM bench_plan AS p
JOIN students AS s ON s.id = p.g
"""

GRADUATIONS_SQL = """
INSERT INTO graduations (id, enrollment_id, qualified_on, created_at)
SELECT g, g, qualified_on, :now FROM bench_plan
"""

PAYMENTS_SQL = """
INSERT INTO tuition_payments (
    enrollment_id, amount_minor, currency, paid_at, payer_type, payer_name, created_at
)
SELECT p.g,
       (pr.tuition_list_price_minor - p.discount_minor) / p.payments,
       pr.currency,
       CAST(p.signed_on + 30 * (k - 1) AS timestamp) AT TIME ZONE 'UTC',
       CASE WHEN p.g % 7 = 0 THEN 'sponsor' ELSE 'student' END,
       CASE WHEN p.g % 7 = 0 THEN 'Bench Sponsor Ltd' END,
       :now
FROM bench_plan AS p
JOIN programmes AS pr ON pr.id = p.programme_id
CROSS JOIN LATERAL generate_series(1, p.payments) AS k
"""

JOBS_SQL = """
INSERT INTO job_outcomes (
    graduation_id, title, employment_type, in_field, start_date, contract_months,
    annual_salary_minor, salary_currency, country, remote_employer_country, source, status,
    updated_at, created_at
)
SELECT p.g, t.title, t.employment_type, t.in_field,
       CAST(p.qualified_on + t.start_days + make_interval(months => t.start_months) AS date),
       t.contract_months, t.salary_minor,
       CASE t.salary_currency WHEN 'own' THEN pr.currency WHEN 'foreign' THEN 'CHF' END,
       p.job_country, p.remote_employer_country, t.source, t.status, :now, :now
FROM (
    SELECT g, programme_id, qualified_on, job_country, remote_employer_country,
           first_job AS code
    FROM bench_plan
    UNION ALL
    SELECT g, programme_id, qualified_on, job_country, remote_employer_country, second_job
    FROM bench_plan
) AS p
JOIN bench_job_templates AS t ON t.code = p.code
JOIN programmes AS pr ON pr.id = p.programme_id
"""

# Half the policy versions allow pauses, up to 90 or 183 days.
PAUSE_LIMITS_SQL = """
UPDATE guarantee_policies
SET max_pause_days = CASE id % 4 WHEN 0 THEN 90 WHEN 2 THEN 183 ELSE 0 END
"""

# The second version of each programme has eligibility terms: Web Development's searches in the
# EU or the United Kingdom by those authorised to work there; Data Science's needs a verified
# mathematics assessment and qualifying within 24 months of starting; UX Design's searches in
# France or the United Kingdom, where a remote job for an employer abroad does not count; Cloud
# Engineering's needs two verified prerequisites and authorisation to work in the United
# States or the EU. Students come from the United Kingdom, France, Germany and the United
# States, so each term leaves some graduates out.
ELIGIBILITY_TERMS_SQL = """
UPDATE guarantee_policies
SET qualify_within_months = CASE id WHEN 4 THEN 24 END,
    requires_work_authorisation = id IN (2, 8),
    remote_abroad_counts = id <> 6
"""

SEARCH_AREAS_SQL = """
INSERT INTO policy_search_areas (policy_id, code) VALUES
    (2, 'EU'), (2, 'GB'), (6, 'FR'), (6, 'GB'), (8, 'US'), (8, 'EU')
"""

PREREQUISITES_SQL = """
INSERT INTO policy_prerequisites (id, policy_id, label, position) VALUES
    (1, 4, 'Mathematics assessment passed', 1),
    (2, 8, 'Cloud fundamentals certificate', 1),
    (3, 8, 'Portfolio reviewed', 2)
"""

# Every prerequisite of the enrollment's policy verified, but the last one for some.
VERIFICATIONS_SQL = """
INSERT INTO prerequisite_verifications (
    enrollment_id, prerequisite_id, verified_by, verified_at, created_at
)
SELECT p.g, q.id, 'registrar:bench', CAST(p.signed_on AS timestamp) AT TIME ZONE 'UTC', :now
FROM bench_plan AS p
JOIN policy_prerequisites AS q ON q.policy_id = p.policy_id
WHERE p.verified_all
   OR q.position < (SELECT max(position) FROM policy_prerequisites WHERE policy_id = q.policy_id)
"""

# About one graduate in twelve pauses the search a month after qualifying, for 10 to 129 days;
# one in four of those pauses again later, which takes some past their policy's limit.
PAUSES_SQL = f"""
INSERT INTO search_pauses (graduation_id, starts_on, ends_on, reason, recorded_by, created_at)
SELECT g, starts_on, starts_on + length - 1, 'illness', 'registrar:bench', :now
FROM (
    SELECT g, qualified_on + 30 AS starts_on, CAST(10 + {_hash("g", 11)} % 120 AS int) AS length
    FROM bench_plan WHERE {_hash("g", 12)} % 12 = 0
    UNION ALL
    SELECT g, qualified_on + 200, CAST(30 + {_hash("g", 13)} % 60 AS int)
    FROM bench_plan WHERE {_hash("g", 12)} % 48 = 0
) AS pause
"""

# About one graduate in a hundred has a documented excluded outcome.
EXCLUSIONS_SQL = f"""
INSERT INTO excluded_outcomes (graduation_id, reason, occurred_on, evidence, recorded_by,
                               created_at)
SELECT g, 'further_study', qualified_on + 60, 'Enrolment letter ' || g, 'registrar:bench', :now
FROM bench_plan WHERE {_hash("g", 14)} % 100 = 0
"""

TABLES = (
    "programmes",
    "guarantee_policies",
    "policy_qualifying_types",
    "policy_prerequisites",
    "policy_search_areas",
    "students",
    "enrollments",
    "prerequisite_verifications",
    "graduations",
    "tuition_payments",
    "job_outcomes",
    "search_pauses",
    "excluded_outcomes",
    "refund_claims",
    "claim_transitions",
)

#: The tables with about a row per graduate or more (a million or so at the default size).
BIG_TABLES = [
    "students",
    "enrollments",
    "prerequisite_verifications",
    "graduations",
    "tuition_payments",
    "job_outcomes",
]

#: Secondary indexes (and the unique constraints they back) of the big tables.
SECONDARY_INDEXES_SQL = """
SELECT t.relname, i.relname, pg_get_indexdef(i.oid), con.conname, pg_get_constraintdef(con.oid)
FROM pg_index AS x
JOIN pg_class AS i ON i.oid = x.indexrelid
JOIN pg_class AS t ON t.oid = x.indrelid
LEFT JOIN pg_constraint AS con
  ON con.conindid = i.oid AND con.conrelid = t.oid AND con.contype = 'u'
WHERE t.relnamespace = to_regnamespace(current_schema())
  AND t.relname = ANY (:tables)
  AND NOT x.indisprimary
ORDER BY t.relname, i.relname
"""


def build_school(engine: Engine, graduations: int) -> None:
    """Fill the schema with ``graduations`` graduates, set-based, then VACUUM ANALYZE it."""
    params = {"now": NOW, "n": graduations, "as_of": AS_OF, "history_days": HISTORY_DAYS}
    with engine.begin() as connection:
        superuser = connection.execute(text("SELECT current_setting('is_superuser')")).scalar()
        if superuser == "on":
            # The rows are consistent by construction; skip a million foreign-key checks per
            # table. SET LOCAL ends with this transaction.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text("SET LOCAL synchronous_commit = off"))
        connection.execute(text("SET LOCAL work_mem = '256MB'"))
        connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        # One sort per index after the load is much cheaper than a million insertions into it;
        # the same definitions are put back, and checked.
        indexes = connection.execute(text(SECONDARY_INDEXES_SQL), {"tables": BIG_TABLES}).all()
        for table, index, _definition, constraint, _constraint_definition in indexes:
            if constraint:
                connection.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}"))
            else:
                connection.execute(text(f"DROP INDEX {index}"))
        steps = [
            ("programmes and policies", PROGRAMMES_SQL),
            (None, POLICIES_SQL),
            (None, QUALIFYING_TYPES_SQL),
            (None, ELIGIBILITY_TERMS_SQL),
            (None, SEARCH_AREAS_SQL),
            (None, PREREQUISITES_SQL),
            ("plan", PLAN_SQL),
            (None, JOB_TEMPLATES_SQL),
            ("students", STUDENTS_SQL),
            ("enrollments", ENROLLMENTS_SQL),
            ("prerequisite verifications", VERIFICATIONS_SQL),
            ("graduations", GRADUATIONS_SQL),
            ("tuition payments", PAYMENTS_SQL),
            ("job outcomes", JOBS_SQL),
            (None, PAUSE_LIMITS_SQL),
            ("search pauses", PAUSES_SQL),
            ("excluded outcomes", EXCLUSIONS_SQL),
        ]
        for label, sql in steps:
            started = time.perf_counter()
            rows = connection.execute(text(sql), params).rowcount
            if label:
                _progress(f"  {label}: {rows:,} rows in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        for table, _index, definition, constraint, constraint_definition in indexes:
            if constraint:
                connection.execute(
                    text(f"ALTER TABLE {table} ADD CONSTRAINT {constraint} {constraint_definition}")
                )
            else:
                connection.execute(text(definition))
        rebuilt = connection.execute(text(SECONDARY_INDEXES_SQL), {"tables": BIG_TABLES}).all()
        if rebuilt != indexes:
            raise AssertionError(f"indexes differ after the load: {rebuilt} != {indexes}")
        _progress(
            f"  {len(indexes)} secondary indexes rebuilt in {time.perf_counter() - started:.1f}s"
        )
        for table in (
            "programmes",
            "guarantee_policies",
            "policy_prerequisites",
            "students",
            "enrollments",
            "graduations",
        ):
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
            )
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in TABLES:
            connection.execute(text(f"VACUUM (ANALYZE) {table}"))
        if superuser == "on":
            # So that no checkpoint of the load lands in a timed run.
            connection.execute(text("CHECKPOINT"))
    _progress(f"  vacuum analyze: {time.perf_counter() - started:.1f}s")


# --- the hand-written SQL -------------------------------------------------------------------

#: Each region a policy may name, as rows of (region, country).
REGION_COUNTRIES_SQL = ", ".join(
    f"('{region}', '{country}')"
    for region, members in sorted(REGIONS.items())
    for country in sorted(members)
)

#: Every graduation owed a refund on :as_of without a claim yet, written by hand.
HAND_OWED_SQL = f"""
-- Every country each policy's search areas cover (a region stands for its members). NOT
-- MATERIALIZED: used twice, it would otherwise be computed once and read through a CTE scan,
-- which keeps the whole selection out of parallel workers.
WITH area_countries AS NOT MATERIALIZED (
    SELECT DISTINCT a.policy_id, coalesce(r.country, a.code) AS country
    FROM policy_search_areas AS a
    LEFT JOIN (VALUES {REGION_COUNTRIES_SQL}) AS r (region, country) ON r.region = a.code
)
SELECT g.id AS graduation_id,
       e.id AS enrollment_id,
       w.deadline,
       -- LEAST ignores a NULL: no cap.
       GREATEST(LEAST(w.net_minor, p.refund_cap_minor), 0) AS amount_minor,
       pr.currency
FROM graduations AS g
JOIN enrollments AS e ON e.id = g.enrollment_id
JOIN guarantee_policies AS p ON p.id = e.policy_id
JOIN programmes AS pr ON pr.id = e.programme_id
-- Each policy's qualifying types as one array (NULL for none): the job test below stays a
-- plain expression.
LEFT JOIN (
    SELECT policy_id, array_agg(employment_type) AS types
    FROM policy_qualifying_types
    GROUP BY policy_id
) AS qualifying ON qualifying.policy_id = p.id
-- Each policy's countries as one array, for the job test below; NULL for a policy that names
-- none: anywhere.
LEFT JOIN (
    SELECT policy_id, array_agg(country) AS countries
    FROM area_countries
    GROUP BY policy_id
) AS areas ON areas.policy_id = p.id
-- The search country, when it is one of the policy's. (As "= ANY (areas.countries)" in the
-- WHERE clause, PostgreSQL guessed that one graduate in twenty passes and planned for a few
-- thousand rows: a loop over the jobs' index instead of a hash.)
LEFT JOIN area_countries AS searching
  ON searching.policy_id = p.id AND searching.country = e.search_country
-- Tuition paid per enrollment. A correlated sum per row instead looked cheaper but was slower:
-- its cost estimate switches on JIT compilation for the INSERT. A count drops this join.
LEFT JOIN (
    SELECT enrollment_id, sum(amount_minor) AS paid_minor
    FROM tuition_payments
    GROUP BY enrollment_id
) AS paid ON paid.enrollment_id = e.id
-- Every paused day per graduation, both ends of a pause counted.
LEFT JOIN (
    SELECT graduation_id, sum(ends_on - starts_on + 1) AS days
    FROM search_pauses
    GROUP BY graduation_id
) AS paused ON paused.graduation_id = g.id
CROSS JOIN LATERAL (
    SELECT CAST(
               CASE p.window_starts
                   WHEN 'day_after_qualification' THEN g.qualified_on + 1
                   WHEN 'first_monday_after_qualification'
                       THEN g.qualified_on + 8 - CAST(EXTRACT(ISODOW FROM g.qualified_on) AS int)
                   ELSE g.qualified_on
               END + make_interval(months => p.window_months)
           AS date) + CAST(LEAST(COALESCE(paused.days, 0), p.max_pause_days) AS int) AS deadline,
           COALESCE(paid.paid_minor, 0)
           - CASE WHEN p.deduct_scholarships THEN e.scholarship_minor ELSE 0 END AS net_minor
) AS w
WHERE e.guarantee_opt_in
  -- Covered by the policy's eligibility terms: every prerequisite verified, qualified within
  -- the time limit of a recorded start of studies, searching in the policy's countries, not
  -- recorded as unauthorised to work there when the policy requires it.
  AND NOT EXISTS (
      SELECT
      FROM policy_prerequisites AS pq
      WHERE pq.policy_id = p.id
        AND NOT EXISTS (
            SELECT
            FROM prerequisite_verifications AS v
            WHERE v.enrollment_id = e.id AND v.prerequisite_id = pq.id
        )
  )
  AND (p.qualify_within_months IS NULL
       OR e.studies_started_on IS NULL
       OR g.qualified_on
          <= CAST(e.studies_started_on + make_interval(months => p.qualify_within_months) AS date))
  AND (areas.countries IS NULL OR searching.country IS NOT NULL)
  AND NOT (p.requires_work_authorisation AND e.work_authorisation = 'no')
  AND w.deadline < :as_of
  AND NOT EXISTS (
      SELECT
      FROM job_outcomes AS j
      WHERE j.graduation_id = g.id
        AND j.employment_type = ANY (qualifying.types)
        AND j.status IN ('reported', 'confirmed')
        AND j.start_date <= w.deadline
        AND j.start_date >= g.qualified_on
        AND (j.in_field OR NOT p.requires_in_field)
        AND (j.employment_type IN ('full_time_permanent', 'founded_company')
             OR j.contract_months >= p.min_contract_months)
        AND (p.min_annual_salary_minor IS NULL
             OR (j.salary_currency = pr.currency
                 AND j.annual_salary_minor >= p.min_annual_salary_minor))
        -- In the policy's countries (a job with none recorded is in the search country); a
        -- remote job for an employer outside them only where the policy counts those.
        AND (areas.countries IS NULL
             OR (coalesce(j.country, e.search_country) = ANY (areas.countries)
                 AND (j.remote_employer_country IS NULL
                      OR p.remote_abroad_counts
                      OR j.remote_employer_country = ANY (areas.countries))))
  )
  AND NOT EXISTS (SELECT FROM refund_claims AS c WHERE c.enrollment_id = e.id)
  AND NOT EXISTS (SELECT FROM excluded_outcomes AS x WHERE x.graduation_id = g.id)
"""

HAND_COUNT_SQL = f"SELECT count(*) FROM ({HAND_OWED_SQL}) AS owed"

#: The claims and their first audit rows, in one statement.
HAND_FLAG_SQL = f"""
WITH owed AS ({HAND_OWED_SQL}),
claims AS (
    INSERT INTO refund_claims (
        enrollment_id, graduation_id, state, amount_minor, currency, deadline, flagged_on,
        version, created_at, updated_at
    )
    SELECT enrollment_id, graduation_id, 'flagged', amount_minor, currency, deadline, :as_of,
           1, :now, :now
    FROM owed
    ON CONFLICT (enrollment_id) DO NOTHING
    RETURNING id
)
INSERT INTO claim_transitions (claim_id, from_state, to_state, actor, reason, at)
SELECT id, NULL, 'flagged', 'system:sweep', :reason, :now FROM claims
"""

#: The claims alone, no audit rows: shown for reference, not used in a ratio.
HAND_CLAIMS_ONLY_SQL = f"""
INSERT INTO refund_claims (
    enrollment_id, graduation_id, state, amount_minor, currency, deadline, flagged_on,
    version, created_at, updated_at
)
SELECT enrollment_id, graduation_id, 'flagged', amount_minor, currency, deadline, :as_of,
       1, :now, :now
FROM ({HAND_OWED_SQL}) AS owed
ON CONFLICT (enrollment_id) DO NOTHING
"""

#: Count, id and amount sums, and a digest of the whole ordered set.
FINGERPRINT_COLUMNS = (
    "count(*)",
    "sum(graduation_id)",
    "sum(amount_minor)",
    "md5(string_agg(graduation_id || ':' || enrollment_id || ':' || amount_minor || ':'"
    " || deadline || ':' || currency, ',' ORDER BY graduation_id))",
)

CLAIMS_FINGERPRINT_SQL = f"""
SELECT {", ".join(FINGERPRINT_COLUMNS)}
FROM refund_claims
WHERE state = 'flagged' AND flagged_on = :as_of AND version = 1
"""

AUDIT_COUNT_SQL = """
SELECT count(*), count(DISTINCT t.claim_id)
FROM claim_transitions AS t
JOIN refund_claims AS c ON c.id = t.claim_id
WHERE t.from_state IS NULL AND t.to_state = 'flagged' AND t.actor = 'system:sweep'
  AND t.reason = :reason
"""

#: The benchmark's own schema is emptied between runs; the audit trail refuses TRUNCATE, so its
#: triggers are off for this statement (``session_replication_role``, a superuser's setting).
RESET_SQL = "TRUNCATE refund_claims, claim_transitions CASCADE"


# --- the measurements -----------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """The timed runs of one side of a comparison."""

    label: str
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def service_count(engine: Engine) -> int:
    """The sweep's own detection: the count ``sweep`` runs before it writes."""
    with Session(engine) as session:
        owed = owed_without_claim(AS_OF).subquery("owed")
        return session.scalar(select(func.count()).select_from(owed))


def hand_count(engine: Engine) -> int:
    """The hand-written detection."""
    with engine.connect() as connection:
        return connection.execute(text(HAND_COUNT_SQL), {"as_of": AS_OF}).scalar()


def service_flag(engine: Engine) -> int:
    """``sweep`` over the whole backlog, committed."""
    with Session(engine) as session:
        result = sweep(session, AS_OF)
        session.commit()
    return result.flagged


def hand_flag(engine: Engine, sql: str = HAND_FLAG_SQL) -> int:
    """The hand-written flagging statement, committed."""
    with engine.begin() as connection:
        return connection.execute(
            text(sql), {"as_of": AS_OF, "now": NOW, "reason": SWEEP_REASON}
        ).rowcount


def timed(
    sides: list[tuple[str, Callable[[], object]]],
    runs: int,
    before_each: Callable[[], None] | None = None,
    check: Callable[[str, object], None] | None = None,
) -> list[Timing]:
    """Time each side ``runs`` times after one warm-up each, interleaving the sides."""
    timings = {label: [] for label, _ in sides}
    for attempt in range(runs + 1):
        for label, run in sides:
            if before_each:
                before_each()
            started = time.perf_counter()
            outcome = run()
            elapsed = time.perf_counter() - started
            if check:
                check(label, outcome)
            if attempt == 0:
                _progress(f"  {label}: warm-up {elapsed:.2f}s")
            else:
                timings[label].append(elapsed)
                _progress(f"  {label}: run {attempt} {elapsed:.2f}s")
    return [Timing(label, timings[label]) for label, _ in sides]


def detection_fingerprints(engine: Engine) -> tuple[tuple, tuple]:
    """The fingerprint of the service's selection and of the hand-written one."""
    columns = [literal_column(column) for column in FINGERPRINT_COLUMNS]
    with Session(engine) as session:
        service = tuple(
            session.execute(
                select(*columns).select_from(owed_without_claim(AS_OF).subquery("owed"))
            ).one()
        )
    with engine.connect() as connection:
        hand = tuple(
            connection.execute(
                text(f"SELECT {', '.join(FINGERPRINT_COLUMNS)} FROM ({HAND_OWED_SQL}) AS owed"),
                {"as_of": AS_OF},
            ).one()
        )
    return service, hand


def explain_detection(engine: Engine) -> None:
    """Print both detection plans with EXPLAIN ANALYZE, the service's as it was sent."""
    sent = []

    def capture(_connection, _cursor, statement, parameters, _context, _executemany):
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        service_count(engine)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = next((s, p) for s, p in sent if "owed" in s)
    with engine.connect() as connection:
        plans = [
            ("service", connection.exec_driver_sql(_explain(statement), parameters)),
            ("hand-written", connection.execute(text(_explain(HAND_COUNT_SQL)), {"as_of": AS_OF})),
        ]
        for label, result in plans:
            _progress(f"--- EXPLAIN ANALYZE, {label} detection")
            for (line,) in result:
                _progress(line)


def _explain(sql: str) -> str:
    return f"EXPLAIN (ANALYZE, BUFFERS, SETTINGS) {sql}"


def run(engine: Engine, graduations: int, detect_runs: int, flag_runs: int) -> tuple[float, float]:
    """Build the school, measure both comparisons, print the summary; returns the ratios."""
    _progress(f"building {graduations:,} graduations (as of {AS_OF})")
    started = time.perf_counter()
    build_school(engine, graduations)
    build_seconds = time.perf_counter() - started
    _progress(f"data built in {build_seconds:.1f}s")

    service_print, hand_print = detection_fingerprints(engine)
    if service_print != hand_print:
        raise AssertionError(f"the selections differ: service {service_print}, hand {hand_print}")
    owed, id_sum, amount_sum, digest = service_print
    _progress(
        f"owed without a claim: {owed:,} of {graduations:,} ({owed / graduations:.1%});"
        f" same set both ways (graduation ids sum {id_sum}, amounts sum {amount_sum},"
        f" md5 {digest})"
    )
    if os.environ.get("BENCH_EXPLAIN"):
        explain_detection(engine)

    def same_count(label: str, count: object) -> None:
        if count != owed:
            raise AssertionError(f"{label} counted {count}, expected {owed}")

    _progress("detection (count of owed graduations without a claim)")
    detect = timed(
        [("service", lambda: service_count(engine)), ("hand-written", lambda: hand_count(engine))],
        detect_runs,
        check=same_count,
    )

    def reset() -> None:
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text(RESET_SQL))

    def same_claims(label: str, flagged: object) -> None:
        same_count(label, flagged)
        with engine.connect() as connection:
            claims = tuple(connection.execute(text(CLAIMS_FINGERPRINT_SQL), {"as_of": AS_OF}).one())
            audited = tuple(
                connection.execute(text(AUDIT_COUNT_SQL), {"reason": SWEEP_REASON}).one()
            )
        if claims != service_print:
            raise AssertionError(f"{label} wrote other claims: {claims}, expected {service_print}")
        if label != "claims only" and audited != (owed, owed):
            raise AssertionError(f"{label} wrote {audited} first audit rows, expected {owed}")

    _progress("flagging the whole backlog (each run on empty claim tables, committed)")
    flag = timed(
        [
            ("service", lambda: service_flag(engine)),
            ("hand-written", lambda: hand_flag(engine)),
            ("claims only", lambda: hand_flag(engine, HAND_CLAIMS_ONLY_SQL)),
        ],
        flag_runs,
        before_each=reset,
        check=same_claims,
    )
    reset()

    detect_ratio = detect[0].median / detect[1].median
    flag_ratio = flag[0].median / flag[1].median
    _summary(engine, graduations, owed, build_seconds, detect, flag)
    return detect_ratio, flag_ratio


def _summary(
    engine: Engine,
    graduations: int,
    owed: int,
    build_seconds: float,
    detect: list[Timing],
    flag: list[Timing],
) -> None:
    def medians(timings: list[Timing]) -> str:
        return ", ".join(f"{t.label} {t.median:.2f}s" for t in timings)

    with engine.connect() as connection:
        settings = ", ".join(
            f"{name}={connection.execute(text(f'SHOW {name}')).scalar()}"
            for name in ("server_version", "jit", "work_mem", "max_parallel_workers_per_gather")
        )
    load = ", ".join(f"{figure:.1f}" for figure in os.getloadavg())
    _progress("")
    _progress("== summary")
    _progress(f"graduations: {graduations:,}; owed without a claim as of {AS_OF}: {owed:,}")
    _progress(f"data build: {build_seconds:.1f}s")
    _progress(f"server: {settings}; load average now: {load}")
    _progress(f"detection, median of {len(detect[0].runs)} runs: {medians(detect)}")
    _progress(
        "  service: SELECT count(*) FROM (owed_without_claim(as_of)) through a Session,"
        " exactly as sweep() counts"
    )
    _progress(
        "  hand-written: SELECT count(*) over the same selection in plain SQL (deadline in a"
        " lateral, extended by the paused days summed per graduation up to the policy's limit;"
        " the policy's eligibility terms: NOT EXISTS unverified prerequisite, the time limit to"
        " qualify, the search country joined among the policy's countries, work authorisation;"
        " NOT EXISTS qualifying job with the policy's types and countries as arrays, NOT EXISTS"
        " claim, NOT EXISTS excluded outcome)"
    )
    _progress(
        f"flagging, median of {len(flag[0].runs)} runs, each on empty claim tables"
        f" (TRUNCATE, untimed) and committed: {medians(flag)}"
    )
    _progress(
        "  service: sweep(session, as_of): its count of the owed, INSERT ... SELECT ... ON"
        " CONFLICT DO NOTHING of the claims, INSERT ... SELECT of a first audit row for every"
        " claim without one"
    )
    _progress(
        "  hand-written: one statement: INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING"
        " id of the same claims, feeding an INSERT of the same audit rows"
    )
    _progress(
        "  claims only (reference, in no ratio): INSERT ... SELECT of the claims, no audit"
        f" rows; service over it: {flag[0].median / flag[2].median:.2f}"
    )


# --- the schema -----------------------------------------------------------------------------


@contextmanager
def bench_schema(url: str) -> Iterator[Engine]:
    """An engine on a fresh, migrated schema of its own, dropped afterwards whatever happens."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    _progress(f"schema {schema} created")
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        with engine.begin() as connection:
            migrate(connection)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
        _progress(f"schema {schema} dropped")


def migrate(connection: Connection) -> None:
    """Build the schema the way every environment does."""
    migrations.upgrade(connection=connection)


def _progress(line: str) -> None:
    print(line, flush=True)


def _stop(signum, _frame) -> None:
    # Turn a termination into an exception, so the schema is still dropped.
    raise SystemExit(128 + signum)


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    graduations = int(os.environ.get("BENCH_GRADUATIONS", "1000000"))
    detect_runs = int(os.environ.get("BENCH_RUNS", "5"))
    flag_runs = int(os.environ.get("BENCH_FLAG_RUNS", "3"))
    signal.signal(signal.SIGTERM, _stop)
    started = time.perf_counter()
    with bench_schema(url) as engine:
        detect_ratio, flag_ratio = run(engine, graduations, detect_runs, flag_runs)
    _progress(f"total: {time.perf_counter() - started:.0f}s")
    print(f"detect_ratio={detect_ratio:.2f}")
    print(f"flag_ratio={flag_ratio:.2f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
