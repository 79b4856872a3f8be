"""Refund claims, their state machine, the refund amount and the payment gateway."""
