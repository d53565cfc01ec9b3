"""Claims on uploads the provenance verdict calls generated go to staff review, whichever finishes first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.conf import settings as django_settings

from catalog.models import AudioAsset, Recording
from fingerprint.models import Match, Scan
from generation_audit import actions
from rights import actions as rights_actions
from rights import holdings, review
from rights.models import Policy
from tests import factories
from tests.api import builders
from tests.generation_audit.conftest import RATE, stored_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def plain_upload(tmp_path: Path, music: np.ndarray) -> AudioAsset:
    return stored_upload(tmp_path / "plain.wav", music[: 8 * RATE].copy())


def _owned(index: int) -> Recording:
    """A recording wholly owned by a label whose policy monetizes without review."""
    recording = factories.recording(index)
    owner = factories.party(f"Owner {index}")
    owner.policy = Policy.objects.create(
        name=f"Owner {index} policy", owner=owner, action="monetize", always_review=False, min_confidence=0.5
    )
    owner.save()
    holdings.add_ownership(owner=owner, recording=recording, right="master", territories=["WORLD"], share="100")
    return recording


def _match(asset: AudioAsset, recording: Recording, scan: Scan | None = None, confidence: float = 0.95) -> Match:
    """A match of `recording` over the whole upload, in `scan` (default: a new finished scan of the asset)."""
    scan = scan or Scan.objects.create(asset=asset, status=Scan.Status.DONE)
    return factories.match(recording, scan=scan, upload_s=asset.duration_s, query=(0.0, 8.0), confidence=confidence)


def test_the_default_hook_is_the_provenance_verdict() -> None:
    assert django_settings.RIGHTS_PROVENANCE_HOOK == "generation_audit.review_hook.review_reasons"


def test_an_active_claim_goes_back_to_review_when_the_run_finishes_and_says_generated(
    generated_upload: AudioAsset,
) -> None:
    active = rights_actions.claim_match(_match(generated_upload, _owned(1)))
    released = rights_actions.claim_match(_match(generated_upload, _owned(2), scan=active.match.scan))
    released = rights_actions.release_claim(released, None, "Licensed after all.")
    assert active.status == "active" and active.review_reasons == []  # no run yet: nothing to say

    run = actions.run_provenance(generated_upload.pk)

    assert run.ai_generated is True and run.score >= 0.5 and run.verdict_version == "verdict-1"
    active.refresh_from_db()
    assert active.status == "potential"
    assert active.deadline is not None  # the review timer runs again
    (reason,) = active.review_reasons
    assert reason.startswith("AI-provenance finding: AI-generated (score")
    assert "decoder comb at 86.13" in reason
    assert review.reason_kind(reason) == "provenance"  # the review queue files it under AI provenance
    event = active.events.order_by("at", "pk").last()
    assert (event.from_status, event.to_status) == ("active", "potential")
    assert event.reason == f"Sent to review: {reason}" and event.actor is None
    released.refresh_from_db()
    assert released.status == "released" and released.review_reasons == []  # a final claim stays final

    # A second pass (a retried task, a repeated call) changes nothing.
    assert actions.run_provenance(generated_upload.pk).pk == run.pk
    assert rights_actions.flag_claims_for_review(generated_upload.pk, reason) == []
    active.refresh_from_db()
    assert active.review_reasons == [reason] and active.events.count() == 2


def test_a_claim_made_after_the_run_starts_in_review_and_the_api_shows_the_verdict(
    generated_upload: AudioAsset,
) -> None:
    caller = builders.platform("Tube")
    actions.run_provenance(generated_upload.pk)
    scan = Scan.objects.create(asset=generated_upload, status=Scan.Status.DONE, platform=caller.platform)

    claim = rights_actions.claim_match(_match(generated_upload, _owned(3), scan=scan))

    assert claim.status == "potential"
    assert any(r.startswith("AI-provenance finding: AI-generated") for r in claim.review_reasons)
    assert claim.events.count() == 1  # made in review, not routed there afterwards
    detail = caller.client.get(f"/api/v1/scans/{scan.pk}/").json()
    assert detail["provenance"]["ai_generated"] is True
    assert 0.5 <= detail["provenance"]["score"] <= 1.0
    assert detail["provenance"]["verdict_version"] == "verdict-1"
    assert {f["detector"] for f in detail["provenance"]["findings"]} >= {"decoder_artifacts", "learned"}


def test_plain_music_leaves_its_claims_alone(plain_upload: AudioAsset) -> None:
    claim = rights_actions.claim_match(_match(plain_upload, _owned(4)))

    run = actions.run_provenance(plain_upload.pk)

    assert run.ai_generated is False and run.score < 0.5
    claim.refresh_from_db()
    assert claim.status == "active" and claim.review_reasons == [] and claim.events.count() == 1
    later = rights_actions.claim_match(_match(plain_upload, _owned(5), scan=claim.match.scan))
    assert later.status == "active" and later.review_reasons == []


def test_a_claim_already_in_review_gains_the_reason_without_changing_state(generated_upload: AudioAsset) -> None:
    claim = rights_actions.claim_match(_match(generated_upload, _owned(6), confidence=0.3))
    assert claim.status == "potential" and claim.review_reasons[0].startswith("low confidence")
    deadline = claim.deadline

    actions.run_provenance(generated_upload.pk)

    claim.refresh_from_db()
    assert claim.status == "potential" and claim.deadline == deadline  # its review timer keeps running
    assert len(claim.review_reasons) == 2 and review.reason_kind(claim.review_reasons[1]) == "provenance"
    assert [(e.from_status, e.to_status) for e in claim.events.order_by("at", "pk")] == [
        ("", "potential"),
        ("potential", "potential"),
    ]


def test_the_sweep_sends_back_a_claim_that_slipped_past_the_verdict_and_leaves_staff_decisions(
    generated_upload: AudioAsset,
) -> None:
    from generation_audit import tasks

    actions.run_provenance(generated_upload.pk)
    # The race: this claim's hook ran before the verdict existed, so it was made active.
    slipped = rights_actions.claim_match(_match(generated_upload, _owned(6)))
    Claim = type(slipped)
    Claim.objects.filter(pk=slipped.pk).update(status="active", review_reasons=[])

    tasks.sweep_provenance()

    slipped.refresh_from_db()
    assert slipped.status == "potential"
    assert slipped.review_reasons[0].startswith("AI-provenance finding: AI-generated")
    rights_actions.approve_claim(slipped, None, "Heard it: the upload is licensed.")
    tasks.sweep_provenance()  # staff decided with the reason in front of them: the next sweep leaves it
    slipped.refresh_from_db()
    assert slipped.status == "active"
