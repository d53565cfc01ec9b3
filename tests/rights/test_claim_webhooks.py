"""Claims and disputes are pushed to the platform whose upload was claimed, over signed webhooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from fingerprint import intake, webhooks
from fingerprint.models import Platform, Scan, WebhookDelivery, WebhookEndpoint
from rights import actions, disputes, holdings, webhook_events
from rights.models import Claim, ClaimEvent, RightsHolder
from tests import audio as test_audio
from tests import factories
from tests.fingerprint.test_webhooks import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings):  # type: ignore[no-untyped-def]
    r = Receiver()
    settings.FETCH_ALLOWED_HOSTS = [f"127.0.0.1:{r.port}"]
    settings.WEBHOOK_RETRY_DELAYS_S = (0, 0, 0)
    yield r
    r.stop()


@pytest.fixture
def platform(receiver: Receiver) -> Platform:
    platform = Platform.objects.create(name="Streamly")
    WebhookEndpoint.objects.create(platform=platform, url=receiver.url())
    return platform


def _match(index: int = 1, platform: Platform | None = None, submitted_by: object | None = None):  # type: ignore[no-untyped-def]
    """A match of a recording the label's party owns, in an upload of `platform` (or of nobody)."""
    recording = factories.recording(index)
    if not RightsHolder.objects.filter(label=recording.label).exists():
        factories.party("Label 1", label=recording.label)
    scan = Scan.objects.create(
        asset=factories.audio_asset("upload"), status=Scan.Status.DONE, platform=platform, submitted_by=submitted_by
    )
    return factories.match(recording, scan=scan)


def _claim(capture, match) -> Claim:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        claim = actions.claim_match(match)
    assert claim is not None
    return claim


