"""Time to a qualifying job, and the refunds the graduates still searching are expected to cost.

The one home of the expected refund liability (IFRS 15 paragraph 53, the expected-value method),
as pure functions over plain values. ``app.services.expected_liability`` loads the searches
still open on the first day a report forecasts from as ``SearchRecord`` values, and the searches
closed before it counted alike (``ClosedSearches``: ``close_searches`` is the rule, which the
database's count is held equal to); the pages, the API and the benchmark call these functions.

Definitions:

- **Search time** of a covered graduate (opted in, not excluded): whole days from the first day
  of their guarantee window. The search *ends* on the start of their first qualifying job (a job
  that starts before the window counts as day 0). It is *censored*, not ended, on the deadline
  (a later job does not count), and on the day the forecast is made for a graduate still in the
  window. The forecast takes every job on record (as the worst case does); the backtest counts
  a job only from the day it was on record (``job_known_on``), so that a forecast made at a
  past date uses only what was known then.
- **Placement curve**: the Kaplan-Meier estimate (``kaplan_meier``: statsmodels' estimate, in a
  few array operations) of the share of graduates still without a qualifying job after ``d``
  days, with a pointwise 95% interval (Tsiatis' variance, as statsmodels gives it for weighted
  searches), from the search times of every covered graduate whose window has started.
- **Which curve** a graduate gets (pooled where the data is thin): their programme's half-year
  cohort's curve (the half-year their window started in) when at least ``MIN_AT_RISK`` graduates
  of that cohort were still observed searching on the graduate's deadline day; otherwise their
  programme's curve over every cohort, under the same condition; otherwise the curve of every
  programme together. Without any history the estimate is the worst case.
- **Probability of a refund** for a graduate in the window on the forecast day, with no
  qualifying job on record, who has searched ``t`` days and whose deadline is day ``D``:
  ``S(D) / S(t)`` (still without a job on day ``D``, given none by day ``t``); 1 where the curve
  has fallen to zero by ``t``.
- **Expected liability** of a month and currency: the sum, over the graduates whose deadline
  falls in that month, of that probability times their refundable amount, rounded to a whole
  minor unit. The **worst case** counts every one of them in full.
- **Interval**: a 95% bootstrap interval (the 2.5th and 97.5th percentiles of ``BOOTSTRAP_DRAWS``
  recomputations, each from the history resampled graduate by graduate, as Poisson weights),
  with a fixed seed so that a page shows the same figures twice.
- **Backtest**: at the first day of each past month, the expected liability of the windows
  closing that month, computed from what was on record that day, against what those graduates were
  actually owed (no qualifying job started by their deadline, as the records stand today). The
  **error** is the sum of the absolute differences over the sum of what was owed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from dateutil.relativedelta import relativedelta

from app.guarantee.cirr import HalfYear

#: Graduates still observed searching at a deadline day that a curve needs to be used there.
MIN_AT_RISK = 30
#: Recomputations behind the bootstrap interval.
BOOTSTRAP_DRAWS = 200
#: The interval's coverage, as its lower and upper percentiles.
INTERVAL_PERCENTILES = (2.5, 97.5)
#: Months before the current one that the backtest covers.
BACKTEST_MONTHS = 6

#: The key of a curve: (programme id or None for every programme, half-year or None for every
#: cohort).
CurveKey = tuple[int | None, HalfYear | None]
POOLED: CurveKey = (None, None)


@dataclass(frozen=True)
class SearchRecord:
    """One covered graduate's search, as the records stand today."""

    programme_id: int
    currency: str
    refundable_minor: int
    #: The first day of the guarantee window, and its last (pauses included).
    window_start: date
    deadline: date
    #: The start of the first qualifying job; ``None`` while there is none.
    job_on: date | None = None
    #: The day that job was on record; ``None``: its start.
    job_known_on: date | None = None
    #: Whether an open claim counts the graduate already (the forecast leaves them to it; their
    #: search still makes the curves).
    open_claim: bool = False
    #: The graduation's record id, so a report can tell whose search it is; not used here.
    key: int | None = None


