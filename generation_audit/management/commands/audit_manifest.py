"""Record a model version's training manifest from a JSON file, audit it, and print the audit."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog import identifiers
from catalog.models import Recording, Work
from generation_audit import manifests
from generation_audit.models import AIService
from rights.models import Licence


def _lookup(
    codes: list[Any], normalize: Any, model: type[Recording] | type[Work], field: str, kind: str
) -> tuple[list[Any], list[str]]:
    """Catalogue rows for identifiers, and one message per malformed or unknown identifier."""
    problems: list[str] = []
    normalised: dict[str, str] = {}
    for code in codes:
        try:
            normalised[normalize(str(code))] = str(code)
        except identifiers.IdentifierError as exc:
            problems.append(f"{kind} {code!r}: {exc}")
    found = {getattr(row, field): row for row in model.objects.filter(**{f"{field}__in": list(normalised)})}
    problems += [
        f"{kind} {original!r} is not in the catalogue" for code, original in normalised.items() if code not in found
    ]
    return [found[code] for code in normalised if code in found], problems


def read_manifest(path: Path) -> tuple[list[Recording], list[Work], dict[Any, Licence]]:
    """Recordings (by ISRC), works (by ISWC) and declared licences (identifier -> licence reference) of
    a JSON manifest; raises CommandError listing every identifier it cannot resolve."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CommandError(f"Cannot read the manifest {path}: {exc}") from exc
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("recordings", []), list)
        or not isinstance(data.get("works", []), list)
    ):
        raise CommandError('The manifest must be a JSON object: {"recordings": [ISRC, ...], "works": [ISWC, ...]}.')
    recordings, problems = _lookup(data.get("recordings", []), identifiers.normalize_isrc, Recording, "isrc", "ISRC")
    works, more = _lookup(data.get("works", []), identifiers.normalize_iswc, Work, "iswc", "ISWC")
    problems += more
    declared: dict[Any, Licence] = {}
    by_code = {r.isrc: r for r in recordings} | {w.iswc: w for w in works}
    licences = data.get("licences") or {}
    if not isinstance(licences, dict):
        raise CommandError('"licences" must map an ISRC or ISWC to a licence reference.')
    for code, reference in licences.items():
        item = by_code.get(_normal_form(str(code)))
        licence = Licence.objects.filter(reference=reference).first()
        if item is None:
            problems.append(f"licence declared for {code!r}, which the manifest does not list")
        elif licence is None:
            problems.append(f"licence {reference!r} (declared for {code!r}) does not exist")
        else:
            declared[item] = licence
    if problems:
        raise CommandError(
            "Nothing recorded; the manifest names identifiers that cannot be used:\n  " + "\n  ".join(problems)
        )
    return recordings, works, declared


def _normal_form(code: str) -> str:
    """The stored form of an ISRC or ISWC ('' when it is neither)."""
    for normalize in (identifiers.normalize_isrc, identifiers.normalize_iswc):
        try:
            return normalize(code)
        except identifiers.IdentifierError:
            continue
    return ""


class Command(BaseCommand):
    help = (
        "Record what a model version of an AI service was trained on (a JSON file: "
        '{"recordings": [ISRC, ...], "works": [ISWC, ...], optional "licences": {identifier: licence reference}}), '
        "audit it (licensed for AI training on the day, not opted out, no retrain under a spent licence) "
        "and print the audit. Exit status 1 when the audit fails or nothing could be recorded."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--service", required=True, help="the AI service's name")
        parser.add_argument("--model-version", required=True)
        parser.add_argument("--trained-on", required=True, type=datetime.date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument("--file", required=True, type=Path, help="the manifest (JSON)")
        parser.add_argument("--territory", default=identifiers.WORLD, help="where training ran (default WORLD)")

    def handle(self, *args: Any, **options: Any) -> None:
        service = AIService.objects.filter(name=options["service"]).select_related("operator").first()
        if service is None:
            known = ", ".join(AIService.objects.order_by("name").values_list("name", flat=True)) or "none"
            raise CommandError(f"No AI service named {options['service']!r} (known: {known}).")
        recordings, works, declared = read_manifest(options["file"])
        try:
            manifest = manifests.record_manifest(
                service,
                options["model_version"],
                options["trained_on"],
                recordings=recordings,
                works=works,
                declared_licences=declared,
                territory=options["territory"],
            )
        except (manifests.ManifestError, identifiers.IdentifierError) as exc:
            raise CommandError(f"Nothing recorded: {exc}") from exc
        manifest = manifests.audit_manifest(manifest)
        self.stdout.write(manifests.describe_audit(manifest))
        if manifest.audit_status != manifest.Audit.PASSED:
            failures = manifest.audit_report["failures"]
            raise CommandError(f"The audit failed: {len(failures)} problem(s), listed above.")
