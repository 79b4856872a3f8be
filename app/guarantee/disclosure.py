"""Disclosure control for published figures: threshold and complementary suppression.

The one home of what may be shown of a table of counts about people. A table is a set of
named counts (cells) and the linear relations between them that a reader knows or can derive
(``total = part + part + ...``: a programme's graduates are the sum of its statuses, a column's
total the sum of its programmes). Rules:

- **Primary**: a count of 1 to ``threshold - 1`` people is not shown (a zero identifies nobody
  and is shown).
- **Complementary**: then no relation may have exactly one hidden member (it would be the total
  less the rest): another member is hidden, the smallest non-zero one, preferring a programme's
  figure to a total. And as long as some hidden count could still be worked out exactly from
  several relations together (knowing that counts are never negative and that a small one is
  between 1 and ``threshold - 1``), another count related to it is hidden too. Whether a hidden
  count can be worked out is decided by linear programming: its least and greatest possible
  values under the relations (scipy's ``linprog``) must differ.

Rates and medians are not cells: a page shows a rate only when its numerator and denominator
cells are both shown, and a median only when it rests on at least ``threshold`` people.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

#: The default smallest group a published figure may rest on.
DEFAULT_THRESHOLD = 10


@dataclass(frozen=True)
class Relation:
    """``total = sum(parts)``, over cell keys."""

    total: Hashable
    parts: tuple[Hashable, ...]

    @property
    def members(self) -> tuple[Hashable, ...]:
        return (self.total, *self.parts)


def primary_suppressed(cells: Mapping[Hashable, int], threshold: int) -> set[Hashable]:
    """The cells resting on fewer than ``threshold`` people (zeros excepted)."""
    return {key for key, value in cells.items() if 0 < value < threshold}


def feasible_range(
    key: Hashable,
    cells: Mapping[Hashable, int],
    relations: Iterable[Relation],
    hidden: set[Hashable],
    primary: set[Hashable],
    threshold: int,
) -> tuple[float, float]:
    """The least and greatest value hidden cell ``key`` can take given the shown cells, the
    relations, non-negative counts, and primary cells between 1 and ``threshold - 1``."""
    from scipy.optimize import linprog  # a heavy import, paid when used

    variables = sorted(hidden, key=repr)
    index = {cell: i for i, cell in enumerate(variables)}
    rows, rhs = [], []
    for relation in relations:
        if not any(member in hidden for member in relation.members):
            continue
        row = [0.0] * len(variables)
        constant = 0
        for member, sign in ((relation.total, 1), *((part, -1) for part in relation.parts)):
            if member in hidden:
                row[index[member]] += sign
            else:
                constant += sign * cells[member]
        rows.append(row)
        rhs.append(-constant)
    bounds = [(1, threshold - 1) if cell in primary else (0, None) for cell in variables]
    objective = [0.0] * len(variables)
    found = []
    for sign in (1, -1):
        objective[index[key]] = sign
        result = linprog(
            objective,
            A_eq=rows or None,
            b_eq=rhs or None,
            bounds=bounds,
            method="highs",
        )
        if result.status == 3:  # unbounded: nothing limits it from above
            found.append(float("inf"))
        else:
            found.append(sign * result.fun)
    return found[0], found[1]


def recoverable(
    cells: Mapping[Hashable, int],
    relations: list[Relation],
    hidden: set[Hashable],
    primary: set[Hashable],
    threshold: int,
) -> list[Hashable]:
    """The hidden cells whose value the shown cells and the relations pin down exactly."""
    return [
        key
        for key in sorted(hidden, key=repr)
        if (lambda low_high: low_high[1] - low_high[0] < 0.5)(
            feasible_range(key, cells, relations, hidden, primary, threshold)
        )
    ]


def suppress(
    cells: Mapping[Hashable, int],
    relations: Iterable[Relation],
    threshold: int = DEFAULT_THRESHOLD,
    *,
    is_total=lambda key: False,
) -> set[Hashable]:
    """The cells not to show: the primary ones and their complements (module docstring).

    ``is_total(key)`` marks the cells a reader values most (column totals), hidden only when
    nothing else will do.
    """
    relations = list(relations)
    primary = primary_suppressed(cells, threshold)
    hidden = set(primary)

    def cost(cell):
        # A total last; zeros next to last (a hidden zero beside a zero total is given away
        # anyway); otherwise the smallest count.
        return (is_total(cell), cells[cell] == 0, cells[cell], repr(cell))

    while True:
        # First the plain subtraction: a relation with one hidden member gives it away.
        single = False
        for relation in relations:
            members = relation.members
            if sum(member in hidden for member in members) == 1:
                hidden.add(min((m for m in members if m not in hidden), key=cost))
                single = True
        if single:
            continue
        # Then whatever linear reasoning over several relations could still pin down.
        exposed = recoverable(cells, relations, hidden, primary, threshold)
        if not exposed:
            return hidden
        added = set()
        for key in exposed:
            # A shown cell of a relation the exposed cell is in; failing that, of any relation
            # that holds a hidden cell (the exposed one is pinned through those).
            near = {m for r in relations if key in r.members for m in r.members} - hidden
            far = {m for r in relations if hidden & set(r.members) for m in r.members} - hidden
            candidates = near or far
            if candidates and not (added & candidates):
                added.add(min(candidates, key=cost))
        if not added:
            return hidden  # nothing shown relates to what is pinned: hiding more cannot help
        hidden |= added
