"""Wide tables that a phone can read: every cell of a table of ``WIDE`` columns or more is
labelled with its column's header (``data-label``) and the table marked ``stacks``, so that the
stylesheet can lay each row out as a card on a narrow screen, with no JavaScript.

It runs once over each HTML page as it leaves, so every template's tables, those written later
included, get it without anyone remembering to: a template need not label its cells, and one that
does (``data-label`` already there) keeps its own label.
"""

from __future__ import annotations

import html
import re

from flask import Flask, Response

#: Columns from which a table becomes one card per row on a narrow screen.
WIDE = 4

_TABLE = re.compile(r"<table\b([^>]*)>(.*?)</table>", re.S | re.I)
_HEAD = re.compile(r"<thead\b[^>]*>(.*?)</thead>", re.S | re.I)
_ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.S | re.I)
_CELL_START = re.compile(r"<(td|th)\b([^>]*)>", re.I)
_HEADER_CELL = re.compile(r"<th\b([^>]*)>(.*?)</th>", re.S | re.I)
_COLSPAN = re.compile(r'\bcolspan="?(\d+)', re.I)
_TAG = re.compile(r"<[^>]+>")
_CLASS = re.compile(r'\bclass="([^"]*)"', re.I)


def _span(attributes: str) -> int:
    match = _COLSPAN.search(attributes)
    return max(1, int(match.group(1))) if match else 1


def _text(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def _labels(head: str) -> list[str]:
    """Each column's header text, from the last row of ``head`` (colspans repeated)."""
    rows = _ROW.findall(head)
    if not rows:
        return []
    labels = []
    for attributes, content in _HEADER_CELL.findall(rows[-1]):
        labels += [_text(content)] * _span(attributes)
    return labels


def _label_row(row: str, labels: list[str]) -> str:
    column = 0

    def label(match: re.Match) -> str:
        nonlocal column
        tag, attributes = match.group(1), match.group(2)
        index, column = column, column + _span(attributes)
        if tag.lower() != "td" or "data-label" in attributes or index >= len(labels):
            return match.group(0)
        if not labels[index]:
            return match.group(0)
        return f'<{tag}{attributes} data-label="{html.escape(labels[index])}">'

    return _CELL_START.sub(label, row)


def _stack(match: re.Match) -> str:
    attributes, content = match.group(1), match.group(2)
    head = _HEAD.search(content)
    labels = _labels(head.group(1)) if head else []
    if len(labels) < WIDE or "<table" in content.lower():
        return match.group(0)  # narrow, without a header, or holding a table of its own
    rows = content[head.end() :]
    labelled = _ROW.sub(lambda row: _label_row(row.group(0), labels), rows)
    body = content[: head.end()] + labelled
    if _CLASS.search(attributes):
        attributes = _CLASS.sub(lambda c: f'class="{c.group(1)} stacks"', attributes, count=1)
    else:
        attributes += ' class="stacks"'
    return f"<table{attributes}>{body}</table>"


def stack_wide_tables(page: str) -> str:
    """``page`` with each wide table's cells labelled by their column and the table marked."""
    return _TABLE.sub(_stack, page)


def _label_tables(response: Response) -> Response:
    if response.mimetype == "text/html" and not response.is_streamed:
        page = response.get_data(as_text=True)
        if "<table" in page:
            response.set_data(stack_wide_tables(page))
    return response


def init_app(app: Flask) -> None:
    app.after_request(_label_tables)
