"""One provenance verdict from a run's findings, with the weights stated here (no Django import).

Rules, in order:

1. Decisive: a C2PA manifest whose signature validates (state Valid or Trusted) and whose actions
   declare a model- or algorithm-made source type (DECISIVE_SOURCE_TYPES) settles it: generated.
   Few people sign their own work as machine-made; a forger gains nothing by it.
2. Otherwise the evidence is added in log-odds (natural log, logit(p) = ln(p / (1 - p))):

       L = PRIOR_LOGIT + comb + learned + self_declared

   - PRIOR_LOGIT = ln(0.23) = -1.47: the prior odds of generated audio implied by the comb's
     calibration (weights/comb_calibration.json, `prior_odds_generated`), about a fifth of uploads.
   - comb (decoder_artifacts, strong): its calibrated logit relative to that prior, weight
     COMB_WEIGHT = 1.0 above the prior; below it (no comb found) only COMB_ABSENT_WEIGHT = 0.25 of
     it counts, because vocoders, diffusion decoders and low-passed deliveries leave no comb, so a
     missing comb is weak evidence of real audio. A comb at its own decision point (score 0.5,
     where the calibration placed the 99.5 % quantile of real excerpts: no real item of its 53
     training-split excerpts, nor any of those files read whole, over it)
     gives L = 0 on its own, which is flagged.
   - learned (moderate): LEARNED_WEIGHT = 0.4 times its calibrated logit, counted only above 0
     (its "no" never vetoes a comb) and capped at LEARNED_CAP_LOGIT = 3 (score 0.95), so it adds at
     most +1.2 and can never lift the prior (-1.47) over 0 on its own: it is a moderate detector
     (AUC 0.91 held out, 0.90 after MP3; 14-15 % false positives at 0.5, most on real music
     delivered at 16-24 kHz; 0.00-0.32 on synthetic real music), useful only beside other evidence.
   - self-declared (ID3/Vorbis/MP4 tags, and C2PA manifests that fail validation or declare only
     a composite/older source type, all WEAK): SELF_DECLARED_WEIGHT = 1.0 times the finding's
     fixed prior score (0.4-0.7), the largest one only (several tags are one declaration), so at
     most +0.7: never decisive alone (-1.47 + 0.7 < 0), but it tips a high learned score (>= 0.87
     where the comb could not look; over 0.9 beside a typical comb-free spectrum, comb score
     0.05-0.1) or a comb just under its threshold.
   - ERROR and NOT_APPLICABLE findings are ignored (a detector that could not look has no vote);
     a human declaration is listed as a reason but not counted (it is as easily written as an AI one).
3. score = sigmoid(L) (max'd with the manifest's own score when decisive); ai_generated when
   score >= THRESHOLD = 0.5, i.e. L >= 0. With no evidence the score is the prior, 0.19.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

VERSION = "verdict-1"
THRESHOLD = 0.5  # score at or above which the verdict is "generated" (L >= 0)

PRIOR_LOGIT = math.log(0.23)
COMB_WEIGHT = 1.0
COMB_ABSENT_WEIGHT = 0.25
LEARNED_WEIGHT = 0.4
LEARNED_CAP_LOGIT = 3.0
SELF_DECLARED_WEIGHT = 1.0
P_CLIP = 1e-6  # scores are clipped to [P_CLIP, 1 - P_CLIP] before taking logits

COMB, LEARNED, C2PA, TAGS = "decoder_artifacts", "learned", "c2pa_manifest", "metadata_tags"
# IPTC digital source types that say a trained model or an algorithm made the content.
DECISIVE_SOURCE_TYPES = frozenset(
    {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia"}
)
# Labels and strengths as generation_audit.detectors.base spells them (kept literal: no import chain).
AI_LABELS = frozenset({"ai_generated", "declared_ai"})
IGNORED_LABELS = frozenset({"error", "not_applicable"})
STRONG = "strong"


class FindingLike(Protocol):
    """What the verdict reads of a finding: a stored Finding and a DetectorResult both fit."""

    detector: str
    score: float
    label: str
    strength: str
    evidence: Mapping[str, Any]


@dataclass(frozen=True)
class Verdict:
    """The combined answer: generated or not, score 0..1 (rises with confidence it is generated),
    the rules' version, and the evidence that moved the score, for a person to check."""

    ai_generated: bool
    score: float
    version: str = VERSION
    reasons: list[str] = field(default_factory=list)


