"""Signing a test client in through the forms, the second step included.

Finance and admin accounts made by the factories have the second factor on: after the password
the app asks for the authenticator's code, which ``second_factor_code`` computes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyotp

from tests.factories import TEST_PASSWORD, second_factor_code

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

SECOND_STEP = "/sign-in/code"


def _token(client, path: str) -> str:
    match = _CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token in {path}"
    return match.group(1)


def give_code(client, response, user, session=None):
    """When ``response`` sends the client on to the second step, give the current code; the
    response to that (or ``response`` itself when there was no second step)."""
    if response.status_code != 302 or not response.headers["Location"].endswith(SECOND_STEP):
        return response
    token = _token(client, SECOND_STEP)
    return client.post(
        SECOND_STEP, data={"code": second_factor_code(user.id, session), "csrf_token": token}
    )


def sign_in_client(client, user, password: str = TEST_PASSWORD, *, path: str = "/sign-in"):
    """Sign ``client`` in as ``user``: the password, then the code when the account has one."""
    response = client.post(
        path,
        data={"email": user.email, "password": password, "csrf_token": _token(client, "/sign-in")},
    )
    return give_code(client, response, user)


def sign_in_demo(client, account):
    """Sign ``client`` in as a demo account (``app.demo.DemoAccount``): its password, then, for
    finance and admins, the code of its authenticator key (the next step's when this step's
    code signed in already: a code signs in once)."""
    response = client.post(
        "/sign-in",
        data={
            "email": account.email,
            "password": account.password,
            "csrf_token": _token(client, "/sign-in"),
        },
    )
    if response.status_code != 302 or not response.headers["Location"].endswith(SECOND_STEP):
        return response
    totp = pyotp.TOTP(account.totp_secret)
    now = totp.timecode(datetime.now(UTC))
    for counter in (now, now + 1):
        response = client.post(
            SECOND_STEP,
            data={"code": totp.generate_otp(counter), "csrf_token": _token(client, SECOND_STEP)},
        )
        if response.status_code == 302:
            break
    return response
