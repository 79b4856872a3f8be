"""A crawler over the application through Flask's test client: the pages one person reaches by
following links from their home, and the out-of-range inputs each of those pages can be sent.

Used by the crawl test (no page answers 5xx, whoever asks and whatever the query string) and
by the phone-width browser test, which visits the pages the crawl finds instead of a list kept
by hand: a page added later is checked without anyone remembering to list it.
"""

from __future__ import annotations

import html
import inspect
import re
import sys
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Rule

_HREF = re.compile(r'href="([^"#][^"]*)"')
_ARGS_READ = re.compile(r'request\.args\.get\(\s*"(\w+)"')

#: Paths that are not pages of the application, or that change something when opened; and
#: the readiness check, whose 503 says the scheduler is not running (as in tests).
NOT_PAGES = ("/static/", "/api/docs", "/api/openapi.json", "/sign-out", "/readyz")

#: Different addresses of one page (other ids, other filters) followed per endpoint: enough to
#: meet its variants, few enough that a list of a thousand records is not crawled row by row.
PER_ENDPOINT = 4

#: Values out of every range a query parameter might be parsed into: numbers past 64 bits,
#: negative and zero, dates at the ends of the calendar and impossible ones, text that is not
#: what was expected, too long, or carries a NUL.
EXTREME_VALUES = (
    "99999999999999999999",
    str(2**63),
    "-1",
    "0",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "9999-H2",
    "not a value",
    "x" * 2_000,
    "\x00",
)

#: Ids past what the database's keys hold (and past 64 bits), and the first that cannot exist.
EXTREME_IDS = (2**31, 2**63, 2**64, 10**20, 0)


@dataclass(frozen=True)
class Visit:
    """One request the crawl made, and what came back."""

    url: str
    status: int
    endpoint: str | None
    content_type: str


def endpoint_of(app: Flask, url: str) -> tuple[str | None, dict]:
    """The endpoint and arguments ``url`` routes to (``None`` when it routes nowhere)."""
    adapter = app.url_map.bind("localhost")
    try:
        return adapter.match(urlsplit(url).path, method="GET")
    except HTTPException:
        return None, {}


def _same_site(href: str) -> str | None:
    href = html.unescape(href)
    parts = urlsplit(href)
    if parts.scheme and parts.netloc != "localhost" or parts.scheme not in ("", "http", "https"):
        return None
    if not parts.path.startswith("/") or parts.path.startswith(NOT_PAGES):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def links(body: str) -> Iterator[str]:
    """The same-site addresses a page links to."""
    for href in _HREF.findall(body):
        url = _same_site(href)
        if url is not None:
            yield url


def crawl(client, start: Iterable[str], limit: int = 120) -> list[Visit]:
    """Follow every same-site link (GET only) from ``start``, breadth first, at most ``limit``
    requests and ``PER_ENDPOINT`` addresses per endpoint; redirects are followed as links."""
    app = client.application
    queue, seen, per_endpoint, visits = deque(start), set(), Counter(), []
    while queue and len(visits) < limit:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        endpoint, _ = endpoint_of(app, url)
        if per_endpoint[endpoint] >= PER_ENDPOINT:
            continue
        per_endpoint[endpoint] += 1
        response = client.get(url)
        visits.append(Visit(url, response.status_code, endpoint, response.mimetype))
        if response.status_code in (301, 302, 303, 307, 308):
            location = _same_site(response.headers["Location"])
            if location:
                queue.append(location)
        elif response.mimetype == "text/html":
            queue.extend(links(response.get_data(as_text=True)))
    return visits


def parameters_read(app: Flask, endpoint: str) -> set[str]:
    """The query parameters the module of ``endpoint``'s view reads, and ``page``."""
    view = inspect.unwrap(app.view_functions[endpoint])
    module = sys.modules[view.__module__]
    return {"page", *_ARGS_READ.findall(inspect.getsource(module))}


def _int_arguments(rule: Rule) -> list[str]:
    return [name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]


def out_of_range(app: Flask, url: str) -> Iterator[str]:
    """Addresses of the page at ``url`` with each id, then each query parameter its view reads,
    set to a value out of range."""
    parts = urlsplit(url)
    adapter = app.url_map.bind("localhost")
    rule, arguments = adapter.match(parts.path, method="GET", return_rule=True)
    for name in _int_arguments(rule):
        for value in EXTREME_IDS:
            yield rule.build({**arguments, name: value}, append_unknown=False)[1]
    query = dict(parse_qsl(parts.query))
    for name in sorted(parameters_read(app, rule.endpoint)):
        for value in EXTREME_VALUES:
            yield f"{parts.path}?{urlencode({**query, name: value})}"


def get_rules(app: Flask) -> Iterator[Rule]:
    """Every rule a GET reaches, but the static files and the API's own documents."""
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and not rule.rule.startswith(NOT_PAGES):
            yield rule


def example_url(rule: Rule) -> str | None:
    """An address of ``rule`` with 1 for each id (``None`` when its arguments are not ids)."""
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            values[name] = 1
        elif type(converter).__name__ == "AnyConverter":
            values[name] = next(iter(converter.items))
        else:
            values[name] = "x"
    try:
        return rule.build(values, append_unknown=False)[1]
    except Exception:  # noqa: BLE001 - a converter that refuses our guess: not an example
        return None
