"""Fuzzing every GET and POST route under ``/api/v1`` with hypothesis.

Path ids are those of existing rows or any integer; query strings and JSON bodies mix values
shaped like what the OpenAPI document describes with junk: wrong types, huge integers, NUL bytes
and other control characters, lone surrogates, very long strings, nested lists and objects, bytes
that are no JSON at all. Whatever comes in, the answer is one of the codes the route documents,
never a 500, and a refused request writes nothing.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, timedelta, timezone
from urllib.parse import quote_from_bytes, urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.api.routes import API_ROUTES, OPENAPI, Route

# Bounded so that the whole file runs in well under a minute on either database.
FUZZ = settings(
    max_examples=60,
    deadline=None,
    # The fixtures (app, records) are built once per route; each example runs in a savepoint
    # that is rolled back, so examples never see each other's rows.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: A read by id takes nothing but the id: fewer examples cover it.
FUZZ_PATH_ONLY = settings(FUZZ, max_examples=25)

NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\t\n\r",
    "\x07\x1b[2J",
    "\x7f",
    "\ud800",
    "x\udfffy",
    "\u202egnp.exe",
    "\ufeff",
    "🎓" * 50,
    "x" * 10_000,
    "9" * 400,
    "-0",
    "1e400",
    "NaN",
    "null",
    "true",
    "0x10",
    "2024-01-01",
    "0001-01-01",
    "9999-12-31",
    "2024-02-30",
    "2024-01-01T00:00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "EUR",
    "eur",
    "FR",
    "ß",
    "pi_x",
    "pi_x\n",
    "a@b.co",
    "A@B.CO",
    "'; DROP TABLE students; --",
    "%",
    "_",
    "\\",
]
NASTY_INTEGERS = [0, -1, 1, 2**31 - 1, 2**31, 2**53 + 1, 2**63, 2**64, 10**12, 10**12 + 1, 10**400]

texts = st.one_of(st.text(max_size=30), st.sampled_from(NASTY_TEXT))
integers = st.one_of(st.integers(), st.sampled_from(NASTY_INTEGERS))
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    integers,
    st.floats(),  # NaN and infinities too: Python's json writes and reads them
    texts,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(texts, children, max_size=4)
    ),
    max_leaves=8,
)
instants = st.one_of(
    st.datetimes(
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12))]
        )
    ).map(lambda moment: moment.isoformat()),
    # Valid ISO 8601, but before the first or after the last instant in UTC.
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"]),
)


class Unloadable(bytes):
    """A body too long to print whole when hypothesis reports a failing example."""

    def __repr__(self) -> str:
        return f"Unloadable({bytes(self[:24])!r} + {len(self) - 24} more bytes)"

    def _repr_pretty_(self, printer, cycle):
        printer.text(repr(self))


#: Bodies Python's json refuses past the syntax: too deeply nested, an integer too long.
unloadable_json = st.one_of(
    st.integers(min_value=1_000, max_value=200_000).map(
        lambda depth: Unloadable(b"[" * depth + b"]" * depth)
    ),
    st.integers(min_value=4_301, max_value=10_000).map(
        lambda digits: Unloadable(b'{"amount_minor": ' + b"9" * digits + b"}")
    ),
)
currencies = st.sampled_from(["EUR", "eur", "GBP", "XXX", "EURO"])
countries = st.sampled_from(["FR", "gb", "US", "ZZ", "FRA"])


@contextmanager
def rolled_back(connection):
    """Run a block in a savepoint of the test's transaction, and roll it back."""
    savepoint = connection.begin_nested()
    try:
        yield
    finally:
        savepoint.rollback()


def resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def shaped_like(spec: dict, schema: dict, records: dict[str, int], name: str = ""):
    """Values of the type ``schema`` describes for the field ``name``, mostly valid (the id of
    an existing row for an id), sometimes just out of range."""
    schema = resolve(spec, schema)
    if "enum" in schema:
        strategy = st.sampled_from(schema["enum"])
    elif schema.get("type") == "integer":
        low, high = schema.get("minimum", -(2**70)), schema.get("maximum", 2**70)
        existing = st.sampled_from([records[name]] if name in records else list(records.values()))
        strategy = st.one_of(
            existing,
            existing,
            existing,
            st.integers(min_value=low, max_value=high),
            st.sampled_from([low - 1, high + 1, low, high]),
        )
    elif schema.get("type") == "boolean":
        strategy = st.booleans()
    elif schema.get("type") == "array":
        strategy = st.lists(shaped_like(spec, schema.get("items", {}), records), max_size=4)
    elif schema.get("format") == "date":
        strategy = st.one_of(
            st.dates(date(2020, 1, 1), date(2030, 12, 31)),
            st.dates(),
            st.sampled_from([date.min, date.max]),
        ).map(date.isoformat)
    elif schema.get("format") == "date-time":
        strategy = instants
    elif schema.get("format") == "email":
        strategy = st.emails().map(str)
    elif name == "stripe_payment_intent_id":
        strategy = st.sampled_from(["pi_taken", "pi_fresh", "pi_"])
    elif name.endswith("currency"):
        strategy = currencies
    elif name.endswith("country"):
        strategy = countries
    elif schema.get("type") == "string":
        strategy = st.text(min_size=1, max_size=schema.get("maxLength", 40))
    else:
        strategy = json_scalars
    if schema.get("nullable"):
        strategy = st.one_of(strategy, st.none())
    return strategy


