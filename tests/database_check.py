"""``python -m tests.database_check URL``: exit 0 when the database at URL answers, 1 otherwise."""

from __future__ import annotations

import sys

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError


def answers(url: str) -> bool:
    engine = create_engine(url, connect_args={"connect_timeout": 5} if "postgresql" in url else {})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(0 if answers(sys.argv[1]) else 1)
