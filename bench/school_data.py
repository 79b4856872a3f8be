"""A school with years of graduates, for the school-scale benchmark: its data, built with COPY.

The school graduates about ``GRADUATIONS_PER_DAY`` people a day, every day, back from
``AS_OF``; the size is how many graduations there are, so a bigger school has a longer
history, not bigger cohorts. Whatever depends on the horizon or on one cohort (the forecast,
one half-year's outcomes) should then cost the same at 20k as at 200k graduations.

Per graduation, on average (issue 12's table at 200,000): one student, enrollment and
graduation; 2 tuition payments; 0.88 job outcomes; 2.86 search-log entries; 0.1 pauses; 0.1
refund claims (the history's, nearly all closed, a few still open); 0.01 excluded outcomes.
About one graduate in four of those whose window has closed is owed a refund without a claim,
which the sweep then flags.

Everything is drawn from seeded generators, so a size always gives the same rows.
``SchoolPlan(graduations).rows(table)`` yields each table's rows as tuples in the order of
``COLUMNS[table]`` (for a benchmark that needs them as a file, e.g. an import), and
``build_school(connection, graduations)`` COPYs them all into the connection's schema.

PostgreSQL only: ``bench.school_bench`` uses it in a schema of its own.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import Connection, Engine, text

from bench.sweep_bench import bench_schema

#: The day the benchmark runs "on": graduations go back from the day before.
AS_OF = date(2026, 7, 1)
#: A fixed instant for the rows' timestamps, so that runs are comparable.
NOW = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
#: How many graduate a day: 20,000 graduations are 2.2 years of history, 200,000 are 22.
GRADUATIONS_PER_DAY = 25

#: (id, name, currency, list price).
PROGRAMMES = (
    (1, "Web Development", "EUR", 800_000),
    (2, "Data Science", "EUR", 1_200_000),
    (3, "UX Design", "GBP", 600_000),
    (4, "Cloud Engineering", "USD", 1_000_000),
)

#: Two versions per programme; version v of programme p has id 2p - 2 + v. Columns: id,
#: programme, version, effective from, window months, window starts, min contract months,
#: in field, pay floor, cap, deduct scholarships, weekly applications, coaching every weeks,
#: declined offer voids, max pause days; then the qualifying types.
POLICIES = (
    (1, 1, 1, date(2000, 1, 1), 6, "qualification_date", 6, True, None, None, True,
     0, None, False, 0, "full_time_permanent fixed_term_contract"),
    (2, 1, 2, date(2024, 1, 1), 6, "day_after_qualification", 6, True, 2_800_000, 500_000,
     True, 1, None, True, 90, "full_time_permanent fixed_term_contract apprenticeship"),
    (3, 2, 1, date(2000, 1, 1), 9, "first_monday_after_qualification", 12, False, None, None,
     False, 0, None, False, 183, "full_time_permanent fixed_term_contract founded_company"),
    (4, 2, 2, date(2024, 1, 1), 12, "qualification_date", 6, True, 4_000_000, 800_000, True,
     0, 8, True, 0, "full_time_permanent fixed_term_contract"),
    (5, 3, 1, date(2000, 1, 1), 3, "first_monday_after_qualification", 3, True, 2_500_000, None,
     True, 0, None, False, 0, "full_time_permanent fixed_term_contract part_time"),
    (6, 3, 2, date(2024, 1, 1), 6, "day_after_qualification", 6, False, None, 400_000, True,
     1, None, False, 183, "full_time_permanent fixed_term_contract freelance"),
    (7, 4, 1, date(2000, 1, 1), 6, "qualification_date", 6, True, 5_000_000, 700_000, False,
     0, None, True, 0, "full_time_permanent fixed_term_contract"),
    (8, 4, 2, date(2024, 1, 1), 12, "first_monday_after_qualification", 9, True, None, None,
     True, 0, None, False, 90,
     "full_time_permanent fixed_term_contract founded_company apprenticeship"),
)  # fmt: skip

#: The employers graduates are hired by; the first one is the school itself.
EMPLOYERS = 400

COLUMNS: dict[str, tuple[str, ...]] = {
    "programmes": ("id", "name", "currency", "tuition_list_price_minor", "created_at"),
    "guarantee_policies": (
        "id", "programme_id", "version", "effective_from", "window_months", "window_starts",
        "min_contract_months", "requires_in_field", "min_annual_salary_minor",
        "refund_cap_minor", "deduct_scholarships", "weekly_applications", "coaching_every_weeks",
        "declined_offer_voids", "max_pause_days", "claim_deadline_days", "created_at",
    ),
    "policy_qualifying_types": ("policy_id", "employment_type"),
    "employers": ("id", "name", "contact_email", "is_school", "created_at"),
    "students": ("id", "name", "email", "country", "created_at"),
    "enrollments": (
        "id", "student_id", "programme_id", "policy_id", "signed_on", "guarantee_opt_in",
        "scholarship_minor", "cirr_intent", "expected_graduation_on", "search_country",
        "study_country", "study_work_authorisation", "created_at",
    ),
    "graduations": ("id", "enrollment_id", "qualified_on", "stopped_seeking_on", "created_at"),
    "tuition_payments": (
        "enrollment_id", "amount_minor", "currency", "paid_at", "payer_type", "payer_name",
        "created_at",
    ),
    "job_outcomes": (
        "graduation_id", "employer_id", "title", "employment_type", "in_field", "start_date",
        "contract_months", "annual_salary_minor", "salary_currency", "source", "status",
        "updated_at", "created_at",
    ),
    "search_activities": (
        "graduation_id", "kind", "occurred_on", "employer_name", "position", "employment_type",
        "in_field", "offer_starts_on", "decision", "decided_on", "updated_at", "created_at",
    ),
    "search_pauses": (
        "graduation_id", "starts_on", "ends_on", "reason", "recorded_by", "created_at",
    ),
    "excluded_outcomes": (
        "graduation_id", "reason", "occurred_on", "evidence", "recorded_by", "created_at",
    ),
    "school_requests": (
        "graduation_id", "asked_at", "asked_by", "question", "answer", "answered_at",
        "created_at",
    ),
    "refund_claims": (
        "id", "enrollment_id", "graduation_id", "state", "amount_minor", "currency", "deadline",
        "flagged_on", "closed_while_owed", "version", "created_at", "updated_at",
    ),
}  # fmt: skip

#: The order the tables are filled in (foreign keys first).
TABLES = tuple(COLUMNS)

#: Jobs by fate: (title, type, in field, days after qualifying, contract months, salary as a
#: share of the pay floor's scale, status, source). "placed" jobs qualify under every policy;
#: "unplaced" ones never do (disputed, wrong type, late, short, out of field, underpaid).
PLACED_JOBS = (
    ("Developer", "full_time_permanent", True, 14, None, 9_000_000, "reported", "graduate"),
    ("Analyst", "full_time_permanent", True, 40, None, 9_000_000, "confirmed", "employer"),
    ("Consultant", "fixed_term_contract", True, 20, 12, 9_000_000, "confirmed", "employer"),
    ("Engineer", "full_time_permanent", True, 31, None, 9_000_000, "reported", "registrar"),
)
UNPLACED_JOBS = (
    ("Developer", "full_time_permanent", True, 14, None, 9_000_000, "disputed", "employer"),
    ("Intern", "internship", True, 14, 6, None, "reported", "graduate"),
    ("Late starter", "full_time_permanent", True, 420, None, 9_000_000, "confirmed", "employer"),
    ("Temp", "fixed_term_contract", True, 14, 1, 9_000_000, "reported", "graduate"),
    ("Barista", "full_time_permanent", False, 14, None, 3_000_000, "reported", "graduate"),
)

CLOSED_CLAIM_STATES = ("refunded", "refunded", "refunded", "rejected", "withdrawn",
                       "settled_manually")  # fmt: skip
OPEN_CLAIM_STATES = ("in_review", "approved", "failed", "awaiting_second_approval")


@dataclass(frozen=True)
class Graduate:
    """Every choice made once for one graduate, so that the tables agree with each other."""

    id: int
    programme: int
    policy: int
    qualified_on: date
    opted_in: bool
    scholarship_minor: int
    #: "placed", "unplaced" (only jobs that do not qualify) or "none".
    fate: str
    variant: int
    payments: int
    intent: str

    @property
    def country(self) -> str:
        """Where they live and look for work (their enrollment's search country)."""
        return ("GB", "FR", "DE", "US")[self.variant % 4]

    @property
    def study_work_authorisation(self) -> str:
        """Whether they may work where they studied from (their country): "no" for one in a
        hundred (out of the outcomes report's base), "unknown" for two, else "yes". A hash of
        the id, independent of the other draws (which it leaves as they were)."""
        draw = self.id * 2_654_435_761 % 2**32 % 100
        return "no" if draw == 0 else "unknown" if draw <= 2 else "yes"


class SchoolPlan:
    """The rows of a school of ``graduations`` graduations, table by table."""

    def __init__(self, graduations: int, as_of: date = AS_OF, seed: int = 12):
        self.graduations = graduations
        self.as_of = as_of
        self.seed = seed
        rng = random.Random(seed)
        self.graduates = [self._draw(rng, number) for number in range(1, graduations + 1)]

    def _draw(self, rng: random.Random, number: int) -> Graduate:
        days_ago = 1 + (number - 1) // GRADUATIONS_PER_DAY
        qualified_on = self.as_of - timedelta(days=days_ago)
        programme = 1 + rng.randrange(4)
        # The second version of each policy binds those who signed from 2024.
        signed_on = qualified_on - timedelta(days=365)
        policy = 2 * programme - (0 if signed_on >= date(2024, 1, 1) else 1)
        fate_draw = rng.random()
        fate = "placed" if fate_draw < 0.69 else "unplaced" if fate_draw < 0.83 else "none"
        scholarship = rng.random()
        intent_draw = rng.random()
        return Graduate(
            id=number,
            programme=programme,
            policy=policy,
            qualified_on=qualified_on,
            opted_in=rng.random() < 0.9,
            scholarship_minor=(
                2_000_000 if scholarship < 0.02 else 100_000 if scholarship < 0.2 else 0
            ),
            fate=fate,
            variant=rng.randrange(1 << 30),
            payments=1 + rng.randrange(3),
            intent="in_field_job"
            if intent_draw < 0.94
            else ("out_of_field_job", "further_study", "not_seeking_work")[
                int((intent_draw - 0.94) / 0.02)
            ],
        )

    def rows(self, table: str) -> Iterator[tuple]:
        """The rows of ``table``, in the order of ``COLUMNS[table]``."""
        return getattr(self, f"_{table}")(random.Random(f"{self.seed}:{table}"))

    # --- the school -----------------------------------------------------------------------

    def _programmes(self, _rng):
        for programme in PROGRAMMES:
            yield (*programme, NOW)

    def _guarantee_policies(self, _rng):
        for policy in POLICIES:
            yield (*policy[:15], 60, NOW)

    def _policy_qualifying_types(self, _rng):
        for policy in POLICIES:
            for kind in policy[15].split():
                yield (policy[0], kind)

    def _employers(self, _rng):
        yield (1, "The School", "careers@school.example", True, NOW)
        for number in range(2, EMPLOYERS + 1):
            yield (number, f"Employer {number}", f"hr@employer{number}.example", False, NOW)

    # --- the people -----------------------------------------------------------------------

    def _students(self, rng):
        for graduate in self.graduates:
            yield (
                graduate.id,
                f"Graduate {graduate.id:07d}",
                f"graduate{graduate.id}@school.example",
                graduate.country,
                NOW,
            )

    def _enrollments(self, rng):
        for g in self.graduates:
            expected = g.qualified_on - timedelta(days=rng.randrange(30))
            yield (
                g.id,
                g.id,
                g.programme,
                g.policy,
                g.qualified_on - timedelta(days=365),
                g.opted_in,
                g.scholarship_minor,
                g.intent,
                expected if rng.random() < 0.9 else None,
                g.country,
                g.country,
                g.study_work_authorisation,
                NOW,
            )

    def _graduations(self, rng):
        for g in self.graduates:
            stopped = None
            if g.fate == "none" and rng.random() < 0.05:
                stopped = g.qualified_on + timedelta(days=60 + rng.randrange(60))
            yield (g.id, g.id, g.qualified_on, stopped, NOW)

    def _tuition_payments(self, rng):
        for g in self.graduates:
            _id, _name, currency, price = PROGRAMMES[g.programme - 1]
            discount = rng.randrange(20) * 10_000
            sponsor = g.id % 7 == 0
            signed_on = g.qualified_on - timedelta(days=365)
            for number in range(g.payments):
                paid_at = datetime.combine(signed_on + timedelta(days=30 * number), _NOON)
                yield (
                    g.id,
                    (price - discount) // g.payments,
                    currency,
                    paid_at,
                    "sponsor" if sponsor else "student",
                    "Sponsor Ltd" if sponsor else None,
                    NOW,
                )

    # --- the search and its outcomes --------------------------------------------------------

    def _jobs_of(self, g: Graduate) -> list[tuple]:
        if g.fate == "placed":
            jobs = [PLACED_JOBS[g.variant % 4]]
            if g.variant // 4 % 14 == 0:
                jobs.append(UNPLACED_JOBS[1])
        elif g.fate == "unplaced":
            jobs = [UNPLACED_JOBS[g.variant % 5]]
            if g.variant // 5 % 4 == 0:
                jobs.append(UNPLACED_JOBS[(g.variant // 20) % 5])
        else:
            jobs = []
        return [job for job in jobs if g.qualified_on + timedelta(days=job[3]) < self.as_of]

    def _job_outcomes(self, rng):
        for g in self.graduates:
            currency = PROGRAMMES[g.programme - 1][2]
            for title, kind, in_field, days, months, salary, status, source in self._jobs_of(g):
                employer = 1 if rng.random() < 0.03 else 2 + rng.randrange(EMPLOYERS - 1)
                yield (
                    g.id,
                    employer,
                    title,
                    kind,
                    in_field,
                    g.qualified_on + timedelta(days=days),
                    months,
                    salary,
                    currency if salary is not None else None,
                    source,
                    status,
                    NOW,
                    NOW,
                )

    def _search_activities(self, rng):
        for g in self.graduates:
            entries = rng.choice((0, 1, 2, 2, 3, 3, 4, 5, 6))
            for _ in range(entries):
                day = g.qualified_on + timedelta(days=rng.randrange(1, 120))
                if day >= self.as_of:
                    continue
                at = datetime.combine(day, _NOON)
                if rng.random() < 0.12:
                    yield (g.id, "coaching_checkin", day, None, None, None, None, None, None,
                           None, at, at)  # fmt: skip
                else:
                    yield (g.id, "application", day, f"Employer {2 + rng.randrange(EMPLOYERS - 1)}",
                           "Developer", None, None, None, None, None, at, at)  # fmt: skip
            if g.fate != "placed" and rng.random() < 0.04:
                day = g.qualified_on + timedelta(days=30 + rng.randrange(60))
                if day < self.as_of:
                    at = datetime.combine(day, _NOON)
                    yield (g.id, "offer", day, "Employer 2", "Developer", "full_time_permanent",
                           True, day + timedelta(days=30), "declined", day, at, at)  # fmt: skip

    def _search_pauses(self, rng):
        for g in self.graduates:
            if rng.random() >= 0.1:
                continue
            starts_on = g.qualified_on + timedelta(days=20 + rng.randrange(60))
            if starts_on >= self.as_of:
                continue
            ends_on = starts_on + timedelta(days=10 + rng.randrange(110))
            yield (g.id, starts_on, ends_on, "illness", "registrar:bench", NOW)

    def _excluded_outcomes(self, rng):
        for g in self.graduates:
            occurred_on = g.qualified_on + timedelta(days=60)
            if rng.random() < 0.01 and occurred_on < self.as_of:
                yield (g.id, "further_study", occurred_on, f"Letter {g.id}", "registrar:bench",
                       NOW)  # fmt: skip

    def _school_requests(self, rng):
        for g in self.graduates:
            if rng.random() >= 0.05:
                continue
            asked = datetime.combine(g.qualified_on + timedelta(days=90), _NOON)
            if asked.date() >= self.as_of:
                continue
            answered = asked + timedelta(days=2) if rng.random() < 0.8 else None
            yield (g.id, asked, "registrar:bench", "Where are you in your search?",
                   "Still looking" if answered else None, answered, NOW)  # fmt: skip

    def _refund_claims(self, rng):
        """The claims of the history: graduates without a qualifying job whose window closed
        well before, nearly all closed by now; the last few months' still open."""
        claim_id = 0
        for g in self.graduates:
            if not g.opted_in or g.fate == "placed" or rng.random() >= 0.38:
                continue
            deadline = g.qualified_on + relativedelta(months=13)
            if deadline >= self.as_of:
                continue
            recent = deadline >= self.as_of - timedelta(days=120)
            state = rng.choice(OPEN_CLAIM_STATES if recent else CLOSED_CLAIM_STATES)
            claim_id += 1
            yield (
                claim_id,
                g.id,
                g.id,
                state,
                300_000 + rng.randrange(5) * 100_000,
                PROGRAMMES[g.programme - 1][2],
                deadline,
                deadline + timedelta(days=1),
                # Closed on judgment while owed: the sweep does not reopen them.
                True if state in ("rejected", "withdrawn") else None,
                1,
                NOW,
                NOW,
            )


_NOON = datetime.min.time().replace(hour=12, tzinfo=UTC)


#: The tables whose ids the rows give, whose sequences must then move past them.
EXPLICIT_IDS = ("programmes", "guarantee_policies", "employers", "students", "enrollments",
                "graduations", "refund_claims")  # fmt: skip


def build_school(
    connection: Connection,
    graduations: int,
    *,
    as_of: date = AS_OF,
    progress: Callable[[str], None] = print,
) -> dict[str, int]:
    """COPY a school of ``graduations`` graduations into ``connection``'s (PostgreSQL) schema,
    which must be migrated and empty; returns the rows per table. The caller commits."""
    started = time.perf_counter()
    plan = SchoolPlan(graduations, as_of)
    progress(f"  plan of {graduations:,} graduations in {time.perf_counter() - started:.1f}s")
    superuser = connection.execute(text("SELECT current_setting('is_superuser')")).scalar()
    if superuser == "on":
        # The rows agree with each other by construction: skip the foreign-key triggers.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
    connection.execute(text("SET LOCAL synchronous_commit = off"))
    cursor = connection.connection.driver_connection.cursor()
    counts = {}
    for table in TABLES:
        started = time.perf_counter()
        count = 0
        with cursor.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
            for row in plan.rows(table):
                copy.write_row(row)
                count += 1
        counts[table] = count
        progress(f"  {table}: {count:,} rows in {time.perf_counter() - started:.1f}s")
    for table in EXPLICIT_IDS:
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        )
    return counts


def analyze(engine: Engine) -> None:
    """VACUUM ANALYZE every table built, so that the planner knows the data."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in TABLES:
            connection.execute(text(f"VACUUM (ANALYZE) {table}"))


@dataclass(frozen=True)
class BuiltSchool:
    """A school built in a PostgreSQL schema of its own: its engine, and the database URL by
    which an application (or a worker process) reaches that schema."""

    engine: Engine
    url: str


@contextmanager
def built_school(
    url: str, graduations: int, progress: Callable[[str], None]
) -> Iterator[BuiltSchool]:
    """A school of ``graduations`` built with COPY into a fresh schema of ``url``'s database and
    analysed; the schema is dropped afterwards, whatever happens."""
    with bench_schema(url) as engine:
        started = time.perf_counter()
        with engine.begin() as connection:
            build_school(connection, graduations, progress=progress)
        analyze(engine)
        progress(f"{graduations:,} graduations built in {time.perf_counter() - started:.0f}s")
        yield BuiltSchool(engine, with_schema(url, schema_of(engine)))


def schema_of(engine: Engine) -> str:
    """The schema ``engine``'s connections work in."""
    with engine.connect() as connection:
        return connection.scalar(text("SELECT current_schema()"))


def with_schema(url: str, schema: str) -> str:
    """``url`` whose connections work in ``schema`` (as their search path)."""
    return f"{url}?options=-csearch_path%3D{schema}"
