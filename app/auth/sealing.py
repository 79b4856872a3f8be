"""Secrets the service must read back, kept in the database sealed (authenticated encryption).

An authenticator secret cannot be hashed like a password: the service computes codes from it.
It is kept sealed instead, as a Fernet token (AES-128-CBC with an HMAC-SHA256 tag) under the
keys of ``DATA_ENCRYPTION_KEYS``, which come from the environment and never from the
database: a copy of the database (a backup) holds nothing that makes a code. The first key
seals; every key opens, so a new key goes first and the old one stays until every secret is
sealed again (``flask accounts reseal-secrets``).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class Unopenable(Exception):
    """A sealed secret that no key opens: sealed with another key, or altered."""


class Keyring:
    """The data encryption keys of one application: the first seals, every one opens."""

    def __init__(self, keys: Sequence[str]):
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._first = Fernet(keys[0])
        self._every = MultiFernet([Fernet(key) for key in keys])

    def __repr__(self) -> str:
        return "<Keyring>"  # never the keys

    def seal(self, secret: str) -> str:
        """``secret`` sealed with the first key: a token that changes at every call."""
        return self._first.encrypt(secret.encode()).decode("ascii")

    def open(self, token: str) -> str:
        """The secret ``token`` seals; ``Unopenable`` when no key opens it."""
        try:
            return self._every.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise Unopenable from None

    def sealed_with_first_key(self, token: str) -> bool:
        """Whether ``token`` opens with the first key (it needs no resealing)."""
        try:
            self._first.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    def reseal(self, token: str) -> str:
        """``token``'s secret sealed again with the first key; ``Unopenable`` if no key opens it."""
        try:
            return self._every.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise Unopenable from None


def keyring() -> Keyring:
    """The keyring of the current application (``DATA_ENCRYPTION_KEYS``)."""
    return current_app.extensions["keyring"]


def init_app(app) -> None:
    app.extensions["keyring"] = Keyring(app.config["DATA_ENCRYPTION_KEYS"])
