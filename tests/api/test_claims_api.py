"""Claims through the API: list and detail, disputes and appeals under rights.disputes' rules."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from rights import disputes
from rights.models import Claim, Dispute, RightsHolder
from tests.api import builders

pytestmark = pytest.mark.django_db


def _dispute(caller: builders.Caller, claim: Claim, **body: str):  # type: ignore[no-untyped-def]
    body = body or {"reason": "licensed", "evidence": "Licence LIC-42 covers this upload."}
    return caller.client.post(f"/api/v1/claims/{claim.pk}/dispute/", body, format="json")


def _staff():  # type: ignore[no-untyped-def]
    """Staff of the Test Label, whose recordings builders.claim claims."""
    user = get_user_model().objects.create_user("label-staff", password="x-not-used-1", is_staff=True)
    RightsHolder.objects.get(label__name="Test Label").accounts.add(user)
    return user


def test_the_list_pages_by_cursor_newest_first_and_filters_by_status() -> None:
    caller = builders.platform("Tube")
    made = [builders.claim(caller.platform, n) for n in (1, 2, 3)]
    potential = builders.claim(caller.platform, 4, status="potential")

    first = caller.client.get("/api/v1/claims/?page_size=2").json()
    second = caller.client.get(first["next"]).json()
    only_potential = caller.client.get("/api/v1/claims/?status=potential").json()

    assert [c["id"] for c in first["results"] + second["results"]] == [potential.pk, *[c.pk for c in reversed(made)]]
    assert second["next"] is None
    assert [c["id"] for c in only_potential["results"]] == [potential.pk]
    row = first["results"][0]
    assert row["recording"]["isrc"] == potential.recording.isrc and row["scan"] == potential.match.scan_id
    assert caller.client.get("/api/v1/claims/?status=nonsense").status_code == 400


def test_the_detail_shows_the_match_spans_history_and_disputes() -> None:
    caller = builders.platform("Tube")
    claim = builders.claim(caller.platform, 1)

    detail = caller.client.get(f"/api/v1/claims/{claim.pk}/").json()

    assert detail["status"] == "active" and detail["action"] == claim.action
    assert detail["match"]["query_start_s"] == 0.0 and detail["match"]["reference_start_s"] == 10.0
    assert detail["match"]["offset_s"] == 10.0
    assert [(e["from_status"], e["to_status"], e["by"]) for e in detail["events"]] == [
        ("", "potential", "system"),
        ("potential", "active", "system"),
    ]
    assert detail["disputes"] == []


def test_disputing_an_active_claim_makes_it_disputed_and_shows_on_its_history() -> None:
    caller = builders.platform("Tube")
    claim = builders.claim(caller.platform, 1)

    response = _dispute(caller, claim)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "disputed" and body["deadline"] is not None
    (dispute,) = body["disputes"]
    assert (dispute["kind"], dispute["reason"], dispute["outcome"]) == ("dispute", "licensed", "pending")
    last = body["events"][-1]
    assert (last["from_status"], last["to_status"], last["by"]) == ("active", "disputed", "uploader")
    assert "Licence LIC-42" in last["reason"]
    stored = Dispute.objects.get()
    assert stored.opened_by == caller.user and stored.disputant.platform == caller.platform


@pytest.mark.parametrize("status", ["potential", "disputed"])
def test_only_an_active_claim_can_be_disputed(status: str) -> None:
    caller = builders.platform("Tube")
    claim = builders.claim(caller.platform, 1, status="potential" if status == "potential" else "active")
    if status == "disputed":
        assert _dispute(caller, claim).status_code == 200

    response = _dispute(caller, claim)

    assert response.status_code == 409
    assert response.json() == {
        "code": "conflict",
        "detail": f"Only an active claim can be disputed; this one is {status}.",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "because", "evidence": "x"}, "reason"),
        ({"reason": "licensed", "evidence": "   "}, "evidence"),
        ({"reason": "licensed"}, "evidence"),
    ],
)
def test_a_dispute_needs_a_known_reason_and_evidence(body: dict, field: str) -> None:
    caller = builders.platform("Tube")
    claim = builders.claim(caller.platform, 1)

    response = _dispute(caller, claim, **body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and field in response.json()["errors"]
    claim.refresh_from_db()
    assert claim.status == "active"


def test_an_appeal_is_allowed_only_after_the_claimant_upheld_the_dispute() -> None:
    caller = builders.platform("Tube")
    claim = builders.claim(caller.platform, 1)
    evidence = {"evidence": "The licence was renewed: LIC-43."}

    too_early = caller.client.post(f"/api/v1/claims/{claim.pk}/appeal/", evidence, format="json")
    _dispute(caller, claim)
    while_pending = caller.client.post(f"/api/v1/claims/{claim.pk}/appeal/", evidence, format="json")
    disputes.uphold_dispute(claim, _staff(), "Our licence register has no LIC-42.")
    appealed = caller.client.post(f"/api/v1/claims/{claim.pk}/appeal/", evidence, format="json")
    twice = caller.client.post(f"/api/v1/claims/{claim.pk}/appeal/", evidence, format="json")

    for refused in (too_early, while_pending, twice):
        assert refused.status_code == 409
        assert refused.json()["detail"] == "Only a dispute the claimant upheld can be appealed."
    assert appealed.status_code == 200, appealed.json()
    body = appealed.json()
    assert body["status"] == "appealed"
    appeal, dispute = body["disputes"]  # newest first
    assert (appeal["kind"], appeal["reason"], appeal["outcome"]) == ("appeal", "licensed", "pending")
    assert (dispute["outcome"], dispute["answer"]) == ("upheld", "Our licence register has no LIC-42.")
    assert [e["to_status"] for e in body["events"]][-3:] == ["disputed", "disputed", "appealed"]
    assert [e["by"] for e in body["events"]][-3:] == ["uploader", "staff", "uploader"]


def test_staff_without_a_platform_cannot_dispute_on_a_platforms_behalf() -> None:
    caller = builders.platform("Tube")
    claim = builders.claim(caller.platform, 1)
    client = APIClient()
    client.force_authenticate(_staff())

    assert client.get(f"/api/v1/claims/{claim.pk}/").status_code == 200
    response = client.post(
        f"/api/v1/claims/{claim.pk}/dispute/", {"reason": "licensed", "evidence": "x"}, format="json"
    )

    assert response.status_code == 403
    claim.refresh_from_db()
    assert claim.status == "active"
