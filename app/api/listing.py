"""Paginated listing of a query, shared by every list endpoint.

Every list answers the same shape, which a generated client reads like any other body::

    {"items": [...], "pagination": {"page": 2, "page_size": 10, "total": 31, "total_pages": 4,
     "first_page": 1, "last_page": 4, "previous_page": 1, "next_page": 3,
     "previous": "/api/v1/students?page=1&page_size=10", "next": "/api/v1/students?page=3&..."}}

A client pages by following ``next`` (or ``next_page``) until it is null; ``next`` is the whole
address of the following page, filters included. A long list pages by keyset: its ``next``
carries a ``cursor`` (the page's number and the sort key of its last item) instead of a page
number, and the page it names starts after that key, so a deep page costs what the first does
where an OFFSET would read and drop every row before it. Page numbers keep working there too.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from urllib.parse import urlencode

from flask import request
from marshmallow import Schema, fields
from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from app.database import db_session
from app.services.errors import Invalid, NotFound


class PaginationOut(Schema):
    """Where a page sits in its list."""

    page = fields.Integer(required=True, metadata={"description": "This page's number."})
    page_size = fields.Integer(required=True, metadata={"description": "Items per page."})
    total = fields.Integer(required=True, metadata={"description": "Items in the whole list."})
    total_pages = fields.Integer(required=True, metadata={"description": "0 for an empty list."})
    first_page = fields.Integer(required=True)
    last_page = fields.Integer(required=True, metadata={"description": "1 for an empty list."})
    previous_page = fields.Integer(required=True, allow_none=True)
    next_page = fields.Integer(required=True, allow_none=True)
    previous = fields.String(
        required=True, allow_none=True, metadata={"description": "The previous page's address."}
    )
    next = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The next page's address; null on the last page."},
    )


@cache
def paged(item_schema: type[Schema]) -> type[Schema]:
    """The schema of one page of ``item_schema``: ``ProgrammeOut`` gives ``ProgrammePage``."""
    name = item_schema.__name__.removesuffix("Out") + "Page"
    return type(
        name,
        (Schema,),
        {
            "__doc__": f"A page of {item_schema.__name__.removesuffix('Out').lower()} items.",
            "items": fields.List(fields.Nested(item_schema), required=True),
            "pagination": fields.Nested(PaginationOut, required=True),
        },
    )


def page_metadata(page: int, page_size: int, total: int, next_cursor: str | None = None) -> dict:
    """``PaginationOut`` of page ``page`` of a list of ``total`` items.

    ``next_cursor``, on a keyset list, makes ``next`` the keyset address of the next page.
    """
    total_pages = -(-total // page_size)
    last_page = max(total_pages, 1)
    previous_page = min(page - 1, last_page) if page > 1 else None
    next_page = page + 1 if page < last_page else None
    return {
        "page": page,
        "page_size": page_size,
        "total": total,
        "total_pages": total_pages,
        "first_page": 1,
        "last_page": last_page,
        "previous_page": previous_page,
        "next_page": next_page,
        "previous": _address_of(previous_page, page_size),
        "next": _address_of(next_page, page_size, next_cursor),
    }


def _address_of(page: int | None, page_size: int, cursor: str | None = None) -> str | None:
    if page is None:
        return None
    arguments = [
        (name, value)
        for name, values in request.args.lists()
        if name not in {"page", "page_size", "cursor"}
        for value in values
    ]
    arguments += [("cursor", cursor) if cursor else ("page", page), ("page_size", page_size)]
    return f"{request.path}?{urlencode(arguments)}"


@dataclass(frozen=True)
class Keyset:
    """A list's order as a key a page can start after: columns (the last one unique), all
    ascending or all descending, with an index on them in that order."""

    columns: tuple[InstrumentedAttribute, ...]
    descending: bool = False

    def order_by(self) -> list:
        """The ORDER BY of the list."""
        return [column.desc() if self.descending else column for column in self.columns]

    def after(self, key: tuple):
        """The rows that come after the row whose key is ``key``."""
        row, at = tuple_(*self.columns), tuple_(*key)
        return row < at if self.descending else row > at

    def key_of(self, item) -> tuple:
        return tuple(getattr(item, column.key) for column in self.columns)

    def cursor(self, page: int, item) -> str:
        """The cursor of page ``page``, which starts after ``item``."""
        key = [
            value.isoformat() if isinstance(value, date) else value for value in self.key_of(item)
        ]
        text = json.dumps([page, key], separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def page_and_key(self, cursor: str) -> tuple[int, tuple]:
        """The page number and the key a cursor names; ``Invalid`` if it names none."""
        try:
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            page, key = json.loads(text)
            if not (isinstance(page, int) and 1 < page <= 2**31) or len(key) != len(self.columns):
                raise ValueError(cursor)
            return page, tuple(map(_key_value, self.columns, key))
        except (binascii.Error, UnicodeError, ValueError, TypeError) as error:
            raise Invalid.field(
                "cursor", "not a cursor of this list: follow a next address"
            ) from error


def _key_value(column: InstrumentedAttribute, value):
    kind = getattr(column.type, "impl", column.type).python_type  # UTCDateTime: its impl's
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        if abs(value) < 2**63:
            return value
    elif kind in (date, datetime) and isinstance(value, str):
        parsed = kind.fromisoformat(value)
        if kind is date or parsed.tzinfo is not None:
            return parsed
    raise ValueError(value)


def page_of(
    statement: Select,
    pagination_parameters,
    *,
    keyset: Keyset | None = None,
    cursor: str | None = None,
) -> list:
    """One page of ``statement``'s rows; records the total for the page's metadata.

    With a ``keyset`` (the statement's order), the page of a ``cursor`` starts after its key,
    and the page's ``next`` address carries the cursor of the next one. A page past the last
    one is ``NotFound``; page 1 exists even when there are no rows.
    """
    session = db_session()
    key = None
    if keyset is not None and cursor:
        pagination_parameters.page, key = keyset.page_and_key(cursor)
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    pagination_parameters.item_count = total
    if pagination_parameters.first_item >= total:
        if pagination_parameters.page > 1:
            raise NotFound("page", pagination_parameters.page)
        return []
    limited = statement.limit(pagination_parameters.page_size)
    if key is not None:
        limited = limited.where(keyset.after(key))
    else:
        limited = limited.offset(pagination_parameters.first_item)
    items = list(session.scalars(limited))
    if keyset is not None and items and pagination_parameters.last_item + 1 < total:
        pagination_parameters.next_cursor = keyset.cursor(pagination_parameters.page + 1, items[-1])
    return items


def contains(column, text: str):
    """Case-insensitive substring match, the same on SQLite and PostgreSQL."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped.lower()}%", escape="\\")