def logit(p: float) -> float:
    """ln(p / (1 - p)), with p clipped away from 0 and 1."""
    p = min(max(p, P_CLIP), 1.0 - P_CLIP)
    return math.log(p / (1.0 - p))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def is_decisive_manifest(finding: FindingLike) -> bool:
    """A validated C2PA manifest declaring a model- or algorithm-made source type."""
    evidence = finding.evidence or {}
    types = set(evidence.get("digital_source_types") or ())
    return (
        finding.detector == C2PA
        and finding.label in AI_LABELS
        and bool(evidence.get("validation_passed"))
        and bool(types & DECISIVE_SOURCE_TYPES)
    )


def is_strong_ai_finding(finding: FindingLike) -> bool:
    """A STRONG finding that says generated (a decoder comb, a trusted manifest)."""
    return finding.strength == STRONG and finding.label in AI_LABELS


def _comb_term(finding: FindingLike) -> tuple[float, str]:
    excess = logit(finding.score) - PRIOR_LOGIT
    term = COMB_WEIGHT * excess if excess > 0 else COMB_ABSENT_WEIGHT * excess
    evidence = finding.evidence or {}
    if finding.label in AI_LABELS:
        why = (
            f"decoder comb at {evidence.get('spacing_hz', '?')} Hz "
            f"(statistic {evidence.get('comb_statistic', '?')}, score {finding.score:.2f}, strong)"
        )
    elif excess > 0:
        spacing = evidence.get("spacing_hz", "?")
        why = f"faint decoder comb at {spacing} Hz (score {finding.score:.2f}, under its threshold)"
    else:
        why = f"no decoder comb (score {finding.score:.2f})"
    return term, why


def _learned_term(finding: FindingLike) -> tuple[float, str]:
    term = LEARNED_WEIGHT * min(max(logit(finding.score), 0.0), LEARNED_CAP_LOGIT)
    return term, f"learned detector score {finding.score:.2f} (moderate)"


def _self_declared_why(finding: FindingLike) -> str:
    evidence = finding.evidence or {}
    if finding.detector == C2PA:
        types = ", ".join(evidence.get("digital_source_types") or ()) or "AI"
        state = evidence.get("validation_state", "unvalidated")
        return f"C2PA manifest declares {types} but is not decisive ({state}; weak)"
    reasons = [m.get("reason", "") for m in evidence.get("matches", []) if m.get("kind") in ("declared", "generator")]
    return f"self-declared AI in tags: {'; '.join(r for r in reasons if r) or 'declared'} (weak)"


def _manifest_why(finding: FindingLike) -> str:
    evidence = finding.evidence or {}
    signer = (evidence.get("signer") or {}).get("common_name") or (evidence.get("signer") or {}).get("issuer")
    types = ", ".join(sorted(set(evidence.get("digital_source_types") or ()) & DECISIVE_SOURCE_TYPES))
    return (
        f"C2PA manifest ({evidence.get('validation_state', 'Valid')}"
        f"{', signed by ' + str(signer) if signer else ''}) declares {types} (decisive)"
    )


def combine(findings: Iterable[FindingLike]) -> Verdict:
    """The verdict on one run's findings (see the module docstring for the rules and weights)."""
    total = PRIOR_LOGIT
    reasons: list[str] = []
    decisive: list[FindingLike] = []
    self_declared: tuple[float, str] | None = None
    for finding in findings:
        if finding.label in IGNORED_LABELS:
            continue
        if is_decisive_manifest(finding):
            decisive.append(finding)
            reasons.append(_manifest_why(finding))
        elif finding.detector == COMB:
            term, why = _comb_term(finding)
            total += term
            reasons.append(why)
        elif finding.detector == LEARNED:
            term, why = _learned_term(finding)
            total += term
            if term > 0:
                reasons.append(why)
        elif finding.label in AI_LABELS:  # tags, weak manifests, any other self-declaration
            term = SELF_DECLARED_WEIGHT * finding.score
            if self_declared is None or term > self_declared[0]:
                self_declared = (term, _self_declared_why(finding))
        elif finding.label == "declared_human":
            reasons.append(f"{finding.detector} declares human-made (not counted)")
    if self_declared is not None:
        total += self_declared[0]
        reasons.append(self_declared[1])
    score = sigmoid(total)
    if decisive:
        score = max(score, *(f.score for f in decisive), THRESHOLD)
    score = round(score, 6)  # the flag is read from the rounded score, so the two never disagree
    return Verdict(ai_generated=bool(decisive) or score >= THRESHOLD, score=score, reasons=reasons)
