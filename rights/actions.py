"""The rights verbs for claims: turn matches into claims and move claims through their lifecycle.

Every change of a claim appends a ClaimEvent in the same transaction (and, through rights.audit, an
audit event). Ownership verbs live in rights.holdings, licences in rights.licensing, splits in
rights.splits, royalty runs in rights.runs.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Label, Recording, Work
from fingerprint.models import Match, Platform, Scan, WorkMatch
from rights import claims, conf, holdings, licensing, territories
from rights.audit import acting_as
from rights.models import (
    Claim,
    ClaimEvent,
    OwnershipConflict,
    Policy,
    ReferenceOverlap,
    RightsHolder,
    UnclaimedMatch,
)

# Kept for callers of the first version of this module.
default_policy = holdings.default_policy
policy_for = holdings.policy_for_label

Actor = AbstractBaseUser | None


def match_facts(match: Match) -> claims.MatchFacts:
    """The facts policies look at, from a stored match."""
    reference_span = max(0.0, match.reference_end_s - match.reference_start_s)
    reference_length = match.reference_asset.duration_s
    return claims.MatchFacts(
        confidence=match.confidence,
        duration_s=match.duration_s,
        upload_duration_s=match.scan.asset.duration_s,
        reference_span_s=reference_span,
        reference_length_s=reference_length,
        match_type=claims.match_type(
            match.pitch_factor, match.tempo_factor, reference_span, reference_length, match.engine_version
        ),
    )


def _outside_reasons(match: Match, day: datetime.date) -> list[str]:
    reasons = _conflict_reasons(holdings.open_conflicts_touching(match.recording, day))
    for overlap in ReferenceOverlap.objects.filter(scan_id=match.scan_id, status=ReferenceOverlap.Status.OPEN):
        if match.recording_id in (overlap.first_id, overlap.second_id):
            other = overlap.second if overlap.first_id == match.recording_id else overlap.first
            reasons.append(f"reference overlap with {other}")
    return reasons + _provenance_reasons(match)


def _conflict_reasons(conflicts: list[OwnershipConflict]) -> list[str]:
    return [f"ownership conflict: {c.total_share}% of {c.right} asserted" for c in conflicts]


def _provenance_reasons(match: Match | WorkMatch) -> list[str]:
    hook = conf.provenance_hook()
    return [f"AI-provenance finding: {reason}" for reason in hook(match)] if hook is not None else []


def _allow_list(
    stakes: list[claims.Stake], uploader: RightsHolder | None, recording: Recording | None, day: datetime.date
) -> tuple[list[claims.Stake], list[dict[str, str]]]:
    """Remove from each stake the territories where the uploader holds a UGC licence for its asset."""
    if uploader is None:
        return stakes, []
    used: list[dict[str, str]] = []
    kept = []
    for stake in stakes:
        kind, _, pk = stake.asset.partition(":")
        target = {"recording": recording} if kind == "recording" else {"work": Work.objects.get(pk=pk)}
        granted, licences = licensing.licensed_territories(uploader, "ugc", day, **target)
        if granted & stake.territories:
            used += [{"licence": lic.reference, "asset": stake.asset, "id": str(lic.pk)} for lic in licences]
            stake = dataclasses.replace(stake, territories=stake.territories - granted)
        kept.append(stake)
    return kept, used


def _resolution_record(
    resolution: claims.Resolution, facts: claims.MatchFacts, licences: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "match_type": facts.match_type,
        "match_percent": round(facts.match_percent, 2),
        "reference_percent": round(facts.reference_percent, 2),
        "owners": [
            {
                "owner": o.stake.owner_name,
                "owner_id": o.stake.owner_id,
                "asset": o.stake.asset,
                "right": o.stake.right,
                "share": str(o.stake.share),
                "policy": o.stake.policy_name,
                "policy_id": o.stake.policy_id,
                "rules_applied": list(o.rules_applied),
                "decision": claims.describe_actions(o.actions),
            }
            for o in resolution.outcomes
        ],
        "licensed": licences,
    }


def platform_party(platform: Platform) -> RightsHolder:
    """The party an API platform is to the rights engine (claims, licences, usage reports), made on first use."""
    party, _ = RightsHolder.objects.get_or_create(
        platform=platform, defaults={"name": platform.name, "kind": RightsHolder.Kind.PLATFORM}
    )
    return party


def uploader_of(scan: Scan) -> RightsHolder | None:
    """The party whose upload this is: the scan's platform account, else its submitter's party."""
    if scan.platform_id is not None:
        return platform_party(scan.platform)
    parties = licensing.parties_of(scan.submitted_by)
    return parties[0] if parties else None


def _uploader(match: Match | WorkMatch) -> RightsHolder | None:
    return uploader_of(match.scan)


def claim_match(match: Match, now: datetime.datetime | None = None) -> Claim | None:
    """The claim for one match, made under its owners' policies if it has none yet (idempotent).

    Returns None when the match is deliberately not claimed (a licensee on the allow-list, or no
    owner's policy applies anywhere); an UnclaimedMatch row then says why.
    """
    existing = Claim.objects.filter(match=match).first()
    if existing is not None or UnclaimedMatch.objects.filter(match=match).exists():
        return existing
    day = timezone.localtime(match.scan.created_at).date()
    facts = match_facts(match)
    uploader = _uploader(match)
    stakes, licences = _allow_list(holdings.stakes_for(match.recording, day), uploader, match.recording, day)
    resolution = claims.resolve(facts, stakes, _outside_reasons(match, day))
    source = {"match": match, "recording": match.recording, "label": match.recording.label}
    return _record_claim(source, f"match {match.pk}", facts, resolution, uploader, licences, now)


def work_match_facts(work_match: WorkMatch) -> claims.MatchFacts:
    """The facts policies look at, from a stored work match: its match type is always melody. Spans are
    capped at the audio's length (the alignment counts whole chroma frames, ~0.19 s, past the end)."""
    upload_length = work_match.scan.asset.duration_s
    reference_length = work_match.rendition.duration_s if work_match.rendition else 0.0
    reference_span = max(0.0, work_match.reference_end_s - work_match.reference_start_s)
    return claims.MatchFacts(
        confidence=work_match.confidence,
        duration_s=min(work_match.duration_s, upload_length),
        upload_duration_s=upload_length,
        reference_span_s=min(reference_span, reference_length) if reference_length else reference_span,
        reference_length_s=reference_length,
        match_type=claims.MELODY,
    )


def melody_reason(work_match: WorkMatch) -> str:
    """Why every melody claim waits for a person: a cover is a judgement call (arrangement, quotation, or a
    different song in the same progression), so staff hear it first."""
    return (
        f"melody match (cover): transposed {work_match.transpose_semitones:+d} semitones, "
        f"tempo x{work_match.tempo_ratio:.2f}"
    )


def _work_label(work: Work, claimant_id: int | None) -> Label | None:
    """The label whose staff review a melody claim: the claimant publisher's label, else that of a recording
    of the work."""
    holder = RightsHolder.objects.filter(pk=claimant_id).select_related("label").first() if claimant_id else None
    if holder is not None and holder.label is not None:
        return holder.label
    recording = work.recordings.filter(label__isnull=False).select_related("label").order_by("pk").first()
    return recording.label if recording is not None else None


def claim_work_match(work_match: WorkMatch, now: datetime.datetime | None = None) -> Claim | None:
    """The melody claim for one work match (a cover of a catalogue work), made under the policies of the
    owners of the work's publishing rights if it has none yet (idempotent). It always starts as potential.

    Returns None when it is deliberately not claimed (a licensee, no owner, no rule); an UnclaimedMatch
    row then says why.
    """
    existing = Claim.objects.filter(work_match=work_match).first()
    if existing is not None or UnclaimedMatch.objects.filter(work_match=work_match).exists():
        return existing
    day = timezone.localtime(work_match.scan.created_at).date()
    work = work_match.work
    facts = work_match_facts(work_match)
    uploader = _uploader(work_match)
    stakes, licences = _allow_list(holdings.stakes_for_work(work, day), uploader, None, day)
    conflicts = holdings.open_conflicts_on_work(work, day)
    reasons = [melody_reason(work_match), *_conflict_reasons(conflicts), *_provenance_reasons(work_match)]
    resolution = claims.resolve(facts, stakes, reasons)
    claimant_id = resolution.claimant.owner_id if resolution.claimant is not None else None
    source = {
        "work_match": work_match,
        "work": work,
        "match_type": Claim.MatchType.MELODY,
        "label": _work_label(work, claimant_id),
    }
    return _record_claim(source, f"melody match {work_match.pk}", facts, resolution, uploader, licences, now)


def _record_claim(
    source: dict[str, Any],
    described: str,
    facts: claims.MatchFacts,
    resolution: claims.Resolution,
    uploader: RightsHolder | None,
    licences: list[dict[str, str]],
    now: datetime.datetime | None,
) -> Claim | None:
    """Store the resolution for one match or work match (`source`: the claim's fields naming it): a claim
    with its first event, or an UnclaimedMatch saying why none was made."""
    now = now or timezone.now()
    origin = {key: source[key] for key in ("match", "work_match") if key in source}
    try:
        with transaction.atomic():
            if resolution.action is None:
                why = UnclaimedMatch.Why.LICENSED if licences else UnclaimedMatch.Why.NO_RULE
                UnclaimedMatch.objects.create(
                    **origin,
                    why=why,
                    licence_id=int(licences[0]["id"]) if licences else None,
                    detail="; ".join(sorted({lic["licence"] for lic in licences}))
                    or "no rule applies in any territory",
                )
                return None
            claimant = resolution.claimant
            assert claimant is not None  # an action was taken, so some stake acted
            potential = resolution.status == claims.POTENTIAL
            claim = Claim.objects.create(
                **source,
                policy=Policy.objects.get(pk=claimant.policy_id),
                claimant_id=claimant.owner_id,
                uploader=uploader,
                action=resolution.action,
                territory_actions={a: sorted(t) for a, t in resolution.territory_actions.items()},
                resolution=_resolution_record(resolution, facts, licences),
                status=resolution.status,
                review_reasons=list(resolution.review_reasons),
                deadline=now + conf.timer("potential_claim_days") if potential else None,
            )
            why = "; ".join(resolution.review_reasons) or "policy applies without review"
            ClaimEvent.objects.create(
                claim=claim,
                actor=None,
                from_status="",
                to_status=claim.status,
                reason=f"Created from {described} under policy '{claim.policy.name}' "
                f"({claims.describe_actions(resolution.territory_actions)}): {why}.",
            )
    except IntegrityError:  # a concurrent run claimed it first
        return Claim.objects.filter(**origin).first()
    return claim


def detect_reference_overlaps(scan_id: int, now: datetime.datetime | None = None) -> list[ReferenceOverlap]:
    """Flag pairs of recordings whose references both matched the same span of one upload."""
    now = now or timezone.now()
    matches = list(Match.objects.filter(scan_id=scan_id).order_by("query_start_s", "pk"))
    found = []
    for i, a in enumerate(matches):
        for b in matches[i + 1 :]:
            if a.recording_id == b.recording_id:
                continue
            overlap = min(a.query_end_s, b.query_end_s) - max(a.query_start_s, b.query_start_s)
            if overlap < conf.reference_overlap_min_s():
                continue
            first, second = sorted((a.recording_id, b.recording_id))
            existing = ReferenceOverlap.objects.filter(first_id=first, second_id=second, status="open").first()
            found.append(
                existing
                or ReferenceOverlap.objects.create(
                    first_id=first,
                    second_id=second,
                    scan_id=scan_id,
                    overlap_s=round(overlap, 2),
                    deadline=now + conf.timer("reference_overlap_days"),
                )
            )
    return found


def resolve_reference_overlap(
    overlap: ReferenceOverlap, actor: Actor, resolution: str, now: datetime.datetime | None = None
) -> ReferenceOverlap:
    """Staff settle an overlap (which reference owns the segment, or that both are legitimate)."""
    if not resolution.strip():
        raise ValueError("Say how the overlap was resolved.")
    with acting_as(actor), transaction.atomic():
        locked = ReferenceOverlap.objects.select_for_update().get(pk=overlap.pk)
        if locked.status == ReferenceOverlap.Status.RESOLVED:
            return locked
        locked.status = ReferenceOverlap.Status.RESOLVED
        locked.resolved_at = now or timezone.now()
        locked.resolution = resolution
        locked.save(update_fields=["status", "resolved_at", "resolution"])
    return locked


_WORK_MATCH_RELATED = ("work", "scan__asset", "scan__submitted_by", "rendition")


def claim_scan_matches(scan_id: int) -> list[Claim]:
    """Claims for every match and work match of a scan (those already claimed keep their claim): a cover
    played over a registered recording gets the recording's claim and the work's melody claim."""
    detect_reference_overlaps(scan_id)
    matches = Match.objects.filter(scan_id=scan_id).select_related(
        "recording__label", "scan__asset", "scan__submitted_by", "reference_asset"
    )
    made = [claim_match(match) for match in matches]
    work_matches = WorkMatch.objects.filter(scan_id=scan_id).select_related(*_WORK_MATCH_RELATED)
    made += [claim_work_match(work_match) for work_match in work_matches]
    return [claim for claim in made if claim is not None]


def claim_unclaimed_matches() -> int:
    """Sweep: claim every match and work match of a finished scan that has no claim yet; returns how many
    were made."""
    pending = Match.objects.filter(
        claim__isnull=True, unclaimed__isnull=True, scan__status=Scan.Status.DONE
    ).select_related("recording__label", "scan__asset", "scan__submitted_by", "reference_asset")
    made = [claim_match(match) for match in pending]
    pending_works = WorkMatch.objects.filter(
        claim__isnull=True, unclaimed__isnull=True, scan__status=Scan.Status.DONE
    ).select_related(*_WORK_MATCH_RELATED)
    made += [claim_work_match(work_match) for work_match in pending_works]
    return len([claim for claim in made if claim is not None])


_KEEP = object()


def transition(
    claim: Claim, target: str, actor: Actor, reason: str = "", deadline: datetime.datetime | object | None = None
) -> Claim:
    """Move a claim to `target` if its lifecycle allows it, recording who, when and why.

    `deadline` is the new timer (None: no timer runs in the new state).
    """
    with acting_as(actor), transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        claims.check_transition(locked.status, target)
        previous = locked.status
        locked.status = target
        if deadline is not _KEEP:
            locked.deadline = deadline  # type: ignore[assignment]
        locked.save(update_fields=["status", "deadline", "updated_at"])
        ClaimEvent.objects.create(claim=locked, actor=actor, from_status=previous, to_status=target, reason=reason)
    return locked


def approve_claim(claim: Claim, actor: Actor, reason: str = "") -> Claim:
    """Staff confirm a potential claim: it becomes active."""
    return transition(claim, claims.ACTIVE, actor, reason or "Approved after review.")


def release_claim(claim: Claim, actor: Actor, reason: str = "") -> Claim:
    """Staff (or a lost dispute) give the claim up: it is released."""
    return transition(claim, claims.RELEASED, actor, reason or "Released after review.")


def flag_claims_for_review(
    asset_id: int, reason: str, actor: Actor = None, now: datetime.datetime | None = None
) -> list[Claim]:
    """Send the claims on one upload back to staff for a reason learnt after they were made (an
    AI-provenance verdict that finished after claiming); returns the claims changed.

    An active claim becomes potential again, with the reason and a fresh review timer; a potential
    claim gains the reason; disputed, appealed and final claims are left to their own process.
    Each change records a ClaimEvent in the same transaction. A claim that already lists the exact
    reason is left alone, so repeating the call changes nothing. This reroute is deliberately not
    in claims.TRANSITIONS: those are the moves staff and platforms may ask for, and "un-approve" is
    not one of them; only new evidence takes a claim back to review.
    """
    if not reason.strip():
        raise ValueError("Say why the claims need review.")
    now = now or timezone.now()
    changed = []
    with acting_as(actor), transaction.atomic():
        found = Claim.objects.select_for_update(of=("self",)).filter(
            Claim.on_scans(asset_id=asset_id), status__in=[claims.ACTIVE, claims.POTENTIAL]
        )
        for claim in found.order_by("pk"):
            if reason in claim.review_reasons:
                continue
            previous = claim.status
            claim.review_reasons = [*claim.review_reasons, reason]
            if previous == claims.ACTIVE:
                claim.status = claims.POTENTIAL
                claim.deadline = now + conf.timer("potential_claim_days")
            claim.save(update_fields=["status", "review_reasons", "deadline", "updated_at"])
            ClaimEvent.objects.create(
                claim=claim,
                actor=actor,
                from_status=previous,
                to_status=claim.status,
                reason=f"Sent to review: {reason}",
            )
            changed.append(claim)
    return changed


def describe_territories(codes: list[str]) -> str:
    return territories.describe(frozenset(codes))
