"""The rights endpoints (policies, licences, splits, usage reports, statements, claim review), for every
role: each sees its own rows only, auditors never write, and a refused write leaves nothing behind."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from fingerprint.models import ApiToken
from rights import runs, splits, usage
from rights.models import Claim, Split, Statement, UsageReport
from tests.web.conftest import Side, World, fast_password_hashing, world  # noqa: F401

pytestmark = pytest.mark.django_db
PERIOD = "2026-09"
ENDPOINTS = ["policies", "licences", "splits", "usage-reports", "statements", "claims"]


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    body = response.json()
    return {row["id"] for row in (body["results"] if isinstance(body, dict) else body)}


def _usage_csv(side: Side, plays: int) -> bytes:
    rows = ["isrc,territory,quantity,amount"] + [f"{rec.isrc},GB,{plays},{plays / 100:.2f}" for rec in side.recordings]
    return ("\n".join(rows) + "\n").encode()


def _with_royalties(side: Side, plays: int) -> None:
    for rec in side.recordings:
        splits.set_split(recording=rec, shares=[(side.label_party, "70", "label"), (side.artist_party, "30", "artist")])
    usage.import_csv(_usage_csv(side, plays), period=PERIOD, currency="EUR", platform=side.platform_party)


@pytest.fixture
def paid(world: World) -> World:  # noqa: F811
    _with_royalties(world.ours, 1000)
    _with_royalties(world.theirs, 500)
    runs.run_royalties(PERIOD)
    return world


def test_anonymous_callers_are_refused_everywhere(world: World) -> None:  # noqa: F811
    for endpoint in ENDPOINTS:
        assert APIClient().get(f"/api/v1/{endpoint}").status_code in (401, 403), endpoint


def test_a_logged_in_user_without_a_role_is_refused_everywhere_but_sees_no_rows(world: World) -> None:  # noqa: F811
    client = _client(world.nobody)
    for endpoint in ["policies", "licences", "splits", "usage-reports", "statements"]:
        assert client.get(f"/api/v1/{endpoint}").status_code == 403, endpoint
    assert _ids(client.get("/api/v1/claims")) == set()


def test_statements_are_scoped_per_role(paid: World) -> None:
    ours, theirs = paid.ours, paid.theirs
    label_statement = Statement.objects.get(party=ours.label_party)
    artist_statement = Statement.objects.get(party=ours.artist_party)
    assert _ids(_client(ours.artist_user).get("/api/v1/statements")) == {artist_statement.pk}
    assert _ids(_client(ours.staff).get("/api/v1/statements")) == {label_statement.pk, artist_statement.pk}
    assert _ids(_client(ours.auditor).get("/api/v1/statements")) == {label_statement.pk, artist_statement.pk}
    assert _ids(_client(ours.platform_user).get("/api/v1/statements")) == set()
    theirs_ids = set(
        Statement.objects.filter(party__in=[theirs.label_party, theirs.artist_party]).values_list("pk", flat=True)
    )
    assert _ids(_client(theirs.staff).get("/api/v1/statements")) == theirs_ids
    assert len(_ids(_client(paid.superuser).get("/api/v1/statements"))) == 4


def test_a_statement_downloads_as_csv_for_its_party_and_is_hidden_from_others(paid: World) -> None:
    statement = Statement.objects.get(party=paid.ours.artist_party)
    response = _client(paid.ours.artist_user).get(f"/api/v1/statements/{statement.pk}/csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    text = b"".join(response.streaming_content).decode()
    header, *rows = [line.split(",") for line in text.strip().splitlines()]
    minor = header.index("amount_minor")
    assert sum(int(row[minor]) for row in rows if row[header.index("kind")] == "paid") == statement.paid_minor
    dsr = _client(paid.ours.auditor).get(f"/api/v1/statements/{statement.pk}/dsr")
    lines = b"".join(dsr.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("HEAD") and lines[-1].startswith("FOOT")
    for outsider in (paid.theirs.artist_user, paid.theirs.auditor, paid.ours.platform_user):
        assert _client(outsider).get(f"/api/v1/statements/{statement.pk}/csv").status_code in (403, 404)


def test_splits_are_scoped_and_a_split_that_does_not_sum_to_100_is_refused(world: World) -> None:  # noqa: F811
    ours, theirs = world.ours, world.theirs
    body = {
        "recording": ours.recordings[0].pk,
        "shares": [
            {"party": ours.artist_party.pk, "share": "60", "role": "artist"},
            {"party": ours.label_party.pk, "share": "39", "role": "label"},
        ],
    }
    refused = _client(ours.artist_user).post("/api/v1/splits", body, format="json")
    assert refused.status_code == 400
    assert "99" in refused.json()["detail"] and "100" in refused.json()["detail"]
    assert not Split.objects.exists()

    body["shares"][1]["share"] = "40"
    made = _client(ours.artist_user).post("/api/v1/splits", body, format="json")
    assert made.status_code == 201, made.content
    split_id = made.json()["id"]
    assert _ids(_client(ours.staff).get("/api/v1/splits")) == {split_id}
    assert _ids(_client(ours.auditor).get("/api/v1/splits")) == {split_id}
    assert _ids(_client(theirs.staff).get("/api/v1/splits")) == set()
    assert _ids(_client(theirs.artist_user).get("/api/v1/splits")) == set()


def test_only_credited_artists_and_their_label_staff_may_split_and_auditors_never_write(world: World) -> None:  # noqa: F811
    ours, theirs = world.ours, world.theirs
    body = {"recording": ours.recordings[1].pk, "shares": [{"party": ours.artist_party.pk, "share": "100"}]}
    for outsider in (theirs.artist_user, theirs.staff, ours.auditor, ours.platform_user):
        assert _client(outsider).post("/api/v1/splits", body, format="json").status_code == 403, outsider.username
    assert not Split.objects.exists()
    assert _client(ours.staff).post("/api/v1/splits", body, format="json").status_code == 201


def _token_client(side: Side) -> APIClient:
    _, key = ApiToken.issue(side.platform, side.platform_user, name="reports")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_a_platform_imports_its_usage_report_once_and_a_bad_row_imports_nothing(world: World) -> None:  # noqa: F811
    from django.core.files.uploadedfile import SimpleUploadedFile

    ours = world.ours
    client = _token_client(ours)
    bad = _usage_csv(ours, 10) + b"GBXXX0000001,GB,ten,1.00\n"
    refused = client.post(
        "/api/v1/usage-reports",
        {"file": SimpleUploadedFile("bad.csv", bad), "period": PERIOD, "currency": "EUR"},
        format="multipart",
    )
    assert refused.status_code == 400
    assert "line 5" in refused.json()["detail"]
    assert not UsageReport.objects.exists()

    good = {"file": SimpleUploadedFile("sept.csv", _usage_csv(ours, 10)), "period": PERIOD, "currency": "EUR"}
    made = client.post("/api/v1/usage-reports", good, format="multipart")
    assert made.status_code == 201, made.content
    assert made.json()["line_count"] == 3
    again = {"file": SimpleUploadedFile("sept.csv", _usage_csv(ours, 10)), "period": PERIOD, "currency": "EUR"}
    assert client.post("/api/v1/usage-reports", again, format="multipart").status_code == 409
    assert UsageReport.objects.count() == 1

    report = made.json()["id"]
    assert _ids(client.get("/api/v1/usage-reports")) == {report}
    assert _ids(_client(ours.staff).get("/api/v1/usage-reports")) == {report}  # it touches our catalogue
    assert _ids(_token_client(world.theirs).get("/api/v1/usage-reports")) == set()
    for non_platform in (ours.staff, ours.auditor, ours.artist_user):
        upload = {
            "file": SimpleUploadedFile("x.csv", b"isrc,territory,quantity\n"),
            "period": PERIOD,
            "currency": "EUR",
        }
        assert _client(non_platform).post("/api/v1/usage-reports", upload, format="multipart").status_code == 403


def test_label_staff_approve_and_release_their_claims_through_the_api(world: World) -> None:  # noqa: F811
    ours, theirs = world.ours, world.theirs
    claim, other = ours.claims[0], ours.claims[1]
    assert claim.status == Claim.Status.POTENTIAL
    for refused_user, code in ((ours.auditor, 403), (ours.artist_user, 403), (theirs.staff, 404)):
        response = _client(refused_user).post(f"/api/v1/claims/{claim.pk}/approve", {}, format="json")
        assert response.status_code == code, refused_user.username
    assert _token_client(ours).post(f"/api/v1/claims/{claim.pk}/approve", {}, format="json").status_code == 403
    claim.refresh_from_db()
    assert claim.status == Claim.Status.POTENTIAL

    approved = _client(ours.staff).post(f"/api/v1/claims/{claim.pk}/approve", {"reason": "checked"}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    assert claim.events.last().actor == ours.staff and claim.events.last().reason == "checked"
    released = _client(ours.staff).post(f"/api/v1/claims/{other.pk}/release", {}, format="json")
    assert released.status_code == 200 and released.json()["status"] == "released"
    again = _client(ours.staff).post(f"/api/v1/claims/{other.pk}/approve", {}, format="json")
    assert again.status_code == 409


def test_policies_and_licences_are_read_by_staff_and_auditors_of_the_label(world: World) -> None:  # noqa: F811
    from rights import licensing

    ours, theirs = world.ours, world.theirs
    licence = licensing.grant_licence(
        reference="LIC-OURS-1",
        licensor=ours.label_party,
        licensee=ours.platform_party,
        uses=["ugc"],
        territories=["WORLD"],
        start_date=datetime.date(2026, 1, 1),
        revenue_share=Decimal("0.5"),
        recordings=ours.recordings,
    )
    for reader in (ours.staff, ours.auditor, ours.platform_user):
        assert _ids(_client(reader).get("/api/v1/licences")) == {licence.pk}, reader.username
    for outsider in (theirs.staff, theirs.auditor, theirs.platform_user, ours.artist_user):
        assert _ids(_client(outsider).get("/api/v1/licences")) == set(), outsider.username
    assert _client(ours.auditor).post("/api/v1/licences", {}, format="json").status_code in (403, 405)
    policies = _client(ours.staff).get("/api/v1/policies")
    assert policies.status_code == 200


ROLES = ["staff", "artist_user", "platform_user", "auditor"]
LISTS = ["policies", "licences", "splits", "usage-reports", "statements", "claims", "scans"]


@pytest.fixture
def both_sides_busy(paid: World) -> dict[str, set[int]]:
    """Every kind of row exists on both sides; returns the ids of THEIR rows per endpoint."""
    from rights import licensing
    from rights.models import Licence, Policy

    for side in (paid.ours, paid.theirs):
        licensing.grant_licence(
            reference=f"LIC-{side.label.name}",
            licensor=side.label_party,
            licensee=side.platform_party,
            uses=["ugc"],
            territories=["WORLD"],
            start_date=datetime.date(2026, 1, 1),
            revenue_share=Decimal("0.5"),
            recordings=side.recordings,
        )
        Policy.objects.create(name=f"{side.label.name} policy", label=side.label)
    theirs = paid.theirs
    their_parties = [theirs.label_party, theirs.artist_party, theirs.platform_party]
    return {
        "policies": set(Policy.objects.filter(label=theirs.label).values_list("pk", flat=True)),
        "licences": set(Licence.objects.filter(licensor=theirs.label_party).values_list("pk", flat=True)),
        "splits": set(Split.objects.filter(recording__label=theirs.label).values_list("pk", flat=True)),
        "usage-reports": set(UsageReport.objects.filter(platform=theirs.platform_party).values_list("pk", flat=True)),
        "statements": set(Statement.objects.filter(party__in=their_parties).values_list("pk", flat=True)),
        "claims": {claim.pk for claim in theirs.claims},
        "scans": {claim.match.scan_id for claim in theirs.claims},
    }


@pytest.mark.parametrize("endpoint", LISTS)
@pytest.mark.parametrize("role", ROLES)
def test_no_role_of_one_label_reads_a_row_of_the_other(
    paid: World, both_sides_busy: dict[str, set[int]], role: str, endpoint: str
) -> None:
    seen = _ids(_client(getattr(paid.ours, role)).get(f"/api/v1/{endpoint}"))
    assert not seen & both_sides_busy[endpoint], f"{role} of ours reads their {endpoint}"
    assert both_sides_busy[endpoint], "the other side has rows of this kind"
    assert _ids(_client(paid.superuser).get(f"/api/v1/{endpoint}")) >= both_sides_busy[endpoint]
