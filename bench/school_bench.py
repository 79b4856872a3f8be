"""A school of 200,000 graduations: each service beside hand-written SQL on the same data.

Builds the school of ``bench.school_data`` (``BENCH_SCHOOL_GRADUATIONS`` graduations, default
200,000) in a PostgreSQL schema of its own, and one of 20,000 beside it (dropped at the end, even
on failure); then, on the big school, times each service against a hand-written statement
computing the same figures (checked equal), and on both schools the services whose cost should
depend on the horizon or the cohort, not on the history.

Printed, last: ``<name>_ratio=<x>`` (service time over hand-written time, medians after a
warm-up), ``<name>_peak_mb=<x>`` (how far the process's resident memory rose above its size
before the service's first run, sampled during it) and ``<name>_growth_ratio=<x>`` (service
time at the big school over the small one).

Run with ``make bench`` or ``.venv/bin/python -m bench.school_bench``. Environment:
``BENCH_DATABASE_URL`` (PostgreSQL), ``BENCH_SCHOOL_GRADUATIONS`` (default 200,000; 20,000 for a
quick check), ``BENCH_SCHOOL_SMALL`` (the small school, default 20,000), ``BENCH_SCHOOL_RUNS``
(timed runs per side, default 3), ``BENCH_SCHOOL_ONLY`` (comma-separated measure names).
"""

from __future__ import annotations

import os
import signal
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

import app.models  # noqa: F401 - the models load before any service (refunds imports them)
from app import create_app
from app.guarantee.cirr import HalfYear
from app.services.claim_review import review_flagged_claims
from app.services.forecast import liability_forecast
from app.services.outcomes_report import outcomes_report
from app.services.reminders import _graduates_due
from bench.school_data import AS_OF, NOW, built_school
from refunds.sweep import sweep

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class School:
    """A school built for the benchmark: its engine and size."""

    engine: Engine
    graduations: int


@dataclass(frozen=True)
class Comparison:
    """One measure: the service's and the hand-written timed runs, and the service's peak."""

    name: str
    service: list[float]
    hand: list[float]
    peak_bytes: int

    @property
    def ratio(self) -> float:
        return statistics.median(self.service) / statistics.median(self.hand)


def compare(
    name: str,
    service: Callable[[], object],
    hand: Callable[[], object],
    runs: int,
    same: Callable[[object, object], bool] = lambda a, b: a == b,
) -> Comparison:
    """Time ``service`` and ``hand`` ``runs`` times each after a warm-up, interleaved, and check
    that they agree; the service's peak memory is watched during its warm-up."""
    timings: dict[str, list[float]] = {"service": [], "hand": []}
    peak = 0
    for attempt in range(runs + 1):
        results = {}
        for label, run in (("service", service), ("hand", hand)):
            watch = RssWatch() if attempt == 0 and label == "service" else None
            started = time.perf_counter()
            with watch or nullcontext():
                results[label] = run()
            elapsed = time.perf_counter() - started
            if watch:
                peak = watch.growth
            if attempt:
                timings[label].append(elapsed)
            _progress(f"  {name} {label}: {'run ' + str(attempt) if attempt else 'warm-up'}"
                      f" {elapsed:.3f}s")  # fmt: skip
        if not same(results["service"], results["hand"]):
            raise AssertionError(
                f"{name}: the service and the hand-written SQL differ:"
                f" {results['service']!r:.500} != {results['hand']!r:.500}"
            )
    return Comparison(name, timings["service"], timings["hand"], peak)


class RssWatch:
    """How far the process's resident memory rose above where it was, sampled every 20 ms
    while the block runs (in a thread: it costs the measured code nothing)."""

    def __init__(self):
        self.growth = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self._start = _rss()
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self._stop.set()
        self._thread.join()
        self.growth = max(self.growth, _rss() - self._start)

    def _sample(self):
        while not self._stop.wait(0.02):
            self.growth = max(self.growth, _rss() - self._start)


def _rss() -> int:
    """The process's resident memory, in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# --- the forecast --------------------------------------------------------------------------

#: The graduates in their window on :as_of whose deadline is before :end, without an open
#: claim, per month and currency: the forecast's figures, by hand. Only graduations recent
#: enough for any policy's longest window and pause (and a month's margin) are read.
HAND_FORECAST_SQL = """
SELECT CAST(date_trunc('month', w.deadline) AS date) AS month, pr.currency,
       count(*) AS graduates,
       sum(GREATEST(LEAST(w.net_minor, p.refund_cap_minor), 0)) AS amount_minor