def as_query_value(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def query_strings(spec: dict, operation: dict, records: dict[str, int]) -> st.SearchStrategy[str]:
    """Query strings of the operation's parameters (and strangers), or raw bytes."""
    parameters = {
        parameter["name"]: parameter.get("schema", {})
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    }
    names = st.one_of(st.sampled_from(sorted(parameters) or ["page"]), texts)
    pairs = st.lists(
        st.one_of(
            st.tuples(names, texts),
            st.tuples(names, integers.map(str)),
            *(
                st.tuples(
                    st.just(name), shaped_like(spec, schema, records, name).map(as_query_value)
                )
                for name, schema in parameters.items()
            ),
        ),
        max_size=5,
    )
    return st.one_of(
        pairs.map(lambda pairs: urlencode(pairs, errors="surrogatepass")),
        st.binary(max_size=40).map(lambda raw: quote_from_bytes(raw, safe="=&")),
    )


def request_bodies(spec: dict, operation: dict, records: dict[str, int]) -> st.SearchStrategy:
    """Keyword arguments of the test client: an object shaped like the request body's schema,
    the same with junk mixed in, any JSON value, or bytes."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    schema = resolve(spec, content["schema"]) if content else {}
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))

    def shaped(name: str) -> st.SearchStrategy:
        return shaped_like(spec, properties[name], records, name)

    def field(name: str) -> st.SearchStrategy:
        return st.one_of(shaped(name), shaped(name), shaped(name), json_values)

    valid_looking = st.fixed_dictionaries(
        {name: shaped(name) for name in sorted(required)},
        optional={name: shaped(name) for name in sorted(set(properties) - required)},
    )
    objects = st.fixed_dictionaries(
        {name: field(name) for name in sorted(required)},
        optional={
            **{name: field(name) for name in sorted(set(properties) - required)},
            "no_such_field": json_values,
        },
    )
    sparse = st.fixed_dictionaries({}, optional={name: field(name) for name in properties})
    return st.one_of(
        valid_looking.map(lambda body: {"json": body}),
        objects.map(lambda body: {"json": body}),
        sparse.map(lambda body: {"json": body}),
        json_values.map(lambda body: {"json": body}),
        st.one_of(st.binary(max_size=60), unloadable_json).map(
            lambda raw: {"data": raw, "content_type": "application/json"}
        ),
        texts.map(
            lambda text: {
                "data": text.encode("utf-8", "surrogatepass"),
                "content_type": "text/plain",
            }
        ),
    )


def allowed_codes(route: Route, operation: dict) -> set[int]:
    """The codes ``route`` may answer: those its OpenAPI operation lists, plus 400 (a body
    that is no JSON) and 404 (an unknown id in the path, a page past the last), which fall
    under its documented ``default`` error response."""
    documented = {int(code) for code in operation["responses"] if code != "default"}
    allowed = set(documented)
    if route.method == "POST":
        allowed.add(400)
    if route.parameters or any(
        parameter["name"] == "page" for parameter in operation.get("parameters", [])
    ):
        allowed.add(404)
    return allowed


def path_values(name: str, records: dict[str, int]) -> st.SearchStrategy:
    """The id of an existing row, any integer, or something that is no id at all."""
    return st.one_of(
        st.sampled_from([records[name]] if name in records else sorted(records.values())),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from(["abc", "1.5", "0x1", "%00", "1e3", " 1"]),
    )


@pytest.fixture
def operation(route) -> dict:
    """The route's operation in the OpenAPI document."""
    return OPENAPI["paths"][route.openapi_path][route.method.lower()]


class Requests:
    """The strategy of the requests to one route, under a short name: hypothesis prints each
    argument of a failing test, and the strategy's own repr runs to tens of kilobytes."""

    def __init__(self, route: Route, strategy: st.SearchStrategy[tuple[str, dict]]):
        self.route = route
        self.strategy = strategy

    def __repr__(self) -> str:
        return f"<requests to {self.route}>"


@pytest.fixture
def requests_to(route, operation, records) -> Requests:
    """Requests to ``route``: a URL with its query string, and the test client's arguments.

    Built once per route, not per example: building the strategies costs as much as drawing.
    """
    urls = st.fixed_dictionaries(
        {name: path_values(name, records) for name in route.parameters}
    ).map(route.url)
    queries = query_strings(OPENAPI, operation, records)
    bodies = request_bodies(OPENAPI, operation, records) if route.method == "POST" else st.just({})
    return Requests(route, st.tuples(st.tuples(urls, queries).map("?".join), bodies))


@pytest.fixture
def baseline(records, row_counts) -> dict[str, int]:
    """The row counts every example starts from: each one is rolled back."""
    return row_counts()


def takes_input(route: Route) -> bool:
    """Whether ``route`` reads a body or a query string, not just the ids in its path."""
    operation = OPENAPI["paths"][route.openapi_path][route.method.lower()]
    return route.method == "POST" or any(
        parameter["in"] == "query" for parameter in operation.get("parameters", [])
    )


@pytest.mark.parametrize("route", [route for route in API_ROUTES if takes_input(route)], ids=str)
@FUZZ
@given(data=st.data())
def test_fuzzed_request_gets_a_documented_code_never_500_and_writes_nothing_when_refused(
    client, connection, row_counts, baseline, route, operation, requests_to, data
):
    send_and_check(client, connection, row_counts, baseline, route, operation, requests_to, data)


@pytest.mark.parametrize(
    "route", [route for route in API_ROUTES if not takes_input(route)], ids=str
)
@FUZZ_PATH_ONLY
@given(data=st.data())
def test_fuzzed_read_by_id_gets_a_documented_code_never_500(
    client, connection, row_counts, baseline, route, operation, requests_to, data
):
    send_and_check(client, connection, row_counts, baseline, route, operation, requests_to, data)


def send_and_check(client, connection, row_counts, baseline, route, operation, requests_to, data):
    """Send one drawn request to ``route`` in a savepoint; check its answer and the rows."""
    url, request = data.draw(requests_to.strategy, label="request")

    with rolled_back(connection):
        response = client.open(url, method=route.method, **request)
        written = response.status_code >= 400 and row_counts() != baseline

    status = response.status_code
    event(f"status {status}")  # --hypothesis-show-statistics shows how deep the examples got
    assert status != 500
    assert status in allowed_codes(route, operation), response.get_data(as_text=True)[:500]
    if status >= 400:
        assert not written, f"a {status} wrote rows"
        assert response.is_json and response.json["code"] == status
    if status == 422 and isinstance(request.get("json"), dict):
        errors = response.json.get("errors", {}).get("json", {})
        if isinstance(errors, dict):
            # Each field named is one the client sent or the schema has.
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            properties = resolve(OPENAPI, schema).get("properties", {})
            assert set(errors) - {"_schema"} <= set(request["json"]) | set(properties)


def test_every_operation_documents_a_default_error_response():
    for route in API_ROUTES:
        operation = OPENAPI["paths"][route.openapi_path][route.method.lower()]

        assert "default" in operation["responses"], route
