"""Entry point for gunicorn (``wsgi:app``) and the Flask CLI (``flask --app wsgi ...``)."""

import gc

from app import create_app

app = create_app()

# What the application built to serve (its modules, routes, schemas, compiled statements) lives
# as long as the process: set aside from the garbage collector, whose full collections would
# otherwise walk all of it again and again while requests come and go.
gc.freeze()