FROM graduations AS g
JOIN enrollments AS e ON e.id = g.enrollment_id
JOIN guarantee_policies AS p ON p.id = e.policy_id
JOIN programmes AS pr ON pr.id = e.programme_id
LEFT JOIN (
    SELECT policy_id, array_agg(employment_type) AS types
    FROM policy_qualifying_types GROUP BY policy_id
) AS qualifying ON qualifying.policy_id = p.id
CROSS JOIN LATERAL (
    SELECT CAST(
               CASE p.window_starts
                   WHEN 'day_after_qualification' THEN g.qualified_on + 1
                   WHEN 'first_monday_after_qualification'
                       THEN g.qualified_on + 8 - CAST(EXTRACT(ISODOW FROM g.qualified_on) AS int)
                   ELSE g.qualified_on
               END + make_interval(months => p.window_months)
           AS date)
           + CAST(LEAST(COALESCE((SELECT sum(s.ends_on - s.starts_on + 1) FROM search_pauses AS s
                                  WHERE s.graduation_id = g.id), 0),
                        p.max_pause_days) AS int) AS deadline,
           COALESCE((SELECT sum(t.amount_minor) FROM tuition_payments AS t
                     WHERE t.enrollment_id = e.id), 0)
           - CASE WHEN p.deduct_scholarships THEN e.scholarship_minor ELSE 0 END AS net_minor
) AS w
WHERE e.guarantee_opt_in
  AND g.qualified_on >= (
      SELECT CAST(CAST(:as_of AS date) - make_interval(months => max(window_months) + 1) AS date)
             - max(max_pause_days) - 7
      FROM guarantee_policies)
  AND w.deadline >= :as_of AND w.deadline < :end
  AND NOT EXISTS (
      SELECT FROM job_outcomes AS j
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
                 AND j.annual_salary_minor >= p.min_annual_salary_minor)))
  AND NOT EXISTS (
      SELECT FROM refund_claims AS c
      WHERE c.enrollment_id = e.id
        AND c.state IN ('flagged', 'in_review', 'awaiting_second_approval', 'approved',
                        'paying', 'failed'))
  AND NOT EXISTS (SELECT FROM excluded_outcomes AS x WHERE x.graduation_id = g.id)
GROUP BY 1, 2
ORDER BY 1, 2
"""


def forecast_service(school: School) -> list[tuple]:
    """``liability_forecast`` as the page calls it; its non-empty month rows."""
    with Session(school.engine) as session:
        forecast = liability_forecast(session, AS_OF)
    return [
        (row.month, row.currency, row.graduates, row.amount_minor)
        for row in forecast.rows
        if row.graduates
    ]


def forecast_hand(school: School) -> list[tuple]:
    """The forecast's month rows by hand."""
    end = date(AS_OF.year + 1, AS_OF.month, 1)
    with school.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(text(HAND_FORECAST_SQL), {"as_of": AS_OF, "end": end})
        ]


def measure_forecast(school: School, runs: int) -> Comparison:
    """The forecast against its hand-written SQL."""
    return compare(
        "forecast", lambda: forecast_service(school), lambda: forecast_hand(school), runs
    )


# --- the claim review after the sweep -------------------------------------------------------

#: The flagged claims not checked yet, each with whether its record may fall short of the
#: policy (weekly obligations, an offer logged, a question that may be late, stopped looking).
HAND_UNCHECKED_SQL = """
SELECT c.id, c.graduation_id,
       p.weekly_applications > 0 OR p.coaching_every_weeks IS NOT NULL
       OR COALESCE(g.stopped_seeking_on <= c.deadline, false)
       OR EXISTS (SELECT FROM search_activities AS a
                  WHERE a.graduation_id = g.id AND a.kind = 'offer')
       OR (p.answer_within_days IS NOT NULL
           AND EXISTS (SELECT FROM school_requests AS r WHERE r.graduation_id = g.id))
       AS to_judge
FROM refund_claims AS c
JOIN graduations AS g ON g.id = c.graduation_id
JOIN enrollments AS e ON e.id = g.enrollment_id
JOIN guarantee_policies AS p ON p.id = e.policy_id
WHERE c.state = 'flagged'
  AND 'claim:' || c.id NOT IN (
      SELECT target FROM audit_events WHERE action = 'claim.obligations_checked')
"""

