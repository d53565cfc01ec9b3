"""Training manifests: what each model version of an AI service was trained on, and the audit of it.

DOMAIN.md, "Licensed AI services": per model version, the recordings and works it was trained on,
each with its licence; a missing licence or an opted-out work fails the audit. The audit applies
three rules to every entry, on the day training ran (`trained_on`) and where it ran (`territory`):

1. Licensed: a licence held by the service's operator names the recording (directly or through a
   catalogue slice) or the work, grants `ai_training`, is in its term and not revoked that day,
   covers the territory (WORLD: every territory, since training "anywhere" must be licensed
   everywhere) and has not used its monthly cap: the predicate rights.licensing.is_licensed
   applies, evaluated for every candidate licence rather than the first (rule 3 needs them all).
2. Not opted out: neither the work nor the recording is marked `ai_training_opt_out`, nor, for a
   recording, any work it embeds. An opt-out wins over any licence.
3. No retrain without a new licence: an AI-training licence covers the training of one model
   version. A licence that covered an entry of an earlier audited manifest of the same service
   (trained earlier, or the same day and recorded earlier) is spent; a later model version needs
   a licence granted for its own training, i.e. one no earlier audited manifest of the service
   used. Earlier manifests still pending are audited first, so which licence each used is on record.

The report lists every entry with the licence that covers it (or why none does) and every failure
with its entry; the manifest passes only when there are none.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog import identifiers
from catalog.models import Recording, Work
from generation_audit.models import AIService, TrainingManifest, TrainingManifestEntry
from rights import licensing, licensing_terms
from rights import territories as territory_lists
from rights.audit import acting_as
from rights.models import Licence

logger = logging.getLogger(__name__)

RULES_VERSION = "manifest-audit-1"
USE = licensing_terms.Use.AI_TRAINING.value
RETRAIN = "retrain without a new licence"


class ManifestError(ValueError):
    """A manifest that cannot be recorded as asked (a duplicate model version, no entries, ...)."""


def _label(item: Recording | Work) -> str:
    if isinstance(item, Recording):
        return f"recording {identifiers.format_isrc(item.isrc) if item.isrc else item.pk} ({item.title})"
    return f"work {identifiers.format_iswc(item.iswc) if item.iswc else item.pk} ({item.title})"


def record_manifest(
    service: AIService,
    model_version: str,
    trained_on: datetime.date,
    *,
    recordings: Iterable[Recording] = (),
    works: Iterable[Work] = (),
    declared_licences: Mapping[Recording | Work, Licence] | None = None,
    territory: str = identifiers.WORLD,
    actor: Any = None,
) -> TrainingManifest:
    """Store what `model_version` of `service` was trained on, all entries or none (status pending).

    `declared_licences` maps an entry to the licence the service says covers it. Refuses (with
    ManifestError) a model version the service already has a manifest for, an empty manifest, and
    a declared licence for something not in the manifest.
    """
    model_version = model_version.strip()
    if not model_version:
        raise ManifestError("Name the model version the manifest describes.")
    recordings, works = list(dict.fromkeys(recordings)), list(dict.fromkeys(works))
    if not recordings and not works:
        raise ManifestError("A training manifest names at least one recording or work.")
    declared = dict(declared_licences or {})
    stray = [item for item in declared if item not in recordings and item not in works]
    if stray:
        raise ManifestError(f"Licences declared for entries not in the manifest: {', '.join(map(_label, stray))}.")
    territory = identifiers.normalize_territory(territory)
    duplicate = TrainingManifest.objects.filter(service=service, model_version=model_version).first()
    if duplicate is not None:
        raise ManifestError(_duplicate_message(service, duplicate))
    try:
        with acting_as(actor), transaction.atomic():
            manifest = TrainingManifest.objects.create(
                service=service,
                model_version=model_version,
                trained_on=trained_on,
                territory=territory,
            )
            TrainingManifestEntry.objects.bulk_create(
                [
                    TrainingManifestEntry(manifest=manifest, recording=r, declared_licence=declared.get(r))
                    for r in recordings
                ]
                + [TrainingManifestEntry(manifest=manifest, work=w, declared_licence=declared.get(w)) for w in works]
            )
    except IntegrityError as exc:  # a concurrent recording of the same version won the race
        duplicate = TrainingManifest.objects.filter(service=service, model_version=model_version).first()
        raise ManifestError(_duplicate_message(service, duplicate) if duplicate else str(exc)) from exc
    logger.info("manifest %s of %s recorded by %s", model_version, service.name, getattr(actor, "pk", "system"))
    return manifest


def _duplicate_message(service: AIService, existing: TrainingManifest) -> str:
    return (
        f"{service.name} already has a manifest for model version {existing.model_version!r} "
        f"(trained on {existing.trained_on.isoformat()}, audit {existing.audit_status}); "
        "a retrained model is a new model version: record it under a new name."
    )


def _earlier(manifest: TrainingManifest) -> list[TrainingManifest]:
    """The service's manifests trained before this one (same day: recorded before it), oldest first."""
    others = TrainingManifest.objects.filter(service_id=manifest.service_id).exclude(pk=manifest.pk)
    return [m for m in others.order_by("trained_on", "pk") if (m.trained_on, m.pk) < (manifest.trained_on, manifest.pk)]


