"""Many rows inserted at once by a batch job: one statement on PostgreSQL, not one per row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Table, bindparam, func, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def insert_rows(
    session: Session,
    table: Table,
    fixed: Mapping[str, object],
    varying: Mapping[str, Sequence[object]],
) -> None:
    """Insert into ``table`` one row per position of ``varying``'s columns (lists of one
    length, the rows in their order), each with ``fixed``'s values too.

    On PostgreSQL one INSERT ... SELECT over ``unnest`` of an array per varying column: a
    batch of executemany sends and runs one statement per row, which costs several times
    more for thousands of rows. Elsewhere, a batch.
    """
    count = len(next(iter(varying.values())))
    if not count:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(
            insert(table),
            [
                {**fixed, **dict(zip(varying, row, strict=True))}
                for row in zip(*varying.values(), strict=True)
            ],
        )
        return
    rows = (
        func.unnest(
            *(
                bindparam(f"rows_{name}", list(values), type_=ARRAY(table.c[name].type))
                for name, values in varying.items()
            )
        )
        .table_valued(*varying, with_ordinality="position")
        .render_derived(name="batch")
    )
    session.execute(
        insert(table).from_select(
            [*fixed, *varying],
            select(
                *(literal(value, table.c[name].type) for name, value in fixed.items()),
                *(rows.c[name] for name in varying),
            ).order_by(rows.c.position),
        )
    )