#: The compliant ones marked checked in one statement; the count of the others.
HAND_REVIEW_SQL = f"""
WITH unchecked AS ({HAND_UNCHECKED_SQL}),
compliant AS (
    INSERT INTO audit_events (at, actor, action, target, detail)
    SELECT :now, 'system:sweep', 'claim.obligations_checked', 'claim:' || id, 'compliant'
    FROM unchecked WHERE NOT to_judge
    RETURNING 1
)
SELECT (SELECT count(*) FROM compliant), (SELECT count(*) FROM unchecked WHERE to_judge)
"""

#: The rows the judgement of the others reads: their search log, questions and pauses.
HAND_REVIEW_READS_SQL = [
    f"""
    SELECT t.* FROM {table} AS t
    WHERE t.graduation_id IN (SELECT graduation_id FROM ({HAND_UNCHECKED_SQL}) AS u)
    """
    for table in ("search_activities", "school_requests", "search_pauses")
]


def flag_the_backlog(school: School) -> int:
    """Run the sweep on the school, committed: the claims the review then checks."""
    with Session(school.engine) as session:
        flagged = sweep(session, AS_OF).flagged
        session.commit()
    _progress(f"  the sweep flagged {flagged:,} claims")
    return flagged


def review_service(school: School) -> int:
    """``review_flagged_claims`` as the job runs it, rolled back; how many it checked."""
    with school.engine.connect() as connection:
        transaction = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            result = review_flagged_claims(session, AS_OF)
        transaction.rollback()
    return result.checked


def review_hand(school: School) -> int:
    """By hand, rolled back: the compliant claims marked checked in one statement, and every
    row the judgement of the others needs read; how many claims that covers. It neither judges
    the others' weeks nor writes their decisions: the service does both on top."""
    with school.engine.connect() as connection:
        transaction = connection.begin()
        compliant, to_judge = connection.execute(text(HAND_REVIEW_SQL), {"now": NOW}).one()
        for sql in HAND_REVIEW_READS_SQL:
            connection.execute(text(sql)).all()
        transaction.rollback()
    return compliant + to_judge


def measure_claim_review(school: School, runs: int) -> Comparison:
    """The review after the sweep against its hand-written SQL, on the sweep's backlog."""
    flag_the_backlog(school)
    return compare(
        "claim_review", lambda: review_service(school), lambda: review_hand(school), runs
    )


# --- the outcomes report --------------------------------------------------------------------

#: The half-year whose outcomes are reported: the latest complete one on ``AS_OF``.
OUTCOMES_PERIOD = HalfYear(2025, 2)

#: Every enrollment of the cohort with its CIRR status (``app.guarantee.cirr``) by hand,
#: counted per programme and status: NULL for those who did not graduate.
HAND_OUTCOMES_SQL = """
WITH cohort AS (
    SELECT e.id AS enrollment_id, e.programme_id, e.cirr_intent, e.study_work_authorisation,
           g.id AS graduation_id, g.stopped_seeking_on,
           LEAST(g.qualified_on + 180, CAST(:today AS date)) AS as_of
    FROM enrollments AS e
    LEFT JOIN graduations AS g ON g.enrollment_id = e.id
    WHERE e.expected_graduation_on BETWEEN :first AND :last
       OR (e.expected_graduation_on IS NULL AND g.qualified_on BETWEEN :first AND :last)
),
judged AS (
    SELECT c.*,
           c.cirr_intent <> 'in_field_job'
           OR c.study_work_authorisation = 'no'
           OR EXISTS (SELECT FROM excluded_outcomes AS x
                      WHERE x.graduation_id = c.graduation_id AND x.occurred_on <= c.as_of)
           AS excluded,
           (SELECT CASE
                       WHEN j.employment_type = 'founded_company'
                           THEN CASE WHEN j.in_field THEN '1D' ELSE '2B' END
                       WHEN NOT j.in_field
                           THEN CASE WHEN COALESCE(m.is_school, false) THEN '2A' ELSE '2B' END
                       WHEN COALESCE(m.is_school, false) THEN '1C'
                       WHEN j.employment_type = 'full_time_permanent' THEN '1A'
                       WHEN j.employment_type IN ('apprenticeship', 'internship',
                                                  'fixed_term_contract')
                            AND j.contract_months >= 3 THEN '1B'
                       ELSE '1E'
                   END AS status
            FROM job_outcomes AS j
            LEFT JOIN employers AS m ON m.id = j.employer_id
            WHERE j.graduation_id = c.graduation_id
              AND j.start_date <= c.as_of AND j.status <> 'disputed'
            ORDER BY 1, j.start_date
            LIMIT 1) AS job_status,
           LEAST(
               (SELECT min(LEAST(a.occurred_on, CAST(a.created_at AT TIME ZONE 'UTC' AS date)))
                FROM search_activities AS a WHERE a.graduation_id = c.graduation_id),
               (SELECT min(CAST(r.answered_at AT TIME ZONE 'UTC' AS date))
                FROM school_requests AS r WHERE r.graduation_id = c.graduation_id),
               (SELECT min(LEAST(j.start_date, CAST(j.created_at AT TIME ZONE 'UTC' AS date)))
                FROM job_outcomes AS j WHERE j.graduation_id = c.graduation_id)
           ) AS engaged_on
    FROM cohort AS c
)
SELECT programme_id,
       CASE
           WHEN graduation_id IS NULL THEN NULL
           WHEN excluded THEN 'excluded'
           WHEN job_status IS NOT NULL THEN job_status
           WHEN stopped_seeking_on <= as_of THEN '3B'
           WHEN engaged_on <= as_of THEN '3A'
           ELSE '4'
       END AS status,
       count(*)
FROM judged
GROUP BY 1, 2
ORDER BY 1, 2 NULLS FIRST
"""


