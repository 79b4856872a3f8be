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
  several relations together (knowing that counts are whole and never negative and that a small
  one is between 1 and ``threshold - 1``), another count related to it is hidden too. Whether a
  hidden count can be worked out is decided in whole numbers: its least and greatest possible
  values under the relations must differ. Each is found by linear programming (scipy's
  ``linprog``), which gives the whole-number answer whenever its extreme lies on whole numbers
  (always, for tables whose relations are sums along two nestings of groups, as a programme's
  statuses and the programmes' totals are); otherwise by integer programming (scipy's ``milp``).
- **Withheld**: when a count stays pinned though everything related to it is hidden, the whole
  table is withheld, every cell hidden, zeros included (``withheld``). Such a pin rests on
  knowing which hidden counts are the small ones, and a reader knows that only from the pattern
  of what is hidden and shown; with nothing shown, not even the zeros, the pattern tells
  nothing.

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


#: How far from a whole number a solver's value may be and still be taken for it.
_WHOLE = 1e-6


@dataclass(frozen=True)
class _Unknowns:
    """The hidden cells as unknowns: the relations holding one, as equations over them, and
    each unknown's bounds (a primary cell's 1 to ``threshold - 1``, any other's 0 and up)."""

    index: dict[Hashable, int]
    rows: list[list[float]]
    rhs: list[int]
    bounds: list[tuple[int, int | None]]

    @classmethod
    def of(
        cls,
        cells: Mapping[Hashable, int],
        relations: Iterable[Relation],
        hidden: set[Hashable],
        primary: set[Hashable],
        threshold: int,
    ) -> _Unknowns:
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
        return cls(index, rows, rhs, bounds)

    def extreme(self, key: Hashable, sign: int) -> tuple[float, list[int] | None]:
        """The least (``sign`` 1) or greatest (``sign`` -1) whole value ``key`` can take, and
        whole values of every unknown that reach it (``None`` when it has no greatest).

        Linear programming first: when its extreme lies on whole numbers (always so for the
        tables of this service, whose relations are sums along two nestings of groups), it is
        the whole-number extreme too. Otherwise integer programming decides."""
        from scipy.optimize import linprog  # a heavy import, paid when used

        objective = [0.0] * len(self.index)
        objective[self.index[key]] = sign
        result = linprog(
            objective,
            A_eq=self.rows or None,
            b_eq=self.rhs or None,
            bounds=self.bounds,
            method="highs",
        )
        if result.status == 3:  # unbounded: nothing limits it from above, whole or not
            return float("inf"), None
        assert result.status == 0, result.message  # the true counts are always a solution
        if all(abs(value - round(value)) < _WHOLE for value in result.x):
            return round(sign * result.fun), [round(value) for value in result.x]
        return self._whole_extreme(objective, sign)

    def _whole_extreme(self, objective: list[float], sign: int) -> tuple[float, list[int]]:
        import numpy as np
        from scipy.optimize import Bounds, LinearConstraint, milp

        result = milp(
            objective,
            constraints=(
                LinearConstraint(np.array(self.rows), self.rhs, self.rhs) if self.rows else None
            ),
            integrality=np.ones(len(self.index)),
            bounds=Bounds(
                [low for low, _ in self.bounds],
                [np.inf if high is None else high for _, high in self.bounds],
            ),
        )
        # The true counts are a whole solution, and a bounded real extreme bounds the whole one.
        assert result.success, result.message
        return round(sign * result.fun), [round(value) for value in result.x]


def feasible_range(
    key: Hashable,
    cells: Mapping[Hashable, int],
    relations: Iterable[Relation],
    hidden: set[Hashable],
    primary: set[Hashable],
    threshold: int,
) -> tuple[float, float]:
    """The least and greatest whole value hidden cell ``key`` can take given the shown cells,
    the relations, non-negative counts, and primary cells between 1 and ``threshold - 1``."""
    unknowns = _Unknowns.of(cells, relations, hidden, primary, threshold)
    return unknowns.extreme(key, 1)[0], unknowns.extreme(key, -1)[0]


def recoverable(
    cells: Mapping[Hashable, int],
    relations: list[Relation],
    hidden: set[Hashable],
    primary: set[Hashable],
    threshold: int,
    *,
    known_open: set[Hashable] | None = None,
) -> list[Hashable]:
    """The hidden cells whose value the shown cells and the relations pin down exactly.

    ``known_open``: cells already found to have two possible values with fewer cells hidden
    (hiding more only widens what is possible): not asked again. The cells found open now are
    added to it.
    """
    known_open = set() if known_open is None else known_open
    unknowns = _Unknowns.of(cells, relations, hidden, primary, threshold)
    # Whole solutions found so far: a cell they give two values is open, no need to ask.
    values: dict[Hashable, set[int]] = {key: set() for key in hidden}

    def found(solution: list[int] | None) -> None:
        if solution is not None:
            for key, i in unknowns.index.items():
                values[key].add(solution[i])

    pinned = []
    for key in sorted(hidden - known_open, key=repr):
        if len(values[key]) > 1:
            continue
        low, lowest = unknowns.extreme(key, 1)
        found(lowest)
        if len(values[key]) > 1:
            continue
        high, highest = unknowns.extreme(key, -1)
        found(highest)
        if low == high:
            pinned.append(key)
    known_open |= {key for key in hidden if len(values[key]) > 1}
    return pinned


def withheld(cells: Mapping[Hashable, int], hidden: set[Hashable]) -> bool:
    """Whether ``hidden`` (``suppress``'s answer) holds every cell: the table is withheld."""
    return bool(cells) and hidden >= cells.keys()


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
    known_open: set[Hashable] = set()

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
        # Then whatever reasoning over several relations could still pin down, in whole numbers.
        exposed = recoverable(cells, relations, hidden, primary, threshold, known_open=known_open)
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
            # Nothing shown relates to what is pinned: hiding more cannot help. The pin rests on
            # knowing which hidden counts are the small ones, which only the pattern of what is
            # hidden tells: withheld whole, zeros too, the table tells nothing of the kind.
            return set(cells)
        hidden |= added
