from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fingerprint import audio
from generation_audit.detectors import c2pa_manifest
from generation_audit.detectors.base import DECLARED_AI, MODERATE, NO_EVIDENCE, NOT_APPLICABLE, STRONG, WEAK
from tests.generation_audit import c2pa_signing


@pytest.fixture(scope="module")
def test_pki() -> dict[str, bytes]:
    """A throwaway root CA and an end-entity signing certificate, made offline for these tests."""
    return c2pa_signing.make_pki()


def _sign(path: Path, fmt: str, mime: str, pki: dict[str, bytes]) -> Path:
    tone = (0.3 * np.sin(np.arange(44100) / 10)).astype(np.float32)
    path.write_bytes(c2pa_signing.sign(audio.encode(tone, 44100, fmt), mime, pki, path.name))
    return path


def test_a_file_without_a_manifest_is_no_evidence(tmp_path: Path) -> None:
    path = tmp_path / "plain.wav"
    path.write_bytes(audio.encode(np.zeros(44100, dtype=np.float32) + 0.1, 44100, "wav"))
    result = c2pa_manifest.detect(path)
    assert result.label == NO_EVIDENCE
    assert result.score == 0.0
    assert result.evidence == {"manifest": "absent"}


def test_formats_c2pa_cannot_carry_are_not_applicable(tmp_path: Path) -> None:
    path = tmp_path / "plain.ogg"
    path.write_bytes(audio.encode(np.zeros(48000, dtype=np.float32) + 0.1, 48000, "ogg"))
    assert c2pa_manifest.detect(path).label == NOT_APPLICABLE


@pytest.mark.parametrize(("fmt", "mime"), [("wav", "audio/wav"), ("mp3", "audio/mpeg"), ("m4a", "audio/mp4")])
def test_a_signed_manifest_declaring_trained_algorithmic_media_is_reported(
    tmp_path: Path, test_pki: dict[str, bytes], fmt: str, mime: str
) -> None:
    path = _sign(tmp_path / f"generated.{fmt}", fmt, mime, test_pki)

    result = c2pa_manifest.detect(path)

    assert result.label == DECLARED_AI
    assert result.strength == MODERATE  # intact, but the signer is not in our trust list
    assert result.evidence["validation_passed"] is True
    assert result.evidence["signer_trusted"] is False
    assert result.evidence["signer"]["common_name"] == "Test Generator Signer"
    assert result.evidence["digital_source_types"] == ["trainedAlgorithmicMedia"]
    assert result.evidence["actions"][0]["action"] == "c2pa.created"
    assert result.evidence["actions"][0]["software_agent"] == "GenModel"


def test_a_manifest_from_a_trusted_signer_is_strong(
    tmp_path: Path, test_pki: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(test_pki["root"])
    monkeypatch.setenv("CONTENTID_C2PA_TRUST_ANCHORS", str(anchors))
    result = c2pa_manifest.detect(_sign(tmp_path / "generated.wav", "wav", "audio/wav", test_pki))
    assert result.evidence["validation_state"] == "Trusted"
    assert result.strength == STRONG
    assert result.score == pytest.approx(0.99)


def test_a_tampered_file_fails_validation_and_is_only_weak(tmp_path: Path, test_pki: dict[str, bytes]) -> None:
    path = _sign(tmp_path / "generated.wav", "wav", "audio/wav", test_pki)
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF  # inside the audio samples, which the manifest's data hash covers
    path.write_bytes(bytes(data))

    result = c2pa_manifest.detect(path)

    assert result.evidence["validation_passed"] is False
    assert "assertion.dataHash.mismatch" in result.evidence["validation_failures"]
    assert result.strength == WEAK