def test_a_claim_on_a_platforms_upload_sends_claim_created(
    platform: Platform, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    claim = _claim(django_capture_on_commit_callbacks, _match(platform=platform))

    (request,) = receiver.requests
    endpoint = platform.webhooks.get()
    assert webhooks.verify(endpoint.secret, request.headers[webhooks.SIGNATURE_HEADER], request.body)
    assert request.payload["event"] == "claim.created"
    data = request.payload["data"]
    assert (data["claim_id"], data["scan_id"], data["match_id"]) == (claim.pk, claim.match.scan_id, claim.match_id)
    recording = claim.recording
    assert data["recording"] == {"id": recording.pk, "isrc": recording.isrc, "title": recording.title}
    assert (data["from_status"], data["to_status"], data["status"]) == ("", claim.status, claim.status)
    assert data["action"] == claim.action and data["action"] in {"monetize", "block", "track"}
    assert data["reason"].startswith(f"Created from match {claim.match_id}")
    created = ClaimEvent.objects.get(claim=claim)
    assert request.payload["id"] == str(webhooks.event_id_for(f"claim-event:{created.pk}"))


def test_a_melody_claim_on_a_platforms_upload_names_the_work(
    platform: Platform, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    work = factories.work(1)
    holdings.add_ownership(owner=factories.party("Publisher", kind="publisher"), work=work, right="mechanical",
                           territories=["WORLD"], share="100")  # fmt: skip
    scan = Scan.objects.create(asset=factories.audio_asset("upload"), status=Scan.Status.DONE, platform=platform)
    with django_capture_on_commit_callbacks(execute=True):
        claim = actions.claim_work_match(factories.work_match(work, scan=scan))
    assert claim is not None

    (request,) = receiver.requests
    data = request.payload["data"]
    assert request.payload["event"] == "claim.created" and data["match_type"] == "melody"
    assert data["work"] == {"id": work.pk, "iswc": work.iswc, "title": work.title} and data["recording"] is None
    assert (data["scan_id"], data["match_id"], data["work_match_id"]) == (scan.pk, None, claim.work_match_id)
    assert data["status"] == "potential"


def test_each_step_of_the_claim_and_its_dispute_is_sent_once(
    platform: Platform, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    staff, uploader = (
        get_user_model().objects.create_user(name, password="x-not-used-1") for name in ("staff", "uploader")
    )
    claim = _claim(django_capture_on_commit_callbacks, _match(platform=platform))

    assert claim.status == Claim.Status.POTENTIAL  # the default policy: every claim waits for review

    with django_capture_on_commit_callbacks(execute=True):
        claim = actions.approve_claim(claim, staff)
        dispute = disputes.dispute_claim(claim, reason="licensed", evidence="Licence L-42.", actor=uploader)
        disputes.uphold_dispute(claim, staff, "The licence does not cover this territory.")

    events = receiver.events()
    assert events == [
        "claim.created",
        "claim.updated",
        "dispute.opened",
        "claim.updated",
        "dispute.answered",
        "claim.updated",
    ]
    opened, moved, answered, upheld = (r.payload["data"] for r in receiver.requests[-4:])
    assert (opened["dispute_id"], opened["kind"], opened["reason"], opened["outcome"]) == (
        dispute.pk,
        "dispute",
        "licensed",
        "pending",
    )
    assert opened["claim"]["claim_id"] == claim.pk and opened["deadline"]
    assert (moved["from_status"], moved["to_status"]) == ("active", "disputed")
    assert moved["deadline"] is not None
    assert answered["outcome"] == "upheld" and answered["answer"] == "The licence does not cover this territory."
    assert (upheld["from_status"], upheld["to_status"]) == ("disputed", "disputed")
    approved = receiver.requests[1].payload["data"]
    assert (approved["from_status"], approved["to_status"], approved["status"]) == ("potential", "active", "active")
    assert WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED).count() == len(events)

    # Saving the rows again, or telling the same event again, sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        for event in ClaimEvent.objects.filter(claim=claim):
            event.save()
            webhook_events.emit_claim_event(event)
        dispute.refresh_from_db()
        dispute.save()
    assert len(receiver.requests) == len(events)


def test_an_uploader_that_is_a_platform_party_is_told_even_without_the_scans_platform(
    platform: Platform, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    bot = get_user_model().objects.create_user("streamly-bot", password="x-not-used-1")
    party = RightsHolder.objects.create(name="Streamly", kind=RightsHolder.Kind.PLATFORM, platform=platform)
    party.accounts.add(bot)

    claim = _claim(django_capture_on_commit_callbacks, _match(submitted_by=bot))

    assert claim.uploader == party and claim.match.scan.platform_id is None
    assert receiver.events() == ["claim.created"]


def test_a_claim_on_an_upload_of_no_platform_tells_no_one(
    platform: Platform, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    _claim(django_capture_on_commit_callbacks, _match())

    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_another_platform_hears_nothing_of_a_claim(
    platform: Platform, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    other = Platform.objects.create(name="Other")
    WebhookEndpoint.objects.create(platform=other, url=receiver.url("/other"))

    _claim(django_capture_on_commit_callbacks, _match(platform=platform))

    assert receiver.events("/hooks") == ["claim.created"]
    assert receiver.events("/other") == []


def test_a_platforms_upload_end_to_end_sends_scan_completed_and_claim_created(
    tmp_path: Path, platform: Platform, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    webhooks.connect_receivers()  # what FingerprintConfig.ready() does (idempotent)
    recording = factories.registered_recording(tmp_path, seed=3)
    clip = test_audio.write(tmp_path / "clip.wav", test_audio.excerpt(test_audio.piece(3), 6.0, 10.0))

    with django_capture_on_commit_callbacks(execute=True):
        scan = intake.accept_file(clip, original_name="clip.wav", platform=platform)

    scan.refresh_from_db()
    assert scan.status == Scan.Status.DONE, scan.error
    claim = Claim.objects.get(match__scan=scan)
    assert sorted(receiver.events()) == ["claim.created", "scan.completed"]
    by_event = {r.payload["event"]: r.payload["data"] for r in receiver.requests}
    assert by_event["claim.created"]["claim_id"] == claim.pk
    assert by_event["claim.created"]["recording"]["isrc"] == recording.isrc
    assert by_event["scan.completed"]["matches"][0]["match_id"] == claim.match_id
