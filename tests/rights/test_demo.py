"""`manage.py demo`: the synthesised catalogue, identified end to end, and safe to run twice."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from catalog.models import AudioAsset, Recording
from fingerprint.models import Scan
from rights import demo
from rights.models import Claim


def _run_demo(capture) -> str:  # type: ignore[no-untyped-def]
    buf = io.StringIO()
    with capture(execute=True):
        call_command("demo", stdout=buf)
    return buf.getvalue()


def _table_rows(output: str) -> dict[str, str]:
    """The first table line of each upload, by upload name."""
    return {line.split()[0]: line for line in output.splitlines() if re.match(r"upload-\d\d ", line)}


@pytest.mark.django_db(transaction=True)
def test_the_demo_identifies_every_upload_and_prints_the_table(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    output = _run_demo(django_capture_on_commit_callbacks)

    assert "10 of 10 uploads identified correctly" in output
    rows = _table_rows(output)
    assert sorted(rows) == [f"upload-{n:02d}" for n in range(1, 11)]
    assert all(line.rstrip().endswith("yes") for line in rows.values()), output
    for name in ("upload-08", "upload-09", "upload-10"):
        assert "(no match)" in rows[name], output
    for name, title in (("upload-01", "Harbour Lights"), ("upload-02", "Copper Sky"), ("upload-07", "Quiet Engine")):
        assert title in rows[name], output
    assert Recording.objects.count() == len(demo.TITLES) == 12
    assert Scan.objects.count() == 10
    assert not Scan.objects.exclude(status=Scan.Status.DONE).exists()
    # Eight matches (seven excerpts, two in the compilation), each claimed.
    assert Claim.objects.count() == 8


@pytest.mark.django_db(transaction=True)
def test_running_the_demo_again_creates_nothing_new(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    _run_demo(django_capture_on_commit_callbacks)
    counts = (Recording.objects.count(), AudioAsset.objects.count(), Scan.objects.count(), Claim.objects.count())

    output = _run_demo(django_capture_on_commit_callbacks)

    assert "10 of 10 uploads identified correctly" in output
    assert (Recording.objects.count(), AudioAsset.objects.count(), Scan.objects.count(),
            Claim.objects.count()) == counts
    assert counts[:3] == (12, 22, 10)
