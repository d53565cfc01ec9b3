"""Possible AI imitations of registered artists, and what label staff decide about them.

An upload is an imitation candidate when it uses no registered recording or work and its style is
close to a registered artist's profile (fingerprint stores an ArtistMatch). Likeness alone is no
wrong: artists influence each other. Only together with a provenance verdict of AI-generated does
it become a report, "possible AI imitation of artist X", checked against the uploader's AI-likeness
licences for that artist (rights.licensing, use ai_likeness_style, which also needs the artist's
consent). A licensed imitation is recorded as licensed; an unlicensed one is open for review.

Reports are made when the upload's provenance run finishes (the scan was identified before the run
was queued), when an identical upload arrives after its content's run finished (the run is
reused), and by the hourly sweep: `report_imitations` is idempotent.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Artist, consents_to
from fingerprint.models import ArtistMatch, Scan
from generation_audit.models import ImitationReport, ProvenanceRun
from rights import actions as rights_actions
from rights import audit, licensing, licensing_terms
from rights.models import RightsHolder

LIKENESS_USE = licensing_terms.Use.AI_LIKENESS_STYLE.value  # the upload sounds like the artist
_ENTITY = "generation_audit.imitationreport"
_FINAL = {ImitationReport.Status.CONFIRMED, ImitationReport.Status.DISMISSED}


class ReviewError(ValueError):
    """A review the report's state does not allow."""


def likeness_cover(
    uploader: RightsHolder | None, artist: Artist, day: datetime.date
) -> tuple[list[str], list[str], str]:
    """Where the uploader may use the artist's likeness (style) on `day`: (territories, licence
    references, a sentence saying why or why not)."""
    if uploader is None:
        return [], [], "the upload has no known uploader: an anonymous use is never licensed"
    territories, licences = licensing.licensed_territories(uploader, LIKENESS_USE, day, artist=artist)
    if territories:
        refs = [licence.reference for licence in licences]
        return (
            sorted(territories),
            refs,
            f"licence {', '.join(refs)} covers {LIKENESS_USE} in {len(territories)} territories",
        )
    if not consents_to(artist, licensing_terms.likeness_aspect(LIKENESS_USE)):
        return [], [], f"{artist} has not opted in to AI likeness use 'style'"
    held = list(licensing.covering(uploader, artist=artist))
    if not held:
        return [], [], f"{uploader.name} holds no licence for {artist}'s likeness"
    return [], [], "; ".join(f"licence {licence.reference} {_refusal(licence, day)}" for licence in held)


def _refusal(licence: Any, day: datetime.date) -> str:
    terms = licence.terms()
    probe = sorted(terms.territories)[0] if terms.territories else "WORLD"
    used = licensing.uses_this_month(licence, day) if licence.cap_uses is not None else 0
    if probe == "WORLD":
        probe = "US"  # any concrete code: a WORLD licence refuses for term, use or cap, never territory
    return licensing_terms.refusal(terms, LIKENESS_USE, probe, day, used) or "does not cover this use"


def latest_generated_run(asset_id: int) -> ProvenanceRun | None:
    """The asset's latest finished run when it judged the audio AI-generated; None otherwise."""
    run = ProvenanceRun.objects.done().filter(asset_id=asset_id).order_by("-created_at", "-pk").first()
    return run if run is not None and run.ai_generated else None


def report_imitations(asset_id: int, now: datetime.datetime | None = None) -> list[ImitationReport]:
    """Reports for every identified scan of the asset with an artist match, when its latest provenance
    run says generated; existing reports are returned as they are (idempotent)."""
    run = latest_generated_run(asset_id)
    if run is None:
        return []
    day = timezone.localdate(now or timezone.now())
    matches = ArtistMatch.objects.filter(scan__asset_id=asset_id, scan__status=Scan.Status.DONE).select_related(
        "scan__platform", "scan__submitted_by", "artist"
    )
    reports = []
    for match in matches:
        existing = ImitationReport.objects.filter(scan=match.scan, artist=match.artist).first()
        reports.append(existing or _create(match, run, day))
    return reports


def _create(match: ArtistMatch, run: ProvenanceRun, day: datetime.date) -> ImitationReport:
    territories, refs, note = likeness_cover(rights_actions.uploader_of(match.scan), match.artist, day)
    try:
        with transaction.atomic():
            report = ImitationReport.objects.create(
                scan=match.scan,
                artist=match.artist,
                artist_match=match,
                provenance_run=run,
                similarity=match.similarity,
                ai_score=run.score or 0.0,
                licensed_territories=territories,
                licences=refs,
                licence_note=note[:500],
                status=ImitationReport.Status.LICENSED if territories else ImitationReport.Status.OPEN,
            )
            audit.record(_ENTITY, report.pk, "created", _snapshot(report))
    except IntegrityError:  # another worker reported it a moment earlier
        return ImitationReport.objects.get(scan=match.scan, artist=match.artist)
    return report


def review(report: ImitationReport, status: str, user: Any, note: str = "") -> ImitationReport:
    """Staff confirm or dismiss a report (a reviewed report keeps its decision); audited."""
    if status not in _FINAL:
        raise ReviewError(f"a review confirms or dismisses; {status!r} is neither")
    with transaction.atomic():
        report = ImitationReport.objects.select_for_update().get(pk=report.pk)
        if report.status in _FINAL:
            raise ReviewError(f"this report was already {report.get_status_display().lower()}")
        report.status, report.review_note = status, note
        report.reviewed_by, report.reviewed_at = user, timezone.now()
        report.save(update_fields=["status", "review_note", "reviewed_by", "reviewed_at"])
        audit.record(_ENTITY, report.pk, "reviewed", _snapshot(report), actor=user)
    return report


def _snapshot(report: ImitationReport) -> dict[str, Any]:
    return {
        "scan": report.scan_id,
        "artist": report.artist_id,
        "similarity": report.similarity,
        "ai_score": report.ai_score,
        "status": report.status,
        "licences": report.licences,
        "licence_note": report.licence_note,
        "review_note": report.review_note,
    }
