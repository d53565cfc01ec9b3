"""Pitch- and tempo-invariant spectral landmarks: triplets of peaks on a log-frequency axis.

Pure functions on numpy arrays. Units: samples at params.ANALYSIS_SAMPLE_RATE in; time in STFT
frames of params.FRAME_S seconds; pitch in semitones above params.LOG_FMIN_HZ.

Why triplets: on a log-frequency axis a pitch shift (or the pitch half of a speed change) adds the
same number of semitones to every peak, so the *differences* between peaks' pitches do not change.
A tempo change multiplies every time interval by one factor, so the *ratio* of two intervals does
not change. A hash built from two pitch differences and one time ratio (plus coarse, tolerantly
queried context) is therefore the same in a pitch-shifted, time-stretched or sped-up copy; the
shift, the stretch and the offset are recovered afterwards from where the hashes land
(`fingerprint.matching`).

Quantisation boundaries are handled on the query side only: a query feature that lies close to a
quantiser boundary (or, for the coarse context, anywhere inside the pitch and tempo range we search)
is looked up under every bucket it could fall in, so the index stores each landmark once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import scipy.fft
from scipy import sparse

from fingerprint import params


@dataclass(frozen=True)
class Peaks:
    """Spectral peaks in time order: sub-frame time (frames), pitch (semitones above LOG_FMIN_HZ)."""

    frames: np.ndarray  # float32
    pitches: np.ndarray  # float32
    n_frames: int

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(frozen=True)
class Landmarks:
    """Reference landmarks as stored: one hash per triplet, with its anchor's frame and pitch.

    `frames` are whole frames (uint32); `pitches` are in units of 1/PITCH_STORE_STEPS semitone
    (uint16), enough to recover a pitch factor to well under 1 %.
    """

    hashes: np.ndarray  # uint32
    frames: np.ndarray  # uint32
    pitches: np.ndarray  # uint16
    n_frames: int

    def __len__(self) -> int:
        return len(self.hashes)


@dataclass(frozen=True)
class QueryLandmarks:
    """Query landmarks: every hash variant to look up, and the triplet each variant belongs to.

    `anchor_frames` / `anchor_pitches` are per triplet (continuous); `owner[i]` is the triplet of
    hash variant i.
    """

    hashes: np.ndarray  # uint32, one per variant
    owner: np.ndarray  # int32, triplet index of each variant
    anchor_frames: np.ndarray  # float32 per triplet
    anchor_pitches: np.ndarray  # float32 per triplet
    n_frames: int

    def __len__(self) -> int:
        return len(self.anchor_frames)


# --- Spectrogram and peaks ---------------------------------------------------------------------
# Threads per FFT call (-1: every CPU). Batch commands that fingerprint several files at once set
# 1 (fft_threads): the files are parallel, and an FFT pool per worker would oversubscribe the CPUs.
_fft_workers = -1


def fft_threads(threads: int) -> None:
    """Set the threads each spectrogram FFT uses (-1: every CPU)."""
    global _fft_workers
    _fft_workers = threads


@cache
def _log_frequency_filterbank() -> sparse.csr_matrix:
    """Triangular bands spaced 1/BANDS_PER_SEMITONE semitone apart over the STFT bins, shape (bands, bins).

    Each band integrates the bins within one band spacing of its centre (at least the two nearest
    bins), so high bands pool many bins instead of sampling two and ignoring the rest.
    """
    n_bands = log_band_count()
    step = 2.0 ** (1.0 / (12.0 * params.BANDS_PER_SEMITONE))
    centre_hz = params.LOG_FMIN_HZ * step ** np.arange(n_bands)
    bin_hz = params.ANALYSIS_SAMPLE_RATE / params.N_FFT
    n_bins = params.N_FFT // 2 + 1
    bins = np.arange(n_bins) * bin_hz
    rows, cols, vals = [], [], []
    for band, centre in enumerate(centre_hz):
        half_width = max(centre * (step - 1.0), bin_hz)
        weight = np.clip(1.0 - np.abs(bins - centre) / half_width, 0.0, None)
        nonzero = np.flatnonzero(weight)
        rows.extend([band] * len(nonzero))
        cols.extend(nonzero.tolist())
        vals.extend((weight[nonzero] / weight[nonzero].sum()).tolist())
    return sparse.csr_matrix((np.array(vals, np.float32), (rows, cols)), shape=(n_bands, n_bins))


def log_band_count() -> int:
    """Number of log-frequency bands between LOG_FMIN_HZ and LOG_FMAX_HZ."""
    octaves = math.log2(params.LOG_FMAX_HZ / params.LOG_FMIN_HZ)
    return int(octaves * 12 * params.BANDS_PER_SEMITONE) + 1


def log_spectrogram(samples: np.ndarray) -> np.ndarray:
    """Log-frequency magnitude spectrogram in dB, shape (bands, frames).

    Hann-windowed STFT (N_FFT, HOP) pooled into bands spaced 1/BANDS_PER_SEMITONE semitone apart,
    so a pitch shift is a shift along the band axis. (An audfprint-style high-pass filter along
    time was measured on the public suite and lost a third of the hits: it is not used.)
    """
    samples = samples.astype(np.float32, copy=False)
    if len(samples) < params.N_FFT:
        samples = np.pad(samples, (0, params.N_FFT - len(samples)))
    n_frames = 1 + (len(samples) - params.N_FFT) // params.HOP
    window = np.hanning(params.N_FFT).astype(np.float32)
    filterbank = _log_frequency_filterbank()
    out = np.empty((filterbank.shape[0], n_frames), dtype=np.float32)
    # In blocks: a whole track's complex STFT at once would need gigabytes.
    block = 4096
    for start in range(0, n_frames, block):
        stop = min(n_frames, start + block)
        first = start * params.HOP
        chunk = samples[first : (stop - 1) * params.HOP + params.N_FFT]
        frames = np.lib.stride_tricks.sliding_window_view(chunk, params.N_FFT)[:: params.HOP][: stop - start]
        magnitude = np.abs(scipy.fft.rfft(frames * window, axis=1, workers=_fft_workers))
        out[:, start:stop] = filterbank @ magnitude.T
    return 20.0 * np.log10(out + 1e-5)


def _parabolic_offset(left: np.ndarray, centre: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Sub-sample position (-0.5..0.5) of the maximum of a parabola through three samples."""
    denominator = left - 2.0 * centre + right
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = np.where(denominator < 0, 0.5 * (left - right) / denominator, 0.0)
    return np.clip(offset, -0.5, 0.5).astype(np.float32)


