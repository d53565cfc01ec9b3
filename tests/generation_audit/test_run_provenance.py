from __future__ import annotations

import pytest

from catalog.models import AudioAsset
from generation_audit import actions, tasks
from generation_audit.detectors import registry
from generation_audit.models import Finding, ProvenanceRun
from tests.generation_audit.conftest import RATE

pytestmark = pytest.mark.django_db


def test_it_stores_one_finding_per_detector_with_evidence_and_version(generated_upload: AudioAsset) -> None:
    run = actions.run_provenance(generated_upload.pk)

    assert run.status == ProvenanceRun.Status.DONE
    findings = {f.detector: f for f in run.findings.all()}
    assert set(findings) == set(registry.DETECTORS)
    comb = findings["decoder_artifacts"]
    assert comb.label == "ai_generated"
    assert comb.detector_version == registry.load("decoder_artifacts").VERSION
    assert comb.evidence["spacing_hz"] == pytest.approx(RATE / 512, rel=1e-3)
    assert findings["c2pa_manifest"].evidence == {"manifest": "absent"}
    assert run.detector_versions == registry.versions()


def test_running_it_again_with_the_same_detector_versions_adds_nothing(generated_upload: AudioAsset) -> None:
    first = actions.run_provenance(generated_upload.pk)
    second = tasks.run_provenance.delay(generated_upload.pk).get()

    assert second == first.pk
    assert ProvenanceRun.objects.count() == 1
    assert Finding.objects.count() == len(registry.DETECTORS)


def test_a_detector_upgrade_gives_a_new_run_and_keeps_the_old_one(
    generated_upload: AudioAsset, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = actions.run_provenance(generated_upload.pk)
    module = registry.load("metadata_tags")
    monkeypatch.setattr(module, "VERSION", module.VERSION + "-next")

    second = actions.run_provenance(generated_upload.pk)

    assert second.pk != first.pk
    assert second.findings.get(detector="metadata_tags").detector_version.endswith("-next")
    assert ProvenanceRun.objects.filter(asset=generated_upload).count() == 2


def test_the_admin_shows_a_run_with_its_findings_read_only(generated_upload: AudioAsset, admin_client: object) -> None:
    run = actions.run_provenance(generated_upload.pk)
    finding = run.findings.get(detector="decoder_artifacts")

    run_page = admin_client.get(f"/admin/generation_audit/provenancerun/{run.pk}/change/")  # type: ignore[attr-defined]
    finding_page = admin_client.get(f"/admin/generation_audit/finding/{finding.pk}/change/")  # type: ignore[attr-defined]

    assert run_page.status_code == 200
    assert b"decoder_artifacts" in run_page.content
    assert finding_page.status_code == 200
    assert b"spacing_hz" in finding_page.content


@pytest.mark.django_db
def test_every_upload_is_checked_for_provenance_once_it_is_stored(tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    from fingerprint import actions as fingerprint_actions
    from generation_audit.models import ProvenanceRun
    from tests import audio as test_audio

    upload = test_audio.write(tmp_path / "upload.mp3", test_audio.excerpt(test_audio.piece(7), 3.0, 6.0))
    with django_capture_on_commit_callbacks(execute=True):
        scan = fingerprint_actions.submit_upload(upload, "upload.mp3")

    run = ProvenanceRun.objects.get(asset=scan.asset)
    assert run.findings.count() >= 3  # one finding per registered detector
    # Submitting the same bytes again returns the same scan and runs nothing twice.
    with django_capture_on_commit_callbacks(execute=True):
        again = fingerprint_actions.submit_upload(upload, "upload.mp3")
    assert again.pk == scan.pk and ProvenanceRun.objects.filter(asset=scan.asset).count() == 1
