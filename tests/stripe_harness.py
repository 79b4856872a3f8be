"""The real Stripe SDK against localstripe, with a proxy in between that injects faults.

Three pieces, used by the fixtures in ``tests/stripe_fixtures.py``:

- ``LocalstripeServer``: localstripe in a child process on a loopback port, its state in a
  private file (localstripe hard-codes ``/tmp/localstripe.pickle``, which concurrent runs would
  share).
- ``FaultInjectingProxy``: a small threaded HTTP server that forwards to localstripe and follows
  a script of faults matched by method and path prefix (an error answer, a lost response, a
  stall past the client's timeout), records every request, and can replay responses for a
  repeated ``Idempotency-Key`` as Stripe does (localstripe ignores the header).
- ``make_stripe_client`` and ``paid_payment_intent``: a ``stripe.StripeClient`` aimed at a base
  URL, and a real succeeded PaymentIntent to refund.

Run as a script, this module serves localstripe itself: that is how ``LocalstripeServer`` starts
it (see ``_serve_localstripe``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal

import requests
import stripe

#: Any ``sk_`` key longer than five characters is accepted by localstripe.
TEST_API_KEY = "sk_test_localstripe"

#: How long Stripe honours an idempotency key.
IDEMPOTENCY_KEY_LIFETIME = timedelta(hours=24)

# Headers that belong to one hop of a connection, never forwarded (RFC 9110, section 7.6.1).
_HOP_BY_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


# --------------------------------------------------------------------------------------------
# localstripe
# --------------------------------------------------------------------------------------------


class LocalstripeStartError(RuntimeError):
    """localstripe did not start or did not answer in time."""


class LocalstripeServer:
    """localstripe running in a child process, listening on a loopback port.

    The parent binds the listening socket and hands it to the child, so no other process can take
    the port between choosing it and serving on it. The child keeps localstripe's state in
    ``state_file`` inside ``workdir`` and writes its log to ``log_file``.
    """

    def __init__(self, workdir: Path, process: subprocess.Popen, port: int):
        self.workdir = workdir
        self.process = process
        self.url = f"http://127.0.0.1:{port}"

    @property
    def state_file(self) -> Path:
        """Where this instance pickles its state (instead of ``/tmp/localstripe.pickle``)."""
        return self.workdir / "localstripe.pickle"

    @property
    def log_file(self) -> Path:
        """localstripe's standard output and error."""
        return self.workdir / "localstripe.log"

    @classmethod
    def start(cls, workdir: Path, *, ready_within: float = 20.0) -> LocalstripeServer:
        """Start localstripe from scratch in ``workdir``; return once it answers an API call."""
        workdir.mkdir(parents=True, exist_ok=True)
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        command = [
            sys.executable,
            "-P",  # keep the tests directory off the child's sys.path
            str(Path(__file__).resolve()),
            "serve-localstripe",
            str(listener.fileno()),
            str(workdir / "localstripe.pickle"),
        ]
        try:
            with open(workdir / "localstripe.log", "wb") as log:
                process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                    command,
                    cwd=workdir,
                    env={**os.environ, "HOME": str(workdir), "TMPDIR": str(workdir)},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(listener.fileno(),),
                )
        finally:
            listener.close()
        server = cls(workdir, process, port)
        try:
            server._wait_until_answering(ready_within)
        except LocalstripeStartError:
            server.stop()
            raise
        return server

    def _wait_until_answering(self, ready_within: float) -> None:
        deadline = time.monotonic() + ready_within
        probe = urllib.request.Request(  # noqa: S310 - a loopback http URL we built
            f"{self.url}/v1/customers?limit=1",
            headers={"Authorization": f"Bearer {TEST_API_KEY}"},
        )
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LocalstripeStartError(
                    f"localstripe exited with status {self.process.returncode}:\n{self._log_tail()}"
                )
            try:
                with urllib.request.urlopen(probe, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except urllib.error.HTTPError as error:
                error.close()
                last_error = error
            except (OSError, http.client.HTTPException) as error:
                last_error = error
            time.sleep(0.05)
        raise LocalstripeStartError(
            f"localstripe did not answer at {self.url} within {ready_within} s "
            f"(last error: {last_error!r}):\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def stop(self) -> None:
        """Stop the child process and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _serve_localstripe(listen_fd: int, state_file: str) -> None:
    """Serve localstripe on an inherited listening socket, pickling its state to ``state_file``.

    localstripe's own ``start()`` binds every interface and always writes
    ``/tmp/localstripe.pickle``; this does neither. The state starts empty (``--from-scratch``).
    """
    import pickle

    from aiohttp import web
    from localstripe import resources, server

    def dump_to_private_file(store: resources.Store) -> None:
        with open(state_file, "wb") as file:
            pickle.dump(store, file, protocol=pickle.HIGHEST_PROTOCOL)

    def refuse_to_load(store: resources.Store) -> None:
        raise RuntimeError("the test harness always starts localstripe from scratch")

    resources.Store.dump_to_disk = dump_to_private_file
    resources.Store.try_load_from_disk = refuse_to_load
    listener = socket.socket(fileno=listen_fd)
    web.run_app(server.app, sock=listener, print=None, access_log=None)


# --------------------------------------------------------------------------------------------
# The Stripe SDK
# --------------------------------------------------------------------------------------------


def make_stripe_client(
    base_url: str,
    *,
    session: requests.Session,
    max_network_retries: int = 0,
    timeout: float | tuple[float, float] = 5.0,
    api_key: str = TEST_API_KEY,
) -> stripe.StripeClient:
    """A ``StripeClient`` that sends every API call to ``base_url``.

    The caller owns ``session`` and closes it (an unclosed one leaks sockets). Retries default to
    none, like ``StripeClient`` itself; the SDK reuses one idempotency key across its retries.
    """
    return stripe.StripeClient(
        api_key=api_key,
        base_addresses={"api": base_url.rstrip("/")},
        max_network_retries=max_network_retries,
        http_client=stripe.RequestsClient(timeout=timeout, session=session),
    )


def paid_payment_intent(
    client: stripe.StripeClient,
    amount: int,
    currency: str = "eur",
    customer: str | None = None,
) -> str:
    """Create a succeeded card PaymentIntent of ``amount`` minor units; return its id.

    A new customer is created unless ``customer`` (an id) is given.
    """
    if customer is None:
        customer = client.v1.customers.create(params={"email": "graduate@example.com"}).id
    intent = client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": currency,
            "customer": customer,
            "payment_method": "pm_card_visa",
            "payment_method_types": ["card"],
            "confirm": True,
        }
    )
    if intent.status != "succeeded":
        raise RuntimeError(f"PaymentIntent {intent.id} is {intent.status}, not succeeded")
    return intent.id


# --------------------------------------------------------------------------------------------
# The fault-injecting proxy
# --------------------------------------------------------------------------------------------


@dataclass
class ProxyResponse:
    """An HTTP response the proxy sends back (from localstripe, replayed or injected)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @classmethod
    def stripe_error(
        cls, status: int, error: dict[str, str], headers: dict[str, str] | None = None
    ) -> ProxyResponse:
        """A response in Stripe's error format: ``{"error": {...}}``."""
        return cls(
            status,
            [("Content-Type", "application/json"), *(headers or {}).items()],
            json.dumps({"error": error}).encode(),
        )


@dataclass
class RecordedRequest:
    """One request the proxy received, and what it did with it."""

    method: str
    #: The path with its query string, as sent.
    path: str
    #: The headers as sent, names in their original case; see ``header()``.
    headers: dict[str, str]
    body: bytes
    #: ``forwarded``, ``replayed``, ``injected <status>``, ``dropped``, ``stalled``,
    #: ``idempotency conflict`` or ``idempotency mismatch``.
    outcome: str = "pending"

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    @property
    def idempotency_key(self) -> str | None:
        return self.header("Idempotency-Key")

    @property
    def params(self) -> dict[str, list[str]]:
        """The form-encoded parameters of the body (POST) or query string (GET)."""
        query = self.body.decode() if self.body else urllib.parse.urlsplit(self.path).query
        return urllib.parse.parse_qs(query)


FaultKind = Literal["respond", "drop_response", "stall"]


@dataclass
class Fault:
    """One scripted fault: what to do to requests matching ``method`` and ``path_prefix``."""

    method: str
    path_prefix: str
    kind: FaultKind
    #: How many more matching requests it applies to; None for every one.
    remaining: int | None
    #: For ``respond``: the answer sent instead of forwarding.
    response: ProxyResponse | None = None
    #: For ``stall``: how long to hold the connection before closing it unanswered.
    seconds: float = 0.0
    #: For ``stall``: whether localstripe gets the request before the stall.
    forward: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.remaining != 0 and method == self.method and path.startswith(self.path_prefix)

    def __str__(self) -> str:
        left = "always" if self.remaining is None else f"{self.remaining} left"
        what = f"respond {self.response.status}" if self.response else self.kind
        return f"{what} {self.method} {self.path_prefix} ({left}, {self.hits} hit)"


@dataclass
class _IdempotentResult:
    """A request executed under an idempotency key, and its response once it has one."""

    request: tuple[str, str, bytes]
    stored_at: float
    response: ProxyResponse | None = None


@dataclass
class _ProxyState:
    faults: list[Fault] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    replay_idempotent: bool = False
    idempotent_results: dict[tuple[str, str], _IdempotentResult] = field(default_factory=dict)
    #: Fake seconds elapsed, moved only by ``advance_clock``.
    clock: float = 0.0
    #: Set when the state is reset, to end stalls promptly.
    reset_event: threading.Event = field(default_factory=threading.Event)


class FaultInjectingProxy:
    """An HTTP proxy in front of localstripe that follows a script of faults.

    Faults are tried in the order they were added; the first that matches a request (same
    method, path starting with the prefix, uses left) decides what happens to it. Without a
    matching fault the request is forwarded. Every request is recorded.

    Use it as a context manager, or call ``start()`` and ``close()``.
    """

    def __init__(self, upstream_url: str):
        upstream = urllib.parse.urlsplit(upstream_url)
        self._upstream = (upstream.hostname or "127.0.0.1", upstream.port or 80)
        self._lock = threading.Lock()
        self._state = _ProxyState()
        self._server = _ProxyHTTPServer(("127.0.0.1", 0), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultInjectingProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, end open connections and stalls, and wait for their threads."""
        self._server.shutdown()
        with self._lock:
            self._state.reset_event.set()
        self._server.close_open_connections()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> FaultInjectingProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the script -------------------------------------------------------------------------

    def respond(
        self,
        method: str,
        path_prefix: str,
        status: int,
        *,
        error: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        times: int | None = 1,
        forward: bool = False,
    ) -> Fault:
        """Answer matching requests with ``status`` and a Stripe error body.

        With ``forward`` localstripe gets the request first: the work is done (a refund made)
        while the client is told it failed, as when a provider's answer is lost or wrong.
        """
        error = error or {"type": "api_error", "message": f"Injected {status} by the test proxy"}
        response = ProxyResponse.stripe_error(status, error, headers)
        fault = Fault(method, path_prefix, "respond", times, response=response, forward=forward)
        return self._add(fault)

    def server_error(
        self,
        method: str,
        path_prefix: str,
        *,
        status: int = 500,
        should_retry: bool | None = None,
        times: int | None = 1,
    ) -> Fault:
        """Answer with a 5xx ``api_error``; ``should_retry`` sets ``Stripe-Should-Retry``."""
        return self.respond(
            method, path_prefix, status, headers=_should_retry_header(should_retry), times=times
        )

    def rate_limit(
        self,
        method: str,
        path_prefix: str,
        *,
        should_retry: bool | None = None,
        times: int | None = 1,
    ) -> Fault:
        """Answer with 429 ``rate_limit``; the SDK retries it only with ``should_retry=True``."""
        error = {
            "type": "invalid_request_error",
            "code": "rate_limit",
            "message": "Too many requests hit the API too quickly (injected by the test proxy).",
        }
        headers = _should_retry_header(should_retry)
        return self.respond(method, path_prefix, 429, error=error, headers=headers, times=times)

    def drop_response(self, method: str, path_prefix: str, *, times: int | None = 1) -> Fault:
        """Forward matching requests, then close the connection without answering.

        localstripe has done the work (the refund exists); the client sees a connection error.
        """
        return self._add(Fault(method, path_prefix, "drop_response", times))

    def stall(
        self,
        method: str,
        path_prefix: str,
        *,
        seconds: float = 10.0,
        forward: bool = False,
        times: int | None = 1,
    ) -> Fault:
        """Hold matching requests unanswered for ``seconds``, then close the connection.

        Longer than the client's timeout, this is a timeout. With ``forward`` localstripe gets
        the request first, so the work is done although the client timed out. A reset of the
        proxy ends the stall early.
        """
        fault = Fault(method, path_prefix, "stall", times, seconds=seconds, forward=forward)
        return self._add(fault)

    def _add(self, fault: Fault) -> Fault:
        with self._lock:
            self._state.faults.append(fault)
        return fault

    def unused_faults(self) -> list[Fault]:
        """Faults with a limited number of uses that still have some left."""
        with self._lock:
            return [f for f in self._state.faults if f.remaining]

    # -- idempotent replay ------------------------------------------------------------------

    def replay_idempotent_requests(self) -> None:
        """Emulate Stripe's idempotency keys, which localstripe ignores.

        A POST with an ``Idempotency-Key`` already used (per API key) within 24 hours of fake time
        gets the stored response again, with ``Idempotent-Replayed: true``, and is not
        forwarded. The same key with another method, path or body is a 400
        ``idempotency_error``; while the first request is in flight, a 409. As at Stripe, a
        result is stored once execution completed (success or 4xx); a 5xx from localstripe is
        not stored, so a retry executes again.
        """
        with self._lock:
            self._state.replay_idempotent = True

    def advance_clock(self, delta: timedelta) -> None:
        """Move the fake clock that idempotency keys expire by."""
        with self._lock:
            self._state.clock += delta.total_seconds()

    # -- what was seen ----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since the last reset, oldest first."""
        with self._lock:
            return list(self._state.requests)

    def requests_to(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        """The requests with ``method`` whose path (without query) starts with ``path_prefix``."""
        return [
            r
            for r in self.requests
            if r.method == method and _path_only(r.path).startswith(path_prefix)
        ]

    def count(self, method: str, path_prefix: str) -> int:
        """How many requests matched ``method`` and ``path_prefix``."""
        return len(self.requests_to(method, path_prefix))

    def reset(self) -> None:
        """Forget faults, records, stored idempotent results and the clock; end stalls."""
        with self._lock:
            self._state.reset_event.set()
            self._state = _ProxyState()

    # -- serving ----------------------------------------------------------------------------

    def _handle(self, request: RecordedRequest) -> ProxyResponse | None:
        """What to answer to ``request``; None to close the connection without answering."""
        with self._lock:
            state = self._state
            state.requests.append(request)
            fault = next(
                (f for f in state.faults if f.matches(request.method, _path_only(request.path))),
                None,
            )
            if fault is not None:
                fault.hits += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
        if fault is None:
            return self._execute(state, request)
        if fault.kind == "respond":
            if fault.forward:
                self._execute(state, request)
            request.outcome = f"injected {fault.response.status}"
            return fault.response
        if fault.kind == "drop_response":
            self._execute(state, request)
            request.outcome = "dropped"
            return None
        if fault.forward:
            self._execute(state, request)
        request.outcome = "stalled"
        state.reset_event.wait(fault.seconds)
        return None

    def _execute(self, state: _ProxyState, request: RecordedRequest) -> ProxyResponse:
        """Forward ``request``, or replay the stored result for its idempotency key."""
        key = request.idempotency_key
        if not (state.replay_idempotent and request.method == "POST" and key):
            return self._forward(request)
        scope = (request.header("Authorization") or "", key)
        signature = (request.method, request.path, request.body)
        with self._lock:
            stored = state.idempotent_results.get(scope)
            lifetime = IDEMPOTENCY_KEY_LIFETIME.total_seconds()
            if stored is not None and state.clock - stored.stored_at >= lifetime:
                stored = None
            if stored is None:
                stored = _IdempotentResult(signature, stored_at=state.clock)
                state.idempotent_results[scope] = stored
            elif stored.request != signature:
                request.outcome = "idempotency mismatch"
                return _idempotency_mismatch(key)
            elif stored.response is None:
                request.outcome = "idempotency conflict"
                return _idempotency_conflict(key)
            else:
                request.outcome = "replayed"
                replayed = stored.response
                return ProxyResponse(
                    replayed.status,
                    [*replayed.headers, ("Idempotent-Replayed", "true")],
                    replayed.body,
                )
        response: ProxyResponse | None = None
        try:
            response = self._forward(request)
        finally:
            with self._lock:
                if response is None or response.status >= 500:
                    state.idempotent_results.pop(scope, None)
                else:
                    stored.response = response
        return response

    def _forward(self, request: RecordedRequest) -> ProxyResponse:
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in _HOP_BY_HOP_HEADERS | {"host", "content-length"}
        }
        connection = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            connection.request(
                request.method, request.path, body=request.body or None, headers=headers
            )
            upstream = connection.getresponse()
            body = upstream.read()
        except (OSError, http.client.HTTPException) as error:
            request.outcome = "upstream unreachable"
            error_body = {"type": "api_error", "message": f"localstripe unreachable: {error!r}"}
            return ProxyResponse.stripe_error(502, error_body)
        finally:
            connection.close()
        request.outcome = "forwarded"
        kept = [
            (name, value)
            for name, value in upstream.getheaders()
            if name.lower() not in _HOP_BY_HOP_HEADERS | {"content-length"}
        ]
        return ProxyResponse(upstream.status, kept, body)


def _path_only(path: str) -> str:
    return path.split("?", 1)[0]


def _should_retry_header(should_retry: bool | None) -> dict[str, str]:
    if should_retry is None:
        return {}
    return {"Stripe-Should-Retry": "true" if should_retry else "false"}


def _idempotency_mismatch(key: str) -> ProxyResponse:
    return ProxyResponse.stripe_error(
        400,
        {
            "type": "idempotency_error",
            "message": (
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            ),
        },
    )


def _idempotency_conflict(key: str) -> ProxyResponse:
    return ProxyResponse.stripe_error(
        409,
        {
            "type": "invalid_request_error",
            "code": "idempotency_key_in_use",
            "message": f"There is currently another in-progress request using the key '{key}'.",
        },
    )


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's requests session expects
    server: _ProxyHTTPServer

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers=dict(self.headers.items()),
            body=self.rfile.read(length),
        )
        response = self.server.proxy._handle(request)
        if response is None:
            self.close_connection = True
            return
        self.send_response_only(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _relay  # noqa: N815 - http.server names

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        """Quiet: the proxy's record of requests is the log."""


class _ProxyHTTPServer(ThreadingHTTPServer):
    # Track handler threads so server_close() waits for them (ThreadingHTTPServer does not).
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], proxy: FaultInjectingProxy):
        super().__init__(address, _ProxyHandler)
        self.proxy = proxy
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request, client_address) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        """Wake the handler threads still waiting on kept-alive connections."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # closed meanwhile by its handler
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address) -> None:
        # A client that gave up (a timeout, a dropped connection) is part of the tests.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "serve-localstripe":
        sys.exit(f"usage: {sys.argv[0]} serve-localstripe LISTEN_FD STATE_FILE")
    _serve_localstripe(int(sys.argv[2]), sys.argv[3])