def _spent_licences(manifest: TrainingManifest) -> dict[int, str]:
    """Licence id -> the earlier model version whose training it covered (rule 3)."""
    spent: dict[int, str] = {}
    for earlier in _earlier(manifest):
        if earlier.audit_status == TrainingManifest.Audit.PENDING:
            earlier = audit_manifest(earlier)
        for entry in earlier.audit_report.get("entries", []):
            licence = entry.get("licence")
            if licence:
                spent.setdefault(licence["id"], earlier.model_version)
    return spent


def _refusal(licence: Licence, territory: str, day: datetime.date) -> str:
    """Why the licence does not cover AI training here on `day` ('' when it does): is_licensed's predicate."""
    terms = licence.terms()
    used = licensing.uses_this_month(licence, day) if licence.cap_uses is not None else 0
    if territory == identifiers.WORLD:
        granted = territory_lists.expand(terms.territories, terms.excluded_territories)
        missing = territory_lists.everywhere() - granted
        if missing:
            left_out = territory_lists.describe(missing)
            return f"does not cover every territory (training ran in WORLD; it leaves out {left_out})"
        territory = min(granted)  # covers them all: any one checks the other terms
    return licensing_terms.refusal(terms, USE, territory, day, used)


def _check_licence(
    manifest: TrainingManifest, entry: TrainingManifestEntry, spent: dict[int, str]
) -> tuple[Licence | None, str, list[str]]:
    """(licence used, why, failures) for one entry under rules 1 and 3."""
    target = {"recording": entry.recording} if entry.recording_id else {"work": entry.work}
    operator = manifest.service.operator
    candidates = list(licensing.covering(operator, **target))
    if not candidates:
        why = f"no licence held by {operator.name} covers it"
        return None, why, [f"not licensed for AI training: {why}"]
    valid, refusals = [], []
    for licence in candidates:
        why = _refusal(licence, manifest.territory or identifiers.WORLD, manifest.trained_on)
        if why:
            refusals.append(f"licence {licence.reference} {why}")
        else:
            valid.append(licence)
    if not valid:
        why = "; ".join(refusals)
        return None, why, [f"not licensed for AI training on {manifest.trained_on.isoformat()}: {why}"]
    fresh = [lic for lic in valid if lic.pk not in spent]
    if not fresh:
        used = "; ".join(f"licence {lic.reference} already covered model version {spent[lic.pk]!r}" for lic in valid)
        return None, used, [f"{RETRAIN}: {used}"]
    chosen = next((lic for lic in fresh if lic.pk == entry.declared_licence_id), fresh[0])
    return chosen, f"licence {chosen.reference} covers AI training on {manifest.trained_on.isoformat()}", []


