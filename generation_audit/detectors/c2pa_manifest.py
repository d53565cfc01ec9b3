"""C2PA manifest reader: who signed the file, what they say was done, and whether that holds up.

Offline: c2pa-python (the CAI's Rust SDK) validates the embedded manifest's signature and hashes
against local trust anchors only; remote manifests and OCSP are never fetched. Trust anchors
(PEM) come from the CONTENTID_C2PA_TRUST_ANCHORS file or the C2PA_TRUST_ANCHORS setting; without
any, a valid signature reads "Valid" (intact, signer unknown) rather than "Trusted".

Scores are fixed priors, not fitted (no labelled corpus of signed audio exists to fit them): a
trusted manifest declaring trained-algorithmic media is near-certain; an intact manifest from an
unknown signer is a declaration (few people falsely sign their work as AI-made); an invalid one
is a claim we could not verify. No manifest is no evidence either way: manifests are stripped by
any re-encode.
"""

from __future__ import annotations

import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

from fingerprint.audio import sniff_format
from generation_audit.detectors.base import (
    DECLARED_AI,
    DECLARED_HUMAN,
    MODERATE,
    NO_EVIDENCE,
    NOT_APPLICABLE,
    STRONG,
    WEAK,
    DetectorResult,
)

NAME = "c2pa_manifest"
VERSION = f"c2pa-1+sdk.{metadata.version('c2pa-python')}"

IPTC_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# IPTC digital source types that mean a model or algorithm made (part of) the content.
AI_SOURCE_TYPES = {
    "trainedAlgorithmicMedia": 1.0,  # created by a model trained on sampled content
    "compositeWithTrainedAlgorithmicMedia": 0.9,  # trained-model output mixed with other media
    "algorithmicMedia": 0.9,  # created purely by an algorithm, no training data
    "compositeSynthetic": 0.8,  # a composite with at least one synthetic element
    "dataDrivenMedia": 0.7,  # older IPTC term for algorithmically generated media
}
HUMAN_SOURCE_TYPES = {"digitalCapture", "humanEdits", "minorHumanEdits", "digitalCreation", "virtualRecording"}
# Prior probability by validation outcome, multiplied by the source type's weight above.
PRIOR_BY_STATE = {"Trusted": 0.99, "Valid": 0.93, "Invalid": 0.7}
STRENGTH_BY_STATE = {"Trusted": STRONG, "Valid": MODERATE, "Invalid": WEAK}
MIME_BY_FORMAT = {"wav": "audio/wav", "mp3": "audio/mpeg", "m4a": "audio/mp4", "flac": "audio/flac"}


def _trust_anchors() -> str | None:
    path = os.environ.get("CONTENTID_C2PA_TRUST_ANCHORS")
    if not path:
        try:
            from django.conf import settings

            path = getattr(settings, "C2PA_TRUST_ANCHORS", None) if settings.configured else None
        except ImportError:
            path = None
    return Path(path).read_text() if path else None


def _context() -> Any:
    import c2pa

    config: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    anchors = _trust_anchors()
    if anchors:
        config["verify"]["verify_trust"] = True
        config["trust"] = {"user_anchors": anchors}
    return c2pa.Context.from_dict(config)


def _source_type_name(uri: str) -> str:
    return uri.rsplit("/", 1)[-1] if uri else ""


def _summarise(manifest: dict[str, Any]) -> dict[str, Any]:
    """The parts of a manifest a reviewer needs: signer, generator, actions, source types, training opt-outs."""
    actions: list[dict[str, Any]] = []
    training: dict[str, Any] = {}
    for assertion in manifest.get("assertions", []):
        label = assertion.get("label", "")
        data = assertion.get("data", {})
        if label.startswith("c2pa.actions"):
            for action in data.get("actions", []):
                agent = action.get("softwareAgent")
                actions.append(
                    {
                        "action": action.get("action"),
                        "digital_source_type": _source_type_name(action.get("digitalSourceType", "")),
                        "software_agent": agent.get("name") if isinstance(agent, dict) else agent,
                        "when": action.get("when"),
                    }
                )
        elif label in ("cawg.training-mining", "c2pa.training-mining"):
            training = {key: value.get("use") for key, value in data.get("entries", {}).items()}
    signature = manifest.get("signature_info", {})
    return {
        "title": manifest.get("title"),
        "claim_generator": [
            f"{g.get('name', '')} {g.get('version', '')}".strip() for g in manifest.get("claim_generator_info", [])
        ]
        or manifest.get("claim_generator"),
        "signer": {
            "issuer": signature.get("issuer"),
            "common_name": signature.get("common_name"),
            "time": signature.get("time"),
            "alg": signature.get("alg"),
        },
        "actions": actions,
        "ingredients": len(manifest.get("ingredients", [])),
        "training_mining": training,
    }


def detect(path: Path) -> DetectorResult:
    """Read and validate the active C2PA manifest embedded in the file at `path`."""
    import c2pa

    with Path(path).open("rb") as fh:
        fmt = sniff_format(fh.read(64))
        fh.seek(0)
        mime = MIME_BY_FORMAT.get(fmt or "")
        if mime is None:
            return DetectorResult(NAME, VERSION, 0.0, NOT_APPLICABLE, "", {"reason": f"no C2PA support for {fmt}"})
        try:
            reader = c2pa.Reader.try_create(mime, fh, None, _context())
        except c2pa.C2paError.NotSupported as exc:
            return DetectorResult(NAME, VERSION, 0.0, NOT_APPLICABLE, "", {"reason": str(exc)})
        if reader is None:
            return DetectorResult(NAME, VERSION, 0.0, NO_EVIDENCE, "", {"manifest": "absent"})
        with reader:
            store = json.loads(reader.json())
            embedded = reader.is_embedded()
    return _finding(store, embedded)


def _finding(store: dict[str, Any], embedded: bool) -> DetectorResult:
    active_label = store.get("active_manifest")
    manifest = store.get("manifests", {}).get(active_label, {})
    state = store.get("validation_state") or ("Invalid" if store.get("validation_status") else "Valid")
    summary = _summarise(manifest)
    failures = [s.get("code") for s in store.get("validation_status", [])]
    evidence = {
        "manifest": "present",
        "active_manifest": active_label,
        "embedded": embedded,
        "validation_state": state,
        "validation_passed": state in ("Valid", "Trusted"),
        "signer_trusted": state == "Trusted",
        "validation_failures": failures,
        "manifest_count": len(store.get("manifests", {})),
        **summary,
    }
    types = {a["digital_source_type"] for a in summary["actions"] if a["digital_source_type"]}
    evidence["digital_source_types"] = sorted(types)
    ai_weight = max((AI_SOURCE_TYPES[t] for t in types if t in AI_SOURCE_TYPES), default=0.0)
    strength = STRENGTH_BY_STATE.get(state, WEAK)
    if ai_weight:
        return DetectorResult(
            NAME, VERSION, round(PRIOR_BY_STATE.get(state, 0.7) * ai_weight, 4), DECLARED_AI, strength, evidence
        )
    if types & HUMAN_SOURCE_TYPES:
        return DetectorResult(NAME, VERSION, 0.0, DECLARED_HUMAN, strength, evidence)
    return DetectorResult(NAME, VERSION, 0.0, NO_EVIDENCE, strength, evidence)
