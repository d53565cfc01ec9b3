"""One claim: both audios side by side, how they align, why it was claimed, its history and disputes; and,
for the staff of the claim's label, the decisions its state allows.

Anyone who can see the claim (roles.claims_for) reads the page; only staff who may decide it
(roles.claims_to_review) may POST, everyone else gets 403.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from fingerprint import audio
from fingerprint.models import Match
from rights import claims, review, roles
from rights.models import Claim
from rights.serializers import provenance_of
from rights.web import plots
from rights.web.access import role_required
from rights.web.media import claim_asset, visible_claim

SPECTROGRAM_RATE = 11025  # Hz: the analysis rate; up to 5.5 kHz is where the melody and most energy are


def _spans(claim: Claim) -> dict[str, tuple[float, float]]:
    match = claim.source
    return {
        "upload": (match.query_start_s, match.query_end_s),
        "reference": (match.reference_start_s, match.reference_end_s),
    }


def alignment_segments(claim: Claim) -> list[plots.Segment]:
    """Every match of the claim's upload against the claim's recording, the claim's own highlighted; for a
    melody claim, the work match against the work's rendition (its pitch is the transposition as a factor)."""
    if claim.work_match is not None:
        m = claim.work_match
        return [
            plots.Segment(
                query_start_s=m.query_start_s,
                duration_s=m.duration_s,
                reference_start_s=m.reference_start_s,
                tempo=m.tempo_ratio,
                pitch=2 ** (m.transpose_semitones / 12),
                label=f"upload {m.query_start_s:.1f}-{m.query_end_s:.1f} s ↔ rendition "
                f"{m.reference_start_s:.1f}-{m.reference_end_s:.1f} s, {m.summary}, confidence {m.confidence:.2f}",
                highlight=True,
                note=f"claimed {m.summary}",
            )
        ]
    matches = Match.objects.filter(scan_id=claim.scan.pk, recording_id=claim.recording_id).order_by(
        "query_start_s", "pk"
    )
    return [
        plots.Segment(
            query_start_s=m.query_start_s,
            duration_s=m.duration_s,
            reference_start_s=m.reference_start_s,
            tempo=m.tempo_factor,
            pitch=m.pitch_factor,
            label=f"upload {m.query_start_s:.1f}-{m.query_end_s:.1f} s ↔ reference "
            f"{m.reference_start_s:.1f}-{m.reference_end_s:.1f} s, confidence {m.confidence:.2f}",
            highlight=m.pk == claim.match_id,
        )
        for m in matches
    ]


def alignment_for(claim: Claim) -> str:
    match = claim.source
    scan_asset = match.scan.asset
    reference = claim.reference_asset
    return plots.alignment_svg(
        alignment_segments(claim),
        upload_s=scan_asset.duration_s if scan_asset else match.query_end_s,
        reference_s=reference.duration_s if reference else match.reference_end_s,
        title=f"Upload time against reference time for claim {claim.pk} on {claim.subject}",
    )


def _provenance(asset_id: int | None) -> dict[str, Any] | None:
    found = provenance_of(asset_id)
    if found is not None:
        for finding in found["findings"]:
            finding["evidence_items"] = review.evidence_items(finding["evidence"])
    return found


def _can_decide(viewer: roles.Viewer, claim: Claim) -> bool:
    return roles.claims_to_review(viewer).filter(pk=claim.pk).exists()


