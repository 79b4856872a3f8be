"""Reading the query string of a staff list: search text, filters, sort and page, each checked.

A value that is not one of the list's choices is ignored with a sentence saying so (the page
answers 400 and shows the list as if it had not been given), never guessed at or passed on to
the database. The values kept are carried into the list's links (pages, sorting, export).
"""

from __future__ import annotations

from collections.abc import Collection

from flask import request
from flask_babel import gettext as _

from app.services.text_search import MAX_SEARCH

#: The orders a list can take.
ORDERS = ("asc", "desc")
#: Longest page number read: past the last page shows the last one anyway.
_PAGE_DIGITS = 9


class ListArgs:
    """The list's query parameters as read so far: kept ``params`` and refusal ``errors``."""

    def __init__(self) -> None:
        self.params: dict[str, str] = {}
        self.errors: list[str] = []

    def choice(
        self, name: str, allowed: Collection[str], default: str | None, label: str
    ) -> str | None:
        """Parameter ``name`` if it is one of ``allowed``; else ``default`` (with an error if
        something else was given). ``label`` names the parameter for the reader."""
        value = request.args.get(name, "")
        if not value:
            return default
        if value not in allowed:
            self.errors.append(
                _(
                    "There is no %(label)s “%(value)s”: it was ignored.",
                    label=label,
                    value=value[:40],
                )
            )
            return default
        self.params[name] = value
        return value

    def search(self, name: str = "q") -> str:
        """The search text: at most ``MAX_SEARCH`` printable characters, else none."""
        text = request.args.get(name, "").strip()
        if len(text) > MAX_SEARCH or not text.isprintable():
            self.errors.append(
                _("Search for at most %(count)s printable characters.", count=MAX_SEARCH)
            )
            return ""
        if text:
            self.params[name] = text
        return text

    def order(self, default: str = "asc") -> bool:
        """Whether the list is asked for in descending order."""
        return self.choice("order", ORDERS, default, _("order")) == "desc"

    @staticmethod
    def page() -> int:
        """The page asked for: 1 when absent, wrong or too long to be a page."""
        text = request.args.get("page", "1")
        return int(text) if text.isdigit() and len(text) <= _PAGE_DIGITS and text != "0" else 1
