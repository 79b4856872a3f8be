"""Settings come from the environment; the development key is shared by every process."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from config.settings import load_settings


def test_secret_key_from_the_environment_wins(tmp_path):
    settings = load_settings(tmp_path, {"SECRET_KEY": "from-the-environment"})
    assert settings.secret_key == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_development_key_is_made_once_and_shared_by_every_process(tmp_path):
    first = load_settings(tmp_path, {})
    second = load_settings(tmp_path, {})
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_settings(tmp_path, {"JOB_GUARANTEE_ENV": "production"})


def test_data_encryption_keys_from_the_environment_are_read_in_order(tmp_path):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    settings = load_settings(tmp_path, {"DATA_ENCRYPTION_KEYS": f" {first} ,{second},"})

    assert settings.data_encryption_keys == (first, second)
    assert not (tmp_path / "data_encryption_key").exists()


def test_development_data_encryption_key_is_made_once_and_shared_by_every_process(tmp_path):
    first = load_settings(tmp_path, {})
    second = load_settings(tmp_path, {})

    assert first.data_encryption_keys == second.data_encryption_keys
    [key] = first.data_encryption_keys
    Fernet(key)  # a Fernet key
    assert (tmp_path / "data_encryption_key").stat().st_mode & 0o777 == 0o600
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_production_refuses_to_start_without_data_encryption_keys(tmp_path):
    with pytest.raises(RuntimeError, match="DATA_ENCRYPTION_KEYS must be set in production"):
        load_settings(tmp_path, {"JOB_GUARANTEE_ENV": "production", "SECRET_KEY": "x"})
    assert not (tmp_path / "data_encryption_key").exists()


def test_production_starts_with_a_secret_key_and_data_encryption_keys(tmp_path):
    key = Fernet.generate_key().decode()
    environ = {"JOB_GUARANTEE_ENV": "production", "SECRET_KEY": "x", "DATA_ENCRYPTION_KEYS": key}

    assert load_settings(tmp_path, environ).data_encryption_keys == (key,)


@pytest.mark.parametrize(
    "value",
    [
        "not-a-key",
        "c2hvcnQ=",  # base64, but 5 bytes
        "qpIq8o_g3ZJlNPCUflR7F33IIqT_nj80NRKFV2KnICk=,qpIq8o_g3ZJlNPCUflR7F33IIqT_nj80NRKF",
    ],
)
def test_a_malformed_data_encryption_key_is_a_clear_error_that_does_not_show_it(tmp_path, value):
    with pytest.raises(
        RuntimeError, match="DATA_ENCRYPTION_KEYS: key [12] of [12] is not a Fernet key"
    ) as raised:
        load_settings(tmp_path, {"DATA_ENCRYPTION_KEYS": value})
    assert not any(part in str(raised.value) for part in value.split(","))


def test_the_app_refuses_to_start_with_a_malformed_data_encryption_key(tmp_path, monkeypatch):
    from app import create_app

    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", "not-a-key")

    with pytest.raises(RuntimeError, match="DATA_ENCRYPTION_KEYS"):
        create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})


def test_database_url_defaults_to_sqlite_in_the_instance_folder(tmp_path):
    settings = load_settings(tmp_path, {"SECRET_KEY": "x"})
    assert settings.database_url == f"sqlite:///{tmp_path / 'jobguarantee.sqlite3'}"
    url = "postgresql+psycopg://u@h/db"
    assert load_settings(tmp_path, {"SECRET_KEY": "x", "DATABASE_URL": url}).database_url == url


def test_reminder_settings_default_to_30_and_7_days_two_employer_reminders_a_week_apart(tmp_path):
    settings = load_settings(tmp_path, {"SECRET_KEY": "x"})
    assert settings.reminder_days_before_deadline == (30, 7)
    assert settings.employer_reminder_after_days == 7
    assert settings.employer_reminder_limit == 2
    assert settings.reminder_time == "03:00"


def test_reminder_time_defaults_to_an_hour_after_the_sweep(tmp_path):
    settings = load_settings(tmp_path, {"SECRET_KEY": "x", "SWEEP_TIME": "23:15"})
    assert settings.sweep_time == "23:15"
    assert settings.reminder_time == "00:15"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"REMINDER_DAYS_BEFORE_DEADLINE": " 7, 60 ,14,7"},
            {"reminder_days_before_deadline": (60, 14, 7)},
        ),
        ({"REMINDER_DAYS_BEFORE_DEADLINE": ""}, {"reminder_days_before_deadline": ()}),
        ({"REMINDER_DAYS_BEFORE_DEADLINE": "0"}, {"reminder_days_before_deadline": (0,)}),
        ({"EMPLOYER_REMINDER_AFTER_DAYS": "3"}, {"employer_reminder_after_days": 3}),
        ({"EMPLOYER_REMINDER_LIMIT": "0"}, {"employer_reminder_limit": 0}),
        ({"REMINDER_TIME": "6:05"}, {"reminder_time": "06:05"}),
        ({"SWEEP_TIME": "9:30"}, {"sweep_time": "09:30", "reminder_time": "10:30"}),
    ],
)
def test_reminder_settings_are_read_from_the_environment(tmp_path, environ, expected):
    settings = load_settings(tmp_path, {"SECRET_KEY": "x", **environ})
    assert {name: getattr(settings, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REMINDER_DAYS_BEFORE_DEADLINE", "30;7"),
        ("REMINDER_DAYS_BEFORE_DEADLINE", "30,-7"),
        ("REMINDER_DAYS_BEFORE_DEADLINE", "a week"),
        ("REMINDER_DAYS_BEFORE_DEADLINE", "100000"),
        ("EMPLOYER_REMINDER_AFTER_DAYS", "0"),
        ("EMPLOYER_REMINDER_AFTER_DAYS", "seven"),
        ("EMPLOYER_REMINDER_AFTER_DAYS", "99999999999"),
        ("EMPLOYER_REMINDER_LIMIT", "-1"),
        ("EMPLOYER_REMINDER_LIMIT", "2.5"),
        ("REMINDER_TIME", "24:00"),
        ("REMINDER_TIME", "3pm"),
        ("SWEEP_TIME", "02:60"),
    ],
)
def test_a_bad_reminder_setting_stops_start_up_naming_the_variable(tmp_path, name, value):
    with pytest.raises(RuntimeError, match=name) as raised:
        load_settings(tmp_path, {"SECRET_KEY": "x", name: value})
    assert repr(value) in str(raised.value)


def test_production_settings_default_to_a_single_process_development_setup(tmp_path):
    settings = load_settings(tmp_path, {"SECRET_KEY": "x"})
    assert settings.ratelimit_storage_uri == "memory://"
    assert settings.proxy_count == 0
    assert settings.max_request_bytes == 1024 * 1024
    assert settings.log_format == "text"
    assert settings.metrics_token is None
    assert (settings.scheduler_heartbeat_seconds, settings.scheduler_heartbeat_stale_seconds) == (
        30,
        120,
    )


def test_production_settings_are_read_from_the_environment(tmp_path):
    settings = load_settings(
        tmp_path,
        {
            "SECRET_KEY": "x",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
            "PROXY_COUNT": "1",
            "MAX_REQUEST_BYTES": "2048",
            "LOG_FORMAT": "JSON",
            "METRICS_TOKEN": "scrape-me",
            "SCHEDULER_HEARTBEAT_SECONDS": "10",
            "SCHEDULER_HEARTBEAT_STALE_SECONDS": "45",
        },
    )
    assert settings.ratelimit_storage_uri == "redis://127.0.0.1:6379"
    assert settings.proxy_count == 1
    assert settings.max_request_bytes == 2048
    assert settings.log_format == "json"
    assert settings.metrics_token == "scrape-me"
    assert (settings.scheduler_heartbeat_seconds, settings.scheduler_heartbeat_stale_seconds) == (
        10,
        45,
    )


@pytest.mark.parametrize(
    "name, value",
    [
        ("PROXY_COUNT", "-1"),
        ("PROXY_COUNT", "9"),
        ("MAX_REQUEST_BYTES", "10"),
        ("LOG_FORMAT", "xml"),
        ("SCHEDULER_HEARTBEAT_SECONDS", "0"),
        ("SCHEDULER_HEARTBEAT_SECONDS", "61"),
    ],
)
def test_a_bad_production_setting_stops_start_up_naming_the_variable(tmp_path, name, value):
    with pytest.raises(RuntimeError, match=name):
        load_settings(tmp_path, {"SECRET_KEY": "x", name: value})


def test_public_report_threshold_defaults_to_ten_and_is_read_from_the_environment(tmp_path):
    env = {"SECRET_KEY": "k"}
    assert load_settings(tmp_path, env).public_report_threshold == 10
    assert (
        load_settings(tmp_path, {**env, "PUBLIC_REPORT_THRESHOLD": "5"}).public_report_threshold
        == 5
    )
    with pytest.raises(RuntimeError, match="PUBLIC_REPORT_THRESHOLD"):
        load_settings(tmp_path, {**env, "PUBLIC_REPORT_THRESHOLD": "1"})


def test_the_settings_never_show_the_data_encryption_keys(tmp_path):
    key = Fernet.generate_key().decode()

    assert key not in repr(load_settings(tmp_path, {"DATA_ENCRYPTION_KEYS": key}))