def _context(viewer: roles.Viewer, claim: Claim) -> dict[str, Any]:
    match = claim.source
    can_decide = _can_decide(viewer, claim)
    spans = _spans(claim)
    players = []
    reference_title = f"Rendition of {claim.work}" if claim.is_melody else f"Reference: {claim.recording}"
    for side, asset, title in (
        ("upload", match.scan.asset, f"Upload: {match.scan.display_name}"),
        ("reference", claim.reference_asset, reference_title),
    ):
        if asset is None:  # a work registered by the bench CLI, or a rendition since removed: nothing to play
            continue
        start, end = spans[side]
        players.append(
            {
                "side": side,
                "title": title,
                "asset": asset,
                "audio_url": reverse("web:claim-audio", args=[claim.pk, side]),
                "spectrogram_url": reverse("web:claim-spectrogram", args=[claim.pk, side]),
                "start": start,
                "end": end,
                "capped": end - start > plots.MAX_SPAN_S,
            }
        )
    return {
        "claim": claim,
        "match": match,
        "scan": match.scan,
        "players": players,
        "alignment_svg": alignment_for(claim),
        "territories": claims.describe_actions(claim.territory_actions),
        "reasons": [
            {"text": text, "kind": review.reason_label(review.reason_kind(text))} for text in claim.review_reasons
        ],
        "owners": review.explain_resolution(claim),
        "resolution": claim.resolution,
        "provenance": [
            ("upload", _provenance(match.scan.asset_id)),
            ("reference", _provenance(claim.reference_asset.pk if claim.reference_asset else None)),
        ],
        "events": claim.events.select_related("actor").order_by("at", "pk"),
        "disputes": claim.disputes.select_related("disputant", "opened_by", "answered_by").order_by("opened_at", "pk"),
        "time_left": review.time_left(claim.deadline) if claim.deadline else "",
        "expires_soon": review.expires_soon(claim.deadline),
        "can_decide": can_decide,
        "can_review": can_decide and claim.status == Claim.Status.POTENTIAL,
        "dispute_answers": [(a, review.DISPUTE_ANSWERS[a]) for a in review.dispute_answers(claim)]
        if can_decide
        else [],
        "open_dispute": claim.open_dispute(),
    }


def _decide(request: HttpRequest, viewer: roles.Viewer, claim: Claim) -> HttpResponse:
    """Apply the posted decision; 403 unless the viewer is staff who may decide this claim."""
    if not viewer.is_staff or not _can_decide(viewer, claim):
        raise PermissionDenied("Only the staff of the claim's label can decide it.")
    decision = request.POST.get("decision", "")
    text = request.POST.get("reason", "").strip()
    try:
        if decision in review.DECISIONS:
            review.decide_claim(claim, decision, request.user, text)
            messages.success(request, f"Claim {claim.pk} {review.PAST_TENSE[decision]}.")
        elif decision in review.DISPUTE_ANSWERS:
            messages.success(request, review.answer_dispute(claim, decision, request.user, text))
        else:
            messages.error(request, "Choose a decision.")
    except review.ReviewError as exc:
        messages.error(request, str(exc))
    return redirect("web:claim", pk=claim.pk)


@require_http_methods(["GET", "HEAD", "POST"])
@role_required()
def claim_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer: roles.Viewer = request.viewer  # type: ignore[attr-defined]
    claim = visible_claim(viewer, pk)
    if request.method == "POST":
        return _decide(request, viewer, claim)
    return render(request, "rights/claims/detail.html", _context(viewer, claim))


@require_safe
@role_required()
def claim_alignment(request: HttpRequest, pk: int) -> HttpResponse:
    claim = visible_claim(request.viewer, pk)  # type: ignore[attr-defined]
    response = HttpResponse(alignment_for(claim), content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


def span_samples(claim: Claim, side: str) -> np.ndarray:
    """Mono samples of the claim's matched span on `side` (at most plots.MAX_SPAN_S seconds)."""
    asset = claim_asset(claim, side)
    start, end = _spans(claim)[side]
    end = min(end, start + plots.MAX_SPAN_S)
    try:  # only the span is decoded: a 20 s picture of a two-hour upload must not decode two hours
        samples = audio.decode_span(asset.file.path, start, max(0.0, end - max(start, 0.0)), SPECTROGRAM_RATE)
    except (audio.AudioError, OSError) as exc:
        raise Http404(f"The {side}'s audio cannot be decoded: {exc}") from exc
    if len(samples) == 0:
        raise Http404(f"The matched span lies outside the {side}'s audio.")
    return samples


@require_safe
@role_required()
def claim_spectrogram(request: HttpRequest, pk: int, side: str) -> HttpResponse:
    claim = visible_claim(request.viewer, pk)  # type: ignore[attr-defined]
    response = HttpResponse(plots.spectrogram_png(span_samples(claim, side)), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