def _by_status(rows) -> list[tuple]:
    """Counts per (programme, status) in the hand-written statement's order."""
    counts = Counter((row.programme_id, row.status.value if row.status else None) for row in rows)
    return sorted(
        ((programme, status, count) for (programme, status), count in counts.items()),
        key=lambda item: (item[0], item[1] is not None, item[1] or ""),
    )


def outcomes_service(school: School) -> list[tuple]:
    """``outcomes_report`` as the page calls it, for the period's cohort; its counts."""
    with Session(school.engine) as session:
        report = outcomes_report(session, OUTCOMES_PERIOD, AS_OF)
    return _by_status(report.rows)


def outcomes_hand(school: School) -> list[tuple]:
    """The cohort's statuses by hand, counted per programme and status."""
    period = {"first": OUTCOMES_PERIOD.first_day, "last": OUTCOMES_PERIOD.last_day}
    with school.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(text(HAND_OUTCOMES_SQL), {"today": AS_OF, **period})
        ]


def measure_outcomes(school: School, runs: int) -> Comparison:
    """The outcomes report against its hand-written SQL."""
    return compare(
        "outcomes", lambda: outcomes_service(school), lambda: outcomes_hand(school), runs
    )


# --- the reminders' selection ---------------------------------------------------------------

#: The reminder points, in days before the deadline (the default setting).
REMINDER_DAYS = (30, 7)

#: The graduates in their window on :as_of without a claim, not erased, with their deadline
#: reminder due (the smallest point not after the days left), if any, their window's first day
#: and what their policy asks every week; by hand.
HAND_IN_WINDOW_SQL = (
    HAND_FORECAST_SQL.rsplit("GROUP BY", 1)[0]
    .replace(
        """SELECT CAST(date_trunc('month', w.deadline) AS date) AS month, pr.currency,
       count(*) AS graduates,
       sum(GREATEST(LEAST(w.net_minor, p.refund_cap_minor), 0)) AS amount_minor""",
        """SELECT g.id AS graduation_id, w.deadline,
       CASE WHEN w.deadline - CAST(:as_of AS date) <= 7 THEN 7
            WHEN w.deadline - CAST(:as_of AS date) <= 30 THEN 30 END AS reminder,
       CASE p.window_starts
           WHEN 'day_after_qualification' THEN g.qualified_on + 1
           WHEN 'first_monday_after_qualification'
               THEN g.qualified_on + 8 - CAST(EXTRACT(ISODOW FROM g.qualified_on) AS int)
           ELSE g.qualified_on
       END AS opens,
       p.weekly_applications, p.coaching_every_weeks""",
    )
    .replace(
        """        AND c.state IN ('flagged', 'in_review', 'awaiting_second_approval', 'approved',
                        'paying', 'failed'))""",
        """)
  AND NOT EXISTS (SELECT FROM students AS s WHERE s.id = e.student_id
                  AND s.erased_at IS NOT NULL)""",
    )
)

