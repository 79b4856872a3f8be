"""Fixtures for document tests: files of each kind, and the page fixtures."""

from __future__ import annotations

import pytest

from tests.pages.conftest import accounts, sign_in  # noqa: F401 - fixtures shared with pages

#: The smallest files each signature makes: what a scanner or a phone would send, in short.
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
#: An HTML page: a script that would run from the service's origin if it were served inline.
HTML = b"<!doctype html><html><body><script>fetch('/me')</script></body></html>"


@pytest.fixture
def small_document_limit(app):
    """Documents of at most 2 KB, so that "too large" needs no large file."""
    app.config["DOCUMENTS_MAX_BYTES"] = 2048
    return 2048