@dataclass(frozen=True)
class Curve:
    """A placement curve: the share still without a qualifying job after each day."""

    key: CurveKey
    #: The days on which some graduate's search ended, ascending, and the curve after each.
    days: tuple[int, ...]
    survival: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    #: How many graduates the curve rests on, and how many of them found a qualifying job.
    graduates: int
    placed: int

    def at(self, day: int) -> float:
        """The share still without a qualifying job after ``day`` days (1 before any event)."""
        index = np.searchsorted(self.days, day, side="right") - 1
        return 1.0 if index < 0 else self.survival[index]

    def interval_at(self, day: int) -> tuple[float, float]:
        """The curve's pointwise 95% interval after ``day`` days."""
        index = np.searchsorted(self.days, day, side="right") - 1
        return (1.0, 1.0) if index < 0 else (self.lower[index], self.upper[index])

    def median_days(self) -> int | None:
        """The first day by which half had found a qualifying job; ``None`` if never."""
        return next(
            (day for day, s in zip(self.days, self.survival, strict=True) if s <= 0.5), None
        )


@dataclass(frozen=True)
class LiabilityRow:
    """What the graduates whose windows close in ``month`` may cost, in one currency."""

    month: date
    currency: str
    graduates: int
    #: Every one of them refunded in full.
    worst_case_minor: int
    expected_minor: int
    lower_minor: int
    upper_minor: int


@dataclass(frozen=True)
class BacktestRow:
    """A month's expected liability as forecast on its first day, against what was owed."""

    month: date
    currency: str
    graduates: int
    worst_case_minor: int
    expected_minor: int
    lower_minor: int
    upper_minor: int
    #: What the graduates forecast were owed: no qualifying job started by their deadline.
    actual_minor: int


@dataclass(frozen=True)
class ExpectedLiability:
    """The expected liability on ``as_of`` and the curves it rests on."""

    as_of: date
    rows: list[LiabilityRow]
    #: Each programme's curve over every cohort, and the curve of every programme.
    curves: dict[CurveKey, Curve] = field(default_factory=dict)


# --- search times ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClosedSearches:
    """Covered graduates of one programme and half-year (of their window's first day) whose
    windows closed before the first day a report forecasts from, who searched alike: the same
    search times, known from the same day."""

    programme_id: int
    half_year: HalfYear
    #: Days from the window's first day to its deadline; ``None`` where it cannot matter (a
    #: qualifying job started by the deadline and was on record by the first forecast day).
    days_to_deadline: int | None
    #: Days from the window's first day to the start of the first qualifying job, 0 for a job
    #: that started before; ``None`` when none started by the deadline.
    job_days: int | None
    #: The day that job was on record, when it was after the first forecast day; ``None``: by then.
    job_known_on: date | None
    graduates: int


@dataclass(frozen=True)
class ClosedHistory:
    """The searches whose windows closed before ``before``, counted (``close_searches``): a
    forecast from ``before`` or later needs no more of them."""

    before: date
    searches: Sequence[ClosedSearches] = ()


def close_searches(
    records: Sequence[SearchRecord], before: date
) -> tuple[list[SearchRecord], ClosedHistory]:
    """The records whose deadline is on or after ``before``, and the others counted per
    programme, half-year and search. Forecasts and backtests from ``before`` or later give the
    same figures from the two as from every record (the searches counted can no longer be in a
    window then, and change only with the day their job was on record)."""
    kept, counts = [], {}
    for record in records:
        if record.deadline >= before:
            kept.append(record)
            continue
        placed = record.job_on is not None and record.job_on <= record.deadline
        known_on = (record.job_known_on or record.job_on) if placed else None
        late = known_on if known_on is not None and known_on > before else None
        key = (
            record.programme_id,
            HalfYear(record.window_start.year, 2 if record.window_start.month > 6 else 1),
            (record.deadline - record.window_start).days if not placed or late else None,
            max((record.job_on - record.window_start).days, 0) if placed else None,
            late,
        )
        counts[key] = counts.get(key, 0) + 1
    closed = tuple(ClosedSearches(*key, graduates=count) for key, count in counts.items())
    return kept, ClosedHistory(before, closed)


@dataclass
class _History:
    """The records as arrays of day numbers (proleptic ordinals), for vectorised arithmetic; the
    closed searches counted enter as one entry each, weighted by how many graduates it counts."""

    programmes: np.ndarray
    halves: np.ndarray  # index into ``half_years``
    half_years: list[HalfYear]
    starts: np.ndarray
    deadlines: np.ndarray
    job_on: np.ndarray  # a day after every deadline when there is no job
    job_known_on: np.ndarray
    currencies: np.ndarray
    amounts: np.ndarray
    open_claims: np.ndarray
    weights: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)


