"""Where evidence documents' files are kept: outside the database, under random names.

``DocumentStore`` is what the services need of a store; ``LocalDiskStore`` keeps the files in a
folder (``DOCUMENTS_DIR``, ``instance/documents`` by default). Another store (an S3 bucket)
implements the same three methods and is returned by ``document_store``.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Protocol

from flask import Response, current_app

#: What a key looks like: the store makes them, so anything else is refused, never a path.
_KEY = re.compile(r"[0-9a-f]{64}")


class DocumentStore(Protocol):
    """Keeps files by key."""

    def put(self, data: bytes) -> str:
        """Keep ``data`` under a new random key, and return the key."""

    def get(self, key: str) -> bytes:
        """The bytes kept under ``key``; ``FileNotFoundError`` when there are none."""

    def delete(self, key: str) -> None:
        """Remove what is kept under ``key``, if anything is."""


class LocalDiskStore:
    """Files in one folder on the local disk, readable only by the service's user."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise FileNotFoundError(key)
        return self.root / key[:2] / key

    def put(self, data: bytes) -> str:
        key = secrets.token_hex(32)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written aside, then renamed: a reader never sees half a file.
        partial = path.with_suffix(".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        partial.replace(path)
        return key

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def document_store() -> DocumentStore:
    """The application's document store (``DOCUMENTS_DIR`` on the local disk)."""
    return LocalDiskStore(current_app.config["DOCUMENTS_DIR"])


def download_response(filename: str, data: bytes) -> Response:
    """A stored file as a download, never rendered from the service's origin.

    Whatever the file holds, a browser saves it: a generic content type, ``attachment`` with
    a safe name (``app.services.documents.safe_filename``), no sniffing, and a sandbox policy
    should it be opened anyway. Nothing caches it.
    """
    response = Response(data, content_type="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response