def _opt_outs(entry: TrainingManifestEntry) -> list[str]:
    """Rule 2: the opt-outs that forbid training on the entry."""
    if entry.work_id:
        return [f"{_label(entry.work)} is opted out of AI training"] if entry.work.ai_training_opt_out else []
    found = [f"{_label(entry.recording)} is opted out of AI training"] if entry.recording.ai_training_opt_out else []
    found += [
        f"it embeds {_label(work)}, which is opted out of AI training"
        for work in entry.recording.works.filter(ai_training_opt_out=True).order_by("pk")
    ]
    return found


def _entry_report(manifest: TrainingManifest, entry: TrainingManifestEntry, spent: dict[int, str]) -> dict[str, Any]:
    item = entry.recording or entry.work
    licence, why, failures = _check_licence(manifest, entry, spent)
    opt_outs = _opt_outs(entry)
    report: dict[str, Any] = {
        "entry": _label(item),
        "kind": "recording" if entry.recording_id else "work",
        "id": item.pk,
        "identifier": entry.recording.isrc if entry.recording_id else entry.work.iswc,
        "licensed": licence is not None,
        "licence": {"id": licence.pk, "reference": licence.reference} if licence else None,
        "why": why,
        "opted_out": bool(opt_outs),
        "opt_outs": opt_outs,
        "declared_licence": entry.declared_licence.reference if entry.declared_licence_id else None,
        "failures": failures + opt_outs,
    }
    if entry.declared_licence_id and (licence is None or licence.pk != entry.declared_licence_id):
        report["note"] = f"the service declared licence {entry.declared_licence.reference}, which does not cover it"
    return report


def audit_manifest(manifest: TrainingManifest, now: datetime.datetime | None = None) -> TrainingManifest:
    """Audit every entry of the manifest under the three rules above; stores and returns the outcome.

    Re-auditing gives the same answer on the same data (licences granted or revoked since change it).
    """
    manifest = TrainingManifest.objects.select_related("service__operator").get(pk=manifest.pk)
    spent = _spent_licences(manifest)
    entries = manifest.entries.select_related("recording", "work", "declared_licence").order_by("pk")
    reports = [_entry_report(manifest, entry, spent) for entry in entries]
    failures = [{"entry": r["entry"], "problem": problem} for r in reports for problem in r["failures"]]
    manifest.audit_report = {
        "rules": RULES_VERSION,
        "service": manifest.service.name,
        "operator": manifest.service.operator.name,
        "model_version": manifest.model_version,
        "trained_on": manifest.trained_on.isoformat(),
        "territory": manifest.territory or identifiers.WORLD,
        "passed": not failures,
        "entries_checked": len(reports),
        "entries_failed": sum(bool(r["failures"]) for r in reports),
        "failures": failures,
        "entries": reports,
        "spent_licences": {str(pk): version for pk, version in sorted(spent.items())},
    }
    manifest.audit_status = TrainingManifest.Audit.FAILED if failures else TrainingManifest.Audit.PASSED
    manifest.audited_at = now or timezone.now()
    manifest.save(update_fields=["audit_report", "audit_status", "audited_at"])
    return manifest


def describe_audit(manifest: TrainingManifest) -> str:
    """The audit as lines for a person (the management command prints this)."""
    report = manifest.audit_report
    lines = [
        f"{report['service']} {report['model_version']} (trained {report['trained_on']} in {report['territory']}): "
        f"{manifest.audit_status.upper()}, {report['entries_failed']} of {report['entries_checked']} entries failed"
    ]
    for entry in report["entries"]:
        mark = "FAIL" if entry["failures"] else "ok  "
        lines.append(f"  {mark} {entry['entry']}: {entry['why']}")
        lines += [f"         - {problem}" for problem in entry["failures"]]
        if entry.get("note"):
            lines.append(f"         note: {entry['note']}")
    return "\n".join(lines)
