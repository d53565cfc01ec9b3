"""Decode audio at its own sample rate (full band) for the provenance detectors.

`fingerprint.audio.decode` resamples to the 11.025 kHz analysis rate, which throws away the band
where decoder artefacts are easiest to see. Here we keep the file's native rate (capped), decode
only a bounded stretch, and reuse fingerprint.audio's format sniffing and error type.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from fingerprint.audio import SNIFF_BYTES, AudioError, PolarityGuard, sniff_format, tolerant_frames

# Above this rate (Hz) we resample down: every decoder family we look for runs at <= 48 kHz, so
# a 96 kHz file only adds empty octaves and cost.
MAX_ANALYSIS_RATE = 48000
# Bounded work per file (s of audio decoded from the start): enough for a stable time average.
DEFAULT_MAX_SECONDS = 180.0


@dataclass(frozen=True)
class NativeAudio:
    """Mono float32 samples at `sample_rate` Hz (the file's own rate, capped), and what the file is."""

    samples: np.ndarray
    sample_rate: int
    format: str
    codec: str
    native_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def load(path: str | Path, max_seconds: float = DEFAULT_MAX_SECONDS) -> NativeAudio:
    """Decode up to `max_seconds` s of `path` to mono float32 at its native rate (<= MAX_ANALYSIS_RATE Hz)."""
    with Path(path).open("rb") as fh:
        return _load(fh, max_seconds)


def load_bytes(data: bytes, max_seconds: float = DEFAULT_MAX_SECONDS) -> NativeAudio:
    """`load` for an encoded file held in memory (a codec round trip in the evaluation)."""
    return _load(io.BytesIO(data), max_seconds)


def _load(fh: BinaryIO, max_seconds: float) -> NativeAudio:
    fmt = sniff_format(fh.read(SNIFF_BYTES))
    fh.seek(0)
    if fmt is None:
        raise AudioError("unsupported_format", "The content is not a supported audio format.")
    try:
        container = av.open(fh, mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise AudioError("undecodable", f"The {fmt.upper()} file cannot be opened: {exc}.") from exc
    with container:
        if not container.streams.audio:
            raise AudioError("no_audio", f"The {fmt.upper()} file holds no audio stream.")
        stream = container.streams.audio[0]
        native = int(stream.codec_context.sample_rate or 0)
        if native <= 0:
            raise AudioError("undecodable", "The audio stream declares no sample rate.")
        rate = min(native, MAX_ANALYSIS_RATE)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        guard = PolarityGuard()  # an inverted channel must not cancel to silence here either
        limit = int(max_seconds * rate)
        chunks: list[np.ndarray] = []
        total = 0
        try:
            for frame in tolerant_frames(container, stream, fmt):  # a stray bad packet is skipped, as in decode
                frame.pts = None  # broken timestamps must not matter: the resampler counts samples
                for out in resampler.resample(guard(frame)):
                    chunks.append(out.to_ndarray().reshape(-1))
                    total += chunks[-1].size
                if total >= limit:
                    break
            else:
                chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
        except av.error.FFmpegError as exc:
            raise AudioError("undecodable", f"The {fmt.upper()} file cannot be decoded: {exc}.") from exc
        codec = stream.codec_context.name
    if not chunks:
        raise AudioError("undecodable", f"The {fmt.upper()} file holds no decodable audio.")
    samples = np.clip(np.concatenate(chunks)[:limit], -1.0, 1.0).astype(np.float32, copy=False)
    return NativeAudio(samples=samples, sample_rate=rate, format=fmt, codec=codec, native_rate=native)
