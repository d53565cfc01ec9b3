from __future__ import annotations

import datetime
import io
from pathlib import Path

import c2pa
import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fingerprint import audio
from generation_audit.detectors import c2pa_manifest
from generation_audit.detectors.base import DECLARED_AI, MODERATE, NO_EVIDENCE, NOT_APPLICABLE, STRONG, WEAK

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None,
    signer: ec.EllipticCurvePrivateKey,
    ca: bool,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, subject), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Gen Co")]
    )
    usage = dict.fromkeys(
        [
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "encipher_only",
            "decipher_only",
        ],
        False,
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=not ca, key_cert_sign=ca, crl_sign=ca, **usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if not ca:  # C2PA wants an end-entity signing certificate with an EKU, issued by a CA
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture(scope="module")
def test_pki() -> dict[str, bytes]:
    """A throwaway root CA and an end-entity signing certificate, made offline for these tests."""
    ca_key, ee_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _cert("Test Root CA", ca_key, None, ca_key, ca=True)
    ee = _cert("Test Generator Signer", ee_key, ca.subject, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    key = ee_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return {"chain": ee.public_bytes(pem) + ca.public_bytes(pem), "key": key, "root": ca.public_bytes(pem)}


def _sign(path: Path, fmt: str, mime: str, pki: dict[str, bytes]) -> Path:
    tone = (0.3 * np.sin(np.arange(44100) / 10)).astype(np.float32)
    manifest = {
        "claim_generator_info": [{"name": "test-generator", "version": "1.0"}],
        "title": path.name,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {"action": "c2pa.created", "digitalSourceType": TRAINED, "softwareAgent": {"name": "GenModel"}}
                    ]
                },
            }
        ],
    }
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, pki["chain"], pki["key"], None))
    out = io.BytesIO()
    c2pa.Builder(manifest).sign(signer, mime, io.BytesIO(audio.encode(tone, 44100, fmt)), out)
    path.write_bytes(out.getvalue())
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
