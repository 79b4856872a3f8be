"""Settings come from the environment; the development key is shared by every process."""

from __future__ import annotations

import pytest

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


def test_database_url_defaults_to_sqlite_in_the_instance_folder(tmp_path):
    settings = load_settings(tmp_path, {"SECRET_KEY": "x"})
    assert settings.database_url == f"sqlite:///{tmp_path / 'jobguarantee.sqlite3'}"
    url = "postgresql+psycopg://u@h/db"
    assert load_settings(tmp_path, {"SECRET_KEY": "x", "DATABASE_URL": url}).database_url == url
