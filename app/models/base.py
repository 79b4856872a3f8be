"""The declarative base, its naming convention and the column types every model shares."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

from sqlalchemy import BigInteger, DateTime, MetaData, String, TypeDecorator
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Stable constraint names, so migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """An instant, stored in UTC and always returned timezone-aware.

    SQLite keeps no zone, so a naive value read back is UTC by construction; a naive value
    written is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("instants must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


def enum_column(enum: type[Enum], name: str):
    """A string column holding ``enum``'s values, guarded by a CHECK constraint."""
    return SAEnum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=40,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


#: Money is a count of the currency's minor units (cents); 64 bits, never a float.
Money = BigInteger

#: An ISO 4217 currency code, upper case.
Currency = String(3)


class Base(DeclarativeBase):
    """Base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CreatedAt:
    """Adds the instant a row was written."""

    #: When this row was recorded (UTC).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utc_now)
