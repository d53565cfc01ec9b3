"""C2PA signing for tests, offline: a throwaway root CA and signing certificate, and audio signed
with a manifest declaring how it was made. Shared by the detector and output-audit tests."""

from __future__ import annotations

import datetime
import io

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def _cert(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None, signer: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    """A root CA certificate (issuer None, self-signed) or an end-entity certificate `signer` issues."""
    ca = issuer is None
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, subject), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Gen Co")]
    )
    unused = ["content_commitment", "key_encipherment", "data_encipherment", "key_agreement"]
    usage = x509.KeyUsage(
        digital_signature=not ca, key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False,
        **dict.fromkeys(unused, False),
    )  # fmt: skip
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if not ca:  # C2PA wants an end-entity signing certificate with an EKU, issued by a CA
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        ).add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
    return builder.sign(signer, hashes.SHA256())


def make_pki() -> dict[str, bytes]:
    """PEM bytes: the signing chain (end entity + root), the end entity's private key, and the root."""
    ca_key, ee_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _cert("Test Root CA", ca_key, None, ca_key)
    ee = _cert("Test Generator Signer", ee_key, ca.subject, ca_key)
    pem = serialization.Encoding.PEM
    key = ee_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return {"chain": ee.public_bytes(pem) + ca.public_bytes(pem), "key": key, "root": ca.public_bytes(pem)}


def sign(data: bytes, mime: str, pki: dict[str, bytes], title: str, source_type: str = TRAINED) -> bytes:
    """`data` (audio of media type `mime`) with a signed C2PA manifest whose c2pa.created action
    declares `source_type`."""
    created = {"action": "c2pa.created", "digitalSourceType": source_type, "softwareAgent": {"name": "GenModel"}}
    manifest = {
        "claim_generator_info": [{"name": "test-generator", "version": "1.0"}],
        "title": title,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [created]}}],
    }
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, pki["chain"], pki["key"], None))
    out = io.BytesIO()
    c2pa.Builder(manifest).sign(signer, mime, io.BytesIO(data), out)
    return out.getvalue()
