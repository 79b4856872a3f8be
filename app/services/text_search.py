"""Searching the staff lists by a name or an email as people type it.

"jose" finds "José", "ZOE" finds "Zoë": the column and the typed text are both folded by
``app.folding`` (accents off, lower case) before a substring match.
"""

from __future__ import annotations

from sqlalchemy import String, literal, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

from app.folding import FOLDS, fold

#: Longest search text taken from a query string.
MAX_SEARCH = 100


class _Folded(ColumnElement):
    """A text column folded as ``app.folding.fold`` folds text in Python."""

    inherit_cache = True
    type = String()

    def __init__(self, column):
        self.column = column


@compiles(_Folded, "postgresql")
def _folded_postgresql(element, compiler, **kw):
    column = compiler.process(element.column, **kw)
    accented = "".join(accented for accented, _ in FOLDS)
    plain = "".join(plain for _, plain in FOLDS)
    return f"lower(translate({column}, '{accented}', '{plain}'))"


@compiles(_Folded, "sqlite")
def _folded_sqlite(element, compiler, **kw):
    # app.database registers app.folding.fold on every SQLite connection.
    return f"fold({compiler.process(element.column, **kw)})"


def matching(text: str, *columns) -> ColumnElement[bool]:
    """A condition true where one of ``columns`` contains ``text``, both folded alike.

    ``%`` and ``_`` typed by the reader are matched as themselves, not as wildcards.
    """
    folded = fold(text.strip())
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = literal(f"%{escaped}%", String())
    return or_(*(_Folded(column).like(pattern, escape="\\") for column in columns))
