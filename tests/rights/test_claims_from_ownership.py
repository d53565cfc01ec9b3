"""Claims made from matches under the owners' policies: co-owners, embedded works, allow-lists, overlaps."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model

from rights import actions, holdings, licensing
from rights.models import Claim, Policy, PolicyRule, ReferenceOverlap, UnclaimedMatch
from tests import factories

pytestmark = pytest.mark.django_db


def owner(name: str, *rules: dict, kind: str = "label", always_review: bool = False):  # type: ignore[no-untyped-def,type-arg]
    """A party with its own policy of ordered rules (review thresholds out of the way unless asked)."""
    party = factories.party(name, kind=kind)
    policy = Policy.objects.create(
        name=f"{name} policy",
        owner=party,
        action="monetize",
        always_review=always_review,
        min_confidence=0.5,
        min_match_s=1.0,
    )
    for position, rule in enumerate(rules, start=1):
        PolicyRule.objects.create(policy=policy, position=position, **rule)
    party.policy = policy
    party.save()
    return party


@pytest.fixture
def recording():  # type: ignore[no-untyped-def]
    return factories.recording(1)


def test_a_recording_without_ownership_is_claimed_for_its_label_under_the_default_policy(recording) -> None:  # type: ignore[no-untyped-def]
    claim = actions.claim_match(factories.match(recording))

    assert claim is not None
    assert claim.action == "monetize" and claim.status == "potential"
    assert claim.review_reasons == ["policy requires review"]
    assert claim.territory_actions["monetize"][:3] == ["AD", "AE", "AF"]
    assert claim.deadline is not None  # the 30-day review timer runs


def test_co_owners_with_different_policies_get_the_most_restrictive_action_per_territory(recording) -> None:  # type: ignore[no-untyped-def]
    label = owner("Label A", {"action": "block", "territories": ["DE"]}, {"action": "monetize"})
    partner = owner("Label B", {"action": "track"})
    holdings.add_ownership(owner=label, recording=recording, right="master", territories=["WORLD"], share="60")
    holdings.add_ownership(owner=partner, recording=recording, right="master", territories=["WORLD"], share="40")

    claim = actions.claim_match(factories.match(recording))

    assert claim is not None
    assert claim.territory_actions["block"] == ["DE"]
    assert "DE" not in claim.territory_actions["monetize"] and "US" in claim.territory_actions["monetize"]
    assert "track" not in claim.territory_actions
    assert claim.action == "block" and claim.status == "active"
    assert claim.claimant == label  # the largest master owner answers disputes
    owners = {o["owner"]: o["decision"] for o in claim.resolution["owners"]}
    assert owners == {"Label A": "block in DE; monetize in WORLD except DE", "Label B": "track in WORLD"}
    assert "block in DE; monetize in WORLD except DE" in claim.events.get().reason


def test_a_publisher_of_the_embedded_work_can_block_where_the_label_monetizes(recording) -> None:  # type: ignore[no-untyped-def]
    work = factories.work(1)
    recording.works.add(work)
    label = owner("Label", {"action": "monetize"})
    publisher = owner("Publisher", {"action": "block"}, kind="publisher")
    holdings.add_ownership(owner=label, recording=recording, right="master", territories=["WORLD"], share="100")
    holdings.add_ownership(owner=publisher, work=work, right="performance", territories=["US"], share="100")

    claim = actions.claim_match(factories.match(recording))

    assert claim is not None and claim.territory_actions["block"] == ["US"]
    assert "US" not in claim.territory_actions["monetize"]


def test_an_ownership_conflict_routes_the_claim_to_review(recording) -> None:  # type: ignore[no-untyped-def]
    for name in ("A", "B"):
        holdings.add_ownership(
            owner=owner(name, {"action": "monetize"}),
            recording=recording,
            right="master",
            territories=["FR"],
            share="70",
        )

    claim = actions.claim_match(factories.match(recording))

    assert claim is not None and claim.status == "potential"
    assert claim.review_reasons == ["ownership conflict: 140.0000% of master asserted"]


def test_a_licensee_on_the_allow_list_is_not_claimed(recording) -> None:  # type: ignore[no-untyped-def]
    uploader_login = get_user_model().objects.create_user("channel", password="x-not-used-1")
    label = owner("Label", {"action": "monetize"})
    channel = factories.party("Licensed channel", kind="channel")
    channel.accounts.add(uploader_login)
    holdings.add_ownership(owner=label, recording=recording, right="master", territories=["WORLD"], share="100")
    licence = licensing.grant_licence(
        reference="UGC-1",
        licensor=label,
        licensee=channel,
        uses=["ugc"],
        territories=["WORLD"],
        start_date=datetime.date(2020, 1, 1),
        fee_model="flat",
        flat_fee="100",
        recordings=[recording],
    )

    match = factories.match(recording, submitted_by=uploader_login)
    assert actions.claim_match(match) is None

    unclaimed = UnclaimedMatch.objects.get(match=match)
    assert unclaimed.why == "licensed" and unclaimed.licence == licence
    assert not Claim.objects.exists()
    assert actions.claim_unclaimed_matches() == 0  # the sweep does not try again


def test_a_licence_for_some_territories_leaves_the_claim_elsewhere(recording) -> None:  # type: ignore[no-untyped-def]
    login = get_user_model().objects.create_user("channel", password="x-not-used-1")
    label = owner("Label", {"action": "block"})
    channel = factories.party("Channel", kind="channel")
    channel.accounts.add(login)
    holdings.add_ownership(owner=label, recording=recording, right="master", territories=["WORLD"], share="100")
    licensing.grant_licence(
        reference="UGC-GB",
        licensor=label,
        licensee=channel,
        uses=["ugc"],
        territories=["GB"],
        start_date=datetime.date(2020, 1, 1),
        fee_model="flat",
        flat_fee="10",
        recordings=[recording],
    )

    claim = actions.claim_match(factories.match(recording, submitted_by=login))

    assert claim is not None and claim.uploader == channel
    assert "GB" not in claim.territory_actions["block"] and "US" in claim.territory_actions["block"]
    assert claim.resolution["licensed"][0]["licence"] == "UGC-GB"


def test_no_applicable_rule_anywhere_leaves_the_match_unclaimed(recording) -> None:  # type: ignore[no-untyped-def]
    label = owner("Label", {"action": "block", "min_match_s": 60.0})
    holdings.add_ownership(owner=label, recording=recording, right="master", territories=["WORLD"], share="100")

    match = factories.match(recording, query=(0.0, 10.0))

    assert actions.claim_match(match) is None
    assert UnclaimedMatch.objects.get(match=match).why == "no_rule"


def test_two_references_matching_the_same_upload_span_are_flagged_and_both_claims_wait(recording) -> None:  # type: ignore[no-untyped-def]
    twin = factories.recording(2)
    first = factories.match(recording, query=(0.0, 20.0))
    factories.match(twin, query=(1.0, 19.0), scan=first.scan)

    made = actions.claim_scan_matches(first.scan_id)

    overlap = ReferenceOverlap.objects.get()
    assert (overlap.first, overlap.second, overlap.overlap_s) == (recording, twin, 18.0)
    assert overlap.deadline is not None
    assert [c.status for c in made] == ["potential", "potential"]
    assert f"reference overlap with {twin}" in made[0].review_reasons


def test_a_compilation_of_two_recordings_side_by_side_is_not_an_overlap(recording) -> None:  # type: ignore[no-untyped-def]
    other = factories.recording(2)
    first = factories.match(recording, query=(0.0, 10.2))
    factories.match(other, query=(9.8, 20.0), scan=first.scan)

    actions.claim_scan_matches(first.scan_id)

    assert not ReferenceOverlap.objects.exists()


def test_staff_resolve_a_reference_overlap_and_it_stays_resolved(recording) -> None:  # type: ignore[no-untyped-def]
    twin = factories.recording(2)
    first = factories.match(recording, query=(0.0, 20.0))
    factories.match(twin, query=(0.0, 20.0), scan=first.scan)
    [overlap] = actions.detect_reference_overlaps(first.scan_id)

    actions.resolve_reference_overlap(overlap, None, "Same master delivered twice; the second is withdrawn.")

    overlap.refresh_from_db()
    assert overlap.status == "resolved" and overlap.resolution.startswith("Same master")
    with pytest.raises(ValueError, match="Say how"):
        actions.resolve_reference_overlap(overlap, None, " ")
