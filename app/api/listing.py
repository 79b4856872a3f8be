"""Paginated listing of a query, shared by every list endpoint."""

from __future__ import annotations

from sqlalchemy import Select, func, select

from app.database import db_session
from app.services.errors import NotFound


def page_of(statement: Select, pagination_parameters) -> list:
    """One page of ``statement``'s rows; records the total for the ``X-Pagination`` header.

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
