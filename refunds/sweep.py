"""The sweep: every graduate owed a refund gets a claim, in one set-based statement.

State-based, never "who is due today": it selects every opted-in graduation whose window has
closed without a qualifying job and that has no claim yet, so a missed or late run loses
nobody, and running it twice creates nothing twice (one claim per enrollment, enforced by the
database). The SQL selects by the same rule as ``app.guarantee.rules``; a property test proves
that they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import (
    Boolean,
    Date,
    Integer,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from app.guarantee.rules import COUNTED_STATUSES
from app.guarantee.sentences import IsoDay
from app.guarantee.terms import (
    OPEN_ENDED_TYPES,
    REGIONS,
    EmploymentType,
    WindowStart,
    WorkAuthorisation,
)
from app.models import (
    Enrollment,
    ExcludedOutcome,
    Graduation,
    GuaranteePolicy,
    JobOutcome,
    PolicyPrerequisite,
    PolicyQualifyingType,
    PolicySearchArea,
    PrerequisiteVerification,
    Programme,
    SearchPause,
    TuitionPayment,
)
from app.models.base import utc_now
from refunds.claims import reopen_if_owed
from refunds.models import ClaimTransition, RefundClaim
from refunds.notes import REOPENED, SWEPT, note
from refunds.states import ClaimState


class _AddMonths(ColumnElement):
    """``day + months`` calendar months, clipped to the month's end (31 Aug + 6 = 28 Feb)."""

    inherit_cache = True
    type = Date()

    def __init__(self, day, months):
        self.day = day
        self.months = months


@compiles(_AddMonths, "postgresql")
def _add_months_postgresql(element, compiler, **kw):
    # PostgreSQL's interval arithmetic clips to the month's end, like the rule.
    day = compiler.process(element.day, **kw)
    months = compiler.process(element.months, **kw)
    return f"CAST(({day}) + make_interval(months => ({months})) AS DATE)"


@compiles(_AddMonths, "sqlite")
def _add_months_sqlite(element, compiler, **kw):
    # SQLite's '+N months' overflows into the next month instead; clip it by hand: the same
    # day-of-month in the target month, or that month's last day, whichever is earlier.
    day = compiler.process(element.day, **kw)
    months = compiler.process(element.months, **kw)
    same_day = (
        f"date({day}, 'start of month', '+' || ({months}) || ' months',"
        f" '+' || (CAST(strftime('%d', {day}) AS INTEGER) - 1) || ' days')"
    )
    month_end = f"date({day}, 'start of month', '+' || (({months}) + 1) || ' months', '-1 day')"
    return f"min({same_day}, {month_end})"


