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
- **Withheld**: when a count stays pinned though everything of its part of the table is
  hidden (``parts_of``: the cells relations link to it, directly or through others), that part
  is withheld whole, every cell hidden, zeros included. Such a pin rests on knowing which
  hidden counts are the small ones, and a reader knows that only from the pattern of what is
  hidden and shown; with nothing of the part shown, not even its zeros, the pattern tells
  nothing, and no relation joins it to the other parts. When nothing but zeros is left shown
  (``withheld``), a page withholds the whole table.

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
#: At most this many pairs of solutions in random directions, which ``recoverable`` looks at
#: first.
_PROBES = 30


def _whole(values):
    """``values`` rounded, when each is a whole number (within ``_WHOLE``); else ``None``."""
    import numpy as np

    whole = np.rint(values)
    return whole if np.abs(values - whole).max() < _WHOLE else None


@dataclass(frozen=True)
class _Unknowns:
    """The hidden cells as unknowns: the relations holding one, as equations over them, and
    each unknown's bounds (a primary cell's 1 to ``threshold - 1``, any other's 0 and up)."""

    index: dict[Hashable, int]
    #: The equations' coefficients (a sparse matrix, or ``None`` without any) and right sides.
    matrix: object
    rhs: list[int]
    lower: list[float]
    upper: list[float]

    @classmethod
    def of(
        cls,
        cells: Mapping[Hashable, int],
        relations: Iterable[Relation],
        hidden: set[Hashable],
        primary: set[Hashable],
        threshold: int,
    ) -> _Unknowns:
        from scipy.sparse import csr_array  # a heavy import, paid when used

        variables = sorted(hidden, key=repr)
        index = {cell: i for i, cell in enumerate(variables)}
        entries: dict[tuple[int, int], int] = {}
        rhs = []
        for relation in relations:
            if not any(member in hidden for member in relation.members):
                continue
            constant = 0
            for member, sign in ((relation.total, 1), *((part, -1) for part in relation.parts)):
                if member in hidden:
                    entry = (len(rhs), index[member])
                    entries[entry] = entries.get(entry, 0) + sign
                else:
                    constant += sign * cells[member]
            rhs.append(-constant)
        matrix = None
        if rhs:
            matrix = csr_array(
                (
                    [float(value) for value in entries.values()],
                    ([row for row, _ in entries], [column for _, column in entries]),
                ),
                shape=(len(rhs), len(variables)),
            )
        lower = [1.0 if cell in primary else 0.0 for cell in variables]
        upper = [threshold - 1.0 if cell in primary else float("inf") for cell in variables]
        return cls(index, matrix, rhs, lower, upper)

    def extreme(self, key: Hashable, sign: int):
        """The least (``sign`` 1) or greatest (``sign`` -1) whole value ``key`` can take, and
        whole values of every unknown that reach it (an array; ``None`` when it has no
        greatest).

        Linear programming first: when its extreme lies on whole numbers (always so for the
        tables of this service, whose relations are sums along two nestings of groups), it is
        the whole-number extreme too. Otherwise integer programming decides."""
        import numpy as np

        objective = np.zeros(len(self.index))
        objective[self.index[key]] = sign
        result = self._relaxed(objective)
        if result.status == 3:  # unbounded: nothing limits it from above, whole or not
            return float("inf"), None
        assert result.status == 0, result.message  # the true counts are always a solution
        whole = _whole(result.x)
        if whole is not None:
            return round(sign * result.fun), whole
        return self._whole_extreme(objective, sign)

    def whole_point(self, objective):
        """Whole values of every unknown that minimise ``objective``: a linear programme's
        answer, or ``None`` when it is unbounded or not whole (then it proves nothing)."""
        result = self._relaxed(objective)
        return _whole(result.x) if result.status == 0 else None

    def _relaxed(self, objective):
        """The linear programme minimising ``objective`` over real values (scipy's result)."""
        import numpy as np
        from scipy.optimize import linprog

        return linprog(
            objective,
            A_eq=self.matrix,
            b_eq=self.rhs or None,
            bounds=np.column_stack([self.lower, self.upper]),
            method="highs",
        )

    def _whole_extreme(self, objective, sign: int):
        import numpy as np
        from scipy.optimize import Bounds, LinearConstraint, milp

        result = milp(
            objective,
            constraints=(
                LinearConstraint(self.matrix, self.rhs, self.rhs)
                if self.matrix is not None
                else None
            ),
            integrality=np.ones(len(self.index)),
            bounds=Bounds(self.lower, self.upper),
        )
        # The true counts are a whole solution, and a bounded real extreme bounds the whole one.
        assert result.success, result.message
        return round(sign * result.fun), np.rint(result.x)


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
    import numpy as np

    known_open = set() if known_open is None else known_open
    unknowns = _Unknowns.of(cells, relations, hidden, primary, threshold)
    # The least and greatest value of each unknown in the whole solutions found so far: a cell
    # they give two values is open, no need to ask.
    least = np.full(len(unknowns.index), np.inf)
    greatest = np.full(len(unknowns.index), -np.inf)

    def found(solution) -> None:
        if solution is not None:
            np.minimum(least, solution, out=least)
            np.maximum(greatest, solution, out=greatest)

    # First, for a large table, solutions in random directions (the same every run): between
    # them most open cells already take two values, and only the rest are asked one by one (a
    # hundred programmes' figures: about 120 linear programmes instead of 1,200).
    directions = np.random.default_rng(0)
    for sign in (1, -1) * min(_PROBES, len(unknowns.index) // 10):
        found(unknowns.whole_point(sign * directions.random(len(unknowns.index))))
    pinned = []
    for key in sorted(hidden - known_open, key=repr):
        i = unknowns.index[key]
        if greatest[i] > least[i]:
            continue
        low, lowest = unknowns.extreme(key, 1)
        found(lowest)
        if greatest[i] > least[i]:
            continue
        high, highest = unknowns.extreme(key, -1)
        found(highest)
        if low == high:
            pinned.append(key)
    known_open |= {key for key, i in unknowns.index.items() if greatest[i] > least[i]}
    return pinned


def parts_of(
    cells: Mapping[Hashable, int], relations: Iterable[Relation]
) -> dict[Hashable, frozenset[Hashable]]:
    """Each cell's part of the table: the cells linked to it by relations, directly or through
    others (a cell in no relation is a part of its own). No relation joins two parts, so what
    one part shows tells nothing of another's counts."""
    parent = {cell: cell for cell in cells}

    def root(cell):
        while parent[cell] != cell:
            parent[cell] = parent[parent[cell]]
            cell = parent[cell]
        return cell

    for relation in relations:
        first = root(relation.total)
        for part in relation.parts:
            parent[root(part)] = first
    members: dict[Hashable, set[Hashable]] = {}
    for cell in cells:
        members.setdefault(root(cell), set()).add(cell)
    frozen = {top: frozenset(cells_of_part) for top, cells_of_part in members.items()}
    return {cell: frozen[root(cell)] for cell in cells}


def withheld(cells: Mapping[Hashable, int], hidden: set[Hashable]) -> bool:
    """Whether ``hidden`` (``suppress``'s answer) leaves nothing but zeros shown: every count of
    at least one person is hidden, and a page withholds the table whole."""
    return any(cells.values()) and all(
        value == 0 or cell in hidden for cell, value in cells.items()
    )


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
    part_of = parts_of(cells, relations)
    # Hidden cells not to ask about again: found open (hiding more only widens what is
    # possible), or in a part withheld whole.
    settled: set[Hashable] = set()

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
        exposed = recoverable(cells, relations, hidden, primary, threshold, known_open=settled)
        if not exposed:
            return hidden
        added = set()
        for key in exposed:
            part = part_of[key]
            # A shown cell of a relation the exposed cell is in; failing that, of any relation
            # of its part that holds a hidden cell (the exposed one is pinned through those).
            near = {m for r in relations if key in r.members for m in r.members} - hidden
            far = {
                m
                for r in relations
                if r.total in part and hidden & set(r.members)
                for m in r.members
            } - hidden
            candidates = near or far
            if not candidates:
                # Nothing shown in its part: hiding more cannot help. The pin rests on knowing
                # which hidden counts are the small ones, which only the pattern of what is
                # hidden tells: the part is withheld whole, zeros too, and tells nothing of the
                # kind (nor, joined to no other part, does the rest of the table).
                hidden |= part
                settled |= part
            elif not (added & candidates):
                added.add(min(candidates, key=cost))
        hidden |= added
