"""eval_provenance reports the deployed decision: each item's comb and learned scores combined by the
verdict, so the figures describe what uploads are flagged with, not only each detector alone."""

from __future__ import annotations

from generation_audit.evaluation import EvalConfig, Row, report, verdict_rows


def _rows(clip: str, side: str, comb: float, learned: float) -> list[Row]:
    return [
        Row(clip, side, "tconv0_faint" if side == "generated" else "real_native", "-", 44100, "none", name, score)
        for name, score in (("decoder_artifacts", comb), ("learned", learned))
    ]


def test_a_comb_flags_and_the_learned_detector_alone_does_not() -> None:
    rows = _rows("a", "generated", 0.9, 0.2) + _rows("b", "real", 0.05, 0.99)
    verdicts = {r.clip: r.score for r in verdict_rows(rows)}
    assert verdicts["a"] >= 0.5  # a comb over its threshold is enough
    assert verdicts["b"] < 0.5  # a confident learned score without a comb is not


def test_the_report_has_a_verdict_section() -> None:
    rows = _rows("a", "generated", 0.9, 0.2) + _rows("b", "real", 0.05, 0.99)
    text = report(rows, EvalConfig(degradations=("none",)))
    verdict_part = text.split("== verdict ==")[1]
    assert "none                      1      1  100.00    0.00  100.00" in verdict_part
