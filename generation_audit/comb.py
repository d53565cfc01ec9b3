"""Decoder-comb analysis: pure numpy/scipy, no Django, no torch.

Physics. A stride-k transposed convolution is zero-insertion by k followed by a stride-1
convolution. Whatever is constant (or slowly varying) in its input - biases, the mean level
activations leave - becomes a pattern that repeats every k output samples; stacked layers
compound, so the waveform carries a component periodic in prod(strides) samples. Its spectrum is
a line comb at multiples of  spacing = sample_rate / prod(strides)  (the latent frame rate).
Music has no reason to put many narrow lines exactly on such a grid, all the way up the band.

Method (designed here from that physics, not from any published code):
1. time-averaged high-resolution power spectrum at the native rate: Hann segments of ~0.7 s
   (bins ~1-1.5 Hz), the per-bin mean over segments of the power in dB (the mean of logs: a loud
   note or transient in a few segments moves it far less than a mean of powers would, and it is
   a less noisy estimate than the median). Longer segments resolve the exact lines that held
   notes and looped samples leave in real music and raised real excerpts' statistics more than
   decoded ones' (measured on the corpus' held-out quarter: segments of 0.75 s, 1.5 s, 3 s, 6 s);
2. whitening: subtract a running median over +-WHITEN_HALF_WIDTH_HZ, so every bin reads as
   "dB above its local floor" whatever the music's spectral tilt;
3. for every plausible spacing (stride products at common decoder rates), read the strongest
   whitened bin within +-TOOTH_TOLERANCE_BINS of each tooth m * spacing in the upper part of the
   band where the file has content, and compare with the same read-out on off-grid combs shifted
   by fractions of a spacing (the null: what any grid collects by chance on this very spectrum);
4. the comb statistic is the mean tooth height minus the mean null height (dB), scaled by the
   null's spread as a t-like statistic; the best spacing wins, and the finest spacing it is a
   multiple of (whose own teeth stand out too) is reported as the latent frame rate;
5. a long file is cut into windows of at least WINDOW_S, steps 1-4 run on each, and a spacing's
   statistic is the mean of its windows' statistics. Averaged over a whole track, any faint but
   steady line in real music (a 60 Hz buzz, a held synth note) rises ever further above the
   spectrum's noise, so the statistic of real music grew with duration (on the bench corpus the
   largest of 83 tracks went from 10.5 over its first 20 s to 12.7 over 180 s), while the decision
   point is calibrated on 20 s excerpts; a mean of per-window statistics keeps their scale at any
   length, and a decoder's comb, present in every window, keeps its full statistic.

Limits: a resampling pitch/speed change moves the comb off the grid; a comb no stronger than the
music's own bin-to-bin fluctuations is not seen (decoders whose band the music fills); real
periodicities (looped single-cycle waveforms, block-based effects, codec frame structure) can
land on a decoder's grid, which is why the decision point is calibrated on real music.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

# --- Spectrum ---------------------------------------------------------------------------------
TARGET_BIN_HZ = 1.5  # Hz per bin at most: a 21.5 Hz comb still spans over 14 bins per tooth
SEGMENT_HOP_FRACTION = 0.5
MIN_SEGMENTS = 4  # fewer segments than this and the mean is too noisy: shorten the segment
WINDOW_S = 20.0  # s per analysis window: the excerpt length the decision point is calibrated on
SILENT_SEGMENT_DB = -100.0  # segments whose loudest bin is below this (dB re full scale) are gaps, not music
# A segment holding a drop-out, a run of digital silence at least GAP_MIN_S long between sounding audio
# (concealed packet loss, an edit, a hard cut in from a silent lead-in), is left out: the music gated
# by the gap is the music's spectrum convolved with the gate's, whose ripple every 1 / gap Hz lines up
# with every comb spacing that is a multiple of it. Real music with 100 ms drop-outs once a second read
# 10.2 at 120 Hz (9.0-9.2 at 40 and 50 Hz), a false positive; without its gapped segments, 0.9.
GAP_MIN_S = 0.002
GAP_LEVEL = 1.5 / 32768  # |sample| at or under this is digital silence (under one 16-bit step, dither aside)
WHITEN_HALF_WIDTH_HZ = 25.0  # running-median half width: wider than a tooth, narrower than music's tilt
# --- Comb search ------------------------------------------------------------------------------
TOOTH_TOLERANCE_BINS = 1  # +-bins around each tooth: scalloping and rounding of the grid
MIN_TOOTH_HZ = 1500.0  # below this, sustained notes and mains-hum harmonics crowd the spectrum
MIN_TEETH = 12  # a comb must be checked on at least this many teeth to count
UPPER_BAND_FRACTION = 0.4  # teeth are read from this fraction of the content band's top frequency upwards
FUNDAMENTAL_MIN_T = 5.0  # a finer grid's own teeth must stand out this much to be the latent frame rate
NULL_OFFSETS = (0.23, 0.31, 0.39, 0.47, 0.55, 0.63, 0.71, 0.79)  # off-grid shifts, fractions of a spacing
CONTENT_FLOOR_DB = -100.0  # bins below this absolute level (dB re full scale power) are empty band
# Decoder rates (Hz) and stride products (samples per latent frame) a comb may come from.
DECODER_RATES = (16000, 22050, 24000, 32000, 44100, 48000)
# Only products decoders are known to use (codec and vocoder hops): every extra candidate is one more
# chance for a real periodicity (a looped waveform, a block-based effect) to fall on a grid by luck.
STRIDE_PRODUCTS = (64, 128, 160, 200, 240, 256, 300, 320, 400, 441, 480, 512, 600, 640, 960, 1024, 2048)
MIN_SPACING_HZ = 15.0
MAX_SPACING_HZ = 800.0
# Published or well-known decoders, for naming the family a spacing fits (examples, not proof).
KNOWN_DECODERS = {
    (16000, 320): "DAC 16 kHz (strides 8*5*4*2)",
    (22050, 256): "HiFi-GAN / MelGAN-style vocoder, 22.05 kHz, hop 256 (8*8*2*2)",
    (24000, 256): "BigVGAN-style vocoder, 24 kHz, hop 256",
    (24000, 320): "EnCodec / SoundStream / DAC 24 kHz (8*5*4*2)",
    (32000, 640): "EnCodec 32 kHz as used by MusicGen (8*5*4*4)",
    (44100, 512): "DAC 44.1 kHz (8*8*4*2) or a 44.1 kHz vocoder with hop 512",
    (44100, 2048): "Stable Audio Open VAE (2*4*4*8*8)",
    (48000, 320): "EnCodec 48 kHz (8*5*4*2)",
}


@dataclass(frozen=True)
class Spectrum:
    """Whitened time-averaged spectrum: dB above the local floor per bin, bin width (Hz), usable band (Hz)."""

    residual_db: np.ndarray
    level_db: np.ndarray
    bin_hz: float
    band_low_hz: float
    band_high_hz: float
    segments: int


@dataclass(frozen=True)
class CombScore:
    """How well one spacing's comb stands above chance on a spectrum."""

    spacing_hz: float
    statistic: float  # t-like: (mean tooth - mean null) / (null spread / sqrt(teeth))
    excess_db: float  # mean tooth height minus mean null height (dB)
    teeth: int
    tooth_freqs_hz: np.ndarray
    tooth_heights_db: np.ndarray