_NEVER = date.max.toordinal()


def _history(records: Sequence[SearchRecord], closed: ClosedHistory | None = None) -> _History:
    searches = closed.searches if closed is not None else ()
    # A closed search's days are counted back from the day before ``before``: its deadline is
    # then before every day forecast from, as it was, and its search times are its own.
    last_day = closed.before.toordinal() - 1 if closed is not None else 0
    deadlines_closed = np.full(len(searches), last_day, dtype=np.int64)
    starts_closed = deadlines_closed - np.array(
        [s.job_days if s.days_to_deadline is None else s.days_to_deadline for s in searches],
        dtype=np.int64,
    )
    starts = np.concatenate(
        [np.array([r.window_start.toordinal() for r in records], dtype=np.int64), starts_closed]
    )
    # Each record's half-year as year * 2 + half - 1, then as an index into ``half_years``.
    codes = np.array(
        [r.window_start.year * 2 + (r.window_start.month > 6) for r in records]
        + [s.half_year.year * 2 + s.half_year.half - 1 for s in searches],
        dtype=np.int64,
    )
    unique_codes, halves = np.unique(codes, return_inverse=True)
    job_on = [r.job_on for r in records]
    job_days = np.array(
        [-1 if s.job_days is None else s.job_days for s in searches], dtype=np.int64
    )
    return _History(
        programmes=np.array(
            [r.programme_id for r in records] + [s.programme_id for s in searches],
            dtype=np.int64,
        ),
        halves=halves.reshape(-1).astype(np.int64),
        half_years=[HalfYear(int(code) // 2, int(code) % 2 + 1) for code in unique_codes],
        starts=starts,
        deadlines=np.concatenate(
            [np.array([r.deadline.toordinal() for r in records], dtype=np.int64), deadlines_closed]
        ),
        job_on=np.concatenate(
            [
                np.array([d.toordinal() if d else _NEVER for d in job_on], dtype=np.int64),
                np.where(job_days < 0, _NEVER, starts_closed + job_days),
            ]
        ),
        job_known_on=np.array(
            [
                (r.job_known_on or d).toordinal() if d else _NEVER
                for r, d in zip(records, job_on, strict=True)
            ]
            + [
                _NEVER
                if s.job_days is None
                else (s.job_known_on.toordinal() if s.job_known_on else 0)
                for s in searches
            ],
            dtype=np.int64,
        ),
        currencies=np.array([r.currency for r in records] + [""] * len(searches), dtype=object),
        amounts=np.array(
            [r.refundable_minor for r in records] + [0] * len(searches), dtype=np.int64
        ),
        open_claims=np.array([r.open_claim for r in records] + [False] * len(searches), dtype=bool),
        weights=np.array([1] * len(records) + [s.graduates for s in searches], dtype=np.int64),
    )


def _spells(history: _History, as_of: date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per record: whether its window had started on ``as_of``, its search time as known then,
    and whether a qualifying job ended it."""
    day = as_of.toordinal()
    started = history.starts <= day
    end = np.minimum(history.deadlines, day)
    known = (history.job_known_on <= day) & (history.job_on <= end)
    days = np.where(known, np.maximum(history.job_on - history.starts, 0), end - history.starts)
    return started, days, known


def search_times(
    records: Sequence[SearchRecord], as_of: date
) -> list[tuple[SearchRecord, int, bool]]:
    """Each record whose window had started on ``as_of``: its search time in days as known that
    day, and whether a qualifying job ended the search (``False``: censored)."""
    history = _history(records)
    started, days, placed = _spells(history, as_of)
    return [
        (record, int(days[i]), bool(placed[i])) for i, record in enumerate(records) if started[i]
    ]


# --- curves ------------------------------------------------------------------------------------


def fit_curve(key: CurveKey, days: np.ndarray, placed: np.ndarray, weights=None) -> Curve:
    """The Kaplan-Meier curve of search times ``days`` (``placed``: the search ended with a
    qualifying job, else censored), each counted ``weights`` times (default once)."""
    days = np.asarray(days, dtype=float)
    placed = np.asarray(placed, dtype=float)
    weights = np.ones_like(days) if weights is None else np.asarray(weights, dtype=float)
    keep = weights > 0
    days, placed, weights = days[keep], placed[keep], weights[keep]
    graduates, found = int(weights.sum()), int((weights * placed).sum())
    if not found:
        return Curve(key, (), (), (), (), graduates, 0)
    times, survival, error = kaplan_meier(days, placed, weights)
    return Curve(
        key,
        tuple(int(d) for d in times),
        tuple(float(s) for s in survival),
        tuple(float(v) for v in np.clip(survival - 1.96 * error, 0.0, 1.0)),
        tuple(float(v) for v in np.clip(survival + 1.96 * error, 0.0, 1.0)),
        graduates,
        found,
    )


def kaplan_meier(
    days: np.ndarray, placed: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The days on which some search ended, the Kaplan-Meier survival after each, and its
    standard error (Tsiatis' formula for weighted searches): statsmodels' ``SurvfuncRight``
    with ``freq_weights``, step for step (a property test holds them equal), in a few array
    operations. The bootstrap refits curves thousands of times, where that class's set-up
    cost more than the estimate."""
    times, rank = np.unique(days, return_inverse=True)
    times, survival, ended, at_risk = _product_limit(times, rank, placed, weights)
    error = np.sqrt(np.cumsum(ended / (at_risk * at_risk)))
    return times, survival, np.nan_to_num(error)


def _product_limit(times, rank, placed, weights):
    """The estimate of ``kaplan_meier`` from the distinct ``times`` and each search's index
    into them: the event times, the survival after each, and the searches that ended and were
    at risk there. A search weighted 0 changes nothing (it adds 0 to every sum)."""
    ended = np.bincount(rank, weights=placed * weights, minlength=len(times))
    at_risk = np.cumsum(np.bincount(rank, weights=weights, minlength=len(times))[::-1])[::-1]
    events = np.flatnonzero(ended > 0)
    times, ended, at_risk = times[events], ended[events], at_risk[events]
    step = 1 - ended / at_risk
    gone = step < 1e-16
    step[gone] = 1e-16
    survival = np.exp(np.cumsum(np.log(step)))
    survival[gone] = 0
    return times, survival, ended, at_risk


def _at(curve_days: np.ndarray, survival: np.ndarray, days: np.ndarray) -> np.ndarray:
    index = np.searchsorted(curve_days, days, side="right") - 1
    padded = np.concatenate([[1.0], survival])
    return padded[index + 1]


class _Groups:
    """The search times aggregated per (programme, half-year, days, placed), so that curves and
    their bootstrap refits cost the number of distinct values, not of graduates."""

    def __init__(self, history: _History, started, days, placed):
        rows = np.stack(
            [history.programmes[started], history.halves[started], days[started], placed[started]],
            axis=1,
        )
        if len(rows):
            self.rows, inverse = np.unique(rows, axis=0, return_inverse=True)
            self.counts = np.bincount(
                inverse.reshape(-1), weights=history.weights[started], minlength=len(self.rows)
            ).astype(np.int64)
        else:
            self.rows, self.counts = np.zeros((0, 4), dtype=np.int64), np.zeros(0, dtype=np.int64)
        self.half_years = history.half_years
        self._refits: dict[CurveKey, tuple[np.ndarray, ...]] = {}

    def mask(self, key: CurveKey) -> np.ndarray:
        programme, half = key
        mask = np.ones(len(self.rows), dtype=bool)
        if programme is not None:
            mask &= self.rows[:, 0] == programme
        if half is not None:
            mask &= self.rows[:, 1] == self.half_years.index(half)
        return mask

    def at_risk(self, key: CurveKey, day: int) -> int:
        mask = self.mask(key) & (self.rows[:, 2] >= day)
        return int(self.counts[mask].sum())

    def curve(self, key: CurveKey, counts=None) -> Curve:
        counts = self.counts if counts is None else counts
        mask = self.mask(key)
        return fit_curve(key, self.rows[mask, 2], self.rows[mask, 3], counts[mask])

    def steps(self, key: CurveKey, counts) -> tuple[np.ndarray, np.ndarray]:
        """The curve's days and survival alone, as arrays (the bootstrap's refits: the curve's
        rows and their distinct days are found once, only the counts change)."""
        if key not in self._refits:
            mask = self.mask(key)
            times, rank = np.unique(self.rows[mask, 2], return_inverse=True)
            self._refits[key] = (mask, self.rows[mask, 3], times, rank.reshape(-1))
        mask, placed, times, rank = self._refits[key]
        weights = counts[mask]
        if not (weights * placed).any():
            return np.zeros(0), np.zeros(0)
        times, survival, _ended, _at_risk = _product_limit(
            times, rank, placed, weights.astype(float)
        )
        return times, survival


def curve_for(groups: _Groups, programme_id: int, half: HalfYear, deadline_day: int) -> CurveKey:
    """The curve a graduate gets (the module's docstring states the rule)."""
    for key in ((programme_id, half), (programme_id, None)):
        if groups.at_risk(key, deadline_day) >= MIN_AT_RISK:
            return key
    return POOLED


# --- the expected liability --------------------------------------------------------------------


def _month(day_ordinal: int) -> date:
    return date.fromordinal(int(day_ordinal)).replace(day=1)


def _forecast(
    history: _History,
    as_of: date,
    in_scope: np.ndarray,
    draws: int,
    seed: int,
) -> tuple[list[tuple[date, str, int, int, int, int, int]], dict[CurveKey, Curve], np.ndarray]:
    """Per (month, currency) of the graduates ``in_scope`` in their window on ``as_of`` with no
    job on record: (month, currency, graduates, worst, expected, lower, upper); the curves; and
    which records were forecast."""
    started, days, placed = _spells(history, as_of)
    groups = _Groups(history, started, days, placed)
    day = as_of.toordinal()
    # Placed: a qualifying job on record, even one that starts later in the window.
    placed_by_then = (history.job_known_on <= day) & (history.job_on <= history.deadlines)
    open_ = in_scope & (history.deadlines >= day) & ~placed_by_then
    # A graduate whose window has not started has searched 0 days.
    searched = np.maximum(np.minimum(day, history.deadlines) - history.starts, 0)[open_]
    deadline_days = (history.deadlines - history.starts)[open_]
    amounts = history.amounts[open_]
    indices = np.flatnonzero(open_)
    chosen: dict[tuple[int, int, int], CurveKey] = {}
    keys = []
    for n, i in enumerate(indices):
        wanted = (int(history.programmes[i]), int(history.halves[i]), int(deadline_days[n]))
        if wanted not in chosen:
            programme, half, deadline_day = wanted
            chosen[wanted] = curve_for(groups, programme, history.half_years[half], deadline_day)
        keys.append(chosen[wanted])
    pairs = [(_month(history.deadlines[i]), history.currencies[i]) for i in indices]
    buckets = sorted(set(pairs))
    position = {bucket: b for b, bucket in enumerate(buckets)}
    bucket_of = np.array([position[pair] for pair in pairs], dtype=np.int64)
    used = sorted(set(keys), key=_key_order)
    key_of = np.array([used.index(key) for key in keys], dtype=np.int64)

    mine_of = [key_of == k for k in range(len(used))]

    def expected(steps: dict[CurveKey, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        probability = np.ones(len(indices))
        for k, key in enumerate(used):
            curve_days, survival = steps[key]
            mine = mine_of[k]
            if not len(curve_days):
                continue
            at_deadline = _at(curve_days, survival, deadline_days[mine])
            so_far = _at(curve_days, survival, searched[mine])
            with np.errstate(divide="ignore", invalid="ignore"):
                probability[mine] = np.where(so_far > 0, at_deadline / so_far, 1.0)
        return np.bincount(bucket_of, weights=probability * amounts, minlength=len(buckets))

    curves = {key: groups.curve(key) for key in used}
    point = expected({key: (np.array(c.days), np.array(c.survival)) for key, c in curves.items()})
    rng = np.random.default_rng(seed)
    samples = np.empty((draws, len(buckets)))
    for draw in range(draws):
        resampled = rng.poisson(groups.counts)
        samples[draw] = expected({key: groups.steps(key, resampled) for key in used})
    if draws:
        low, high = np.percentile(samples, INTERVAL_PERCENTILES, axis=0)
    else:
        low, high = point, point
    graduates = np.bincount(bucket_of, minlength=len(buckets))
    worst = np.bincount(bucket_of, weights=amounts, minlength=len(buckets))
    rows = [
        (
            month,
            currency,
            int(graduates[b]),
            int(round(worst[b])),
            int(round(point[b])),
            int(round(min(low[b], point[b]))),
            int(round(max(high[b], point[b]))),
        )
        for b, (month, currency) in enumerate(buckets)
    ]
    shown = {key: groups.curve(key) for key in _shown_keys(history)}
    return rows, {**shown, **curves}, open_


def _key_order(key: CurveKey):
    programme, half = key
    return (programme is None, programme or 0, half is None, half or HalfYear(1, 1))


def _shown_keys(history: _History) -> list[CurveKey]:
    return [(int(p), None) for p in sorted(set(history.programmes.tolist()))] + [POOLED]


def expected_liability(
    records: Sequence[SearchRecord],
    as_of: date,
    months: Iterable[date],
    *,
    draws: int = BOOTSTRAP_DRAWS,
    seed: int | None = None,
    closed: ClosedHistory | None = None,
) -> ExpectedLiability:
    """The expected refunds of the graduates in their window on ``as_of``, per month (first days
    ``months``) and currency, with the 95% bootstrap interval and the worst case.

    Every month and currency pair in which some graduate's window closes gets a row, zero rows
    of those currencies included; windows closing after the last month are left out. The
    searches ``closed`` before ``as_of``, counted (``close_searches``), count as their records.
    """
    if closed is not None and as_of < closed.before:
        raise ValueError(f"searches closed before {closed.before} cannot forecast {as_of}")
    months = list(months)
    history = _history(records, closed)
    # Today's forecast takes every job on record, as the worst case does; only the backtest
    # limits itself to what was on record on each day it forecasts from.
    history.job_known_on = np.zeros_like(history.job_known_on)
    if not len(history) or not months:
        return ExpectedLiability(as_of, [], {})
    end = (months[-1] + relativedelta(months=1)).toordinal()
    in_scope = (history.deadlines < end) & ~history.open_claims
    found, curves, _ = _forecast(
        history, as_of, in_scope, draws, as_of.toordinal() if seed is None else seed
    )
    by_bucket = {(month, currency): row for month, currency, *row in [list(f) for f in found]}
    currencies = sorted({currency for _month, currency in by_bucket})
    rows = [
        LiabilityRow(month, currency, *by_bucket.get((month, currency), (0, 0, 0, 0, 0)))
        for month in months
        for currency in currencies
    ]
    return ExpectedLiability(as_of, rows, curves)


def backtest(
    records: Sequence[SearchRecord],
    today: date,
    *,
    months: int = BACKTEST_MONTHS,
    draws: int = BOOTSTRAP_DRAWS,
    closed: ClosedHistory | None = None,
) -> list[BacktestRow]:
    """For each of the ``months`` whole months before the month of ``today``: the expected
    liability of the windows closing that month as forecast on its first day from what was known
    then, and what those graduates were actually owed. The searches ``closed`` before the first
    of those days, counted (``close_searches``), count as their records."""
    first = today.replace(day=1)
    if closed is not None and first - relativedelta(months=months) < closed.before:
        raise ValueError(f"searches closed before {closed.before} cannot backtest {today}")
    history = _history(records, closed)
    if not len(history):
        return []
    owed = history.job_on > history.deadlines
    amounts = history.amounts
    rows: list[BacktestRow] = []
    for back in range(months, 0, -1):
        month = first - relativedelta(months=back)
        in_month = (history.deadlines >= month.toordinal()) & (
            history.deadlines < (month + relativedelta(months=1)).toordinal()
        )
        found, _curves, forecast = _forecast(history, month, in_month, draws, month.toordinal())
        for month_, currency, graduates, worst, expected, low, high in found:
            mine = forecast & (history.currencies == currency)
            actual = int(amounts[mine & owed].sum())
            rows.append(
                BacktestRow(month_, currency, graduates, worst, expected, low, high, actual)
            )
    return rows


def backtest_error(rows: Iterable[BacktestRow]) -> float | None:
    """Sum of |expected - actual| over the sum of actual; ``None`` when nothing was owed."""
    rows = list(rows)
    owed = sum(row.actual_minor for row in rows)
    if not owed:
        return None
    return sum(abs(row.expected_minor - row.actual_minor) for row in rows) / owed


def backtest_errors(rows: Iterable[BacktestRow]) -> dict[str, float | None]:
    """The backtest error per currency (amounts in two currencies are never added)."""
    rows = list(rows)
    return {
        currency: backtest_error(row for row in rows if row.currency == currency)
        for currency in sorted({row.currency for row in rows})
    }