#: Each of them with the week they are warned about falling behind in, if any, by hand: the
#: current week (k, counted from the window's first day) not done while it has days not
#: paused, and either the week before it fell short or at most 3 of its days are left. A week
#: asks for the weekly applications prorated to its days not paused, and, when it closes a
#: coaching block (its last week not paused), a check-in in the block.
HAND_REMINDERS_SQL = f"""
WITH in_window AS MATERIALIZED ({HAND_IN_WINDOW_SQL}),
weeks AS (
    SELECT graduation_id, deadline, opens, weekly_applications AS weekly,
           coaching_every_weeks AS every,
           (CAST(:as_of AS date) - opens) / 7 AS k, (deadline - opens) / 7 AS last,
           coaching_every_weeks IS NOT NULL AND (deadline - opens) / 7 > 0
           AND (deadline - opens) % 7 <> 6
           AND (deadline - opens) / 7 % coaching_every_weeks = 0 AS last_joins
    FROM in_window
    WHERE (weekly_applications > 0 OR coaching_every_weeks IS NOT NULL)
      AND opens <= :as_of
),
blocks AS (
    SELECT weeks.*, opens + 7 * k AS starts_on, LEAST(opens + 7 * k + 6, deadline) AS ends_on,
           CASE WHEN last_joins AND k = last THEN (last - 1) / every * every
                ELSE k / every * every END AS block_first,
           CASE WHEN last_joins AND k = last THEN last
                WHEN k / every * every + every - 1 >= last THEN last
                WHEN last_joins AND last = k / every * every + every THEN last
                ELSE k / every * every + every - 1 END AS block_last,
           every IS NOT NULL AND k >= 1 AND k % every = 0 AND NOT (last_joins AND k = last)
               AS previous_closes
    FROM weeks
),
counted AS (
    SELECT b.graduation_id, b.starts_on, b.ends_on, b.weekly, b.k, b.previous_closes,
           b.every IS NOT NULL AND (b.block_last <= b.k OR NOT EXISTS (
               SELECT FROM generate_series(b.starts_on + 7,
                                           LEAST(b.opens + 7 * b.block_last + 6, b.deadline),
                                           interval '1 day') AS d(day)
               WHERE NOT EXISTS (SELECT FROM search_pauses AS sp
                                 WHERE sp.graduation_id = b.graduation_id
                                   AND d.day BETWEEN sp.starts_on AND sp.ends_on)))
               AS current_closes,
           (SELECT count(*) FROM generate_series(b.starts_on, b.ends_on, interval '1 day') AS d(day)
            WHERE NOT EXISTS (SELECT FROM search_pauses AS sp
                              WHERE sp.graduation_id = b.graduation_id
                                AND d.day BETWEEN sp.starts_on AND sp.ends_on)) AS active,
           (SELECT count(*) FROM generate_series(b.starts_on - 7, b.starts_on - 1,
                                                 interval '1 day') AS d(day)
            WHERE NOT EXISTS (SELECT FROM search_pauses AS sp
                              WHERE sp.graduation_id = b.graduation_id
                                AND d.day BETWEEN sp.starts_on AND sp.ends_on))
               AS previous_active,
           log.*
    FROM blocks AS b
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE a.kind = 'application'
                                AND a.occurred_on BETWEEN b.starts_on AND :as_of)
                   AS applications,
               count(*) FILTER (WHERE a.kind = 'application'
                                AND a.occurred_on BETWEEN b.starts_on - 7 AND b.starts_on - 1)
                   AS previous_applications,
               count(*) FILTER (WHERE a.kind = 'coaching_checkin'
                                AND a.occurred_on BETWEEN b.opens + 7 * b.block_first
                                                      AND :as_of) AS checkins,
               count(*) FILTER (WHERE a.kind = 'coaching_checkin'
                                AND a.occurred_on BETWEEN b.opens + 7 * (b.k - b.every)
                                                      AND b.starts_on - 1) AS previous_checkins
        FROM search_activities AS a
        WHERE a.graduation_id = b.graduation_id
    ) AS log
),
behind AS (
    SELECT graduation_id, starts_on FROM counted
    WHERE active > 0
      AND (applications < (weekly * active + 6) / 7 OR (current_closes AND checkins = 0))
      AND ((k >= 1 AND previous_active > 0
            AND (previous_applications < (weekly * previous_active + 6) / 7
                 OR (previous_closes AND previous_checkins = 0)))
           OR ends_on - CAST(:as_of AS date) + 1 <= 3)
)
SELECT w.graduation_id, w.deadline, w.reminder, behind.starts_on AS behind_week
FROM in_window AS w
LEFT JOIN behind ON behind.graduation_id = w.graduation_id
"""


