"""Provenance verbs: run the detectors over a stored asset and keep the findings."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import AudioAsset
from generation_audit import imitation, review_hook, verdict
from generation_audit.detectors import registry
from generation_audit.models import Finding, ProvenanceRun


@contextmanager
def _local_path(asset: AudioAsset) -> Iterator[Path]:
    """A filesystem path for the asset's file: its own on local storage, a temporary copy otherwise."""
    try:
        local = Path(asset.file.path)
    except NotImplementedError:  # remote storage (S3 and the like) has no filesystem path
        local = None
    if local is not None:
        # Yielded outside the try: an error in the caller's block must propagate, not be taken for
        # "no path" (which would make the generator yield twice).
        yield local
        return
    with asset.file.open("rb") as src, tempfile.NamedTemporaryFile(suffix=Path(asset.file.name).suffix) as tmp:
        shutil.copyfileobj(src, tmp)
        tmp.flush()
        yield Path(tmp.name)


# A RUNNING run older than this (s) is presumed dead (a killed worker) and no longer blocks a new one.
STALE_RUN_S = 30 * 60


def current_run(asset_id: int, versions: dict[str, str] | None = None) -> ProvenanceRun | None:
    """The asset's latest finished (or live running) run made with exactly these detector versions."""
    versions = versions if versions is not None else registry.versions()
    fresh = timezone.now() - timedelta(seconds=STALE_RUN_S)
    candidates = ProvenanceRun.objects.filter(asset_id=asset_id).filter(
        Q(status=ProvenanceRun.Status.DONE) | Q(status=ProvenanceRun.Status.RUNNING, started_at__gte=fresh)
    )
    for run in candidates.order_by("-created_at"):
        if run.detector_versions == versions:
            return run
    return None


def run_provenance(asset_id: int) -> ProvenanceRun:
    """`detect_provenance`, then the asset's possible AI imitations of artists are reported (idempotent: a
    reused run still reports a scan that arrived after it, e.g. the same audio from another platform)."""
    run = detect_provenance(asset_id)
    if run.status == ProvenanceRun.Status.DONE:
        imitation.report_imitations(asset_id)
    return run


def detect_provenance(asset_id: int) -> ProvenanceRun:
    """Run every registered detector on the asset and store one Finding each; idempotent.

    A finished (or still running) run with the same detector versions is returned as it is, so
    re-running (a retried task, a second request) never duplicates findings; a detector upgrade
    gives a new run, and the old one stays as history. A failure marks the run FAILED with the error and
    re-raises. A finished run carries the combined verdict (generation_audit.verdict), and claims
    already made on the asset go back to review when it says generated (review_hook).
    """
    versions = registry.versions()
    with transaction.atomic():
        asset = AudioAsset.objects.select_for_update().get(pk=asset_id)  # serialise concurrent runs per asset
        existing = current_run(asset_id, versions)
        if existing is not None:
            return existing
        run = ProvenanceRun.objects.create(
            asset=asset, status=ProvenanceRun.Status.RUNNING, detector_versions=versions, started_at=timezone.now()
        )
    try:
        with _local_path(asset) as path:
            results = registry.run_all(path)
    except Exception as exc:
        ProvenanceRun.objects.filter(pk=run.pk).update(
            status=ProvenanceRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
        )
        raise
    with transaction.atomic():
        Finding.objects.bulk_create(
            Finding(
                run=run,
                detector=r.detector,
                detector_version=r.version,
                score=r.score,
                label=r.label,
                strength=r.strength,
                evidence=r.evidence,
            )
            for r in results
        )
        combined = verdict.combine(results)
        run.ai_generated, run.score, run.verdict_version = combined.ai_generated, combined.score, combined.version
        run.status = ProvenanceRun.Status.DONE
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "finished_at", "ai_generated", "score", "verdict_version"])
        # Claims are made in parallel with this run; any made before it finished are sent back now.
        review_hook.route_existing_claims(run)
    return run


def uploads_without_provenance(older_than: timedelta = timedelta(minutes=10), limit: int = 1000) -> list[int]:
    """Upload assets whose scan finished identification over `older_than` ago with no provenance run:
    their hand-off to the detectors was lost (the sweep queues them)."""
    cutoff = timezone.now() - older_than
    return list(
        AudioAsset.objects.filter(
            kind=AudioAsset.Kind.UPLOAD, scans__status="done", scans__finished_at__lte=cutoff, provenance_runs=None
        )
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def reroute_recent_verdicts(within: timedelta = timedelta(hours=3)) -> int:
    """Send claims on uploads judged generated in the last `within` back to review again; returns how
    many claims changed.

    Closes a race: a claim whose hook asked while the run was still going, but which was saved
    just after the run sent the upload's claims back, would otherwise stay active. Idempotent (a
    claim already carrying the reason, e.g. one staff approved after seeing it, is left alone); only
    an asset's latest finished run speaks (a newer detector version may have changed its mind).
    """
    since = timezone.now() - within
    changed = 0
    recent = ProvenanceRun.objects.done().filter(ai_generated=True, finished_at__gte=since).order_by("pk")
    for run in recent:
        latest = review_hook.latest_finished_run(run.asset_id)
        if latest is not None and latest.pk == run.pk:
            changed += len(review_hook.route_existing_claims(run))
            imitation.report_imitations(run.asset_id)  # idempotent: catches a report a crash left unmade
    return changed
