"""Paginated listing of a query, shared by every list endpoint.

Every list answers the same shape, which a generated client reads like any other body::

    {"items": [...], "pagination": {"page": 2, "page_size": 10, "total": 31, "total_pages": 4,
     "first_page": 1, "last_page": 4, "previous_page": 1, "next_page": 3,
     "previous": "/api/v1/students?page=1&page_size=10", "next": "/api/v1/students?page=3&..."}}

A client pages by following ``next`` (or ``next_page``) until it is null; ``next`` is the whole
address of the following page, filters included, so it stays the way to page when a list moves
to keyset (cursor) pagination.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import urlencode

from flask import request
from marshmallow import Schema, fields
from sqlalchemy import Select, func, select

from app.database import db_session
from app.services.errors import NotFound


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


def page_metadata(page: int, page_size: int, total: int) -> dict:
    """``PaginationOut`` of page ``page`` of a list of ``total`` items."""
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
        "next": _address_of(next_page, page_size),
    }


def _address_of(page: int | None, page_size: int) -> str | None:
    if page is None:
        return None
    arguments = [
        (name, value)
        for name, values in request.args.lists()
        if name not in {"page", "page_size"}
        for value in values
    ]
    arguments += [("page", page), ("page_size", page_size)]
    return f"{request.path}?{urlencode(arguments)}"


def page_of(statement: Select, pagination_parameters) -> list:
    """One page of ``statement``'s rows; records the total for the page's metadata.

    A page past the last one is ``NotFound``; page 1 exists even when there are no rows.
    """
    session = db_session()
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    pagination_parameters.item_count = total
    if pagination_parameters.first_item >= total:
        if pagination_parameters.page > 1:
            raise NotFound("page", pagination_parameters.page)
        return []
    return list(
        session.scalars(
            statement.limit(pagination_parameters.page_size).offset(
                pagination_parameters.first_item
            )
        )
    )


def contains(column, text: str):
    """Case-insensitive substring match, the same on SQLite and PostgreSQL."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped.lower()}%", escape="\\")
