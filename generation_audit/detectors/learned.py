"""Learned detector: a small CNN on log spectrograms for traces a comb cannot see.

Trained by `train_provenance` (generation_audit/training.py) against simulated vocoders,
Griffin-Lim and phase-vocoder reconstruction, upsample+convolution and quantised decoders, with
codec, band-limit and resampling augmentation on both sides. Its score is the Platt-calibrated
mean clip logit; it gives no interpretable trace, so its findings are MODERATE, and its reach
beyond the decoder families it was trained on is unknown until measured on real generators.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from generation_audit import native_audio
from generation_audit.detectors.base import AI_GENERATED, MODERATE, NO_EVIDENCE, NOT_APPLICABLE, DetectorResult

NAME = "learned"
ARCHITECTURE_VERSION = "cnn-1"
WEIGHTS_FILE = Path(__file__).resolve().parent.parent / "weights" / "learned.pt"
CARD_FILE = WEIGHTS_FILE.with_suffix(".json")
MAX_SECONDS = 120.0  # s decoded from the start of the file
MAX_CLIPS = 24  # clips scored per file, spread evenly: bounded CPU time per upload
VERSION = (
    f"{ARCHITECTURE_VERSION}+w.{hashlib.sha256(WEIGHTS_FILE.read_bytes()).hexdigest()[:8]}"
    if WEIGHTS_FILE.exists()
    else f"{ARCHITECTURE_VERSION}+no-weights"
)


@lru_cache(maxsize=1)
def _model() -> tuple[Any, dict[str, Any]]:
    import torch

    from generation_audit import networks

    torch.set_num_threads(min(2, torch.get_num_threads()))
    model = networks.ProvenanceCNN()
    model.load_state_dict(torch.load(WEIGHTS_FILE, map_location="cpu", weights_only=True))
    model.eval()
    return model, json.loads(CARD_FILE.read_text())


def detect(path: Path) -> DetectorResult:
    """Score the file at `path` with the shipped CNN."""
    if not WEIGHTS_FILE.exists():
        return DetectorResult(NAME, VERSION, 0.0, NOT_APPLICABLE, MODERATE, {"reason": "no trained weights shipped"})
    decoded = native_audio.load(path, max_seconds=MAX_SECONDS)
    return analyse(decoded.samples, decoded.sample_rate)


def analyse(samples: np.ndarray, sample_rate: int) -> DetectorResult:
    """The detector on mono float samples at `sample_rate` Hz (the evaluation calls this directly)."""
    import torch

    from generation_audit import degradations, networks

    model, card = _model()
    clips = networks.clips_of(degradations.resample(samples, sample_rate, networks.MODEL_RATE), MAX_CLIPS)
    if len(clips) == 0:
        return DetectorResult(NAME, VERSION, 0.0, NOT_APPLICABLE, MODERATE, {"reason": "shorter than one clip"})
    with torch.no_grad():
        logits = model(torch.from_numpy(clips)).numpy()
    mean_logit = float(np.mean(logits))
    cal = card["calibration"]
    score = 1.0 / (1.0 + math.exp(-(cal["a"] * mean_logit + cal["b"])))
    evidence = {
        "clips": len(clips),
        "clip_seconds": networks.CLIP_SECONDS,
        "mean_logit": round(mean_logit, 4),
        "clips_over_threshold": int(np.sum(logits > 0)),
        "clip_logits": [round(float(v), 3) for v in logits],
        "weights_sha256": card.get("weights_sha256", "")[:16],
        "trained_with": card.get("command", ""),
    }
    return DetectorResult(
        NAME, VERSION, round(score, 6), AI_GENERATED if score >= 0.5 else NO_EVIDENCE, MODERATE, evidence
    )
