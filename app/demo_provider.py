"""The demo's payment provider: localstripe, a Stripe-compatible server, on loopback.

``python -m app.demo_provider serve --port P --state FILE`` serves it on 127.0.0.1 only, keeping
its state in FILE so the demo's PaymentIntents survive a restart (localstripe itself always
writes ``/tmp/localstripe.pickle`` and listens on every interface; this does neither).
``python -m app.demo_provider wait --port P`` returns once it answers. ``make run`` uses both
unless ``STRIPE_API_KEY`` points the service at a real Stripe account.
"""

from __future__ import annotations

import argparse
import pickle
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def serve(port: int, state_file: Path) -> None:
    """Serve localstripe on 127.0.0.1:``port`` with its state in ``state_file``."""
    from aiohttp import web
    from localstripe import resources, server

    def dump(store) -> None:
        with state_file.open("wb") as file:
            pickle.dump(store, file, protocol=pickle.HIGHEST_PROTOCOL)

    def load(store) -> None:
        if state_file.exists():
            with state_file.open("rb") as file:
                store.update(pickle.load(file))  # noqa: S301 - our own file, written above

    resources.Store.dump_to_disk = dump
    resources.Store.try_load_from_disk = load
    resources.store.try_load_from_disk()
    listener = socket.create_server(("127.0.0.1", port))
    print(f"demo payment provider (localstripe) on http://127.0.0.1:{port}", flush=True)
    web.run_app(server.app, sock=listener, print=None, access_log=None)


def wait(port: int, seconds: float = 30.0) -> bool:
    """Whether the provider on ``port`` answers within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/customers", timeout=2)  # noqa: S310
        except urllib.error.HTTPError:
            return True  # it answered (401 without a key)
        except OSError:
            time.sleep(0.2)
        else:
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.demo_provider")
    parser.add_argument("command", choices=["serve", "wait"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, default=Path("instance/localstripe.pickle"))
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.port, args.state)
        return 0
    if wait(args.port):
        return 0
    print(f"the demo payment provider did not answer on port {args.port}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
