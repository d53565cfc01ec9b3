"""Training manifests: every entry licensed for AI training, none opted out, and a retrain needs a new licence."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Recording, Work
from generation_audit import manifests
from generation_audit.models import AIService, TrainingManifest, TrainingManifestEntry
from rights import licensing
from rights.models import Licence, RightsHolder
from tests import factories

pytestmark = pytest.mark.django_db

D = datetime.date
TRAINED = D(2026, 6, 1)
LICENCE_START = D(2026, 1, 1)


@pytest.fixture
def label() -> RightsHolder:
    return factories.party("Label")


@pytest.fixture
def service() -> AIService:
    operator = factories.party("Tunesmith Ltd", kind="service")
    return AIService.objects.create(name="tunesmith", kind="generation", operator=operator, backend="python")


@pytest.fixture
def catalogue() -> tuple[list[Recording], list[Work]]:
    recordings = [factories.recording(i) for i in (1, 2)]
    works = [factories.work(i) for i in (1, 2)]
    recordings[0].works.add(works[0])
    return recordings, works


def training_licence(
    label: RightsHolder, service: AIService, reference: str, *, start: datetime.date = LICENCE_START, **covers: object
) -> Licence:
    fields = {"territories": ["WORLD"], "end_date": None, **covers}
    return licensing.grant_licence(
        reference=reference,
        licensor=label,
        licensee=service.operator,
        uses=["ai_training"],
        start_date=start,
        fee_model="flat",
        flat_fee="50000",
        **fields,
    )


def failures(manifest: TrainingManifest) -> list[tuple[str, str]]:
    return [(f["entry"], f["problem"]) for f in manifest.audit_report["failures"]]


def test_a_manifest_whose_every_entry_is_licensed_passes(label, service, catalogue) -> None:  # type: ignore[no-untyped-def]
    recordings, works = catalogue
    licence = training_licence(label, service, "AI-TRAIN-1", recordings=recordings, works=works)

    manifest = manifests.record_manifest(service, "v1", TRAINED, recordings=recordings, works=works)
    audited = manifests.audit_manifest(manifest)

    assert audited.audit_status == "passed" and audited.audited_at is not None
    report = audited.audit_report
    assert report["passed"] and report["failures"] == [] and report["entries_checked"] == 4
    assert {e["licence"]["reference"] for e in report["entries"]} == {licence.reference}
    assert report["entries"][0]["entry"] == "recording GB-TST-26-00001 (Track 1)"
    assert "covers AI training on 2026-06-01" in report["entries"][0]["why"]
    assert "PASSED, 0 of 4 entries failed" in manifests.describe_audit(audited)


def test_an_unlicensed_work_fails_the_audit_and_is_named(label, service, catalogue) -> None:  # type: ignore[no-untyped-def]
    recordings, works = catalogue
    training_licence(label, service, "AI-TRAIN-1", recordings=recordings, works=works[:1])

    audited = manifests.audit_manifest(
        manifests.record_manifest(service, "v1", TRAINED, recordings=recordings, works=works)
    )

    assert audited.audit_status == "failed"
    assert failures(audited) == [
        ("work T-700.000.002-4 (Work 2)", "not licensed for AI training: no licence held by Tunesmith Ltd covers it")
    ]


def test_opt_outs_fail_the_audit_even_under_a_licence(label, service, catalogue) -> None:  # type: ignore[no-untyped-def]
    recordings, works = catalogue
    training_licence(label, service, "AI-TRAIN-1", recordings=recordings, works=works)
    Work.objects.filter(pk=works[0].pk).update(ai_training_opt_out=True)  # embedded in recording 1
    Recording.objects.filter(pk=recordings[1].pk).update(ai_training_opt_out=True)

    audited = manifests.audit_manifest(
        manifests.record_manifest(service, "v1", TRAINED, recordings=recordings, works=works)
    )

    assert audited.audit_status == "failed"
    assert failures(audited) == [
        (
            "recording GB-TST-26-00001 (Track 1)",
            "it embeds work T-700.000.001-3 (Work 1), which is opted out of AI training",
        ),
        ("recording GB-TST-26-00002 (Track 2)", "recording GB-TST-26-00002 (Track 2) is opted out of AI training"),
        ("work T-700.000.001-3 (Work 1)", "work T-700.000.001-3 (Work 1) is opted out of AI training"),
    ]
    assert all(entry["licensed"] for entry in audited.audit_report["entries"])  # licensed, and still refused


def test_a_licence_that_expired_before_training_does_not_cover_it(label, service, catalogue) -> None:  # type: ignore[no-untyped-def]
    recordings, _ = catalogue
    training_licence(label, service, "AI-TRAIN-OLD", recordings=recordings, end_date=D(2026, 5, 31))

    audited = manifests.audit_manifest(manifests.record_manifest(service, "v1", TRAINED, recordings=recordings))

    assert audited.audit_status == "failed"
    (first, _) = failures(audited)
    assert first[1] == (
        "not licensed for AI training on 2026-06-01: licence AI-TRAIN-OLD is not in its term on 2026-06-01 "
        "(2026-01-01 to 2026-05-31)"
    )


def test_training_anywhere_needs_a_licence_for_every_territory(label, service, catalogue) -> None:  # type: ignore[no-untyped-def]
    recordings, _ = catalogue
    training_licence(label, service, "AI-TRAIN-GB", recordings=recordings, territories=["GB"])

    anywhere = manifests.audit_manifest(manifests.record_manifest(service, "v1", TRAINED, recordings=recordings))
    in_gb = manifests.audit_manifest(
        manifests.record_manifest(service, "v1-gb", TRAINED, recordings=recordings, territory="gb")
    )

    assert anywhere.audit_status == "failed"
    assert "does not cover every territory (training ran in WORLD" in failures(anywhere)[0][1]
    assert in_gb.audit_status == "passed"


def test_a_retrain_under_the_licence_that_covered_the_first_training_fails(label, service, catalogue) -> None:  # type: ignore[no-untyped-def]
    recordings, works = catalogue
    training_licence(label, service, "AI-TRAIN-1", recordings=recordings, works=works)
    first = manifests.record_manifest(service, "v1", TRAINED, recordings=recordings, works=works)
    second = manifests.record_manifest(service, "v2", D(2026, 9, 1), recordings=recordings[:1])

    audited = manifests.audit_manifest(second)  # v1 is still pending: it is audited first

    first.refresh_from_db()
    assert first.audit_status == "passed"
    assert audited.audit_status == "failed"
    assert failures(audited) == [
        (
            "recording GB-TST-26-00001 (Track 1)",
            "retrain without a new licence: licence AI-TRAIN-1 already covered model version 'v1'",
        )
    ]
    assert manifests.audit_manifest(first).audit_status == "passed"  # an earlier version is not judged by a later one


def test_a_retrain_with_a_licence_granted_for_it_passes(label, service, catalogue) -> None:  # type: ignore[no-untyped-def]
    recordings, works = catalogue
    training_licence(label, service, "AI-TRAIN-1", recordings=recordings, works=works)
    manifests.audit_manifest(manifests.record_manifest(service, "v1", TRAINED, recordings=recordings, works=works))
    renewal = training_licence(label, service, "AI-TRAIN-2", start=D(2026, 8, 1), recordings=recordings[:1])

    audited = manifests.audit_manifest(
        manifests.record_manifest(service, "v2", D(2026, 9, 1), recordings=recordings[:1])
    )

    assert audited.audit_status == "passed"
    assert audited.audit_report["entries"][0]["licence"] == {"id": renewal.pk, "reference": "AI-TRAIN-2"}


def test_a_model_version_is_recorded_once_and_all_or_nothing(label, service, catalogue) -> None:  # type: ignore[no-untyped-def]
    recordings, works = catalogue
    manifests.record_manifest(service, "v1", TRAINED, recordings=recordings)

    with pytest.raises(manifests.ManifestError, match="already has a manifest for model version 'v1'"):
        manifests.record_manifest(service, "v1", D(2026, 7, 1), works=works)
    with pytest.raises(manifests.ManifestError, match="at least one recording or work"):
        manifests.record_manifest(service, "v3", TRAINED)
    stray = training_licence(label, service, "AI-TRAIN-1", works=works)
    with pytest.raises(manifests.ManifestError, match="entries not in the manifest"):
        manifests.record_manifest(service, "v4", TRAINED, recordings=recordings, declared_licences={works[0]: stray})

    assert list(TrainingManifest.objects.values_list("model_version", flat=True)) == ["v1"]
    assert TrainingManifestEntry.objects.count() == 2


# --- manage.py audit_manifest ----------------------------------------------------------------------


def _run(service: AIService, version: str, path: Path) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command(
            "audit_manifest",
            "--service",
            service.name,
            "--model-version",
            version,
            "--trained-on",
            "2026-06-01",
            "--file",
            str(path),
            stdout=out,
        )
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_the_command_records_audits_and_prints_the_manifest(label, service, catalogue, tmp_path) -> None:  # type: ignore[no-untyped-def]
    recordings, works = catalogue
    training_licence(label, service, "AI-TRAIN-1", recordings=recordings, works=works[:1])
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"recordings": ["GB-TST-26-00001", "gbtst2600002"], "works": ["T-700.000.001-3"]}))
    bad.write_text(json.dumps({"recordings": ["GBTST2600001"], "works": ["T7000000024"]}))

    printed, error = _run(service, "v1", good)
    assert error is None
    assert "tunesmith v1 (trained 2026-06-01 in WORLD): PASSED, 0 of 3 entries failed" in printed

    printed, error = _run(service, "v2", bad)
    assert error is not None and "The audit failed: " in str(error)
    assert "FAIL work T-700.000.002-4 (Work 2)" in printed
    assert "retrain without a new licence: licence AI-TRAIN-1 already covered model version 'v1'" in printed
    assert TrainingManifest.objects.get(model_version="v2").audit_status == "failed"


def test_the_command_refuses_unknown_identifiers_and_records_nothing(service, catalogue, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "manifest.json"
    path.write_text(
        json.dumps({"recordings": ["GBTST2600001", "GBTST2699999", "not-an-isrc"], "works": ["T7000000990"]})
    )

    _, error = _run(service, "v1", path)

    assert error is not None and str(error).startswith("Nothing recorded")
    message = str(error)
    assert "ISRC 'GBTST2699999' is not in the catalogue" in message
    assert "ISRC 'not-an-isrc'" in message
    assert "ISWC 'T7000000990'" in message
    assert not TrainingManifest.objects.exists()
