"""The rights verbs: turn matches into claims and move claims through their lifecycle.

Every change of a claim appends a ClaimEvent in the same transaction.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from catalog.models import Label
from fingerprint.models import Match, Scan
from rights import claims
from rights.models import Claim, ClaimEvent, Policy


def default_policy() -> Policy:
    """The policy for labels without their own: monetize, after a person has reviewed the claim."""
    policy, _ = Policy.objects.get_or_create(
        label=None, defaults={"name": "Default: monetize after review", "action": Policy.Action.MONETIZE}
    )
    return policy


def policy_for(label: Label | None) -> Policy:
    if label is not None:
        own = Policy.objects.filter(label=label).first()
        if own is not None:
            return own
    return default_policy()


def claim_match(match: Match) -> Claim:
    """The claim for one match, created under its label's policy if it has none yet (idempotent)."""
    existing = Claim.objects.filter(match=match).first()
    if existing is not None:
        return existing
    recording = match.recording
    policy = policy_for(recording.label)
    facts = claims.MatchFacts(
        confidence=match.confidence, duration_s=match.duration_s, upload_duration_s=match.scan.asset.duration_s
    )
    decision = claims.decide(facts, policy.terms())
    try:
        with transaction.atomic():
            claim = Claim.objects.create(
                match=match,
                recording=recording,
                label=recording.label,
                policy=policy,
                action=decision.action,
                status=decision.status,
                review_reasons=list(decision.review_reasons),
            )
            why = "; ".join(decision.review_reasons) or "policy applies without review"
            ClaimEvent.objects.create(
                claim=claim,
                actor=None,
                from_status="",
                to_status=claim.status,
                reason=f"Created from match {match.pk} under policy '{policy.name}': {why}.",
            )
    except IntegrityError:  # a concurrent run claimed it first
        return Claim.objects.get(match=match)
    return claim


def claim_scan_matches(scan_id: int) -> list[Claim]:
    """Claims for every match of a scan (matches already claimed keep their claim)."""
    matches = Match.objects.filter(scan_id=scan_id).select_related("recording__label", "scan__asset")
    return [claim_match(match) for match in matches]


def claim_unclaimed_matches() -> int:
    """Sweep: claim every match of a finished scan that has no claim yet; returns how many were made."""
    pending = Match.objects.filter(claim__isnull=True, scan__status=Scan.Status.DONE).select_related(
        "recording__label", "scan__asset"
    )
    return len([claim_match(match) for match in pending])


def transition(claim: Claim, target: str, actor: AbstractBaseUser | None, reason: str = "") -> Claim:
    """Move a claim to `target` if its lifecycle allows it, recording who, when and why."""
    with transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        claims.check_transition(locked.status, target)
        previous = locked.status
        locked.status = target
        locked.save(update_fields=["status", "updated_at"])
        ClaimEvent.objects.create(claim=locked, actor=actor, from_status=previous, to_status=target, reason=reason)
    return locked


def approve_claim(claim: Claim, actor: AbstractBaseUser | None, reason: str = "") -> Claim:
    """Staff confirm a potential claim: it becomes active."""
    return transition(claim, claims.ACTIVE, actor, reason or "Approved after review.")


def release_claim(claim: Claim, actor: AbstractBaseUser | None, reason: str = "") -> Claim:
    """Staff (or a lost dispute) give the claim up: it is released."""
    return transition(claim, claims.RELEASED, actor, reason or "Released after review.")
