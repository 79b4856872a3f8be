"""The errors a service raises, from their home in ``app.errors`` (shared with ``refunds``)."""

from app.errors import Conflict, Invalid, NotFound, ServiceError

__all__ = ["Conflict", "Invalid", "NotFound", "ServiceError"]
