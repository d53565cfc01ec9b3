"""Claim and dispute events for the uploading platform's webhooks (fingerprint.webhooks sends them).

Every ClaimEvent becomes ``claim.created`` (the first, from no status) or ``claim.updated``; a new
Dispute (or appeal) becomes ``dispute.opened`` and its answer ``dispute.answered`` (upheld, released,
expired or takedown). They go to the platform the claimed upload came from: the uploader's platform
account, else the platform that submitted the scan; a claim on an upload no platform sent tells no one.
Each occurrence has a fixed event id (uuid5 of what happened), so saving a row again sends nothing new.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save

from fingerprint import webhooks
from fingerprint.models import WebhookDelivery
from rights.models import Claim, ClaimEvent, Dispute


def platform_of(claim: Claim) -> int | None:
    """The platform told about a claim: the uploader's platform account, else the scan's platform."""
    if claim.uploader is not None and claim.uploader.platform_id is not None:
        return claim.uploader.platform_id
    return claim.scan.platform_id


def _claim(claim_id: int) -> Claim:
    return Claim.objects.select_related("recording", "work", "uploader", "match__scan", "work_match__scan").get(
        pk=claim_id
    )


def claim_data(claim: Claim) -> dict[str, Any]:
    """What a platform learns about a claim: which upload, which recording (or, for a melody claim on a
    cover, which work), what is done where."""
    recording, work = claim.recording, claim.work
    return {
        "claim_id": claim.pk,
        "scan_id": claim.scan.pk,
        "match_id": claim.match_id,
        "match_type": claim.match_type,
        "recording": {"id": recording.pk, "isrc": recording.isrc, "title": recording.title} if recording else None,
        "work": {"id": work.pk, "iswc": work.iswc, "title": work.title} if work else None,
        "work_match_id": claim.work_match_id,
        "status": claim.status,
        "action": claim.action,
        "territory_actions": claim.territory_actions,
        "deadline": claim.deadline,
    }


def claim_event_data(claim: Claim, event: ClaimEvent) -> dict[str, Any]:
    return {
        **claim_data(claim),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "reason": event.reason,
        "at": event.at,
    }


def dispute_data(claim: Claim, dispute: Dispute) -> dict[str, Any]:
    return {
        "dispute_id": dispute.pk,
        "kind": dispute.kind,
        "reason": dispute.reason,
        "outcome": dispute.outcome,
        "opened_at": dispute.opened_at,
        "deadline": dispute.deadline,
        "answered_at": dispute.answered_at,
        "answer": dispute.answer,
        "claim": claim_data(claim),
    }


def emit_claim_event(event: ClaimEvent) -> list[WebhookDelivery]:
    """Tell the uploading platform about one step of a claim's history."""
    claim = _claim(event.claim_id)
    platform_id = platform_of(claim)
    if platform_id is None:
        return []
    name = "claim.updated" if event.from_status else "claim.created"
    data = claim_event_data(claim, event)
    return webhooks.emit(platform_id, name, data, event_id=webhooks.event_id_for(f"claim-event:{event.pk}"))


def emit_dispute(dispute: Dispute, opened: bool) -> list[WebhookDelivery]:
    """Tell the uploading platform that a dispute or appeal was opened, or how it was answered."""
    if not opened and dispute.outcome == Dispute.Outcome.PENDING:
        return []
    claim = _claim(dispute.claim_id)
    platform_id = platform_of(claim)
    if platform_id is None:
        return []
    name, key = ("dispute.opened", "opened") if opened else ("dispute.answered", dispute.outcome)
    event_id = webhooks.event_id_for(f"dispute:{dispute.pk}:{key}")
    return webhooks.emit(platform_id, name, dispute_data(claim, dispute), event_id=event_id)


def _claim_event_saved(sender: Any, instance: ClaimEvent, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        emit_claim_event(instance)


def _dispute_saved(sender: Any, instance: Dispute, created: bool, raw: bool = False, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    if raw or (update_fields is not None and "outcome" not in update_fields):
        return
    emit_dispute(instance, opened=created)


def connect() -> None:
    """Send claim and dispute events as their rows are saved; called once from RightsConfig.ready()."""
    post_save.connect(_claim_event_saved, sender=ClaimEvent, dispatch_uid="rights.webhook_events.claim_event")
    post_save.connect(_dispute_saved, sender=Dispute, dispatch_uid="rights.webhook_events.dispute")