def candidate_spacings() -> list[float]:
    """Every distinct spacing (Hz) that DECODER_RATES / STRIDE_PRODUCTS give inside the searched range."""
    spacings = {round(rate / p, 4) for rate in DECODER_RATES for p in STRIDE_PRODUCTS}
    return sorted(s for s in spacings if MIN_SPACING_HZ <= s <= MAX_SPACING_HZ)


def families_for(spacing_hz: float, tolerance: float = 0.002) -> list[dict[str, object]]:
    """Decoder rate / stride-product pairs whose latent frame rate matches `spacing_hz` (relative tolerance)."""
    fits = []
    for rate in DECODER_RATES:
        for p in STRIDE_PRODUCTS:
            if abs(rate / p - spacing_hz) <= tolerance * spacing_hz:
                fit: dict[str, object] = {"sample_rate_hz": rate, "stride_product": p}
                if (rate, p) in KNOWN_DECODERS:
                    fit["example"] = KNOWN_DECODERS[(rate, p)]
                fits.append(fit)
    return fits


def window_spectra(samples: np.ndarray, sample_rate: int) -> list[Spectrum]:
    """Whitened mean-over-segments log power spectra of mono `samples` (Hz rate), one per window of at
    least WINDOW_S (one for anything shorter than two windows), all checked over the content band of
    the whole file."""
    nperseg = 1 << int(np.ceil(np.log2(sample_rate / TARGET_BIN_HZ)))
    while nperseg > 4096 and len(samples) < nperseg * (1 + (MIN_SEGMENTS - 1) * SEGMENT_HOP_FRACTION):
        nperseg //= 2
    frames = _segment_log_spectra(samples, nperseg, int(nperseg * SEGMENT_HOP_FRACTION), sample_rate)
    bin_hz = sample_rate / nperseg
    width = 2 * int(WHITEN_HALF_WIDTH_HZ / bin_hz) + 1
    windows = max(1, int(len(samples) / sample_rate // WINDOW_S))
    levels = [_mean_level(part) for part in np.array_split(frames, windows)]
    floors = [ndimage.median_filter(level, size=width, mode="nearest") for level in levels]
    whole_floor = floors[0] if windows == 1 else ndimage.median_filter(_mean_level(frames), size=width, mode="nearest")
    low, high = _content_band(whole_floor, bin_hz, sample_rate)
    return [
        Spectrum(level - floor, level, bin_hz, low, high, len(part))
        for level, floor, part in zip(levels, floors, np.array_split(frames, windows), strict=True)
    ]


def _segment_log_spectra(samples: np.ndarray, nperseg: int, hop: int, sample_rate: int) -> np.ndarray:
    """(segments, bins) power in dB of Hann-windowed, mean-removed segments of `samples`, less those
    holding a drop-out (see GAP_MIN_S; all of them if every segment holds one)."""
    window = signal.get_window("hann", nperseg).astype(np.float32)
    x = np.asarray(samples, dtype=np.float32)
    if len(x) < nperseg:
        x = np.pad(x, (0, nperseg - len(x)))
    scale = 1.0 / float(np.sum(window**2))
    min_gap = max(1, round(GAP_MIN_S * sample_rate))
    frames, gapped = [], []
    for start in range(0, max(1, len(x) - nperseg + 1), hop):
        seg = x[start : start + nperseg]
        spec = np.fft.rfft((seg - seg.mean()) * window)
        frames.append(10 * np.log10(scale * (spec.real**2 + spec.imag**2) + 1e-20))
        gapped.append(_holds_gap(seg, min_gap))
    kept = [frame for frame, gap in zip(frames, gapped, strict=True) if not gap]
    return np.stack(kept or frames).astype(np.float32)


def _holds_gap(segment: np.ndarray, min_run: int) -> bool:
    """Whether `segment` holds a run of at least `min_run` samples of digital silence and also sounds
    (a segment of silence only is no drop-out: _mean_level leaves it out)."""
    quiet = np.abs(segment) <= GAP_LEVEL
    if not quiet.any() or quiet.all():
        return False
    edges = np.diff(np.concatenate([[0], quiet.view(np.int8), [0]]))
    return bool((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max() >= min_run)


def _mean_level(frames: np.ndarray) -> np.ndarray:
    """Per-bin mean of the segments' dB, leaving out segments of digital silence (they would drag every
    bin's mean down alike and hide the band's real edge)."""
    sounding = frames.max(axis=1) > SILENT_SEGMENT_DB
    return (frames[sounding] if sounding.any() else frames).mean(axis=0)


def _content_band(floor_db: np.ndarray, bin_hz: float, sample_rate: int) -> tuple[float, float]:
    """The band (Hz) where the file has content: up to where the floor drops into digital silence or a codec's cut.

    A lossy codec's low-pass or a band-limited source leaves a shelf tens of dB down; teeth above
    it would be read on noise (or nothing), so they are not checked.
    """
    freqs = np.arange(len(floor_db)) * bin_hz
    mid = (freqs > 1000) & (freqs < 4000)
    reference = float(np.median(floor_db[mid])) if mid.any() else float(np.median(floor_db))
    alive = floor_db > max(CONTENT_FLOOR_DB, reference - 60.0)
    # The highest frequency below which at least 98 % of bins from 1 kHz on are alive.
    above = freqs >= 1000
    alive_above = alive & above
    cum_dead = np.cumsum(~alive_above & above)
    ok = np.nonzero(alive_above & (cum_dead <= 0.02 * np.maximum(1, np.cumsum(above))))[0]
    high = float(freqs[ok[-1]]) if ok.size else 0.0
    return 0.0, min(high, 0.98 * sample_rate / 2)


def _tooth_heights(residual: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Strongest residual (dB) within +-TOOTH_TOLERANCE_BINS of each fractional bin position."""
    centre = np.rint(positions).astype(np.int64)
    offsets = np.arange(-TOOTH_TOLERANCE_BINS, TOOTH_TOLERANCE_BINS + 1)
    idx = np.clip(centre[:, None] + offsets[None, :], 0, len(residual) - 1)
    return residual[idx].max(axis=1)


def _t_statistic(teeth: np.ndarray, nulls: np.ndarray) -> tuple[float, float]:
    """(t-like statistic, excess dB) of tooth heights against null heights on the same teeth."""
    excess = float(teeth.mean() - nulls.mean())
    spread = float(nulls.std()) + 1e-6
    return excess / (spread / np.sqrt(teeth.size)), excess


def _t_statistic_at(spectrum: Spectrum, m: np.ndarray, spacing_hz: float) -> float:
    """The t-like statistic of teeth m * spacing_hz (Hz) on one spectrum against their off-grid null."""
    teeth = _tooth_heights(spectrum.residual_db, m * spacing_hz / spectrum.bin_hz)
    nulls = np.stack(
        [_tooth_heights(spectrum.residual_db, (m + u) * spacing_hz / spectrum.bin_hz) for u in NULL_OFFSETS]
    )
    return _t_statistic(teeth, nulls)[0]


def score_spacing(spectrum: Spectrum, spacing_hz: float) -> CombScore | None:
    """Comb statistic for one spacing (Hz) on `spectrum`, or None when too few teeth fit in its band.

    Only teeth in the upper part of the content band count (from UPPER_BAND_FRACTION of its top,
    and never below MIN_TOOTH_HZ): there a decoder's comb stands clear of the music, while a
    sustained note's harmonics, the one real source of line combs, have faded, and would have to
    hold their pitch to 0.01 % to stay on a grid of 0.7 Hz teeth at the 20th harmonic and beyond.
    """
    low = max(MIN_TOOTH_HZ, UPPER_BAND_FRACTION * spectrum.band_high_hz)
    high = spectrum.band_high_hz - spacing_hz
    m = np.arange(int(np.ceil(low / spacing_hz)), int(np.floor(high / spacing_hz)) + 1)
    if m.size < MIN_TEETH:
        return None
    teeth = _tooth_heights(spectrum.residual_db, m * spacing_hz / spectrum.bin_hz)
    nulls = np.stack(
        [_tooth_heights(spectrum.residual_db, (m + u) * spacing_hz / spectrum.bin_hz) for u in NULL_OFFSETS]
    )
    statistic, excess = _t_statistic(teeth, nulls)
    return CombScore(spacing_hz, statistic, excess, int(m.size), m * spacing_hz, teeth)


def search(spectra: list[Spectrum], spacings: list[float] | None = None) -> list[CombScore]:
    """Score every candidate spacing on every window and average; best (highest statistic) first."""
    scores = [_mean_score(spectra, s) for s in (spacings or candidate_spacings())]
    return sorted((s for s in scores if s is not None), key=lambda s: s.statistic, reverse=True)


def _mean_score(spectra: list[Spectrum], spacing_hz: float) -> CombScore | None:
    """One spacing's scores on each window, averaged (statistic, excess and each tooth's height)."""
    scores = [score_spacing(spectrum, spacing_hz) for spectrum in spectra]
    if any(score is None for score in scores):
        return None
    first = scores[0]
    assert first is not None
    if len(scores) == 1:
        return first
    return CombScore(
        spacing_hz,
        float(np.mean([sc.statistic for sc in scores if sc is not None])),
        float(np.mean([sc.excess_db for sc in scores if sc is not None])),
        first.teeth,
        first.tooth_freqs_hz,
        np.mean([sc.tooth_heights_db for sc in scores if sc is not None], axis=0),
    )


def fundamental(spectra: list[Spectrum], ranked: list[CombScore]) -> CombScore:
    """The finest spacing the best comb is a multiple of, when the teeth it adds stand out too.

    A decoder's comb at spacing s also scores at 2s, 4s ... (subsets of its teeth), and a finer
    grid s/k scores about t/sqrt(k) just by containing the best comb's teeth. So, walking from the
    best spacing down to finer ones, a finer spacing is taken only if its *own* teeth (those not on
    the grid taken so far) beat their off-grid null by FUNDAMENTAL_MIN_T; the last one taken is the
    latent frame rate. (Own teeth are counted against the grid taken so far, not the best one: a
    75 Hz comb's teeth are not "own" teeth of a 25 Hz grid just because the best spacing was 300 Hz.)
    """
    chosen = ranked[0]
    for cand in sorted(ranked[1:], key=lambda c: c.spacing_hz, reverse=True):
        ratio = chosen.spacing_hz / cand.spacing_hz
        k = round(ratio)
        if cand.spacing_hz >= chosen.spacing_hz or k < 2 or abs(ratio - k) > 1e-3:
            continue
        m = np.rint(cand.tooth_freqs_hz / cand.spacing_hz).astype(np.int64)
        own = m % k != 0
        t_own = np.mean([_t_statistic_at(spectrum, m[own], cand.spacing_hz) for spectrum in spectra])
        if t_own >= FUNDAMENTAL_MIN_T:
            chosen = cand
    return chosen
