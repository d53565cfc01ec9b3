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


def _run_demo() -> str:
    """Run the command as `manage.py demo` would: each submit commits, so identification and
    claiming (queued with transaction.on_commit, eager tasks) happen before the table is printed.
    Inside a test transaction on_commit would fire only after the command returned, hence
    transaction=True below."""
    buf = io.StringIO()
    call_command("demo", stdout=buf)
    return buf.getvalue()


def _table_rows(output: str) -> dict[str, str]:
    """The first table line of each upload, by upload name."""
    return {line.split()[0]: line for line in output.splitlines() if re.match(r"upload-\d\d ", line)}


@pytest.mark.django_db(transaction=True)
def test_the_demo_identifies_every_upload_and_prints_the_table() -> None:
    output = _run_demo()

    assert "10 of 10 uploads identified correctly" in output
    rows = _table_rows(output)
    assert sorted(rows) == [f"upload-{n:02d}" for n in range(1, 11)]
    assert all(line.rstrip().endswith("yes") for line in rows.values()), output
    for name in ("upload-08", "upload-09", "upload-10"):
        assert "(no match)" in rows[name], output
    for name, title in (("upload-01", "Harbour Lights"), ("upload-02", "Copper Sky"), ("upload-07", "Iron Meadow")):
        assert title in rows[name], output
    assert Recording.objects.count() == len(demo.TITLES) == 12
    assert Scan.objects.count() == 10
    assert not Scan.objects.exclude(status=Scan.Status.DONE).exists()
    # Eight matches (seven excerpts, two in the compilation), each claimed.
    assert Claim.objects.count() == 8


@pytest.mark.django_db(transaction=True)
def test_running_the_demo_again_creates_nothing_new() -> None:
    _run_demo()
    counts = (Recording.objects.count(), AudioAsset.objects.count(), Scan.objects.count(), Claim.objects.count())

    output = _run_demo()

    assert "10 of 10 uploads identified correctly" in output
    assert counts == (12, 22, 10, 8)  # 12 references + 10 uploads; 8 matches claimed
    new_assets = list(AudioAsset.objects.order_by("pk").values_list("original_name", flat=True)[counts[1] :])
    assert (
        Recording.objects.count(),
        AudioAsset.objects.count(),
        Scan.objects.count(),
        Claim.objects.count(),
    ) == counts, f"the second run stored again: {new_assets}"


@pytest.mark.django_db(transaction=True)
def test_quickstart_prints_a_working_login_for_every_role_and_a_royalty_run() -> None:
    from django.contrib.auth import authenticate

    from rights import roles
    from rights.models import RoyaltyRun, Statement

    buf = io.StringIO()
    call_command("quickstart", "--no-serve", stdout=buf)
    output = buf.getvalue()
    logins = dict(re.findall(r"login: (\w+)\s+password: (\S+)", output))
    assert set(logins) == {"staff", "artist", "platform", "auditor", "admin"}, output
    expected_roles = {
        "staff": [roles.STAFF],
        "artist": [roles.ARTIST],
        "platform": [roles.PLATFORM],
        "auditor": [roles.AUDITOR],
    }
    for username, role in expected_roles.items():
        user = authenticate(username=username, password=logins[username])
        assert user is not None, f"{username} cannot log in with the printed password"
        assert roles.viewer_for(user).roles == role
    platform = roles.viewer_for(authenticate(username="platform", password=logins["platform"]))
    assert roles.claims_for(platform).count() == Claim.objects.count() > 0  # the demo uploads are the platform's
    run = RoyaltyRun.objects.get(status=RoyaltyRun.Status.DONE)
    artist = roles.viewer_for(authenticate(username="artist", password=logins["artist"]))
    assert roles.statements_for(artist).filter(run=run).count() == 1
    assert Statement.objects.filter(run=run).count() == 2  # the label and the artist
    # The AI-services demo ran through the gateway: the quoting output is caught, the call outside
    # the licence refused, and the ledger of it all verifies.
    from generation_audit import ledger
    from generation_audit.models import GeneratedOutput, ServiceCall

    assert "training manifest demo-composer demo-composer-1: passed" in output, output
    assert ServiceCall.objects.filter(status=ServiceCall.Status.REFUSED, territory="JP").count() == 1
    quoting = GeneratedOutput.objects.get(call__request__parameters__has_key="quote_recording_id")
    assert quoting.audit_status == GeneratedOutput.Audit.FLAGGED and quoting.replicated_spans
    assert ledger.verify().ok
    # The artist-likeness demo: AI-generated uploads in two demo artists' styles are reported, one open (the
    # artist has not opted in), one licensed (opted in, and the platform holds a likeness licence).
    assert "possible AI imitation of Mara Vell: open (Mara Vell has not opted in" in output, output
    assert "possible AI imitation of The Pluck Collective: licensed (licence DEMO-LIKENESS-1" in output, output
