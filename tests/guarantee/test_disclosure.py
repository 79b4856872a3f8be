"""Threshold and complementary suppression: no hidden count can be worked out from the shown."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from app.guarantee.disclosure import (
    Relation,
    feasible_range,
    parts_of,
    primary_suppressed,
    recoverable,
    suppress,
    withheld,
)


def table(rows: dict[str, dict[str, int]]):
    """A two-way table with row totals, column totals and a grand total, as cells + relations."""
    columns = sorted({column for row in rows.values() for column in row})
    cells = {}
    relations = []
    for name, row in rows.items():
        for column in columns:
            cells[name, column] = row.get(column, 0)
        cells[name, "total"] = sum(row.values())
        relations.append(Relation((name, "total"), tuple((name, c) for c in columns)))
    for column in [*columns, "total"]:
        cells["all", column] = sum(cells[name, column] for name in rows)
        relations.append(Relation(("all", column), tuple((name, column) for name in rows)))
    relations.append(Relation(("all", "total"), tuple(("all", c) for c in columns)))
    return cells, relations


def attacker_can_recover(cells, relations, hidden, threshold) -> list:
    """Every hidden cell whose value is the only one the shown figures allow.

    The attacker solves integer programs (independently of ``suppress``), knowing the
    relations, that counts are whole and never negative, and, more than a reader could know,
    which hidden cells are the small ones (1 to threshold - 1).
    """
    hidden = sorted(hidden, key=repr)
    small = primary_suppressed(cells, threshold)
    index = {cell: i for i, cell in enumerate(hidden)}
    matrix, totals = [], []
    for relation in relations:
        row = np.zeros(len(hidden))
        constant = 0
        for member, sign in ((relation.total, 1), *((p, -1) for p in relation.parts)):
            if member in index:
                row[index[member]] += sign
            else:
                constant += sign * cells[member]
        if row.any():
            matrix.append(row)
            totals.append(-constant)
    constraints = LinearConstraint(np.array(matrix), totals, totals) if matrix else None
    lower = [1 if cell in small else 0 for cell in hidden]
    upper = [threshold - 1 if cell in small else 10**6 for cell in hidden]
    found = []
    for cell in hidden:
        ends = []
        for sign in (1, -1):
            objective = np.zeros(len(hidden))
            objective[index[cell]] = sign
            result = milp(
                objective,
                constraints=constraints,
                integrality=np.ones(len(hidden)),
                bounds=Bounds(lower, upper),
            )
            assert result.success, result.message
            ends.append(round(sign * result.fun))
        if ends[0] == ends[1]:
            found.append(cell)
    return found


def test_a_small_count_is_hidden_and_so_is_another_of_its_row_and_column():
    cells, relations = table(
        {
            "web": {"placed": 30, "seeking": 3, "other": 12},
            "data": {"placed": 25, "seeking": 14, "other": 11},
        }
    )
    hidden = suppress(cells, relations, 10, is_total=lambda key: key[0] == "all")

    assert primary_suppressed(cells, 10) == {("web", "seeking")}
    # Hiding only the small count gives it away: the row total less the rest.
    assert attacker_can_recover(cells, relations, {("web", "seeking")}, 10) == [("web", "seeking")]
    assert ("web", "seeking") in hidden
    # Subtracting the shown from the row total, or from the column total, no longer works.
    assert len([key for key in hidden if key[0] == "web"]) >= 2
    assert len([key for key in hidden if key[1] == "seeking"]) >= 2
    # Column totals stay shown: the complements are programmes' figures.
    assert not [key for key in hidden if key[0] == "all"]
    low, high = feasible_range(
        ("web", "seeking"), cells, relations, hidden, primary_suppressed(cells, 10), 10
    )
    assert high - low >= 1


def test_zeros_are_shown_and_nothing_is_hidden_when_every_count_is_large_or_zero():
    cells, relations = table({"web": {"placed": 30, "seeking": 0}, "data": {"placed": 12}})
    assert suppress(cells, relations, 10) == set()


def test_two_small_counts_that_add_up_to_a_shown_difference_are_not_given_away():
    # 1 + 1 = 2 with both at least 1: hiding the two alone would give both away.
    cells, relations = table(
        {"web": {"a": 1, "b": 1, "c": 40}, "data": {"a": 20, "b": 30, "c": 40}}
    )
    assert attacker_can_recover(cells, relations, {("web", "a"), ("web", "b")}, 10) != []
    hidden = suppress(cells, relations, 10)
    assert attacker_can_recover(cells, relations, hidden, 10) == []


def protected(cells, relations, hidden, threshold) -> bool:
    """No hidden count can be worked out, but in a part of the table withheld whole.

    The attacker is told which hidden cells are the small ones, and with that alone it can pin
    counts of a table whose every count is small or zero however much is hidden ([[0, 0, 1],
    [1, 1, 1]] at 5: the four ones are 1 to 4 and add up to at most 4). A reader is not told:
    they could only guess it from the pattern of what is hidden, and when every cell of a part
    of the table (the cells relations link) is hidden, zeros included, that pattern tells
    nothing, no cell of it is known to be small, and no relation joins it to the rest.
    """
    part_of = parts_of(cells, relations)
    return all(
        part_of[cell] <= hidden
        for cell in attacker_can_recover(cells, relations, hidden, threshold)
    )


@pytest.mark.parametrize(
    "values",
    [
        [[0, 0, 1], [1, 1, 1]],
        # Found by random draws: every count small or zero, and pinned with everything hidden.
        [[1, 1, 0], [0, 1, 1]],
        [[1, 0, 1], [1, 0, 1]],
        [[1, 1, 1], [1, 0, 0]],
    ],
)
def test_a_table_of_only_small_counts_and_zeros_is_withheld_whole(values):
    rows = {f"p{i}": dict(zip("abc", row, strict=True)) for i, row in enumerate(values)}
    cells, relations = table(rows)

    hidden = suppress(cells, relations, 5)

    # Knowing which hidden cells are the small ones pins some counts even with all hidden...
    assert attacker_can_recover(cells, relations, hidden, 5) != []
    # ... so the whole table is withheld, the zeros too: nothing tells which cells are small.
    assert withheld(cells, hidden)
    assert hidden == set(cells)
    assert protected(cells, relations, hidden, 5)


def test_a_part_pinned_however_hidden_is_withheld_alone():
    # A table of small counts and zeros, pinned by the small cells' bounds whatever is hidden,
    # beside a relation of large counts that no relation joins to it: that one is shown.
    cells, relations = table({"p0": {"a": 0, "b": 0, "c": 1}, "p1": {"a": 1, "b": 1, "c": 1}})
    small_part = set(cells)
    cells |= {"T": 30, "A": 12, "B": 18}
    relations.append(Relation("T", ("A", "B")))

    hidden = suppress(cells, relations, 5)

    assert parts_of(cells, relations)["T"] == {"T", "A", "B"}
    assert hidden == small_part
    assert attacker_can_recover(cells, relations, hidden, 5) != []
    assert protected(cells, relations, hidden, 5)
    assert not withheld(cells, hidden)


def test_a_table_with_a_large_count_is_not_withheld():
    cells, relations = table({"p0": {"a": 0, "b": 0, "c": 1}, "p1": {"a": 12, "b": 1, "c": 1}})

    hidden = suppress(cells, relations, 5)

    assert not withheld(cells, hidden)
    assert attacker_can_recover(cells, relations, hidden, 5) == []


def test_whole_numbers_pin_what_fractions_leave_open():
    # t = 2x + y with t = 2 shown: y = 1 would need x = 1/2, so a small y (1 to 4) is 2.
    cells = {"t": 2, "x": 0, "y": 2}
    relations = [Relation("t", ("x", "x", "y"))]
    hidden, primary = {"x", "y"}, {"y"}

    assert feasible_range("y", cells, relations, hidden, primary, 5) == (2, 2)
    assert feasible_range("x", cells, relations, hidden, primary, 5) == (0, 0)
    assert recoverable(cells, relations, hidden, primary, 5) == ["x", "y"]
    assert attacker_can_recover(cells, relations, hidden, 5) == ["x", "y"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, 14), min_size=3, max_size=3),
        min_size=2,
        max_size=2,
    )
)
def test_no_hidden_count_can_be_worked_out_from_row_and_column_totals(values):
    rows = {f"p{i}": dict(zip("abc", row, strict=True)) for i, row in enumerate(values)}
    cells, relations = table(rows)
    hidden = suppress(cells, relations, 5)
    assert primary_suppressed(cells, 5) <= hidden
    assert protected(cells, relations, hidden, 5)
