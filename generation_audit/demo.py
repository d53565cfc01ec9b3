"""The AI-services part of the demo: a licensed generation service and the built-in recommender,
called through the gateway, with the audits and the ledger printed.

Runs after the catalogue demo (rights.demo) has registered the demo label's recordings. Idempotent:
services, licences and the manifest are made once; each run makes new calls (the ledger grows).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.utils import timezone

from catalog.models import Label, Recording
from generation_audit import ledger, manifests
from generation_audit.models import AIService, TrainingManifest
from generation_audit.services import gateway
from generation_audit.services.base import GenerationRequest, RecommendationRequest, ServiceError
from generation_audit.services.demo_generator import MODEL_VERSION
from rights import licensing
from rights.models import Licence, RightsHolder

COMPOSER, RECOMMENDER = "demo-composer", "demo-recommender"
AI_COMPANY = "Demo AI Music Co."
TERRITORIES = ["GB", "US", "DE", "FR"]


def _licence(
    reference: str, label_party: RightsHolder, licensee: RightsHolder, uses: list[str], label: Label
) -> Licence:
    existing = Licence.objects.filter(reference=reference).first()
    if existing is not None:
        return existing
    return licensing.grant_licence(
        reference=reference,
        licensor=label_party,
        licensee=licensee,
        uses=uses,
        territories=TERRITORIES,
        start_date=datetime.date(2025, 1, 1),
        fee_model=Licence.FeeModel.PER_USE,
        per_use_rate="0.002",
        currency="EUR",
        catalogue_labels=[label],
    )


def set_up_services(label: Label) -> tuple[AIService, AIService]:
    """The demo's generation and recommendation services, each under its own licence from the label."""
    label_party = RightsHolder.objects.get(label=label, kind="label")
    company, _ = RightsHolder.objects.get_or_create(name=AI_COMPANY, kind=RightsHolder.Kind.SERVICE)
    training = _licence("DEMO-AI-TRAIN-1", label_party, company, ["ai_training", "ai_generation"], label)
    recommending = _licence("DEMO-AI-RECO-1", label_party, company, ["recommendation"], label)
    composer, _ = AIService.objects.get_or_create(
        name=COMPOSER,
        defaults={
            "kind": AIService.Kind.GENERATION,
            "operator": company,
            "backend": AIService.Backend.PYTHON,
            "adapter_path": "generation_audit.services.demo_generator.DemoGenerator",
            "licence": training,
            "required_marks": ["c2pa"],
        },
    )
    recommender, _ = AIService.objects.get_or_create(
        name=RECOMMENDER,
        defaults={
            "kind": AIService.Kind.RECOMMENDATION,
            "operator": company,
            "backend": AIService.Backend.BUILTIN_RECOMMENDER,
            "licence": recommending,
        },
    )
    return composer, recommender


def _manifest(composer: AIService, recordings: list[Recording]) -> TrainingManifest:
    existing = TrainingManifest.objects.filter(service=composer, model_version=MODEL_VERSION).first()
    if existing is not None:
        return existing
    # Trained in GB, where the licence grants AI training (a WORLD manifest needs a WORLD licence).
    manifest = manifests.record_manifest(
        composer, MODEL_VERSION, datetime.date(2025, 6, 1), recordings=recordings[:6], territory="GB"
    )
    return manifests.audit_manifest(manifest)


def run(log: Callable[[str], None] = print) -> None:
    """Set up the services and make one of each kind of call, printing what the gateway decided."""
    label = Label.objects.get(name="Demo Records")
    recordings = list(Recording.objects.filter(label=label).order_by("isrc"))
    if not recordings:
        log("AI services: no demo recordings registered; skipped.")
        return
    composer, recommender = set_up_services(label)
    manifest = _manifest(composer, recordings)
    failures = [f["problem"] for f in manifest.audit_report.get("failures", [])]
    log(
        f"\nAI services: training manifest {composer.name} {manifest.model_version}: {manifest.audit_status}"
        + (f" ({'; '.join(failures)})" if failures else "")
    )
    today = timezone.localdate()
    calls = [
        ("original music", GenerationRequest("a calm piano piece", parameters={"duration_s": 30}), "GB"),
        (
            "quotes a catalogue recording",
            GenerationRequest(
                "a track like our hit", parameters={"duration_s": 30, "quote_recording_id": recordings[0].pk}
            ),
            "US",
        ),
        ("territory outside the licence", GenerationRequest("anything"), "JP"),
    ]
    for what, request, territory in calls:
        try:
            output = gateway.generate(composer, request, territory=territory, at=today)
            output.refresh_from_db()
            spans = (
                ", ".join(
                    f"{Recording.objects.get(pk=s['recording_id']).title} {s['reference_start_s']:.0f}-"
                    f"{s['reference_end_s']:.0f} s at {s['output_start_s']:.0f} s"
                    for s in output.replicated_spans
                )
                or "none"
            )
            missing = ", ".join(output.marks.get("missing", [])) or "none"
            log(
                f"  generate ({what}, {territory}): output {output.pk} audit {output.audit_status}; "
                f"replicates: {spans}; required marks missing: {missing}"
            )
        except ServiceError as exc:
            log(f"  generate ({what}, {territory}): {exc}")
    try:
        _call, served = gateway.recommend(
            recommender, RecommendationRequest(recordings[1].pk, 3), territory="GB", at=today
        )
        titles = ", ".join(Recording.objects.get(pk=r.recording_id).title for r in served) or "none"
        log(f"  recommend (like {recordings[1].title}, GB): {titles}")
    except ServiceError as exc:
        log(f"  recommend: {exc}")
    check = ledger.verify()
    log(f"  ledger: {check.entries} entries, head {check.head_hash[:16]}..., {'intact' if check.ok else 'TAMPERED'}")
