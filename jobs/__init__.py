"""What runs on a schedule (the sweep, the refund executor, the reconciliation) and the
scheduler process that runs it: ``python -m jobs``."""
