"""The audit of one generated output: replication screen, marks, attribution, one ledger entry.

1. Replication screen (generation_audit.replication): the catalogue spans the output reproduces;
   each is checked against the operator's licences for AI generation on the day of the call, and
   one not licensed says so ("unlicensed": true).
2. Marks: the C2PA manifest and tag detectors say which marks the output carries; the service's
   `required_marks` that are not carried are missing.
3. Attribution (generation_audit.attribution): shares of the output by similarity.
4. Artist likeness (fingerprint.artist_index): the registered artist the output sounds like, if it
   is an imitation candidate of one; checked against the operator's AI-likeness (style) licence for
   that artist, which also needs the artist's consent.
FLAGGED when the output replicates a catalogue span, imitates an artist without a licence to, or
misses a required mark; CLEAR otherwise.
The rows and the one "audit" ledger entry are written in one transaction; an audit that raises is
left FAILED with its error (and re-raised, so the task's retry can run it again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from catalog.models import Artist, Recording
from fingerprint import actions as fingerprint_actions
from fingerprint import artist_index, params, style
from generation_audit import attribution, ledger, replication
from generation_audit.actions import _local_path
from generation_audit.detectors import registry
from generation_audit.detectors.base import DetectorResult
from generation_audit.detectors.c2pa_manifest import AI_SOURCE_TYPES
from generation_audit.models import GeneratedOutput, OutputAttribution, ServiceCall
from rights import licensing, licensing_terms

logger = logging.getLogger(__name__)

MARK_DETECTORS = ["c2pa_manifest", "metadata_tags"]
# The marks a service can be required to carry (AIService.required_marks).
MARKS = ("c2pa", "digital_source_type", "ai_tag")
# An output in one of these states has been audited: auditing it again returns it as it is. A FAILED
# audit is not one of them: running it again is how a retry recovers from a transient error.
AUDITED = (GeneratedOutput.Audit.CLEAR, GeneratedOutput.Audit.FLAGGED)


@dataclass
class _Findings:
    spans: list[dict[str, Any]]
    marks: dict[str, Any]
    attributions: list[attribution.Attribution]
    versions: dict[str, Any]
    imitated: list[dict[str, Any]]

    @property
    def status(self) -> str:
        flagged = self.spans or self.marks["missing"] or any(i["unlicensed"] for i in self.imitated)
        return GeneratedOutput.Audit.FLAGGED if flagged else GeneratedOutput.Audit.CLEAR


def audit_output(output_id: int) -> GeneratedOutput:
    """Audit one generated output by id and return it; an output already audited is returned as it is."""
    output = _load(output_id)
    if output.audit_status in AUDITED:
        return output
    try:
        findings = _audit(output)
        with transaction.atomic():
            _record(output, findings)
    except Exception as exc:
        _mark_failed(output_id, exc)
        raise
    return _load(output_id)


def _load(output_id: int) -> GeneratedOutput:
    return GeneratedOutput.objects.select_related("asset", "call__service__operator").get(pk=output_id)


def _audit(output: GeneratedOutput) -> _Findings:
    """Everything the audit finds, computed before any row is written (the slow part)."""
    with _local_path(output.asset) as path:
        samples = fingerprint_actions.decode_for_analysis(path).samples
        spans = replication.screen_samples(samples)
        marks, detector_versions = check_marks(path, output.call.service.required_marks)
        shares = attribution.attribute(samples, spans)
        imitated = [] if spans else _imitated(path, output.call)  # a quote is judged as a quote
    model = fingerprint_actions.embedder()
    return _Findings(
        spans=[_with_licence(span.as_dict(), output.call) for span in spans],
        marks=marks,
        attributions=shares,
        versions={
            "fingerprint": params.ENGINE_VERSION,
            "embedder": model.model_version if model is not None else None,
            "detectors": detector_versions,
            "style": style.STYLE_VERSION,
        },
        imitated=imitated,
    )


def _imitated(path: Path, call: ServiceCall) -> list[dict[str, Any]]:
    """The registered artist the output is an imitation candidate of (none, or one), with whether the
    operator may use that artist's likeness (style) on the call's day and territory."""
    found = artist_index.likeness(path)
    if found is None or not found.candidate:
        return []
    artist = Artist.objects.filter(pk=found.artist_id).first()
    if artist is None:
        return []
    check = _operator_may(call, licensing_terms.Use.AI_LIKENESS_STYLE.value, artist=artist)
    return [
        {
            "artist_id": artist.pk,
            "artist": artist.name,
            "similarity": round(found.similarity, 4),
            "exclusivity": round(found.exclusivity or 0.0, 4),
            "unlicensed": not check,
            "licence_check": check.reason,
        }
    ]


def check_marks(path: Path, required: list[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """({"found", "missing", "evidence"}, detector versions) for the file at `path` against the
    marks `required`. A mark a detector could not check (an error) is not found, so it is missing."""
    results = {result.detector: result for result in registry.run_all(path, MARK_DETECTORS)}
    carried = carried_marks(results["c2pa_manifest"], results["metadata_tags"])
    found = [mark for mark in MARKS if mark in carried]
    return (
        {
            "found": found,
            "missing": [mark for mark in required if mark not in carried],
            "evidence": {name: result.as_dict() for name, result in results.items()},
        },
        {name: result.version for name, result in results.items()},
    )


def carried_marks(manifest: DetectorResult, tags: DetectorResult) -> set[str]:
    """The marks the two detectors' findings show: "c2pa" (a manifest that validates), its
    "digital_source_type" (an IPTC trained-model type or a relative, in that valid manifest: one
    altered after signing no longer says what the service declared) and "ai_tag" (a tag that
    declares AI generation; a generator's name alone is not a declaration)."""
    marks = set()
    evidence = manifest.evidence
    if evidence.get("manifest") == "present" and evidence.get("validation_passed"):
        marks.add("c2pa")
        if set(evidence.get("digital_source_types", [])) & set(AI_SOURCE_TYPES):
            marks.add("digital_source_type")
    if any(match.get("kind") == "declared" for match in tags.evidence.get("matches", [])):
        marks.add("ai_tag")
    return marks


def _with_licence(span: dict[str, Any], call: ServiceCall) -> dict[str, Any]:
    """The span with whether the operator may use its recording for AI generation on the call's day."""
    recording = Recording.objects.get(pk=span["recording_id"])
    check = _operator_may(call, licensing_terms.Use.AI_GENERATION.value, recording=recording)
    return {**span, "unlicensed": not check, "licence_check": check.reason}


def _operator_may(call: ServiceCall, use: str, **target: Any) -> licensing.LicenceCheck:
    """Whether the service's operator may make `use` of the target where and when the call was made."""
    return licensing.is_licensed(
        call.service.operator, use, call.territory, at=timezone.localtime(call.created_at).date(), **target
    )


def _record(output: GeneratedOutput, findings: _Findings) -> None:
    """Write the audit (inside the caller's transaction). The status changes only from pending or
    failed, so of two workers auditing one output at once only the first writes rows and ledger."""
    now = timezone.now()
    status = findings.status
    claimed = GeneratedOutput.objects.filter(pk=output.pk).exclude(audit_status__in=AUDITED)
    if not claimed.update(
        audit_status=status,
        replicated_spans=findings.spans,
        imitated_artists=findings.imitated,
        marks=findings.marks,
        audit_error="",
        audited_at=now,
    ):
        return
    OutputAttribution.objects.filter(output=output).delete()
    OutputAttribution.objects.bulk_create(
        OutputAttribution(output=output, recording_id=a.recording_id, share=a.share, similarity=a.similarity)
        for a in findings.attributions
    )
    ledger.append("audit", _ledger_payload(output, findings, status), output.call)


def _ledger_payload(output: GeneratedOutput, findings: _Findings, status: str) -> dict[str, Any]:
    reasons = [
        f"replicates recording {s['recording_id']} for {s['duration_s']:.1f} s"
        + (" (not licensed for AI generation)" if s["unlicensed"] else "")
        for s in findings.spans
    ]
    reasons += [
        f"imitates artist {i['artist']}" + (" (not licensed for AI likeness)" if i["unlicensed"] else "")
        for i in findings.imitated
    ]
    if findings.marks["missing"]:
        reasons.append(f"missing required marks: {', '.join(findings.marks['missing'])}")
    return {
        "call": output.call_id,
        "output": output.pk,
        "sha256": output.asset.sha256,
        "status": status,
        "reasons": reasons,
        "replicated_spans": findings.spans,
        "imitated_artists": findings.imitated,
        "marks": {"found": findings.marks["found"], "missing": findings.marks["missing"]},
        "attribution": [
            {"recording": a.recording_id, "share": a.share, "similarity": a.similarity} for a in findings.attributions
        ],
        "versions": findings.versions,
    }


def _mark_failed(output_id: int, exc: Exception) -> None:
    """Leave the output FAILED with the error; never hide the original error behind a second one."""
    try:
        GeneratedOutput.objects.filter(pk=output_id).exclude(audit_status__in=AUDITED).update(
            audit_status=GeneratedOutput.Audit.FAILED,
            audit_error=f"{type(exc).__name__}: {exc}",
            audited_at=timezone.now(),
        )
    except DatabaseError:
        logger.exception("could not record the failed audit of generated output %s", output_id)
