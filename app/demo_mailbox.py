"""The demo's mail server: an SMTP server on loopback that keeps each message as a file.

``python -m app.demo_mailbox --port P --dir DIR`` accepts mail on 127.0.0.1:``P``, writes every
message to ``DIR`` as an ``.eml`` file and prints one line per message (recipient and subject),
so a newcomer running ``make run`` sees the reminders and confirmation requests the service
sends without any mail account. ``make run`` uses it unless ``SMTP_HOST`` is set.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import itertools
import threading
from datetime import UTC, datetime
from pathlib import Path


class FileMailbox:
    """An aiosmtpd handler writing each message it accepts to a directory."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._numbers = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{stamp}-{next(self._numbers):04d}.eml"
        path.write_bytes(envelope.content)
        print(f"demo mail to {message['To']}: {message['Subject']}  ({path})", flush=True)
        return "250 OK"


def serve(port: int, directory: Path) -> None:
    """Accept mail on 127.0.0.1:``port`` until interrupted, keeping it in ``directory``."""
    from aiosmtpd.controller import Controller

    directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(FileMailbox(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"demo mail server on 127.0.0.1:{port}; messages kept in {directory}/", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.demo_mailbox")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=Path("instance/mail"))
    arguments = parser.parse_args(argv)
    serve(arguments.port, arguments.dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
