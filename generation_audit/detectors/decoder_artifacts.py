"""Decoder-artefact detector: the line comb transposed-convolution upsamplers leave (see generation_audit.comb).

Score: a logistic map of the comb statistic, fitted by `eval_provenance --write-calibration` on
real music against the same music through transposed-convolution decoders, and stored in
weights/comb_calibration.json (the version string carries its id).

Robustness limits, stated: resampling-based pitch or speed changes move the comb off the grid
(a +1 semitone speed-up multiplies the spacing by 1.059); a low-pass below the comb's band, or a
recording shorter than a few seconds, leaves too few teeth to check (reported as not applicable).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from generation_audit import comb, native_audio
from generation_audit.detectors.base import AI_GENERATED, NO_EVIDENCE, NOT_APPLICABLE, STRONG, DetectorResult

NAME = "decoder_artifacts"
# comb-2: mean of log power over ~0.7 s segments, averaged over 20 s windows; comb-3: segments holding
# a drop-out are left out (comb.GAP_MIN_S).
ALGORITHM_VERSION = "comb-3"
CALIBRATION_PATH = Path(__file__).resolve().parent.parent / "weights" / "comb_calibration.json"
MAX_SECONDS = 180.0  # s analysed from the start of the file: a stable average, bounded cost
MIN_SECONDS = 4.0  # s: shorter gives a median over too few segments
PEAKS_REPORTED = 16  # strongest teeth listed in the evidence
TOOTH_PEAK_DB = 3.0  # a tooth this far above the off-grid level counts as a visible peak

# Used only until eval_provenance has written a fitted calibration: statistic 8 -> 0.5.
DEFAULT_CALIBRATION: dict[str, Any] = {
    "id": "prior",
    "feature": "log1p(max(statistic, 0))",
    "coef": 6.0,
    "intercept": -6.0 * math.log1p(8.0),
    "fitted_on": "not fitted: a prior placing the decision at statistic 8",
}


def _load_calibration() -> dict[str, Any]:
    if CALIBRATION_PATH.exists():
        data = json.loads(CALIBRATION_PATH.read_text())
        data["id"] = hashlib.sha256(CALIBRATION_PATH.read_bytes()).hexdigest()[:8]
        return data
    return dict(DEFAULT_CALIBRATION)


CALIBRATION = _load_calibration()
VERSION = f"{ALGORITHM_VERSION}+cal.{CALIBRATION['id']}"


def probability(statistic: float, calibration: dict[str, Any] | None = None) -> float:
    """Calibrated probability (0..1) that a comb statistic comes from decoded audio."""
    cal = calibration or CALIBRATION
    z = cal["coef"] * math.log1p(max(statistic, 0.0)) + cal["intercept"]
    return 1.0 / (1.0 + math.exp(-z))


def detect(path: Path) -> DetectorResult:
    """Look for a decoder comb in the file at `path`, decoded at its native rate."""
    decoded = native_audio.load(path, max_seconds=MAX_SECONDS)
    result = analyse(decoded.samples, decoded.sample_rate)
    result.evidence["native_sample_rate_hz"] = decoded.native_rate
    result.evidence["codec"] = decoded.codec
    return result


def analyse(samples: np.ndarray, sample_rate: int) -> DetectorResult:
    """The detector on mono float samples at `sample_rate` Hz (the evaluation calls this directly)."""
    if len(samples) < MIN_SECONDS * sample_rate:
        return DetectorResult(
            NAME, VERSION, 0.0, NOT_APPLICABLE, STRONG, {"reason": f"shorter than {MIN_SECONDS:.0f} s"}
        )
    spectra = comb.window_spectra(samples, sample_rate)
    ranked = comb.search(spectra)
    evidence: dict[str, Any] = {
        "analysis_sample_rate_hz": sample_rate,
        "analysed_seconds": round(len(samples) / sample_rate, 2),
        "bin_hz": round(spectra[0].bin_hz, 4),
        "content_band_hz": [round(spectra[0].band_low_hz), round(spectra[0].band_high_hz)],
        "windows": len(spectra),  # the statistic is the mean over windows of at least comb.WINDOW_S
        "calibration": CALIBRATION["id"],
    }
    if not ranked:
        evidence["reason"] = "too little content band to check any comb"
        return DetectorResult(NAME, VERSION, 0.0, NOT_APPLICABLE, STRONG, evidence)
    strongest = ranked[0]
    score = probability(strongest.statistic)
    best = comb.fundamental(spectra, ranked)  # report the latent frame rate, not a multiple of it
    order = np.argsort(best.tooth_heights_db)[::-1][:PEAKS_REPORTED]
    evidence.update(
        {
            "spacing_hz": round(best.spacing_hz, 4),
            "comb_statistic": round(strongest.statistic, 3),
            "strongest_spacing_hz": round(strongest.spacing_hz, 4),
            "spacing_statistic": round(best.statistic, 3),
            "mean_excess_db": round(best.excess_db, 3),
            "teeth_checked": best.teeth,
            "teeth_visible": int(np.sum(best.tooth_heights_db >= TOOTH_PEAK_DB)),
            "peaks": [
                {
                    "hz": round(float(best.tooth_freqs_hz[i]), 2),
                    "db_over_floor": round(float(best.tooth_heights_db[i]), 2),
                }
                for i in sorted(order)
            ],
            "decoder_families": comb.families_for(best.spacing_hz),
            "runners_up": [
                {"spacing_hz": round(s.spacing_hz, 4), "comb_statistic": round(s.statistic, 3)} for s in ranked[1:4]
            ],
        }
    )
    return DetectorResult(
        NAME, VERSION, round(score, 6), AI_GENERATED if score >= 0.5 else NO_EVIDENCE, STRONG, evidence
    )