class _AddDays(ColumnElement):
    """``day + days`` days."""

    inherit_cache = True
    type = Date()
    # Its operands are part of the statement's cache key: statements using this are cached.
    _traverse_internals = [
        ("day", InternalTraversal.dp_clauseelement),
        ("days", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, day, days):
        self.day = day
        self.days = days


@compiles(_AddDays, "postgresql")
def _add_days_postgresql(element, compiler, **kw):
    day = compiler.process(element.day, **kw)
    days = compiler.process(element.days, **kw)
    # date + integer is a date; a sum of integers is a bigint, for which no such operator exists.
    return f"(({day}) + CAST(({days}) AS INTEGER))"


@compiles(_AddDays, "sqlite")
def _add_days_sqlite(element, compiler, **kw):
    day = compiler.process(element.day, **kw)
    days = compiler.process(element.days, **kw)
    return f"date({day}, '+' || ({days}) || ' days')"


def days_after(day, days) -> ColumnElement:
    """SQL for the date ``days`` days after ``day``, the same on PostgreSQL and SQLite (the
    claim deadline of a claim is its guarantee deadline plus the policy's days, in the queue)."""
    return _AddDays(day, literal(days) if isinstance(days, int) else days)


def days_from_to(first, last) -> ColumnElement:
    """SQL for the whole days from the date ``first`` to the date ``last`` (0 on the same day,
    negative when ``last`` comes first), the same on PostgreSQL and SQLite."""
    return _DaysInclusive(first, last) - 1


class _DaysInclusive(ColumnElement):
    """The days from ``first`` to ``last``, both counted (a one-day pause lasts 1 day)."""

    inherit_cache = True
    type = Integer()

    def __init__(self, first, last):
        self.first = first
        self.last = last


@compiles(_DaysInclusive, "postgresql")
def _days_inclusive_postgresql(element, compiler, **kw):
    # date - date is a whole number of days in PostgreSQL.
    first = compiler.process(element.first, **kw)
    last = compiler.process(element.last, **kw)
    return f"(({last}) - ({first}) + 1)"


@compiles(_DaysInclusive, "sqlite")
def _days_inclusive_sqlite(element, compiler, **kw):
    # Dates are ISO text in SQLite; julianday differences of two dates are whole numbers.
    first = compiler.process(element.first, **kw)
    last = compiler.process(element.last, **kw)
    return f"(CAST(julianday({last}) - julianday({first}) AS INTEGER) + 1)"


class _WindowStart(ColumnElement):
    """The first day of the window, per the policy's ``window_starts``."""

    inherit_cache = True
    type = Date()

    def __init__(self, qualified_on, starts):
        self.qualified_on = qualified_on
        self.starts = starts


@compiles(_WindowStart, "postgresql")
def _window_start_postgresql(element, compiler, **kw):
    q = compiler.process(element.qualified_on, **kw)
    starts = compiler.process(element.starts, **kw)
    return (
        f"CASE {starts}"
        f" WHEN '{WindowStart.DAY_AFTER_QUALIFICATION.value}' THEN {q} + 1"
        f" WHEN '{WindowStart.FIRST_MONDAY_AFTER_QUALIFICATION.value}'"
        f" THEN {q} + (8 - CAST(EXTRACT(ISODOW FROM {q}) AS INTEGER))"
        f" ELSE {q} END"
    )


@compiles(_WindowStart, "sqlite")
def _window_start_sqlite(element, compiler, **kw):
    q = compiler.process(element.qualified_on, **kw)
    starts = compiler.process(element.starts, **kw)
    return (
        f"CASE {starts}"
        f" WHEN '{WindowStart.DAY_AFTER_QUALIFICATION.value}' THEN date({q}, '+1 day')"
        f" WHEN '{WindowStart.FIRST_MONDAY_AFTER_QUALIFICATION.value}'"
        f" THEN date({q}, '+1 day', 'weekday 1')"
        f" ELSE {q} END"
    )


class _UtcDay(ColumnElement):
    """The UTC day of an instant (``instant.date()`` of a UTC-aware datetime)."""

    inherit_cache = True
    type = Date()
    # The instant is part of the statement's cache key: statements using this are cached.
    _traverse_internals = [("instant", InternalTraversal.dp_clauseelement)]

    def __init__(self, instant):
        self.instant = instant


@compiles(_UtcDay, "postgresql")
def _utc_day_postgresql(element, compiler, **kw):
    return f"CAST(({compiler.process(element.instant, **kw)}) AT TIME ZONE 'UTC' AS DATE)"


@compiles(_UtcDay, "sqlite")
def _utc_day_sqlite(element, compiler, **kw):
    # SQLite keeps instants as UTC text without a zone.
    return f"date({compiler.process(element.instant, **kw)})"


def utc_day(instant) -> ColumnElement:
    """SQL for the UTC day of ``instant``, the same on PostgreSQL and SQLite."""
    return _UtcDay(instant)


def window_start_sql(qualified_on, starts) -> ColumnElement:
    """SQL for the window's first day (``app.guarantee.rules.window_start``) from the day of
    qualification and the policy's ``window_starts``."""
    return _WindowStart(qualified_on, starts)


def _accepted_types():
    """Per policy, a 1/0 column per employment type: whether the policy counts that type.

    With a flag on the row, the qualifying-job test stays a plain expression. An EXISTS on
    policy_qualifying_types inside it would be a subplan, which keeps PostgreSQL from running
    the anti-join in parallel and inflates its cost estimate enough to switch on JIT
    compilation: on a million graduations that made the selection about twice as slow.
    """
    return (
        select(
            PolicyQualifyingType.policy_id,
            *(
                func.max(case((PolicyQualifyingType.employment_type == kind, 1), else_=0)).label(
                    kind.value
                )
                for kind in EmploymentType
            ),
        )
        .group_by(PolicyQualifyingType.policy_id)
        .subquery("accepted_types")
    )


def _paused():
    """Per graduation with pauses, every paused day added up (before the policy's limit)."""
    return (
        select(
            SearchPause.graduation_id,
            func.sum(_DaysInclusive(SearchPause.starts_on, SearchPause.ends_on)).label("days"),
        )
        .group_by(SearchPause.graduation_id)
        .subquery("paused")
    )


def policy_areas():
    """Per policy that names search areas, every country they cover (a region's members in its
    place, as ``app.guarantee.rules.area_countries``) as one list: ``,FR,DE,`` (``_Listed``).

    Joined to each row, the area tests stay plain expressions. An EXISTS on
    policy_search_areas per graduation (and per job) is a subplan that PostgreSQL costs so
    high that it cross-joins every graduation with every policy to apply the deadline first,
    and it keeps the job anti-join out of parallel workers: on 200,000 graduations that made
    the selection about four times as slow.
    """
    country = case(
        *(
            (PolicySearchArea.code == region, ",".join(sorted(members)))
            for region, members in REGIONS.items()
        ),
        else_=PolicySearchArea.code,
    )
    return (
        select(
            PolicySearchArea.policy_id,
            ("," + func.aggregate_strings(country, ",") + ",").label("countries"),
        )
        .group_by(PolicySearchArea.policy_id)
        .subquery("areas")
    )


class _Listed(ColumnElement):
    """Whether ``country`` is one of ``countries`` (a list of ``policy_areas``)."""

    inherit_cache = True
    type = Boolean()

    def __init__(self, country, countries):
        self.country = country
        self.countries = countries


@compiles(_Listed, "postgresql")
def _listed_postgresql(element, compiler, **kw):
    country = compiler.process(element.country, **kw)
    countries = compiler.process(element.countries, **kw)
    # "<> 0", not "> 0": PostgreSQL has no statistics for the list and guesses that a third of
    # the rows pass an inequality but nearly all pass a "not equal". Nearly all graduates are
    # covered; with a third, the estimate of the windows falls so low that it probes the jobs'
    # index once per graduation instead of hashing the jobs (about 1.5 times as slow).
    return f"(strpos({countries}, ',' || ({country}) || ',') <> 0)"


@compiles(_Listed, "sqlite")
def _listed_sqlite(element, compiler, **kw):
    country = compiler.process(element.country, **kw)
    countries = compiler.process(element.countries, **kw)
    return f"(instr({countries}, ',' || ({country}) || ',') <> 0)"


class _AmongFound(ColumnElement):
    """Whether ``column`` is one of the values ``found`` (a SELECT of one column) finds.

    On PostgreSQL the values are gathered into one array first (``= ANY (ARRAY(...))``): the
    planner then looks each row up by ``column``'s index, where ``IN`` lets it hash the whole
    table to join a few thousand values. The forecast reads the enrollments of the graduations
    of the last year or so this way: hashing every enrollment made it grow with the history
    (its statement took 82 ms at the benchmark's 20,000 graduations and 149 ms at 200,000; 103
    and 114 ms this way)."""

    inherit_cache = True
    type = Boolean()
    # Its operands are part of the statement's cache key: statements using this are cached.
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("found", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column, found):
        self.column = column
        self.found = found


@compiles(_AmongFound)
def _among_found(element, compiler, **kw):
    return compiler.process(element.column.in_(element.found), **kw)


@compiles(_AmongFound, "postgresql")
def _among_found_postgresql(element, compiler, **kw):
    column = compiler.process(element.column, **kw)
    return f"({column} = ANY (ARRAY({compiler.process(element.found, **kw)})))"


def _in_search_areas(countries, country):
    """``app.guarantee.rules.in_search_areas`` in SQL: ``countries`` is the policy's row of
    ``policy_areas`` (NULL when it names none: anywhere)."""
    return or_(countries.is_(None), _Listed(country, countries))


def covered_by_policy(areas):
    """``app.guarantee.rules.eligibility_shortfalls`` in SQL: the graduation (joined to its
    enrollment, its policy and, outer, the policy's ``areas``: ``policy_areas()``) meets its
    policy's eligibility terms (the sweep selects by it; the claims queue marks the claims of
    graduates it leaves out). Every prerequisite verified; qualified within the time limit of a
    recorded start of studies; searching in one of the policy's areas, if it names any; not
    recorded as unauthorised to work there, if the policy requires it."""
    unverified = exists().where(
        PolicyPrerequisite.policy_id == GuaranteePolicy.id,
        # Two levels down, the enrollment must be named as the outer query's explicitly.
        ~exists()
        .where(
            PrerequisiteVerification.enrollment_id == Enrollment.id,
            PrerequisiteVerification.prerequisite_id == PolicyPrerequisite.id,
        )
        .correlate_except(PrerequisiteVerification),
    )
    return and_(
        ~unverified,
        or_(
            GuaranteePolicy.qualify_within_months.is_(None),
            Enrollment.studies_started_on.is_(None),
            Graduation.qualified_on
            <= _AddMonths(Enrollment.studies_started_on, GuaranteePolicy.qualify_within_months),
        ),
        _in_search_areas(areas.c.countries, Enrollment.search_country),
        or_(
            not_(GuaranteePolicy.requires_work_authorisation),
            Enrollment.work_authorisation != WorkAuthorisation.NO.value,
        ),
    )


def _windows(
    graduation_ids=None, qualified_since: date | None = None, *, look_up_enrollments: bool = False
):
    """Each opted-in graduation not excluded and covered by its policy's eligibility terms
    (``covered_by_policy``), with its policy's terms, deadline (extended by
    its paused days, up to the policy's limit: ``app.guarantee.rules.paused_days``) and net
    tuition paid; only those of ``graduation_ids`` (a SELECT of ids) when given.

    With ``qualified_since``, only the graduations qualified since then, their payments and
    pauses summed per graduation through the indexes: what it reads depends on how many
    graduated since, not on the years of history before (the sweep, which judges everyone,
    sums all payments and pauses at once instead).

    ``look_up_enrollments`` (with ``qualified_since``) finds their enrollments through the
    primary key (``_AmongFound``) instead of letting the planner hash every enrollment: for a
    statement that only aggregates the windows (the forecast). A statement that goes on to join
    more per graduation (the reminders' selection) can be planned far worse that way."""
    accepted = _accepted_types()
    areas = policy_areas()
    if qualified_since is None:
        paused = _paused()
        paid = (
            select(
                TuitionPayment.enrollment_id,
                func.sum(TuitionPayment.amount_minor).label("paid_minor"),
            )
            .group_by(TuitionPayment.enrollment_id)
            .subquery("paid")
        )
        paused_sum, paid_sum = paused.c.days, paid.c.paid_minor
    else:
        paused = paid = None
        paused_sum = (
            select(func.sum(_DaysInclusive(SearchPause.starts_on, SearchPause.ends_on)))
            .where(SearchPause.graduation_id == Graduation.id)
            .scalar_subquery()
        )
        paid_sum = (
            select(func.sum(TuitionPayment.amount_minor))
            .where(TuitionPayment.enrollment_id == Enrollment.id)
            .scalar_subquery()
        )
    paused_days = func.coalesce(paused_sum, 0)
    counted_days = case(
        (paused_days > GuaranteePolicy.max_pause_days, GuaranteePolicy.max_pause_days),
        else_=paused_days,
    )
    deadline = _AddDays(
        _AddMonths(
            _WindowStart(Graduation.qualified_on, GuaranteePolicy.window_starts),
            GuaranteePolicy.window_months,
        ),
        counted_days,
    )
    scholarship = case((GuaranteePolicy.deduct_scholarships, Enrollment.scholarship_minor), else_=0)
    windows = (
        select(
            Graduation.id.label("graduation_id"),
            Enrollment.id.label("enrollment_id"),
            Graduation.qualified_on.label("qualified_on"),
            GuaranteePolicy.id.label("policy_id"),
            GuaranteePolicy.requires_in_field,
            GuaranteePolicy.min_contract_months,
            GuaranteePolicy.min_annual_salary_minor,
            GuaranteePolicy.refund_cap_minor,
            GuaranteePolicy.remote_abroad_counts,
            areas.c.countries.label("area_countries"),
            Enrollment.search_country,
            # NULL for every type when the policy counts none (the outer join finds no row).
            *(accepted.c[kind.value].label(f"accepts_{kind.value}") for kind in EmploymentType),
            Programme.currency.label("currency"),
            deadline.label("deadline"),
            (func.coalesce(paid_sum, 0) - scholarship).label("net_minor"),
        )
        .join(Enrollment, Enrollment.id == Graduation.enrollment_id)
        .join(GuaranteePolicy, GuaranteePolicy.id == Enrollment.policy_id)
        .join(Programme, Programme.id == Enrollment.programme_id)
        .outerjoin(accepted, accepted.c.policy_id == GuaranteePolicy.id)
        .outerjoin(areas, areas.c.policy_id == GuaranteePolicy.id)
        .where(
            Enrollment.guarantee_opt_in.is_(True),
            # A documented excluded outcome takes the graduate out of the guarantee.
            ~exists().where(ExcludedOutcome.graduation_id == Graduation.id),
            covered_by_policy(areas),
            true() if graduation_ids is None else Graduation.id.in_(graduation_ids),
            true() if qualified_since is None else Graduation.qualified_on >= qualified_since,
            true()
            if qualified_since is None or not look_up_enrollments
            else _AmongFound(
                Enrollment.id,
                select(Graduation.enrollment_id).where(Graduation.qualified_on >= qualified_since),
            ),
        )
    )
    if paid is not None:
        windows = windows.outerjoin(paid, paid.c.enrollment_id == Enrollment.id).outerjoin(
            paused, paused.c.graduation_id == Graduation.id
        )
    return windows.subquery("windows")


def _refundable(windows):
    # refunds.amounts.refundable_amount, in SQL: net paid, at most the cap, never negative.
    capped = case(
        (
            and_(
                windows.c.refund_cap_minor.is_not(None),
                windows.c.refund_cap_minor < windows.c.net_minor,
            ),
            windows.c.refund_cap_minor,
        ),
        else_=windows.c.net_minor,
    )
    return case((capped < 0, 0), else_=capped)


def owed_without_claim(as_of: date):
    """SELECT of every graduation owed a refund on ``as_of`` that has no claim yet."""
    owed, windows = _owed(as_of)
    has_claim = exists().where(RefundClaim.enrollment_id == windows.c.enrollment_id)
    return owed.where(not_(has_claim))


def owed_with_closed_claim(as_of: date):
    """SELECT of the claims closed on the facts (withdrawn, or rejected while the graduate was
    not owed) whose graduate the rule says is owed on ``as_of``: the facts changed since."""
    closed = (RefundClaim.state.in_([ClaimState.WITHDRAWN, ClaimState.REJECTED])) & (
        RefundClaim.closed_while_owed.is_not(True)
    )
    # Judged only for the graduations of closed claims (few): not a second pass over everyone.
    owed = _owed(as_of, select(RefundClaim.graduation_id).where(closed))[0].subquery("owed")
    return (
        select(RefundClaim.id)
        .join(owed, owed.c.enrollment_id == RefundClaim.enrollment_id)
        .where(closed)
        .order_by(RefundClaim.id)
    )


def qualifying_job_in(windows):
    """``app.guarantee.rules.job_qualifies`` in SQL, for a job outcome of a row of ``windows``
    (``_windows()``): counted status, started on or after qualifying, a type the policy accepts,
    in field if required, long enough, paid enough, where the policy's areas say (a job with no
    country is in the search country; a remote job for an employer outside the areas counts
    only if the policy says so). The deadline bound is the caller's (the
    sweep bounds it by the deadline; the expected liability censors there instead)."""
    return and_(
        JobOutcome.graduation_id == windows.c.graduation_id,
        JobOutcome.status.in_(sorted(COUNTED_STATUSES)),
        JobOutcome.start_date >= windows.c.qualified_on,
        case(
            {kind.value: windows.c[f"accepts_{kind.value}"] for kind in EmploymentType},
            value=JobOutcome.employment_type,
        )
        == 1,
        or_(not_(windows.c.requires_in_field), JobOutcome.in_field.is_(True)),
        or_(
            JobOutcome.employment_type.in_(sorted(OPEN_ENDED_TYPES)),
            and_(
                JobOutcome.contract_months.is_not(None),
                JobOutcome.contract_months >= windows.c.min_contract_months,
            ),
        ),
        or_(
            windows.c.min_annual_salary_minor.is_(None),
            and_(
                JobOutcome.annual_salary_minor.is_not(None),
                JobOutcome.salary_currency == windows.c.currency,
                JobOutcome.annual_salary_minor >= windows.c.min_annual_salary_minor,
            ),
        ),
        _in_search_areas(
            windows.c.area_countries,
            func.coalesce(JobOutcome.country, windows.c.search_country),
        ),
        or_(
            JobOutcome.remote_employer_country.is_(None),
            windows.c.remote_abroad_counts,
            _in_search_areas(windows.c.area_countries, JobOutcome.remote_employer_country),
        ),
    )


def _owed(as_of: date, graduation_ids=None):
    """The SELECT of every graduation owed a refund on ``as_of`` (of ``graduation_ids``, when
    given), claim or not, and its windows subquery."""
    windows = _windows(graduation_ids)
    qualifying_job = exists().where(
        qualifying_job_in(windows), JobOutcome.start_date <= windows.c.deadline
    )
    owed = select(
        windows.c.graduation_id,
        windows.c.enrollment_id,
        windows.c.deadline,
        _refundable(windows).label("amount_minor"),
        windows.c.currency,
    ).where(windows.c.deadline < as_of, not_(qualifying_job))
    return owed, windows


def earliest_open_qualification(session: Session, as_of: date) -> date | None:
    """A qualification day before which no window can still be open on ``as_of`` under any
    policy; ``None`` without a policy. It allows the longest window and pause, a week until the
    window starts, and a month more so that no month-end clipping can bring a window past it."""
    longest_months, longest_pause = session.execute(
        select(func.max(GuaranteePolicy.window_months), func.max(GuaranteePolicy.max_pause_days))
    ).one()
    if longest_months is None:
        return None
    return as_of - relativedelta(months=longest_months + 1) - timedelta(days=longest_pause + 7)


def in_window_closing_before(
    as_of: date, end: date, qualified_since: date, *, look_up_enrollments: bool = False
):
    """SELECT of every graduation in its window on ``as_of`` (``app.guarantee.rules``:
    covered, not excluded, no qualifying job, ``as_of`` on or before the deadline) whose
    deadline comes before ``end``, with its deadline, enrollment, refundable amount and
    currency; of the graduations qualified since ``qualified_since`` only
    (``earliest_open_qualification``), so that what it reads is bounded by the horizon
    (``look_up_enrollments``: ``_windows``)."""
    windows = _windows(qualified_since=qualified_since, look_up_enrollments=look_up_enrollments)
    qualifying_job = exists().where(
        qualifying_job_in(windows), JobOutcome.start_date <= windows.c.deadline
    )
    return select(
        windows.c.graduation_id,
        windows.c.enrollment_id,
        windows.c.deadline,
        _refundable(windows).label("amount_minor"),
        windows.c.currency,
    ).where(windows.c.deadline >= as_of, windows.c.deadline < end, not_(qualifying_job))


@dataclass(frozen=True)
class SweepResult:
    """What a sweep found and did."""

    as_of: date
    owed: int
    flagged: int
    dry_run: bool
    #: Claims closed on the facts that the facts now reopen.
    reopened: int = 0


def sweep(session: Session, as_of: date, *, dry_run: bool = False, actor: str = "system:sweep"):
    """Flag every graduate owed a refund on ``as_of``; returns counts. The caller commits."""
    reopened = 0 if dry_run else _reopen(session, as_of, actor)
    owed = owed_without_claim(as_of).subquery("owed")
    found = session.scalar(select(func.count()).select_from(owed))
    if dry_run or not found:
        return SweepResult(as_of, found, 0, dry_run, reopened)
    now = utc_now()
    claims = (
        _insert_skipping_duplicates(session, RefundClaim.__table__)
        .from_select(
            [
                "enrollment_id",
                "graduation_id",
                "state",
                "amount_minor",
                "currency",
                "deadline",
                "flagged_on",
                "version",
                "created_at",
                "updated_at",
            ],
            select(
                owed.c.enrollment_id,
                owed.c.graduation_id,
                literal(ClaimState.FLAGGED.value),
                owed.c.amount_minor,
                owed.c.currency,
                owed.c.deadline,
                literal(as_of, Date),
                literal(1, Integer),
                literal(now, RefundClaim.created_at.type),
                literal(now, RefundClaim.updated_at.type),
            )
            # SQLite reads "FROM x ON CONFLICT" as a join's ON without a WHERE between them.
            .where(true()),
        )
        .on_conflict_do_nothing()
    )
    # SQLAlchemy keeps an INSERT's rowcount only when asked; psycopg loses it once the cursor
    # closes, and PostgreSQL would report -1 claims flagged.
    flagged = session.execute(claims, execution_options={"preserve_rowcount": True}).rowcount
    # Every new claim gets its first audit row; claims without one are exactly those just made.
    session.execute(
        insert(ClaimTransition).from_select(
            ["claim_id", "from_state", "to_state", "actor", "reason", "at"],
            select(
                RefundClaim.id,
                null(),
                literal(ClaimState.FLAGGED.value),
                literal(actor),
                literal(str(note(SWEPT, day=IsoDay.of(as_of)))),
                literal(now, ClaimTransition.at.type),
            ).where(~exists().where(ClaimTransition.claim_id == RefundClaim.id)),
        )
    )
    session.flush()
    return SweepResult(as_of, found, flagged, dry_run, reopened)


def _reopen(session: Session, as_of: date, actor: str) -> int:
    # No terminal state hides an owed graduate: a claim withdrawn (or rejected) because the
    # facts said "not owed" reopens once they say "owed" (an employer denied the job). Few
    # rows: each is re-judged by the pure rule under its lock before it moves.
    reopened = 0
    for claim_id in session.scalars(owed_with_closed_claim(as_of)).all():
        claim = reopen_if_owed(
            session,
            claim_id,
            actor=actor,
            reason=note(REOPENED, day=IsoDay.of(as_of)),
            today=as_of,
        )
        reopened += claim is not None
    return reopened


def _insert_skipping_duplicates(session: Session, table):
    # ON CONFLICT DO NOTHING: a claim a concurrent sweep wrote first is left alone.
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table)
