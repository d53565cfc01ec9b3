"""The staff back office: every rights screen opens, and saves go through the rights verbs."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from rights import actions, disputes, holdings, runs, splits, usage
from rights.models import AuditEvent, OwnershipConflict, Split
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):  # type: ignore[no-untyped-def]
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-not-used-1")
    client.force_login(user)
    return client, user


def test_every_rights_screen_opens_with_data(staff_client) -> None:  # type: ignore[no-untyped-def]
    client, user = staff_client
    label = factories.party("Label")
    recording = factories.recording(1)
    holdings.add_ownership(owner=label, recording=recording, right="master", territories=["WORLD"], share="100")
    holdings.add_ownership(
        owner=factories.party("Rival"), recording=recording, right="master", territories=["DE"], share="10"
    )
    splits.set_split(recording=recording, shares=[(label, "100", "label")])
    claim = actions.approve_claim(actions.claim_match(factories.match(recording)), user)  # type: ignore[arg-type]
    disputes.dispute_claim(claim, reason="original", evidence="Mine.", actor=user)
    usage.import_csv(b"isrc,territory,quantity,amount\nGBTST2600001,GB,1,1.00\n", period="2026-10", currency="EUR")
    runs.run_royalties("2026-10")

    for model in (
        "rightsholder",
        "ownership",
        "ownershipconflict",
        "policy",
        "claim",
        "dispute",
        "referenceoverlap",
        "unclaimedmatch",
        "licence",
        "split",
        "usagereport",
        "royaltyrun",
        "auditevent",
    ):
        response = client.get(f"/admin/rights/{model}/")
        assert response.status_code == 200, model
    assert client.get(f"/admin/rights/claim/{claim.pk}/change/").status_code == 200
    page = client.get(f"/admin/rights/ownershipconflict/{OwnershipConflict.objects.get().pk}/change/")
    assert "Label 100.0000%; Rival 10.0000%" in page.content.decode()
    assert "Lost 0 of" not in client.get(f"/admin/rights/rightsholder/{label.pk}/change/").content.decode()


def test_saving_an_ownership_in_the_admin_detects_the_conflict_and_names_the_user(staff_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = staff_client
    recording = factories.recording(1)
    first, second = factories.party("A"), factories.party("B")
    holdings.add_ownership(owner=first, recording=recording, right="master", territories=["WORLD"], share="100")

    response = client.post(
        "/admin/rights/ownership/add/",
        {
            "owner": second.pk,
            "recording": recording.pk,
            "right": "master",
            "territories": '["FR"]',
            "share": "30",
            "start_date": "2026-01-01",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert OwnershipConflict.objects.open().get().territories == ["FR"]
    assert AuditEvent.objects.filter(entity="rights.ownership", actor_name="boss").count() == 1


def test_a_split_whose_shares_do_not_sum_to_100_is_refused_in_the_admin(staff_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = staff_client
    recording = factories.recording(1)
    a, b = factories.party("A"), factories.party("B")

    response = client.post(
        "/admin/rights/split/add/",
        {
            "recording": recording.pk,
            "stream": "master",
            "territories": "[]",
            "note": "",
            "shares-TOTAL_FORMS": "2",
            "shares-INITIAL_FORMS": "0",
            "shares-0-party": a.pk,
            "shares-0-share": "60",
            "shares-0-role": "",
            "shares-1-party": b.pk,
            "shares-1-share": "30",
            "shares-1-role": "",
        },
    )

    assert response.status_code == 200
    assert "Shares sum to 90 %, under 100 %" in response.content.decode()
    assert not Split.objects.exists()
