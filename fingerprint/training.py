"""Self-supervised contrastive training of the embedder on any folder of audio (NAFP style).

Each step draws N random passages. The anchor is the clean ~1 s patch; the positive is the same
passage through a random chain of degradations an upload meets: a time shift (+/-0.25 s, the worst
query/reference misalignment at a 0.5 s patch hop), speed change (waveform resampling, +/-10 %),
room reverb, additive noise (white, pink, babble of other passages, one other passage as
background music, or synthetic speech babble when espeak-ng is installed; -6 to 20 dB SNR), EQ and
band-limiting (telephone included), codec damage (simulated: low-pass, quantisation, spectral
holes; real: MP3/Opus/AAC round trips from a pool encoded once at start), then pitch (+/-2
semitones) and tempo (+/-10 %) changes. Pitch and tempo are applied to the log-frequency band
levels, where a pitch ratio is a shift along the band axis and a tempo ratio a stretch of the
frame axis (one bilinear resampling does both), which is far cheaper than a phase vocoder per
example. NT-Xent (InfoNCE) over the 2N patches pulls each positive to its anchor and away from the
other 2N - 2 patches. Everything after cropping runs batched on the training device.

Units: samples at params.ANALYSIS_SAMPLE_RATE; frames of params.EMBED_HOP samples; seconds (s).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import math
import multiprocessing
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from fingerprint import audio, embedding, params
from fingerprint.networks import DEFAULT_CHANNELS, DEFAULT_HEAD_HIDDEN

SR = params.ANALYSIS_SAMPLE_RATE
TEMPERATURE = 0.05  # NT-Xent softmax temperature (NAFP: 0.05)
LEARNING_RATE = 1e-3  # Adam peak rate; cosine decay to 0 after a 2 % linear warm-up
WARMUP_FRACTION = 0.02
# Curriculum: the chain starts gentle (each degradation's probability x 0.2, SNR floor 16 dB) and
# reaches full strength at this fraction of the run. With the full chain from step one, a fresh
# network stayed at chance loss in our short trials: a stack of 0 dB noise, reverb, pitch and
# tempo leaves too little in common with the anchor for random features to start from.
CURRICULUM_FRACTION = 0.25
START_DIFFICULTY = 0.2
CHECKPOINT_EVERY_S = 600.0  # long runs save their weights this often (s), so a cut-off run leaves a model
DECODE_MAX_BYTES = 4 << 30  # training reads whole albums and DJ mixes; far above upload limits
DECODE_MAX_S = 6 * 3600.0
SILENT_RMS = 10 ** (-50 / 20)  # a crop quieter than -50 dBFS teaches nothing; redraw it

# Augmentation ranges (the probabilities live in Augmentation).
MAX_SHIFT_S = 0.25
SPEED_RANGE = 0.10  # speed factor 1 +/- this (pitch and tempo together)
TEMPO_RANGE = 0.10
PITCH_SEMITONES = 2.0
SNR_DB = (-6.0, 20.0)  # below 0 dB: music under louder material (a track under a vlog, a replication mixed in)
RT60_S = (0.2, 1.0)
RIR_S = 1.0  # room response length (s): reaches -60 dB at the longest RT60
CODEC_POOL_SEGMENT_S = 6.0
# Speech babble: espeak-ng reads pseudo-words in these voices (when it is installed), several talkers
# summed. Talk over music (a vlog, a stream, a crowd) is the commonest interference after codecs; its
# harmonics and formants sit in the embedding's bands, and summed music passages do not teach it.
SPEECH_VOICES = ("en-us", "en-gb", "de", "fr", "es", "it", "nl", "pt", "pl", "sv")
SPEECH_TALKERS = 8
SPEECH_POOL_S = 320.0  # seconds of speech in all, shared among the talkers
CODEC_CHOICES = (("mp3", 32000), ("mp3", 48000), ("mp3", 64000), ("ogg", 16000), ("ogg", 24000), ("m4a", 32000))

# Geometry (samples). The positive is rendered from a source window around the passage's centre:
# LEAD samples of lead-in (reverb needs the sound before the patch) then POS_FRAMES frames, enough
# to cut a tempo-stretched 40-frame patch. The source window covers the largest speed and shift.
N_FFT, HOP, N_FRAMES = params.EMBED_N_FFT, params.EMBED_HOP, params.EMBED_N_FRAMES
PATCH = embedding.PATCH_SAMPLES
POS_FRAMES = N_FRAMES + math.ceil(N_FRAMES * TEMPO_RANGE) + 6
LEAD = 16 * HOP
POS_SAMPLES = LEAD + (POS_FRAMES - 1) * HOP + N_FFT
POS_CENTRE = LEAD + ((POS_FRAMES - 1) * HOP + N_FFT) / 2  # output sample that shows the source centre
POS_CENTRE_FRAME = (POS_CENTRE - N_FFT / 2) / HOP  # the same point as a (fractional) frame index
_MAX_SHIFT = MAX_SHIFT_S * SR
SOURCE_CENTRE = math.ceil(POS_CENTRE * (1 + SPEED_RANGE) + _MAX_SHIFT) + 2
SOURCE_SAMPLES = SOURCE_CENTRE + math.ceil((POS_SAMPLES - POS_CENTRE) * (1 + SPEED_RANGE) + _MAX_SHIFT) + 2


@dataclass(frozen=True)
class Augmentation:
    """Probability (0..1) that each degradation is applied to a positive; `codec_pool` is the share of
    examples drawn from the real-codec pool. All zero: the positive equals its anchor."""

    shift: float = 1.0
    speed: float = 0.3
    reverb: float = 0.5
    noise: float = 0.8
    eq: float = 0.5
    codec_sim: float = 0.3
    holes: float = 0.3
    pitch: float = 0.5
    tempo: float = 0.5
    codec_pool: float = 0.25


@dataclass
class Corpus:
    """Training audio kept in memory: one float32 array per file, at least SOURCE_SAMPLES long."""

    tracks: list[np.ndarray]
    names: list[str]
    seconds: float
    # Real-codec pairs: (clean, decoded after encoding), sample-aligned, same length.
    pool: list[tuple[np.ndarray, np.ndarray]] = dataclasses.field(default_factory=list)
    # Synthetic talkers (one long array each) for speech babble; empty without espeak-ng.
    talkers: list[np.ndarray] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        lengths = np.array([len(t) for t in self.tracks], dtype=np.float64)
        self._cumulative = np.cumsum(lengths) / lengths.sum()

    def draw_track(self, rng: np.random.Generator) -> np.ndarray:
        """A random track, with probability proportional to its length (every second equally likely)."""
        index = int(np.searchsorted(self._cumulative, rng.random(), side="right"))
        return self.tracks[min(index, len(self.tracks) - 1)]


def _decode_file(path: Path) -> tuple[np.ndarray | None, str]:
    """(samples, "") or (None, reason): returns rather than raises, as a process-pool worker must."""
    try:
        return audio.decode(path, max_bytes=DECODE_MAX_BYTES, max_duration_s=DECODE_MAX_S).samples, ""
    except (audio.AudioError, OSError) as exc:
        return None, str(exc)


def _decoded(paths: list[Path]) -> Iterator[tuple[Path, np.ndarray | None, str]]:
    """Decode `paths` in order, on worker processes when there are many (decoding hours of audio
    dominates start-up otherwise); stop consuming early and the rest is cancelled."""
    workers = min(8, embedding.default_threads(), len(paths) // 8)
    # fork: workers start at once and need no importable __main__ (spawn breaks scripts without a main
    # guard). Safe here because they only run PyAV; they never touch torch's threads or CUDA.
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for path in paths:
            yield path, *_decode_file(path)
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(_decode_file, path) for path in paths]
        try:
            for path, future in zip(paths, futures, strict=True):
                yield path, *future.result()
        finally:
            for future in futures:
                future.cancel()


def load_corpus(
    audio_dir: str | Path, max_files: int | None = None, seed: int = 0, log: Callable[[str], None] = print
) -> Corpus:
    """Decode every file under `audio_dir` (content-sniffed; hidden files ignored) with `audio.decode`,
    skipping with a message those that raise AudioError. With `max_files`, a seeded random subset."""
    root = Path(audio_dir)
    if not root.is_dir():
        raise ValueError(f"{root} is not a directory")
    hidden = lambda p: any(part.startswith(".") for part in p.relative_to(root).parts)  # noqa: E731
    paths = sorted(p for p in root.rglob("*") if p.is_file() and not hidden(p))
    if max_files is not None:
        np.random.default_rng(seed).shuffle(paths)
    tracks, names, total = [], [], 0
    for path, samples, reason in _decoded(paths):
        if samples is None:
            log(f"skipped {path}: {reason}")
            continue
        total += len(samples)
        if len(samples) < SOURCE_SAMPLES:  # pad short files so any crop fits; silence is redrawn
            pad = SOURCE_SAMPLES - len(samples)
            samples = np.pad(samples, (pad // 2, pad - pad // 2))
        tracks.append(np.ascontiguousarray(samples, dtype=np.float32))
        names.append(str(path.relative_to(root)))
        if max_files is not None and len(tracks) >= max_files:
            break
    if not tracks:
        raise ValueError(f"no usable audio under {root}")
    return Corpus(tracks, names, total / SR)


def build_codec_pool(corpus: Corpus, size: int, rng: np.random.Generator, log: Callable[[str], None] = print) -> None:
    """Fill `corpus.pool` with `size` segments round-tripped through real lossy codecs (too slow per step)."""
    segment = max(SOURCE_SAMPLES, int(CODEC_POOL_SEGMENT_S * SR))
    with tempfile.TemporaryDirectory(prefix="codec-pool-") as tmp:
        for i in range(size):
            track = corpus.draw_track(rng)
            start = int(rng.integers(0, max(1, len(track) - segment)))
            clean = track[start : start + segment]
            fmt, bitrate = CODEC_CHOICES[int(rng.integers(len(CODEC_CHOICES)))]
            path = Path(tmp) / f"{i}.{fmt}"
            try:
                path.write_bytes(audio.encode(clean, SR, fmt, bitrate=bitrate))
                decoded = audio.decode(path, max_bytes=DECODE_MAX_BYTES, max_duration_s=DECODE_MAX_S).samples
            except Exception as exc:  # a codec missing from this ffmpeg build must not stop training
                log(f"codec pool: {fmt} at {bitrate} b/s failed ({exc}); segment skipped")
                continue
            corpus.pool.append((clean, _align(clean, decoded)))


def build_speech_pool(
    corpus: Corpus, seconds: float, rng: np.random.Generator, log: Callable[[str], None] = print
) -> None:
    """Fill `corpus.talkers` with SPEECH_TALKERS synthetic voices, `seconds` of speech in all: espeak-ng
    reading seeded pseudo-words at varied speeds and pitches. Without espeak-ng (or with `seconds` 0)
    training goes on without speech babble, and says so."""
    if seconds <= 0:
        return
    program = shutil.which("espeak-ng")
    if program is None:
        log("speech babble: espeak-ng is not installed; training without it")
        return
    per_talker = seconds / SPEECH_TALKERS
    with tempfile.TemporaryDirectory(prefix="speech-pool-") as tmp:
        wav = Path(tmp) / "utterance.wav"
        for talker in range(SPEECH_TALKERS):
            voice = SPEECH_VOICES[talker % len(SPEECH_VOICES)]
            speed, pitch = int(rng.integers(130, 211)), int(rng.integers(15, 86))
            pieces, total = [], 0
            while total < per_talker * SR:
                words = " ".join(_pseudo_word(rng) + ("," if rng.random() < 0.15 else "") for _ in range(20))
                command = [program, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav), words]
                try:
                    subprocess.run(command, capture_output=True, check=True, timeout=60)
                    speech = audio.decode(wav, max_bytes=DECODE_MAX_BYTES, max_duration_s=DECODE_MAX_S).samples
                except (OSError, subprocess.SubprocessError, audio.AudioError) as exc:
                    log(f"speech babble: espeak-ng failed ({exc}); training without it")
                    corpus.talkers.clear()
                    return
                pieces.append(speech)
                total += len(speech)
            corpus.talkers.append(np.concatenate(pieces).astype(np.float32))


def _pseudo_word(rng: np.random.Generator) -> str:
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    return "".join(
        consonants[int(rng.integers(len(consonants)))] + vowels[int(rng.integers(len(vowels)))]
        for _ in range(int(rng.integers(1, 4)))
    )


def _align(clean: np.ndarray, decoded: np.ndarray, max_lag: int = SR // 4) -> np.ndarray:
    """`decoded` shifted to line up with `clean` (codecs add encoder/decoder delay), cut/padded to its length."""
    n = len(clean) + len(decoded)
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(decoded, size) * np.conj(np.fft.rfft(clean, size)), size)
    lags = np.r_[np.arange(0, max_lag + 1), np.arange(-max_lag, 0)]
    lag = int(lags[np.argmax(corr[lags])])
    shifted = decoded[lag:] if lag >= 0 else np.pad(decoded, (-lag, 0))
    return np.pad(shifted, (0, max(0, len(clean) - len(shifted))))[: len(clean)].astype(np.float32)


def sample_batch(corpus: Corpus, n: int, rng: np.random.Generator, pool_share: float) -> dict[str, np.ndarray]:
    """Random crops: `clean` and `source` windows (n, SOURCE_SAMPLES) around each passage's centre (source
    differs from clean for real-codec examples) and `babble` crops (max(4, n // 4), POS_SAMPLES)."""
    clean = np.empty((n, SOURCE_SAMPLES), dtype=np.float32)
    source = np.empty_like(clean)
    centre = slice(SOURCE_CENTRE - PATCH // 2, SOURCE_CENTRE + PATCH // 2)
    for i in range(n):
        for _attempt in range(5):
            if corpus.pool and rng.random() < pool_share:
                pair = corpus.pool[int(rng.integers(len(corpus.pool)))]
            else:
                track = corpus.draw_track(rng)
                pair = (track, track)
            start = int(rng.integers(0, len(pair[0]) - SOURCE_SAMPLES + 1))
            clean[i] = pair[0][start : start + SOURCE_SAMPLES]
            if np.sqrt(np.mean(np.square(clean[i, centre]))) > SILENT_RMS:
                break
        source[i] = pair[1][start : start + SOURCE_SAMPLES]
    babble = np.empty((max(4, n // 4), POS_SAMPLES), dtype=np.float32)
    for i in range(len(babble)):
        track = corpus.draw_track(rng)
        start = int(rng.integers(0, len(track) - POS_SAMPLES + 1))
        babble[i] = track[start : start + POS_SAMPLES]
    # Speech babble: 1 to 6 talkers at random places, random gains (no rows without talkers).
    speech = np.zeros((len(babble) if corpus.talkers else 0, POS_SAMPLES), dtype=np.float32)
    for row in speech:
        for _ in range(int(rng.integers(1, 7))):
            talker = corpus.talkers[int(rng.integers(len(corpus.talkers)))]
            start = int(rng.integers(0, max(1, len(talker) - POS_SAMPLES)))
            piece = talker[start : start + POS_SAMPLES]
            row[: len(piece)] += float(rng.uniform(0.5, 1.0)) * piece
    return {"clean": clean, "source": source, "babble": babble, "speech": speech}


# --- Batched augmentation (torch, on the training device) ------------------------------------------


def _uniform(gen: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=gen, device=gen.device)


def _chance(gen: torch.Generator, n: int, p: float) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=gen.device) < p


def _fft_size(n: int) -> int:
    return 1 << (n - 1).bit_length()


def _speed_and_shift(source: torch.Tensor, shift: torch.Tensor, speed: torch.Tensor) -> torch.Tensor:
    """Resample (linear interpolation) so output sample POS_CENTRE shows source SOURCE_CENTRE + shift,
    played `speed` times faster: (B, SOURCE_SAMPLES) -> (B, POS_SAMPLES)."""
    n = torch.arange(POS_SAMPLES, device=source.device, dtype=torch.float32)
    pos = SOURCE_CENTRE + shift[:, None] + (n[None] - POS_CENTRE) * speed[:, None]
    left = pos.floor().long().clamp(0, source.shape[1] - 2)
    frac = (pos - left).clamp(0, 1)
    a, b = source.gather(1, left), source.gather(1, left + 1)
    return a + (b - a) * frac


def _reverb(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Convolve with a synthetic room: a direct path plus exponentially decaying noise (RT60 in RT60_S)."""
    b, length = x.shape
    rir_len = int(RIR_S * SR)
    t = torch.arange(rir_len, device=x.device) / SR
    rt60 = _uniform(gen, b, *RT60_S)
    tail = torch.randn(b, rir_len, generator=gen, device=x.device) * torch.exp(-6.908 * t / rt60[:, None])
    direct_to_reverb_db = _uniform(gen, b, -6.0, 6.0)
    rir = tail / tail.norm(dim=1, keepdim=True) * 10 ** (-direct_to_reverb_db / 20)[:, None]
    rir[:, 0] += 1.0
    size = _fft_size(length + rir_len)
    y = torch.fft.irfft(torch.fft.rfft(x, size) * torch.fft.rfft(rir, size), size)[:, :length]
    return y * (x.norm(dim=1, keepdim=True) / y.norm(dim=1, keepdim=True).clamp_min(1e-8))


def _add_noise(
    x: torch.Tensor, babble: torch.Tensor, speech: torch.Tensor, gen: torch.Generator, difficulty: float
) -> torch.Tensor:
    """Add white, pink, babble (3-5 other passages summed), background-music (one other passage) or,
    when `speech` has rows, speech-babble noise at an SNR (dB, over the patch) drawn from SNR_DB, its
    floor raised towards the top of the range when `difficulty` < 1. One other passage is a common
    interference in platform uploads (a track under a vlog, a DJ blend, a replication mixed under new
    material): unlike a crowd it has peaks and onsets of its own that a fingerprint must learn to ignore."""
    b, length = x.shape
    dev = x.device
    white = torch.randn(b, length, generator=gen, device=dev)
    spectrum = torch.fft.rfft(torch.randn(b, length, generator=gen, device=dev))
    pink = torch.fft.irfft(spectrum / torch.arange(spectrum.shape[1], device=dev).clamp_min(1).sqrt(), length)
    picks = torch.randint(0, len(babble), (b, 5), generator=gen, device=dev)
    gains = torch.rand(b, 5, generator=gen, device=dev) * (
        torch.arange(5, device=dev) < torch.randint(3, 6, (b, 1), generator=gen, device=dev)
    )
    crowd = torch.zeros(b, len(babble), device=dev).scatter_add_(1, picks, gains) @ babble
    other = babble[torch.randint(0, len(babble), (b,), generator=gen, device=dev)]
    kind = torch.randint(0, 5 if len(speech) else 4, (b, 1), generator=gen, device=dev)
    noise = torch.where(kind == 0, white, torch.where(kind == 1, pink, torch.where(kind == 2, crowd, other)))
    if len(speech):
        talk = speech[torch.randint(0, len(speech), (b,), generator=gen, device=dev)]
        noise = torch.where(kind == 4, talk, noise)
    patch = slice(LEAD, None)
    snr = _uniform(gen, b, SNR_DB[1] - (SNR_DB[1] - SNR_DB[0]) * difficulty, SNR_DB[1])
    scale = (x[:, patch].square().mean(1) / noise[:, patch].square().mean(1).clamp_min(1e-12) / 10 ** (snr / 10)).sqrt()
    return x + noise * scale[:, None]


def _filter(
    x: torch.Tensor,
    gain_db: Callable[[torch.Tensor], torch.Tensor],
    lowpass: torch.Tensor,
    highpass: torch.Tensor,
    order: int = 4,
) -> torch.Tensor:
    """Zero-phase FFT filtering by a per-example dB curve of frequency times Butterworth-shaped band edges (Hz)."""
    size = _fft_size(x.shape[1] + 2048)  # padding keeps the filter's wrap-around off the signal
    f = torch.fft.rfftfreq(size, 1 / SR, device=x.device).clamp_min(1.0)[None]
    gain = 10 ** (gain_db(f) / 20)
    gain = gain / torch.sqrt(1 + (highpass[:, None] / f) ** (2 * order))
    gain = gain / torch.sqrt(1 + (f / lowpass[:, None]) ** (2 * order))
    return torch.fft.irfft(torch.fft.rfft(x, size) * gain, size)[:, : x.shape[1]]


def _equalise(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random tilt (+/-3 dB/octave), two peaks/dips (+/-10 dB), and band-limiting: none, telephone
    (300-3400 Hz), or a random high-pass (40-500 Hz) and low-pass (2-5 kHz)."""
    b = x.shape[0]
    tilt = _uniform(gen, b, -3.0, 3.0)[:, None]
    peaks = [
        (
            _uniform(gen, b, -10, 10)[:, None],
            torch.exp(_uniform(gen, b, math.log(150), math.log(4500)))[:, None],
            _uniform(gen, b, 0.2, 1.0)[:, None],
        )
        for _ in range(2)
    ]

    def curve(f: torch.Tensor) -> torch.Tensor:
        db = tilt * torch.log2(f / 1000)
        for gain, centre, width in peaks:
            db = db + gain * torch.exp(-0.5 * (torch.log2(f / centre) / width) ** 2)
        return db

    kind = torch.randint(0, 3, (b,), generator=gen, device=x.device)
    highpass = torch.where(kind == 1, 300.0, torch.where(kind == 2, _uniform(gen, b, 40, 500), 1.0))
    lowpass = torch.where(kind == 1, 3400.0, torch.where(kind == 2, _uniform(gen, b, 2000, 5000), float(SR)))
    return _filter(x, curve, lowpass, highpass)


def _codec_sim(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Codec-like damage: steep low-pass at 2.5-5 kHz, then uniform quantisation to 5-10 bits of the peak."""
    b = x.shape[0]
    x = _filter(x, lambda f: torch.zeros_like(f), _uniform(gen, b, 2500, 5000), torch.ones(b, device=x.device), 8)
    peak = x.abs().amax(dim=1, keepdim=True).clamp_min(1e-6)
    steps = 2.0 ** (torch.randint(5, 11, (b, 1), generator=gen, device=x.device) - 1)
    return torch.round(x / peak * steps) / steps * peak


def _pitch_tempo(levels: torch.Tensor, semitones: torch.Tensor, tempo: torch.Tensor) -> torch.Tensor:
    """Cut N_FRAMES frames around POS_CENTRE_FRAME from (B, bands, frames) dB levels, stretched by `tempo`
    along time and shifted by `semitones` along the log-frequency axis (bilinear; edge bands repeat)."""
    b, n_bands, n_frames = levels.shape
    dev = levels.device
    frames = POS_CENTRE_FRAME + (torch.arange(N_FRAMES, device=dev) - (N_FRAMES - 1) / 2)[None] * tempo[:, None]
    bands = torch.arange(n_bands, device=dev)[None] - semitones[:, None] * params.EMBED_BANDS_PER_OCTAVE / 12
    gx = (2 * frames / (n_frames - 1) - 1)[:, None, :].expand(b, n_bands, N_FRAMES)
    gy = (2 * bands / (n_bands - 1) - 1)[:, :, None].expand(b, n_bands, N_FRAMES)
    grid = torch.stack([gx, gy], dim=-1)
    return F.grid_sample(levels[:, None], grid, mode="bilinear", padding_mode="border", align_corners=True)[:, 0]


def _apply(x: torch.Tensor, mask: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """`fn` on the rows where `mask` is set (only those are computed)."""
    if bool(mask.any()):
        x = x.clone()
        x[mask] = fn(x[mask])
    return x


def anchors(clean: torch.Tensor) -> torch.Tensor:
    """Clean anchor patches (B, bands, N_FRAMES): the front end on the PATCH samples centred in each window."""
    crop = clean[:, SOURCE_CENTRE - PATCH // 2 : SOURCE_CENTRE + PATCH // 2]
    return embedding.normalise_patches(embedding.band_levels_db(embedding.stft_power(crop)))


def positives(
    source: torch.Tensor,
    babble: torch.Tensor,
    gen: torch.Generator,
    aug: Augmentation,
    difficulty: float = 1.0,
    speech: torch.Tensor | None = None,
) -> torch.Tensor:
    """Augmented positive patches (B, bands, N_FRAMES) for the passages in `source` windows.

    `difficulty` (0..1) scales every degradation's probability but the time shift's, and the SNR range.
    """
    b = source.shape[0]
    chances = dataclasses.asdict(aug)
    del chances["codec_pool"]  # applied when the batch is sampled
    on = {name: _chance(gen, b, p if name == "shift" else p * difficulty) for name, p in chances.items()}
    shift = torch.where(on["shift"], _uniform(gen, b, -_MAX_SHIFT, _MAX_SHIFT), 0.0).round()
    speed = torch.where(on["speed"], _uniform(gen, b, 1 - SPEED_RANGE, 1 + SPEED_RANGE), 1.0)
    x = _speed_and_shift(source, shift, speed)
    x = _apply(x, on["reverb"], lambda v: _reverb(v, gen))
    talk = speech if speech is not None else babble[:0]
    x = _apply(x, on["noise"], lambda v: _add_noise(v, babble, talk, gen, difficulty))
    x = _apply(x, on["eq"], lambda v: _equalise(v, gen))
    x = _apply(x, on["codec_sim"], lambda v: _codec_sim(v, gen))
    power = embedding.stft_power(x)
    # Spectral holes (what perceptual codecs do to masked components): bins 20-40 dB under the frame's peak go.
    depth_db = torch.where(on["holes"], _uniform(gen, b, 20.0, 40.0), float("inf"))[:, None, None]
    power = power * (power >= power.amax(dim=1, keepdim=True) * 10 ** (-depth_db / 10))
    levels = embedding.band_levels_db(power)
    semitones = torch.where(on["pitch"], _uniform(gen, b, -PITCH_SEMITONES, PITCH_SEMITONES), 0.0)
    tempo = torch.where(on["tempo"], _uniform(gen, b, 1 - TEMPO_RANGE, 1 + TEMPO_RANGE), 1.0)
    return embedding.normalise_patches(_pitch_tempo(levels, semitones, tempo))


def nt_xent(a: torch.Tensor, p: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor:
    """NT-Xent loss for unit vectors: anchors a[i] and positives p[i] (B, D) are pairs; all others negatives."""
    z = torch.cat([a, p]).float()
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    n = len(a)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, target)


# --- The training loop ------------------------------------------------------------------------------


def _to_device(batch: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    tensors = {k: torch.from_numpy(v) for k, v in batch.items()}
    if device.type == "cuda":
        return {k: v.pin_memory().to(device, non_blocking=True) for k, v in tensors.items()}
    return tensors


def _embed_pairs(
    net: torch.nn.Module, batch: dict[str, torch.Tensor], gen: torch.Generator, aug: Augmentation, difficulty: float
) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():  # the front end and augmentation need no gradients
        positive = positives(batch["source"], batch["babble"], gen, aug, difficulty, batch.get("speech"))
        x = torch.cat([anchors(batch["clean"]), positive])
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=x.device.type == "cuda"):
        z = net(x[:, None].contiguous(memory_format=torch.channels_last)).float()
    return z[: len(z) // 2], z[len(z) // 2 :]


def self_check(net: torch.nn.Module, batch: dict[str, torch.Tensor], seed: int, aug: Augmentation) -> float:
    """Share of augmented positives whose nearest anchor (among the batch's) is their own: in-batch top-1."""
    was_training = net.training
    net.eval()
    gen = torch.Generator(device=batch["clean"].device).manual_seed(seed)
    a, p = _embed_pairs(net, batch, gen, aug, 1.0)
    net.train(was_training)
    hits = (p @ a.T).argmax(dim=1) == torch.arange(len(a), device=a.device)
    return float(hits.float().mean())


def _lr_factor(progress: float) -> float:
    """Linear warm-up over WARMUP_FRACTION, then cosine decay to 0 at progress 1."""
    if progress < WARMUP_FRACTION:
        return max(progress / WARMUP_FRACTION, 0.01)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (progress - WARMUP_FRACTION) / (1 - WARMUP_FRACTION))))


def save_weights(path: Path, net: torch.nn.Module, config: dict[str, Any], trained: dict[str, Any]) -> str:
    """Write weights and metadata atomically (temp file, then os.replace); returns the model version."""
    state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].numpy().tobytes())
    day = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")
    version = f"nafp{config['embedding_dim']}-{day}-{digest.hexdigest()[:10]}"
    blob = {
        "format": embedding.WEIGHTS_FORMAT,
        "model_version": version,
        "config": config,
        "trained": trained,
        "state_dict": state,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(blob, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return version


@dataclass
class _Run:
    """What one training run needs between steps."""

    net: torch.nn.Module
    optimiser: torch.optim.Optimizer
    gen: torch.Generator
    aug: Augmentation
    learning_rate: float
    out_path: Path
    config: dict[str, Any]
    trained: dict[str, Any]
    losses: list[float] = dataclasses.field(default_factory=list)

    def step(self, batch: dict[str, torch.Tensor], done: float) -> float:
        """One optimiser step at `done` (0..1) of the run: sets the learning rate and the curriculum."""
        for group in self.optimiser.param_groups:
            group["lr"] = self.learning_rate * _lr_factor(done)
        difficulty = min(1.0, START_DIFFICULTY + (1 - START_DIFFICULTY) * done / CURRICULUM_FRACTION)
        loss = nt_xent(*_embed_pairs(self.net, batch, self.gen, self.aug, difficulty))
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.optimiser.step()
        self.losses.append(loss.item())
        return self.losses[-1]


def _loop(
    run: _Run,
    corpus: Corpus,
    steps: int,
    batch_size: int,
    rng: np.random.Generator,
    deadline: float | None,
    progress: Callable[[int, int, float], None] | None,
) -> int:
    """Run up to `steps` steps, stopping before time.monotonic() passes `deadline`; returns the steps done.

    Crops for the next step are cut on a worker thread while the device runs this one (numpy
    copies release the GIL), so a GPU does not wait on the CPU.
    """
    device = next(run.net.parameters()).device
    loop_started, step, step_s, last_save = time.monotonic(), 0, 0.0, time.monotonic()
    with ThreadPoolExecutor(max_workers=1) as prefetch:
        upcoming = prefetch.submit(sample_batch, corpus, batch_size, rng, run.aug.codec_pool)
        while step < steps:
            now = time.monotonic()
            # Stop when two more steps' time (one for the final check and save) would overrun the deadline;
            # the first step always runs, since a model with no training is of no use.
            if step and deadline is not None and now + 2 * step_s >= deadline:
                break
            batch = _to_device(upcoming.result(), device)
            upcoming = prefetch.submit(sample_batch, corpus, batch_size, rng, run.aug.codec_pool)
            done = step / steps
            if deadline is not None:
                done = max(done, (now - loop_started) / max(1e-9, deadline - loop_started))
            loss = run.step(batch, done)
            step += 1
            step_s = time.monotonic() - now
            if progress is not None:
                progress(step, steps, loss)
            if time.monotonic() - last_save > CHECKPOINT_EVERY_S:
                wall = round(time.monotonic() - loop_started, 1)
                save_weights(
                    run.out_path,
                    run.net,
                    run.config,
                    run.trained | {"steps": step, "complete": False, "loop_time_s": wall},
                )
                last_save = time.monotonic()
        upcoming.cancel()
    return step


def _warm_start(net: torch.nn.Module, config: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """Load an earlier run's weights into `net`; returns what they were (version, steps, how trained).

    Raises ValueError when the file cannot be read or was made for another front end or architecture:
    continuing from weights that do not fit would silently train a different model.
    """
    try:
        blob = embedding.read_weights(Path(path))
    except embedding.EmbedderUnavailableError as exc:
        raise ValueError(f"--init-from: {exc}") from exc
    differs = sorted(k for k in config if blob["config"].get(k) != config[k])
    if differs:
        raise ValueError(f"--init-from {path}: trained with other settings ({', '.join(differs)}); cannot continue it")
    net.load_state_dict(blob["state_dict"])
    earlier = blob["trained"]
    return {
        "model_version": str(blob["model_version"]),
        "steps": earlier.get("steps"),
        "batch_size": earlier.get("batch_size"),
        "command": earlier.get("command"),
        "initialised_from": earlier.get("initialised_from"),
    }


def train(
    audio_dir: str | Path,
    out_path: str | Path,
    steps: int,
    batch_size: int,
    device: str | None = None,
    seed: int = 0,
    progress: Callable[[int, int, float], None] | None = None,
    max_files: int | None = None,
    time_budget_s: float | None = None,
    *,
    channels: tuple[int, ...] = DEFAULT_CHANNELS,
    head_hidden: int = DEFAULT_HEAD_HIDDEN,
    learning_rate: float = LEARNING_RATE,
    codec_pool: int = 128,
    speech_pool_s: float = SPEECH_POOL_S,
    augmentation: Augmentation | None = None,
    command: str | None = None,
    log: Callable[[str], None] | None = None,
    init_from: str | Path | None = None,
) -> dict[str, Any]:
    """Train the embedder on the audio under `audio_dir` and save it to `out_path`; returns a summary.

    `steps` optimiser steps of `batch_size` anchor/positive pairs (the loss sees 2 x batch_size
    patches), stopping early (after at least one step) before `time_budget_s` seconds (whole call,
    decoding included) are spent; the cosine schedule and the curriculum follow whichever of steps
    or time runs out first. `codec_pool` segments of CODEC_POOL_SEGMENT_S (at most one per segment
    length of audio) are round-tripped through real codecs at start. `progress(step, steps, loss)`
    is called after every step. Weights are also saved every CHECKPOINT_EVERY_S seconds.
    `init_from` continues from an earlier weights file (same front end and architecture) instead of
    random weights, so a short run adds to earlier training rather than starting over.
    """
    started = time.monotonic()
    log = log or (lambda message: print(message, file=sys.stderr))
    aug = augmentation or Augmentation()
    target = embedding.resolve_device(device)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    corpus = load_corpus(audio_dir, max_files, seed, log)
    # No more pool segments than the corpus holds segment lengths: a tiny corpus needs only a few.
    build_codec_pool(corpus, min(codec_pool, math.ceil(corpus.seconds / CODEC_POOL_SEGMENT_S)), rng, log)
    build_speech_pool(corpus, speech_pool_s, rng, log)
    config = embedding.front_end_config() | {"channels": list(channels), "head_hidden": head_hidden}
    net = embedding.build_network(config)
    initialised_from = _warm_start(net, config, init_from) if init_from is not None else None
    net = net.to(target, memory_format=torch.channels_last).train()
    trained: dict[str, Any] = {
        "command": command or shlex.join(sys.argv),
        "data": str(Path(audio_dir).resolve()),
        "files": len(corpus.tracks),
        "hours": round(corpus.seconds / 3600, 3),
        "codec_pool_segments": len(corpus.pool),
        "speech_babble_s": round(sum(len(t) for t in corpus.talkers) / SR, 1),
        "steps_planned": steps,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "temperature": TEMPERATURE,
        "augmentation": dataclasses.asdict(aug),
        "seed": seed,
        "device": str(target) + (f" ({torch.cuda.get_device_name(target)})" if target.type == "cuda" else ""),
        "torch": str(torch.__version__),
    }
    if initialised_from is not None:
        trained["initialised_from"] = initialised_from
    run = _Run(
        net,
        torch.optim.Adam(net.parameters(), lr=learning_rate),
        torch.Generator(device=target).manual_seed(seed),
        aug,
        learning_rate,
        Path(out_path),
        config,
        trained,
    )
    # A fixed, seeded batch measures retrieval before and after (in-corpus: a sanity check, not a benchmark).
    check = _to_device(
        sample_batch(corpus, min(256, 4 * batch_size), np.random.default_rng(seed + 1), aug.codec_pool), target
    )
    with embedding.torch_threads():
        before = self_check(net, check, seed + 2, aug)
        deadline = started + time_budget_s if time_budget_s is not None else None
        done = _loop(run, corpus, steps, batch_size, rng, deadline, progress)
        after = self_check(net, check, seed + 2, aug)
    tail = run.losses[-max(1, len(run.losses) // 10) :]
    trained |= {
        "steps": done,
        "complete": done >= steps,
        "wall_time_s": round(time.monotonic() - started, 1),
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "first_loss": round(run.losses[0], 4),
        "final_loss": round(float(np.mean(tail)), 4),
        "self_check_top1": {"before": round(before, 4), "after": round(after, 4), "candidates": len(check["clean"])},
    }
    version = save_weights(run.out_path, net, config, trained)
    if run.out_path.resolve() == embedding.DEFAULT_WEIGHTS:
        embedding.default_embedder.cache_clear()  # this process must see the new model
    return {
        "out_path": str(run.out_path),
        "model_version": version,
        "parameters": sum(p.numel() for p in net.parameters()),
        **trained,
    }
