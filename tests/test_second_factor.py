"""The authenticator's codes: the window around now, and each step accepted once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from app.auth.second_factor import VALID_WINDOW, matching_counter, new_secret

SECRET = new_secret()
NOW = datetime(2026, 12, 5, 4, 0, 10, tzinfo=UTC)
TOTP = pyotp.TOTP(SECRET)


@pytest.mark.parametrize("steps", range(-VALID_WINDOW, VALID_WINDOW + 1))
def test_a_code_of_a_step_within_the_window_is_accepted(steps):
    code = TOTP.at(NOW + timedelta(seconds=30 * steps))

    assert matching_counter(SECRET, code, NOW, None) == TOTP.timecode(NOW) + steps


@pytest.mark.parametrize("steps", [-VALID_WINDOW - 1, VALID_WINDOW + 1, 10])
def test_a_code_outside_the_window_is_refused(steps):
    code = TOTP.at(NOW + timedelta(seconds=30 * steps))

    assert matching_counter(SECRET, code, NOW, None) is None


def test_a_code_of_a_step_accepted_already_or_earlier_is_refused():
    now = TOTP.timecode(NOW)

    assert matching_counter(SECRET, TOTP.at(NOW), NOW, now) is None
    assert matching_counter(SECRET, TOTP.at(NOW - timedelta(seconds=30)), NOW, now) is None
    assert matching_counter(SECRET, TOTP.at(NOW + timedelta(seconds=30)), NOW, now) == now + 1


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_what_is_not_six_digits_is_refused(typed):
    assert matching_counter(SECRET, typed, NOW, None) is None


def test_spaces_typed_in_a_code_are_ignored():
    code = TOTP.at(NOW)

    assert matching_counter(SECRET, f"{code[:3]} {code[3:]}", NOW, None) == TOTP.timecode(NOW)
