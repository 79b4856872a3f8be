"""The published outcomes of a half-year's cohort: what the public may read, and what is hidden.

The one home of the public figures, as pure functions over plain values. They are the CIRR
figures of ``app.guarantee.cirr``, the NACE first-destination rates and the guarantee's own,
counted per programme and for all programmes, then passed through the disclosure control of
``app.guarantee.disclosure``: no count of 1 to ``threshold - 1`` graduates is shown, and enough
other counts are hidden that none of those can be worked out from the rest; when even hiding
everything related leaves one pinned (counts all small, as a few programmes' one refund each),
that part of the table (the refunds, say) is withheld whole, zeros too; when nothing but zeros
would be left, every figure is withheld, the medians too (``PublishedFigures.withheld``). The
public figures never name or link to a graduate.

Definitions beyond CIRR's:

- **NACE**: graduates excluded for further study or military service (documented, or further
  study as their intent at enrollment) are *continuing education or service*; the other excluded
  graduates (an intent other than a job or further study, not authorised to work in the country
  of study, incarceration, death) are left out of the NACE figures, as the page says.
  *Known* = graduates less those left out less the non-reporting (4).
  **Knowledge rate** = known / (graduates less those left out). **Career outcomes rate** =
  (employed in any CIRR job status, 1A-2B, plus continuing education or service) / (known less
  not seeking, 3B).
- **Guarantee**: *covered* = graduates who opted in. Of them: *placed* (a qualifying job starting
  by the deadline), *searching* (window still open), *owed* (window closed without a
  qualifying job: the sweep flags them), *left the guarantee* (a documented excluded outcome).
  *Refunded* = claims refunded or settled by bank transfer. **Median days to a qualifying job**:
  over the placed graduates, days from the window's first day to the job's start (0 for a job
  that started before it), shown only when at least ``threshold`` graduates were placed.
- **Median base salary**: CIRR's, shown only when it rests on at least ``threshold`` salaries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from app.guarantee.cirr import JOB_STATUSES, CirrStatus, Rate
from app.guarantee.disclosure import Relation, suppress, withheld

#: The key of the all-programmes figures.
ALL = "all"

#: The CIRR statuses counted one by one (excluded graduates are split below).
COUNTED_STATUSES = tuple(status for status in CirrStatus if status is not CirrStatus.EXCLUDED)


class GuaranteeOutcome(StrEnum):
    """Where a covered graduate stands with the guarantee (module docstring)."""

    PLACED = "placed"
    SEARCHING = "searching"
    OWED = "owed"
    LEFT = "left_guarantee"


@dataclass(frozen=True)
class PublicRow:
    """One enrollment of the cohort as the public figures count it (no name, no id)."""

    programme_id: int
    graduated: bool
    #: The CIRR status (``None`` without a graduation).
    status: CirrStatus | None = None
    #: For an excluded graduate: continuing education or service (else left out of NACE).
    continuing: bool = False
    #: ``None`` when not covered by the guarantee (or not graduated).
    guarantee: GuaranteeOutcome | None = None
    refunded: bool = False
    #: For a placed graduate, days from the window's first day to the job's start.
    days_to_job: int | None = None


#: Every count a programme publishes, in the order the page shows them: a partition of the
#: enrolled (not graduated, each status, the two kinds of excluded), and of the covered.
CELLS = (
    "enrolled",
    "not_graduated",
    "graduated",
    "excluded_continuing",
    "excluded_other",
    *(status.value for status in COUNTED_STATUSES),
    "covered",
    *(outcome.value for outcome in GuaranteeOutcome),
    "refunded",
)

_S = {status: status.value for status in CirrStatus}
#: What a reader knows adds up, within one programme (and within the totals).
RELATIONS = (
    ("enrolled", ("not_graduated", "graduated")),
    (
        "graduated",
        (
            *(status.value for status in COUNTED_STATUSES),
            "excluded_continuing",
            "excluded_other",
        ),
    ),
    ("covered", tuple(outcome.value for outcome in GuaranteeOutcome)),
)

#: Figures that are sums of counts: shown only when every count they add is shown, so that they
#: tell nothing the shown counts do not.
DERIVED = {
    "base": tuple(status.value for status in COUNTED_STATUSES),
    "employed_in_field": tuple(_S[status] for status in JOB_STATUSES[:5]),
    "nace_base": (*(status.value for status in COUNTED_STATUSES), "excluded_continuing"),
    "known": (
        *(s.value for s in COUNTED_STATUSES if s is not CirrStatus.NON_REPORTING),
        "excluded_continuing",
    ),
    "career_base": (
        *(
            s.value
            for s in COUNTED_STATUSES
            if s not in (CirrStatus.NON_REPORTING, CirrStatus.NOT_SEEKING)
        ),
        "excluded_continuing",
    ),
    "career_outcomes": (*(_S[status] for status in JOB_STATUSES), "excluded_continuing"),
}

#: Each rate shown: numerator and denominator (counts or derived figures).
RATES = {
    "graduation_rate": ("graduated", "enrolled"),
    "employed_in_field_rate": ("employed_in_field", "base"),
    "full_time_rate": (_S[CirrStatus.FULL_TIME_EMPLOYEE], "base"),
    "knowledge_rate": ("known", "nace_base"),
    "career_outcomes_rate": ("career_outcomes", "career_base"),
}


def cells_of(rows: Iterable[PublicRow]) -> dict[str, int]:
    """The counts of one group of enrollments (a programme's, or all of them)."""
    counts = dict.fromkeys(CELLS, 0)
    for row in rows:
        counts["enrolled"] += 1
        if not row.graduated:
            counts["not_graduated"] += 1
            continue
        counts["graduated"] += 1
        if row.status is CirrStatus.EXCLUDED:
            counts["excluded_continuing" if row.continuing else "excluded_other"] += 1
        else:
            counts[row.status.value] += 1
        if row.guarantee is not None:
            counts["covered"] += 1
            counts[row.guarantee.value] += 1
        if row.refunded:
            counts["refunded"] += 1
    return counts


def median_days(rows: Iterable[PublicRow]) -> Fraction | None:
    """The median days to a qualifying job of the placed graduates (a half with an even count)."""
    days = sorted(row.days_to_job for row in rows if row.days_to_job is not None)
    if not days:
        return None
    middle = len(days) // 2
    if len(days) % 2:
        return Fraction(days[middle])
    return Fraction(days[middle - 1] + days[middle], 2)


@dataclass(frozen=True)
class PublishedFigures:
    """One programme's (or all programmes') published figures (counts, and the sums of
    ``DERIVED``): ``None`` where hidden."""

    key: int | str
    counts: dict[str, int | None]
    rates: dict[str, Rate | None]
    #: Median days to a qualifying job; ``None`` when hidden or nobody was placed.
    median_days_to_job: Fraction | None
    #: Every figure of the table hidden, of every programme and the totals, medians included
    #: (``app.guarantee.disclosure``: nothing shown tells which counts are the small ones).
    withheld: bool = False

    def shown(self, cell: str) -> bool:
        return self.counts[cell] is not None


def publish(
    rows_by_programme: Mapping[int, list[PublicRow]], threshold: int
) -> dict[int | str, PublishedFigures]:
    """The published figures of every programme and of all programmes (key ``ALL``), after
    threshold and complementary suppression over the whole table."""
    groups: dict[int | str, list[PublicRow]] = dict(rows_by_programme)
    groups[ALL] = [row for rows in rows_by_programme.values() for row in rows]
    cells = {
        (key, name): value for key, rows in groups.items() for name, value in cells_of(rows).items()
    }
    relations = [
        Relation((key, total), tuple((key, part) for part in parts))
        for key in groups
        for total, parts in RELATIONS
    ]
    relations += [
        Relation((ALL, name), tuple((key, name) for key in rows_by_programme)) for name in CELLS
    ]
    hidden = suppress(cells, relations, threshold, is_total=lambda cell: cell[0] == ALL)
    whole_table_withheld = withheld(cells, hidden)
    if whole_table_withheld:
        hidden = set(cells)  # the zeros too: alone, they would only say who is not there
    published = {}
    for key, rows in groups.items():
        counts = {name: None if (key, name) in hidden else cells[key, name] for name in CELLS}
        for name, parts in DERIVED.items():
            values = [counts[part] for part in parts]
            counts[name] = None if None in values else sum(values)
        rates = {
            rate: (
                Rate(counts[numerator], counts[denominator])
                if counts[numerator] is not None and counts[denominator] is not None
                else None
            )
            for rate, (numerator, denominator) in RATES.items()
        }
        placed = cells[key, GuaranteeOutcome.PLACED.value]
        median = median_days(rows) if placed >= threshold and not whole_table_withheld else None
        published[key] = PublishedFigures(key, counts, rates, median, whole_table_withheld)
    return published
