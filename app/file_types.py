"""What a file is, read from its first bytes: the only types evidence documents may have.

The client's content type and the file's extension are the uploader's word; a browser would
trust neither, and neither does this. A file is accepted only when its own signature says it
is a PDF, a PNG or a JPEG.
"""

from __future__ import annotations

#: Each accepted type: its signature (the file's first bytes), its name for people, and the
#: extension a download gets.
SIGNATURES: tuple[tuple[bytes, str, str, str], ...] = (
    (b"%PDF-", "application/pdf", "PDF", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "PNG", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "JPEG", "jpg"),
)

#: The accepted content types.
ACCEPTED_TYPES = frozenset(content_type for _, content_type, _, _ in SIGNATURES)

#: The accepted types, for people: "PDF, PNG or JPEG".
ACCEPTED_NAMES = ", ".join(name for _, _, name, _ in SIGNATURES[:-1]) + f" or {SIGNATURES[-1][2]}"


def sniff_type(head: bytes) -> str | None:
    """The content type the file's first bytes announce, or None when it is none accepted."""
    for signature, content_type, _, _ in SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def extension_of(content_type: str) -> str:
    """The file extension of an accepted content type (``pdf``, ``png``, ``jpg``)."""
    return next(extension for _, kind, _, extension in SIGNATURES if kind == content_type)
