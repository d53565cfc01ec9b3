"""A generation service that runs in-process, for the demo and for trying the gateway without a
vendor: it composes new music from the prompt (catalog.synth, seeded by the prompt's hash), and,
when asked to `quote_recording_id`, splices 12 s of that catalogue recording into it, the way a
model that memorised its training data would (the replication screen must flag that output)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from catalog import synth
from catalog.models import AudioAsset
from fingerprint import audio
from generation_audit.services.base import GeneratedAudio, GenerationRequest, ServiceError

QUOTE_S = 12.0  # seconds of the quoted recording spliced in
MODEL_VERSION = "demo-composer-1"


class DemoGenerator:
    """The in-process demo generation adapter (AIService backend python)."""

    def __init__(self, service: Any) -> None:
        self.service = service

    def generate(self, request: GenerationRequest) -> GeneratedAudio:
        seed = int.from_bytes(hashlib.sha256(request.prompt.encode()).digest()[:4], "big")
        seconds = float(request.parameters.get("duration_s", 30))
        if not 5 <= seconds <= 120:
            raise ServiceError("duration_s must be 5 to 120 seconds")
        music = synth.compose(seed, seconds).samples
        quoted = request.parameters.get("quote_recording_id")
        if quoted is not None:
            music = self._splice(music, int(quoted))
        wav = audio.encode(music.astype(np.float32), synth.SAMPLE_RATE, "wav")
        return GeneratedAudio(wav, "audio/wav", {"model_version": MODEL_VERSION, "seed": seed})

    def _splice(self, music: np.ndarray, recording_id: int) -> np.ndarray:
        asset = AudioAsset.objects.filter(recording_id=recording_id, kind=AudioAsset.Kind.REFERENCE).first()
        if asset is None:
            raise ServiceError(f"recording {recording_id} has no reference audio to quote")
        source = audio.decode(asset.file.path, synth.SAMPLE_RATE, max_bytes=1 << 30, max_duration_s=7200).samples
        start = len(source) // 4
        quote = source[start : start + int(QUOTE_S * synth.SAMPLE_RATE)]
        at = min(int(5 * synth.SAMPLE_RATE), max(0, len(music) - len(quote)))
        out = music.copy()
        out[at : at + len(quote)] = quote[: len(out) - at]
        return out
