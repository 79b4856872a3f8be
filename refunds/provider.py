"""The application's payment gateway, built from settings once per process."""

from __future__ import annotations

from flask import Flask, current_app

from refunds.gateway import PaymentGateway
from refunds.stripe_gateway import StripeGateway, make_stripe_client


def payment_gateway(app: Flask | None = None) -> PaymentGateway:
    """The gateway of ``app`` (the current one by default); tests may put their own in place."""
    app = app or current_app
    gateway = app.extensions.get("payment_gateway")
    if gateway is None:
        api_key = app.config.get("STRIPE_API_KEY")
        if not api_key:
            raise RuntimeError("STRIPE_API_KEY is not set: no payment provider is configured")
        gateway = StripeGateway(make_stripe_client(api_key, app.config.get("STRIPE_API_BASE")))
        app.extensions["payment_gateway"] = gateway
    return gateway


def configured_gateway(app: Flask | None = None) -> PaymentGateway | None:
    """The gateway of ``app``, or ``None`` where no provider is configured (no key, no test
    gateway): decisions that must ask the provider then refuse, naming what is missing."""
    app = app or current_app
    if app.extensions.get("payment_gateway") is None and not app.config.get("STRIPE_API_KEY"):
        return None
    return payment_gateway(app)
