from __future__ import annotations

from pathlib import Path

import pytest

from fingerprint import actions as fingerprint_actions
from tests.workers import real_workers  # noqa: F401  (a fixture for real-worker tests)


@pytest.fixture(autouse=True)
def isolated_data_dir(settings: object, tmp_path: Path) -> Path:
    """Every test gets its own media and index directories, so nothing leaks between tests."""
    settings.MEDIA_ROOT = tmp_path / "media"  # type: ignore[attr-defined]
    settings.FINGERPRINT_INDEX_DIR = tmp_path / "index"  # type: ignore[attr-defined]
    fingerprint_actions._stores.clear()
    return tmp_path


def stored_files(root: Path) -> list[Path]:
    """Files under a media or index directory (what a failed operation must not leave behind)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != ".lock")


@pytest.fixture(autouse=True)
def tasks_in_process() -> object:
    """Tasks run in the test's own process (and database transaction) unless a test starts a real
    worker (tests/rights/test_end_to_end.py does, when CELERY_BROKER_URL is set)."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