def reminders_service(school: School, app) -> list[str]:
    """The graduates' reminders a run finds due (``_graduates_due``): the deadline and the
    falling-behind reminders' keys. (A run then writes the emails of those not sent yet.)"""
    with app.app_context(), Session(school.engine) as session:
        due = _graduates_due(
            session, replace(app.config["SETTINGS"], reminder_days_before_deadline=REMINDER_DAYS),
            AS_OF,
        )  # fmt: skip
    return sorted(reminder.dedupe_key for reminder in due)


def reminders_hand(school: School) -> list[str]:
    """By hand: who is in their window with a deadline reminder due, and who is warned they
    are falling behind, and about which week; their keys."""
    with school.engine.connect() as connection:
        rows = connection.execute(text(HAND_REMINDERS_SQL), {"as_of": AS_OF, "end": date.max}).all()
    keys = [
        f"deadline:{row.graduation_id}:{row.deadline.isoformat()}:{row.reminder}"
        for row in rows
        if row.reminder is not None
    ]
    keys += [
        f"behind:{row.graduation_id}:{row.behind_week.isoformat()}"
        for row in rows
        if row.behind_week is not None
    ]
    return sorted(keys)


def measure_reminders(school: School, runs: int) -> Comparison:
    """The reminders' selection against its hand-written SQL."""
    app = create_app({"BASE_URL": "https://school.example"})
    return compare(
        "reminders_selection",
        lambda: reminders_service(school, app),
        lambda: reminders_hand(school),
        runs,
    )


#: Every measure, by name, in the order they run; each takes a school and the number of runs.
MEASURES: dict[str, Callable[[School, int], Comparison]] = {
    "forecast": measure_forecast,
    "outcomes": measure_outcomes,
    "reminders": measure_reminders,
    "claim_review": measure_claim_review,
}

#: The measures whose cost depends on the horizon or the cohort, not on the history: timed on
#: the small school too.
GROWTH = ("forecast", "outcomes")


# --- the run -------------------------------------------------------------------------------


def run(url: str, graduations: int, small: int, runs: int, only: list[str]) -> list[str]:
    """Build both schools, run every measure; returns the summary lines."""
    measures = {name: MEASURES[name] for name in only} if only else MEASURES
    lines = []
    with built_school(url, graduations, _progress) as school:
        big = School(school.engine, graduations)
        results = {name: measure(big, runs) for name, measure in measures.items()}
        for name, result in results.items():
            lines.append(f"{name}_ratio={result.ratio:.2f}")
            lines.append(f"{name}_peak_mb={result.peak_bytes / 2**20:.1f}")
        growing = [name for name in GROWTH if name in measures]
        if growing:
            with built_school(url, small, _progress) as small_school:
                little = School(small_school.engine, small)
                for name in growing:
                    at_small = measures[name](little, runs)
                    growth = statistics.median(results[name].service) / statistics.median(
                        at_small.service
                    )
                    lines.append(f"{name}_growth_ratio={growth:.2f}")
                    lines.append(
                        f"{name}_seconds: {statistics.median(at_small.service):.3f} at"
                        f" {small:,}, {statistics.median(results[name].service):.3f} at"
                        f" {graduations:,} graduations"
                    )
    return lines


def _progress(line: str) -> None:
    print(line, flush=True)


def _stop(signum, _frame) -> None:
    # Turn a termination into an exception, so the schemas are still dropped.
    raise SystemExit(128 + signum)


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    graduations = int(os.environ.get("BENCH_SCHOOL_GRADUATIONS", "200000"))
    small = int(os.environ.get("BENCH_SCHOOL_SMALL", "20000"))
    runs = int(os.environ.get("BENCH_SCHOOL_RUNS", "3"))
    only = [name for name in os.environ.get("BENCH_SCHOOL_ONLY", "").split(",") if name]
    signal.signal(signal.SIGTERM, _stop)
    started = time.perf_counter()
    lines = run(url, graduations, small, runs, only)
    _progress(f"total: {time.perf_counter() - started:.0f}s")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
