"""Request budgets are per platform, one for uploads and one for everything else; over it: 429 + Retry-After."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from fingerprint.models import ApiToken
from tests.api import builders

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny_rates(settings: object) -> None:
    rates = {"uploads": "2/min", "reads": "3/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}  # type: ignore[attr-defined]


def _upload(caller: builders.Caller, n: int) -> int:
    return caller.client.post("/api/v1/scans/", {"urls": [f"https://a.example/{n}.mp3"]}, format="json").status_code


@pytest.mark.usefixtures("tiny_rates")
def test_reads_over_the_rate_get_429_with_retry_after() -> None:
    caller = builders.platform("Tube")

    statuses = [caller.client.get("/api/v1/scans/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    refused = caller.client.get("/api/v1/claims/")
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60


@pytest.mark.usefixtures("tiny_rates")
def test_the_budget_is_the_platforms_shared_by_its_keys_and_not_by_other_platforms() -> None:
    caller = builders.platform("Tube")
    other = builders.platform("Other")
    _, second_key = ApiToken.issue(caller.platform, caller.user, name="second")
    second = APIClient()
    second.credentials(HTTP_AUTHORIZATION=f"Bearer {second_key}")

    assert [caller.client.get("/api/v1/scans/").status_code for _ in range(3)] == [200] * 3
    assert second.get("/api/v1/scans/").status_code == 429
    assert other.client.get("/api/v1/scans/").status_code == 200


@pytest.mark.usefixtures("tiny_rates")
def test_uploads_have_their_own_budget() -> None:
    caller = builders.platform("Tube")

    assert [_upload(caller, n) for n in range(3)] == [202, 202, 429]
    assert caller.client.get("/api/v1/scans/").status_code == 200


def test_the_default_rates_come_from_the_environment_with_generous_defaults(settings: object) -> None:
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]  # type: ignore[attr-defined]

    assert set(rates) == {"uploads", "reads"}
    caller = builders.platform("Tube")
    assert [caller.client.get("/api/v1/scans/").status_code for _ in range(20)] == [200] * 20


def test_the_rates_can_be_set_from_the_environment(tmp_path: Path) -> None:
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CONTENTID_DATA_DIR": str(tmp_path),
        "CONTENTID_THROTTLE_UPLOADS": "5/min",
        "CONTENTID_THROTTLE_READS": "7/second",
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"uploads": "5/min", "reads": "7/second"}


def test_the_window_slides_so_the_last_minutes_requests_still_count_in_proportion(
    tiny_rates: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fingerprint.throttling import PlatformRateThrottle

    caller = builders.platform("Tube")
    clock = [600.0]  # the start of a minute
    monkeypatch.setattr(PlatformRateThrottle, "timer", lambda self: clock[0])

    assert [caller.client.get("/api/v1/scans/").status_code for _ in range(3)] == [200] * 3
    clock[0] = 660.0  # the next minute starts: the previous minute's 3 still weigh in fully
    refused = caller.client.get("/api/v1/scans/")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == 20  # a third of the old minute must slide out for one more
    clock[0] = 680.5
    assert caller.client.get("/api/v1/scans/").status_code == 200
    assert caller.client.get("/api/v1/scans/").status_code == 429  # refused requests did not use the budget
