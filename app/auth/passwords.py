"""Passwords: argon2id hashes, and the rules a new password must meet."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import get_locale
from flask_babel import gettext as _
from zxcvbn import zxcvbn

#: argon2id with the library's current recommended parameters.
_hasher = PasswordHasher()

MIN_LENGTH = 12
MAX_LENGTH = 256

#: A hash to verify against when the account does not exist, so a sign-in takes as long for
#: an unknown email as for a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password, only here for timing")


def hash_password(password: str) -> str:
    """The argon2id hash to store."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (constant effort when there is no hash)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Why ``password`` is refused; empty when it is acceptable.

    At least 12 characters, and not a common or guessable password: zxcvbn checks it against
    lists of common passwords, names and words, and the person's own email and name.
    """
    if len(password) < MIN_LENGTH:
        return [_("use at least %(count)s characters", count=MIN_LENGTH)]
    if len(password) > MAX_LENGTH:
        return [_("use at most %(count)s characters", count=MAX_LENGTH)]
    strength = zxcvbn(password[:100], user_inputs=[email, name, *email.split("@")])
    if strength["score"] < 3:
        # zxcvbn explains itself in English only: other readers get the general reason.
        warning = strength["feedback"].get("warning")
        locale = get_locale()
        if not warning or (locale is not None and locale.language != "en"):
            warning = _("this password is too easy to guess")
        return [warning.rstrip(".")]
    return []
