"""Errors the services and the refund code raise; the API turns them into 404, 409 and 422."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the errors a user can cause."""


class NotFound(ServiceError):
    """The record named does not exist."""

    def __init__(self, what: str, key: object):
        super().__init__(f"{what} {key} does not exist")
        self.what = what
        self.key = key


class Invalid(ServiceError):
    """The input is well-formed but breaks a rule; ``errors`` maps each field to its reasons."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{field}: {', '.join(why)}" for field, why in errors.items()))
        self.errors = errors

    @classmethod
    def field(cls, name: str, reason: str) -> Invalid:
        return cls({name: [reason]})


class Conflict(ServiceError):
    """The input clashes with a record that exists (a duplicate, a second graduation)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
