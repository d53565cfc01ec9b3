"""The settings module, started as a fresh process: what each environment variable switches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]

_PRINT = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "db = s.DATABASES['default']; "
    "print(json.dumps({'engine': db['ENGINE'], 'name': str(db['NAME']), "
    "'eager': s.CELERY_TASK_ALWAYS_EAGER, 'broker': s.CELERY_BROKER_URL, "
    "'media': str(s.MEDIA_ROOT), 'index': str(s.FINGERPRINT_INDEX_DIR), "
    "'secret': s.SECRET_KEY, 'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS}))"
)
_CLEARED = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "CONTENTID_ENV",
    "ALLOWED_HOSTS",
    "DJANGO_DEBUG",
    "CONTENTID_MEDIA_DIR",
    "CONTENTID_INDEX_DIR",
)


def _start(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    full_env.update(DJANGO_SETTINGS_MODULE="config.settings", CONTENTID_DATA_DIR=str(data_dir), **env)
    return subprocess.run(
        [sys.executable, "-c", _PRINT], cwd=BASE_DIR, env=full_env, capture_output=True, text=True, timeout=120
    )


def _settings(data_dir: Path, **env: str) -> dict:
    result = _start(data_dir, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _under(path: str, directory: Path) -> bool:
    return Path(path).resolve().is_relative_to(directory.resolve())


def test_with_no_environment_everything_runs_on_sqlite_and_in_process_under_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    first = _settings(data_dir)

    assert first["engine"] == "django.db.backends.sqlite3"
    assert _under(first["name"], data_dir)
    assert first["eager"] is True
    assert _under(first["media"], data_dir)
    assert _under(first["index"], data_dir)
    assert first["debug"] is True
    key_file = data_dir / "secret_key"
    assert key_file.is_file() and key_file.read_text().strip() == first["secret"]
    assert len(first["secret"]) >= 40


def test_the_development_secret_key_survives_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = _settings(data_dir)
    second = _settings(data_dir)
    other_dir = _settings(tmp_path / "other")

    assert second["secret"] == first["secret"]
    assert other_dir["secret"] != first["secret"]


def test_database_url_switches_to_postgresql(tmp_path: Path) -> None:
    s = _settings(tmp_path / "data", DATABASE_URL="postgres://u@127.0.0.1:5432/x")

    assert s["engine"] == "django.db.backends.postgresql"
    assert s["name"] == "x"


def test_a_broker_url_sends_tasks_to_real_workers(tmp_path: Path) -> None:
    s = _settings(tmp_path / "data", CELERY_BROKER_URL="redis://127.0.0.1:6379/0")

    assert s["eager"] is False
    assert s["broker"] == "redis://127.0.0.1:6379/0"


def test_production_without_a_secret_key_refuses_to_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = _start(data_dir, CONTENTID_ENV="production", ALLOWED_HOSTS="example.org")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert not (data_dir / "secret_key").exists()


def test_production_with_a_secret_key_and_hosts_starts_without_debug(tmp_path: Path) -> None:
    s = _settings(
        tmp_path / "data", CONTENTID_ENV="production", SECRET_KEY="x" * 50, ALLOWED_HOSTS="example.org,www.example.org"
    )

    assert s["debug"] is False
    assert s["secret"] == "x" * 50
    assert s["hosts"] == ["example.org", "www.example.org"]
