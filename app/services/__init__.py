"""The service layer: one function per thing a user does, over a SQLAlchemy session.

Views and the CSV import parse input, call a service and serialise what it returns. Services
check the rules that need the database, flush, and leave the commit to their caller, so that a
request or an import is one transaction: all of it is written, or none.
"""
