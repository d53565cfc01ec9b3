"""What every detector returns: one finding with its evidence, score and how much it can prove."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# How much a finding can prove on its own (DOMAIN.md, "AI provenance").
STRONG = "strong"  # physical or cryptographic evidence: a decoder comb, a validly signed manifest
MODERATE = "moderate"  # a learned model's opinion: calibrated, but no interpretable trace
WEAK = "weak/self-declared"  # tags and unverified claims: trivially added or stripped

AI_GENERATED = "ai_generated"
DECLARED_AI = "declared_ai"
DECLARED_HUMAN = "declared_human"
NO_EVIDENCE = "no_evidence"
NOT_APPLICABLE = "not_applicable"  # the detector cannot look at this file (format, too short)
ERROR = "error"


@dataclass(frozen=True)
class DetectorResult:
    """One detector's finding on one file.

    `score` is in 0..1 and rises with the calibrated probability that the audio is AI-generated
    (0.0 with label NO_EVIDENCE/NOT_APPLICABLE when the detector saw nothing); `evidence` is
    JSON-serialisable and says what was seen, so a person can check it.
    """

    detector: str
    version: str
    score: float
    label: str
    strength: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "version": self.version,
            "score": self.score,
            "label": self.label,
            "strength": self.strength,
            "evidence": self.evidence,
        }