def _running_max(values: np.ndarray, width: int, axis: int) -> np.ndarray:
    """Maximum over a centred window of odd `width` along `axis`, edges extended with their own value.

    By doubling: maxima over 2, 4, 8... samples, then two overlapping power-of-two windows cover the
    width, so a window of 25 costs 5 passes of np.maximum, whatever its width.
    """
    half = width // 2
    padding = [(0, 0)] * values.ndim
    padding[axis] = (half, half)
    spans = np.pad(values, padding, mode="edge")
    length, span = spans.shape[axis], 1

    def cut(array: np.ndarray, start: int, size: int) -> np.ndarray:
        index = [slice(None)] * array.ndim
        index[axis] = slice(start, start + size)
        return array[tuple(index)]

    while 2 * span <= width:
        length -= span
        spans = np.maximum(cut(spans, 0, length), cut(spans, span, length))
        span *= 2
    size = values.shape[axis]
    return np.maximum(cut(spans, 0, size), cut(spans, width - span, size))


def neighbourhood_max(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """scipy.ndimage.maximum_filter(values, size, mode="nearest") for odd sizes, the same values at a
    third of its time (the peak picker's largest cost)."""
    return _running_max(_running_max(values, size[0], 0), size[1], 1)


def find_peaks(
    spectrogram_db: np.ndarray,
    pitch_neighbourhood_st: float = params.PEAK_PITCH_NEIGHBOURHOOD_ST,
    time_neighbourhood: int = params.PEAK_TIME_NEIGHBOURHOOD,
    peaks_per_second: float = params.PEAKS_PER_SECOND,
) -> Peaks:
    """Local maxima of a log-frequency spectrogram, refined to sub-band and sub-frame precision.

    A peak dominates a neighbourhood of `pitch_neighbourhood_st` semitones each side by `time_neighbourhood`
    frames each side (the same musical interval at every pitch, so a transposed copy yields the same
    peaks), stands PEAK_MIN_DB_ABOVE_MEDIAN above its frame's median (flat noise yields nothing), and is
    among the strongest `peaks_per_second` of its stretch of audio. References and queries use the
    defaults; a denser query search uses smaller neighbourhoods (denser_peaks).
    """
    _n_bands, n_frames = spectrogram_db.shape
    half_pitch = round(pitch_neighbourhood_st * params.BANDS_PER_SEMITONE)
    neighbourhood = (2 * half_pitch + 1, 2 * time_neighbourhood + 1)
    is_max = spectrogram_db == neighbourhood_max(spectrogram_db, neighbourhood)
    floor = np.median(spectrogram_db, axis=0, keepdims=True) + params.PEAK_MIN_DB_ABOVE_MEDIAN
    is_max &= spectrogram_db > floor
    # Edges have no neighbour to interpolate with.
    is_max[[0, -1], :] = False
    if n_frames > 2:
        is_max[:, [0, -1]] = False
    bands, frames = np.nonzero(is_max)
    if len(bands) == 0:
        empty = np.zeros(0, np.float32)
        return Peaks(empty, empty, n_frames)
    strength = spectrogram_db[bands, frames] - floor[0, frames]
    # Density cap per block of PEAK_BUDGET_BLOCK_S, so quiet passages keep their peaks instead of
    # losing them all to a loud passage elsewhere in the file.
    block_frames = max(1, int(params.PEAK_BUDGET_BLOCK_S / params.FRAME_S))
    per_block = max(1, int(peaks_per_second * block_frames * params.FRAME_S))
    block_of = frames // block_frames
    order = np.lexsort((-strength, block_of))
    block_sorted = block_of[order]
    starts = np.searchsorted(block_sorted, block_sorted, side="left")
    rank = np.arange(len(order)) - starts
    keep = np.sort(order[rank < per_block])
    bands, frames = bands[keep], frames[keep]
    centre = spectrogram_db[bands, frames]
    d_band = _parabolic_offset(spectrogram_db[bands - 1, frames], centre, spectrogram_db[bands + 1, frames])
    if n_frames > 2:
        d_frame = _parabolic_offset(spectrogram_db[bands, frames - 1], centre, spectrogram_db[bands, frames + 1])
    else:
        d_frame = np.zeros(len(frames), np.float32)
    times = frames.astype(np.float32) + d_frame
    pitches = (bands.astype(np.float32) + d_band) / params.BANDS_PER_SEMITONE
    order = np.argsort(times, kind="stable")
    return Peaks(times[order], pitches[order], n_frames)


# --- Triplets ------------------------------------------------------------------------------------
def form_triplets(peaks: Peaks, n_targets: int = params.TRIPLET_TARGETS) -> np.ndarray:
    """Index triples (a, b, c), shape (n, 3): anchor a, then b and c among its `n_targets` next peaks
    (TRIPLET_TARGETS for references; a denser query uses more) inside the target zone
    (TARGET_MIN_DT..TARGET_MAX_DT frames later, within TARGET_MAX_DF_ST semitones), with b at least
    TRIPLET_MIN_GAP frames before c.
    """
    n = len(peaks)
    if n < 3:
        return np.zeros((0, 3), np.int64)
    frames, pitches = peaks.frames, peaks.pitches
    # Candidate targets of each anchor: the next peaks in time order that fall in the zone, at most
    # TARGETS_PER_INSTANT of them from one instant, so the peaks of a single chord onset cannot
    # fill every slot (two targets at one instant give no time ratio, hence no triplet).
    targets = np.full((n, n_targets), -1, dtype=np.int64)
    taken = np.zeros(n, dtype=np.int64)
    last_time = np.full(n, -np.inf, dtype=np.float32)
    same_instant = np.zeros(n, dtype=np.int64)
    anchor_idx = np.arange(n)
    for step in range(1, n):
        candidate = anchor_idx[: n - step] + step
        source = anchor_idx[: n - step]
        dt = frames[candidate] - frames[source]
        if dt.min() > params.TARGET_MAX_DT:
            break
        new_instant = frames[candidate] - last_time[source] >= params.TRIPLET_MIN_GAP
        ok = (
            (dt >= params.TARGET_MIN_DT)
            & (dt <= params.TARGET_MAX_DT)
            & (np.abs(pitches[candidate] - pitches[source]) <= params.TARGET_MAX_DF_ST)
            & (taken[source] < n_targets)
            & (new_instant | (same_instant[source] < params.TARGETS_PER_INSTANT))
        )
        if not ok.any():
            if not (taken < n_targets).any():
                break
            continue
        chosen = source[ok]
        targets[chosen, taken[chosen]] = candidate[ok]
        taken[chosen] += 1
        fresh = new_instant[ok]
        same_instant[chosen] = np.where(fresh, 1, same_instant[chosen] + 1)
        last_time[chosen] = np.where(fresh, frames[candidate[ok]], last_time[chosen])
    out = []
    for i in range(n_targets):
        for j in range(i + 1, n_targets):
            b, c = targets[:, i], targets[:, j]
            valid = (b >= 0) & (c >= 0)
            valid[valid] &= frames[c[valid]] - frames[b[valid]] >= params.TRIPLET_MIN_GAP
            a = anchor_idx[valid]
            out.append(np.stack([a, b[valid], c[valid]], axis=1))
    triplets = np.concatenate(out) if out else np.zeros((0, 3), np.int64)
    return triplets[np.lexsort((triplets[:, 2], triplets[:, 1], triplets[:, 0]))]


def triplet_features(peaks: Peaks, triplets: np.ndarray) -> dict[str, np.ndarray]:
    """The continuous, pitch- and tempo-invariant features of each triplet, plus its coarse context."""
    a, b, c = triplets[:, 0], triplets[:, 1], triplets[:, 2]
    span = peaks.frames[c] - peaks.frames[a]
    return {
        "df_b": peaks.pitches[b] - peaks.pitches[a],  # semitones
        "df_c": peaks.pitches[c] - peaks.pitches[a],  # semitones
        "ratio": (peaks.frames[b] - peaks.frames[a]) / span,  # 0..1, tempo-invariant
        "pitch": peaks.pitches[a],  # semitones above LOG_FMIN_HZ: coarse context
        "log_span": np.log(span),  # log frames: coarse context
    }


# Hash layout, most significant first (20 bits):
#   pitch band of the anchor (3) | log span band (3) | time ratio (4) | df_b (5) | df_c (5)
_DF_LEVELS = 32
_RATIO_LEVELS = 16
_PITCH_BANDS = 8
_SPAN_BANDS = 8
# Distinct hash values (2**20): a catalogue of n postings holds n / HASH_SPACE postings per value at
# best (music spreads far less evenly), and a query gathers that many for each hash it looks up.
HASH_SPACE = _PITCH_BANDS * _SPAN_BANDS * _RATIO_LEVELS * _DF_LEVELS**2


def _df_bucket(df: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(df / params.HASH_DF_STEP_ST) + _DF_LEVELS // 2, 0, _DF_LEVELS - 1).astype(np.int64)


def _ratio_bucket(ratio: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(ratio * params.HASH_RATIO_LEVELS), 0, _RATIO_LEVELS - 1).astype(np.int64)


def _pitch_band(pitch: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(pitch / params.HASH_PITCH_BAND_ST), 0, _PITCH_BANDS - 1).astype(np.int64)


def _span_band(log_span: np.ndarray) -> np.ndarray:
    low = math.log(params.TRIPLET_MIN_SPAN)
    return np.clip(np.floor((log_span - low) / params.HASH_LOG_SPAN_STEP), 0, _SPAN_BANDS - 1).astype(np.int64)


def _pack(pitch_band: np.ndarray, span_band: np.ndarray, ratio: np.ndarray, df_b: np.ndarray, df_c: np.ndarray):  # type: ignore[no-untyped-def]
    return (
        (((pitch_band * _SPAN_BANDS + span_band) * _RATIO_LEVELS + ratio) * _DF_LEVELS + df_b) * _DF_LEVELS + df_c
    ).astype(np.uint32)


def _usable(peaks: Peaks, triplets: np.ndarray) -> np.ndarray:
    span = peaks.frames[triplets[:, 2]] - peaks.frames[triplets[:, 0]]
    return span >= params.TRIPLET_MIN_SPAN


def extract(samples: np.ndarray) -> Landmarks:
    """Reference landmarks of mono float32 audio at params.ANALYSIS_SAMPLE_RATE: one hash per triplet."""
    peaks = find_peaks(log_spectrogram(samples))
    triplets = form_triplets(peaks)
    triplets = triplets[_usable(peaks, triplets)]
    f = triplet_features(peaks, triplets)
    hashes = _pack(
        _pitch_band(f["pitch"]),
        _span_band(f["log_span"]),
        _ratio_bucket(f["ratio"]),
        _df_bucket(f["df_b"]),
        _df_bucket(f["df_c"]),
    )
    anchors = triplets[:, 0]
    frames = np.round(peaks.frames[anchors]).astype(np.uint32)
    pitches = np.round(peaks.pitches[anchors] * params.PITCH_STORE_STEPS).astype(np.uint16)
    return Landmarks(hashes=hashes, frames=frames, pitches=pitches, n_frames=peaks.n_frames)


def _fine_variants(value: np.ndarray, bucket_of, margin: float, step: float) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Buckets of `value` and of value +- margin*step (where they differ): (row index, bucket)."""
    rows = [np.arange(len(value))]
    buckets = [bucket_of(value)]
    for delta in (-margin * step, margin * step):
        other = bucket_of(value + delta)
        differs = np.flatnonzero(other != buckets[0])
        rows.append(differs)
        buckets.append(other[differs])
    return np.concatenate(rows), np.concatenate(buckets)


def _range_variants(low: np.ndarray, high: np.ndarray, bucket_of) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Every bucket between bucket_of(low) and bucket_of(high), inclusive: (row index, bucket)."""
    first, last = bucket_of(low), bucket_of(high)
    rows, buckets = [], []
    for extra in range(int((last - first).max(initial=0)) + 1):
        ok = np.flatnonzero(first + extra <= last)
        rows.append(ok)
        buckets.append(first[ok] + extra)
    return np.concatenate(rows), np.concatenate(buckets)


@dataclass(frozen=True)
class QueryTriplets:
    """A query's peaks, its usable triplets and their features, before any hash expansion."""

    peaks: Peaks
    triplets: np.ndarray
    features: dict[str, np.ndarray]


def query_triplets(samples: np.ndarray) -> QueryTriplets:
    """The analysis a query's hashes are expanded from (once, whatever ranges are searched)."""
    return with_targets(find_peaks(log_spectrogram(samples)), params.TRIPLET_TARGETS)


def denser_peaks(samples: np.ndarray) -> Peaks:
    """A query's peaks over smaller neighbourhoods than the references' (params.DENSE_PEAK_*): a superset
    of find_peaks' own where its density cap does not bind, for the last of the denser searches."""
    return find_peaks(
        log_spectrogram(samples),
        params.DENSE_PEAK_PITCH_NEIGHBOURHOOD_ST,
        params.DENSE_PEAK_TIME_NEIGHBOURHOOD,
        params.DENSE_PEAKS_PER_SECOND,
    )


def with_targets(peaks: Peaks, n_targets: int) -> QueryTriplets:
    """A query's triplets from its peaks, each anchor paired with its `n_targets` next peaks in the
    zone: more than the references' TRIPLET_TARGETS makes a denser query (see DENSE_TRIPLET_TARGETS)."""
    triplets = form_triplets(peaks, n_targets)
    triplets = triplets[_usable(peaks, triplets)]
    return QueryTriplets(peaks, triplets, triplet_features(peaks, triplets))


def extract_query(samples: np.ndarray, search: params.SearchRange = params.COVERED) -> QueryLandmarks:
    """Query landmarks: each triplet's hash under every bucket a distorted copy could have used (see expand_query)."""
    return expand_query(query_triplets(samples), search)


def expand_query(query: QueryTriplets, search: params.SearchRange = params.COVERED) -> QueryLandmarks:
    """Each of the query's triplets hashed under every bucket a distorted copy could have used.

    The coarse pitch band is expanded over +-search.pitch_st semitones and the span band over the
    tempo range 1/search.tempo_factor..search.tempo_factor; the fine features over their measurement jitter.
    """
    peaks, triplets, f = query.peaks, query.triplets, query.features
    n = len(triplets)
    # Expand one feature at a time; each step multiplies rows that sit near a boundary.
    owner = np.arange(n)
    columns: dict[str, np.ndarray] = {}
    rows, band = _range_variants(f["pitch"] - search.pitch_st, f["pitch"] + search.pitch_st, _pitch_band)
    owner, columns["pitch"] = owner[rows], band
    log_tempo = math.log(search.tempo_factor)
    rows, band = _range_variants(f["log_span"][owner] - log_tempo, f["log_span"][owner] + log_tempo, _span_band)
    owner, columns = owner[rows], {k: v[rows] for k, v in columns.items()}
    columns["span"] = band
    for name, bucket_of, margin, step in (
        ("ratio", _ratio_bucket, params.HASH_RATIO_MARGIN, 1.0 / params.HASH_RATIO_LEVELS),
        ("df_b", _df_bucket, params.HASH_DF_MARGIN, params.HASH_DF_STEP_ST),
        ("df_c", _df_bucket, params.HASH_DF_MARGIN, params.HASH_DF_STEP_ST),
    ):
        rows, bucket = _fine_variants(f[name][owner], bucket_of, margin, step)
        owner, columns = owner[rows], {k: v[rows] for k, v in columns.items()}
        columns[name] = bucket
    hashes = _pack(columns["pitch"], columns["span"], columns["ratio"], columns["df_b"], columns["df_c"])
    anchors = triplets[:, 0]
    return QueryLandmarks(
        hashes=hashes,
        owner=owner.astype(np.int32),
        anchor_frames=peaks.frames[anchors].astype(np.float32),
        anchor_pitches=peaks.pitches[anchors].astype(np.float32),
        n_frames=peaks.n_frames,
    )
