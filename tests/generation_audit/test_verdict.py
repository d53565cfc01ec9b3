"""The combined provenance verdict: which evidence decides, which only adds, and which never flags alone."""

from __future__ import annotations

import pytest

from generation_audit import verdict
from generation_audit.detectors.base import (
    AI_GENERATED,
    DECLARED_AI,
    DECLARED_HUMAN,
    ERROR,
    MODERATE,
    NO_EVIDENCE,
    NOT_APPLICABLE,
    STRONG,
    WEAK,
    DetectorResult,
)


def comb(score: float) -> DetectorResult:
    label = AI_GENERATED if score >= 0.5 else NO_EVIDENCE
    evidence = {"spacing_hz": 86.1328, "comb_statistic": 12.0 if score >= 0.5 else 3.0}
    return DetectorResult("decoder_artifacts", "comb-1", score, label, STRONG, evidence)


def learned(score: float) -> DetectorResult:
    return DetectorResult("learned", "cnn-1", score, AI_GENERATED if score >= 0.5 else NO_EVIDENCE, MODERATE, {})


def tag(score: float = 0.7) -> DetectorResult:
    evidence = {"matches": [{"kind": "declared", "reason": "flag ai_generated=yes"}]}
    return DetectorResult("metadata_tags", "tags-1", score, DECLARED_AI, WEAK, evidence)


def manifest(state: str, source_type: str = "trainedAlgorithmicMedia", score: float = 0.93) -> DetectorResult:
    evidence = {
        "manifest": "present",
        "validation_state": state,
        "validation_passed": state in ("Valid", "Trusted"),
        "digital_source_types": [source_type],
        "signer": {"common_name": "Example Generator Inc."},
    }
    strength = {"Trusted": STRONG, "Valid": MODERATE}.get(state, WEAK)
    return DetectorResult("c2pa_manifest", "c2pa-1", score, DECLARED_AI, strength, evidence)


def nothing(name: str) -> DetectorResult:
    return DetectorResult(name, "v", 0.0, NO_EVIDENCE, "", {"manifest": "absent"})


def test_a_decoder_comb_at_its_own_threshold_is_enough_on_its_own() -> None:
    result = verdict.combine([nothing("c2pa_manifest"), nothing("metadata_tags"), comb(0.5), learned(0.3)])

    assert result.ai_generated is True
    assert result.score == pytest.approx(0.5)
    assert result.version == verdict.VERSION
    assert any("decoder comb at 86.1328 Hz" in reason for reason in result.reasons)


def test_a_clear_comb_scores_as_the_comb_does_and_the_learned_no_does_not_veto_it() -> None:
    result = verdict.combine([comb(0.99), learned(0.01)])

    assert result.ai_generated is True
    assert result.score == pytest.approx(0.99, abs=1e-6)


@pytest.mark.parametrize("learned_score", [0.22, 0.35, 0.6, 0.9, 0.999])
def test_the_learned_detector_never_flags_on_its_own(learned_score: float) -> None:
    for comb_finding in (comb(0.05), DetectorResult("decoder_artifacts", "comb-1", 0.0, NOT_APPLICABLE, STRONG, {})):
        result = verdict.combine([comb_finding, learned(learned_score), nothing("metadata_tags")])

        assert result.ai_generated is False, (comb_finding.label, learned_score)


def test_real_music_scores_stay_under_the_threshold() -> None:
    # Synthetic real music scores 0.04-0.15 on the comb and 0.00-0.32 on the learned detector; the
    # worst real excerpt the comb calibration saw scores 0.40.
    for comb_score in (0.04, 0.1, 0.2, 0.4):
        for learned_score in (0.22, 0.35, 0.5):
            result = verdict.combine([comb(comb_score), learned(learned_score), nothing("metadata_tags")])
            assert result.ai_generated is False and result.score < verdict.THRESHOLD


def test_self_declared_tags_alone_never_flag_however_many() -> None:
    result = verdict.combine([comb(0.05), learned(0.3), tag(0.7), manifest("Invalid", score=0.7)])

    assert result.ai_generated is False
    assert any("self-declared AI in tags" in r or "not decisive" in r for r in result.reasons)


def test_two_detectors_that_agree_flag_where_neither_does_alone() -> None:
    alone = verdict.combine([comb(0.05), learned(0.95)])
    together = verdict.combine([comb(0.05), learned(0.95), tag(0.7)])

    assert alone.ai_generated is False
    assert together.ai_generated is True
    assert together.score > alone.score


def test_a_validly_signed_manifest_declaring_a_trained_model_is_decisive() -> None:
    for state in ("Valid", "Trusted"):
        result = verdict.combine([manifest(state), nothing("metadata_tags"), comb(0.05), learned(0.2)])

        assert result.ai_generated is True
        assert result.score >= 0.93
        assert "declares trainedAlgorithmicMedia (decisive)" in result.reasons[0]
        assert "Example Generator Inc." in result.reasons[0]


def test_a_manifest_that_fails_validation_or_declares_only_a_composite_is_not_decisive() -> None:
    invalid = verdict.combine([manifest("Invalid", score=0.7), comb(0.05)])
    composite = verdict.combine([manifest("Valid", "compositeSynthetic", score=0.74), comb(0.05)])

    assert invalid.ai_generated is False
    assert composite.ai_generated is False


def test_errors_and_not_applicable_findings_are_ignored() -> None:
    broken = [
        DetectorResult("decoder_artifacts", "comb-1", 0.0, ERROR, "", {"error": "boom"}),
        DetectorResult("learned", "cnn-1", 0.0, NOT_APPLICABLE, MODERATE, {"reason": "too short"}),
        DetectorResult("c2pa_manifest", "c2pa-1", 0.0, NOT_APPLICABLE, "", {}),
    ]

    result = verdict.combine(broken)

    assert result.ai_generated is False
    assert result.score == pytest.approx(verdict.sigmoid(verdict.PRIOR_LOGIT), abs=1e-6)  # the prior: no evidence


def test_a_human_declaration_is_listed_but_does_not_clear_a_comb() -> None:
    human = DetectorResult("metadata_tags", "tags-1", 0.0, DECLARED_HUMAN, WEAK, {})

    result = verdict.combine([comb(0.97), human])

    assert result.ai_generated is True
    assert "metadata_tags declares human-made (not counted)" in result.reasons


def test_the_score_rises_with_the_comb_score() -> None:
    scores = [verdict.combine([comb(p), learned(0.3)]).score for p in (0.01, 0.1, 0.3, 0.5, 0.8, 0.99)]

    assert scores == sorted(scores)
    assert all(0.0 <= s <= 1.0 for s in scores)
