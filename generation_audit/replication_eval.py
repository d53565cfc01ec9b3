"""Measure the replication screen on real music: recall on generated-style outputs that embed a
catalogue excerpt (5, 10, 30 s; as is, a semitone higher, mixed 6 dB under other music) and the
false-positive rate on outputs built the same way from music outside the catalogue.

The corpus is split by piece (a track and its versions, see `family`): every holdout_every-th piece
is held out (the "generated" material around and over the excerpts, and every negative); the rest
are registered as references through
fingerprint.actions, in whatever data directory and database the caller has set up (the
eval_replication command uses throwaway ones). Each output is written as a WAV file, decoded and
screened as generation_audit.output_audit does, and attributed.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from catalog.models import Label, Recording
from fingerprint import actions as fingerprint_actions
from fingerprint import audio, landmarks, params
from generation_audit import attribution, degradations, replication

SR = 22050  # Hz: outputs are built and written at this rate (the engine analyses at 11.025 kHz)
LENGTHS_S = (5.0, 10.0, 30.0)
VARIANTS = ("plain", "pitch+1st", "mixed-6dB")
CONTEXT_S = 10.0  # held-out material before and after the excerpt (s)
MIX_LEVEL_DB = -6.0  # the excerpt's loudness under the other material (dB)
PITCH_SEMITONES = 1.0
SPLICE_FADE_S = 0.02  # crossfade at each join: a click is a broadband peak no generator would make
MIN_EXCERPT_LEVEL = 0.3  # an excerpt's RMS must reach this fraction of its track's (no near-silence)
VERSION_SUFFIX = re.compile(r"[-_](enhanced|revisited|remaster(ed)?|remix|old|epic|alt|edit|v\d+)$")
TARGET_RECALL = 0.95  # at 10 s, in every variant
TARGET_FP = 0.01
# A span reported at pitch and tempo 1 whose output audio correlates with the reference audio at the
# reported offset at least this much (normalised, best lag within SHARED_MAX_LAG_S) is material the
# two corpus tracks really share (a common loop, outro or sting): the screen was right. Unrelated
# music rarely correlates over 0.15: 300 random pairs of 3, 5 and 10 s spans of different corpus
# tracks, best lag within 0.1 s, gave a median of 0.03, a 99th percentile of 0.13 and a largest of
# 0.17. Shared passages in the corpus read 0.34-0.99 at the offsets the screen reports.
SHARED_MIN_CORRELATION = 0.3
SHARED_MAX_LAG_S = 0.1
# ...or whose band pattern correlates with the reference's at least this much (shared_pattern_correlation):
# the same music in another mix or master, whose waveform does not correlate. 600 random pairs of 3, 5
# and 10 s spans of unrelated corpus tracks (other pieces), best lag within 0.1 s, gave a median of
# 0.02, a 99th percentile of 0.28 and a largest of 0.43. warzone2100-track4 ends as tracks 5 and 6 do:
# the screen's span of track5 there reads 0.84 (waveform 0.90), its span of track6 0.71 (waveform 0.06
# at the reported offset: a false positive until this test).
SHARED_MIN_PATTERN_CORRELATION = 0.6
# Spans reported at pitch and tempo within this of 1 are compared: the engine's factors carry up to
# about half a percent of measurement error on a few seconds (a span of warzone2100-track4's ending,
# which is track5's 408-412 s sample for sample, correlation 0.9, was reported at tempo 0.995), while
# the nearest real change the screen meets, a semitone, is a factor of 1.059.
SHARED_MAX_FACTOR_ERROR = 0.01


@dataclass(frozen=True)
class Track:
    """One corpus file."""

    id: str
    path: Path
    duration_s: float


@dataclass(frozen=True)
class EvalConfig:
    """What to measure: corpus, catalogue size (0: every track not held out), outputs per cell, seed."""

    corpus: Path
    max_references: int = 0
    per_cell: int = 20
    seed: int = 20261201
    holdout_every: int = 4
    lengths: tuple[float, ...] = LENGTHS_S
    variants: tuple[str, ...] = VARIANTS


@dataclass
class Row:
    """One screened output and what the screen and the attribution said of it."""

    variant: str
    length_s: float
    truth: str | None  # the catalogue track embedded, None for a negative
    detected: bool = False  # a span of the truth, overlapping where it was embedded
    other_recordings: int = 0  # spans of any other recording (all of them false)
    span_s: float = 0.0
    # Every engine match before the replication floor, to measure the floor: the longest span of
    # the truth where it was embedded (0 when none), and the length of each false one.
    truth_span_s: float = 0.0
    false_spans_s: list[float] = field(default_factory=list)
    material: str = ""  # the tracks the output was made of: excerpt (at its start) in host
    false_matches: list[str] = field(default_factory=list)  # what each false span was, for inspection
    shared: list[str] = field(default_factory=list)  # spans of material the corpus tracks share (not false)
    start_error_s: float | None = None  # |found - true| start in the reference
    pitch_factor: float | None = None
    attributed: list[str] = field(default_factory=list)  # tracks by share, largest first
    screen_ms: float = 0.0


def corpus_tracks(corpus: Path) -> list[Track]:
    """The corpus's tracks (manifest.csv: id, duration_s; audio in wav/<id>.wav), sorted by id."""
    with (corpus / "manifest.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    tracks = [Track(r["id"], corpus / "wav" / f"{r['id']}.wav", float(r["duration_s"])) for r in rows]
    return sorted((t for t in tracks if t.path.exists()), key=lambda t: t.id)


def family(track_id: str) -> str:
    """The piece a track is a version of: versions (an "enhanced" remaster, a "revisited" remake, an
    "old" or "epic" arrangement) share their music, so one held out while another is catalogued
    would make a true match count as a false positive."""
    return VERSION_SUFFIX.sub("", track_id)


def split(tracks: list[Track], cfg: EvalConfig) -> tuple[list[Track], list[Track]]:
    """(catalogue, held out): every holdout_every-th piece (with all its versions) held out, the
    catalogue capped at max_references."""
    families = sorted({family(t.id) for t in tracks})
    out = {f for i, f in enumerate(families) if i % cfg.holdout_every == cfg.holdout_every - 1}
    held = [t for t in tracks if family(t.id) in out]
    catalogue = [t for t in tracks if family(t.id) not in out]
    return (catalogue[: cfg.max_references] if cfg.max_references else catalogue), held


def register(catalogue: list[Track], progress: Callable[[str], None]) -> dict[int, str]:
    """Register the catalogue tracks as references of new recordings; recording id -> track id."""
    label = Label.objects.create(name="Replication evaluation")
    todo = []
    for index, track in enumerate(catalogue, start=1):
        recording = Recording.objects.create(title=track.id, isrc=f"ZZEVL26{index:05d}", label=label)
        todo.append(fingerprint_actions.Registration(recording, track.path, track.id))
    done = fingerprint_actions.register_references(todo, progress=lambda r: progress(r.original_name))
    failed = [f"{r.original_name}: {r.error}" for r in done if r.error is not None]
    if failed:
        raise RuntimeError("references could not be registered: " + "; ".join(failed))
    return {r.recording.pk: r.original_name for r in done}


def _excerpt(track: Track, length_s: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A non-silent excerpt of `length_s` (s) from a random start, and that start (s)."""
    level = None
    for _ in range(20):
        start = float(rng.uniform(0, max(track.duration_s - length_s - 0.5, 0.0)))
        part = audio.decode_span(track.path, start, length_s, SR)
        if level is None:  # the track's level, from a long middle stretch
            middle = max(track.duration_s / 2 - 30, 0)
            level = float(np.sqrt(np.mean(audio.decode_span(track.path, middle, 60.0, SR) ** 2)))
        if np.sqrt(np.mean(part**2)) >= MIN_EXCERPT_LEVEL * level:
            return part, start
    return part, start


def pitch_method() -> str:
    """How pitch_shift raises the pitch on this machine."""
    return "Rubber Band (tempo kept)" if shutil.which("rubberband") else "speed change (rubberband not installed)"


def pitch_shift(samples: np.ndarray, semitones: float) -> np.ndarray:
    """`samples` (at SR) `semitones` higher at the same tempo (Rubber Band), or, when the rubberband
    tool is not installed, by a speed change (pitch and tempo together)."""
    if shutil.which("rubberband") is None:
        return degradations.pitch_shift_by_resampling(samples, SR, semitones)
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "in.wav", Path(folder) / "out.wav"
        source.write_bytes(audio.encode(samples, SR, "wav"))
        subprocess.run(
            ["rubberband", "-q", "-p", str(semitones), str(source), str(target)], check=True, capture_output=True
        )
        shifted = audio.decode(target, SR, max_bytes=1 << 30, max_duration_s=3600).samples
    return shifted[: len(samples)]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)) + 1e-9)


def build_output(excerpt: np.ndarray, host: np.ndarray, variant: str) -> np.ndarray:
    """Generated-style output: `host` (held-out music, CONTEXT_S longer on each side than the
    excerpt) with `excerpt` spliced in at CONTEXT_S at the host's level, or mixed under it."""
    host_part, excerpt_part = output_parts(excerpt, host, variant)
    return host_part + excerpt_part


def output_parts(excerpt: np.ndarray, host: np.ndarray, variant: str) -> tuple[np.ndarray, np.ndarray]:
    """The two parts `build_output` sums, each as it sounds in the output: the host (less what a splice
    replaces) and the excerpt in its place. Shared material is recognised on each part alone, since
    a passage mixed under other music correlates with its source less than the passage itself does."""
    at, n = int(CONTEXT_S * SR), len(excerpt)
    host_part = host.copy()
    excerpt_part = np.zeros_like(host)
    middle = host[at : at + n]
    if variant.startswith("mixed"):
        excerpt_part[at : at + n] = excerpt * (_rms(middle) / _rms(excerpt) * 10 ** (MIX_LEVEL_DB / 20))
    else:
        fade = np.linspace(0.0, 1.0, int(SPLICE_FADE_S * SR), dtype=np.float32)
        part = excerpt * (_rms(middle) / _rms(excerpt))
        part[: len(fade)] *= fade
        part[-len(fade) :] *= fade[::-1]
        kept = np.zeros_like(middle)  # the host sounds on only under the crossfades
        kept[: len(fade)] = middle[: len(fade)] * (1 - fade)
        kept[-len(fade) :] = middle[-len(fade) :] * fade
        host_part[at : at + n] = kept
        excerpt_part[at : at + n] = part
    scale = 1 / max(1.0, float(np.abs(host_part + excerpt_part).max()) / 0.98)
    return (host_part * scale).astype(np.float32), (excerpt_part * scale).astype(np.float32)


def screen_output(samples: np.ndarray, folder: Path) -> tuple[list[replication.ReplicatedSpan], list[int], float]:
    """Write, decode and screen one output as the audit does: (every engine match, whatever its length,
    the recordings attributed, ms to decode and match)."""
    path = folder / "output.wav"
    path.write_bytes(audio.encode(samples, SR, "wav"))
    started = time.perf_counter()
    decoded = fingerprint_actions.decode_for_analysis(path).samples
    matches = replication.screen_samples(decoded, min_span_s=0.0)
    elapsed_ms = (time.perf_counter() - started) * 1000
    spans = [m for m in matches if m.duration_s >= replication.MIN_REPLICATED_SPAN_S]  # what screen() reports
    shares = attribution.attribute(decoded, spans)
    return matches, [a.recording_id for a in shares], elapsed_ms


def run(cfg: EvalConfig, recordings: dict[int, str], catalogue: list[Track], held: list[Track],
        progress: Callable[[str], None]) -> list[Row]:  # fmt: skip
    """Build and screen per_cell positive and per_cell negative outputs for every variant and length."""
    rng = np.random.default_rng(cfg.seed)
    rows = []
    paths = {t.id: t.path for t in catalogue}
    with tempfile.TemporaryDirectory(prefix="replication-eval-") as tmp:
        for variant in cfg.variants:
            for length in cfg.lengths:
                for i in range(2 * cfg.per_cell):
                    positive = i % 2 == 0
                    pool = catalogue if positive else held
                    source = pool[int(rng.integers(len(pool)))]
                    hosts = [t for t in held if t.id != source.id and t.duration_s >= length + 2 * CONTEXT_S + 1]
                    host_track = hosts[int(rng.integers(len(hosts)))]
                    excerpt, start = _excerpt(source, length, rng)
                    if variant.startswith("pitch"):
                        excerpt = pitch_shift(excerpt, PITCH_SEMITONES)
                    host, _ = _excerpt(host_track, length + 2 * CONTEXT_S, rng)
                    parts = output_parts(excerpt, host, variant)
                    output = parts[0] + parts[1]
                    matches, attributed, ms = screen_output(output, Path(tmp))
                    truth = source.id if positive else None
                    matches, shared = _split_shared(matches, [output, *parts], truth, recordings, paths)
                    row = _judge(Row(variant, length, truth, screen_ms=ms), start, matches,
                                 recordings)  # fmt: skip
                    row.shared = shared
                    row.attributed = [recordings.get(r, str(r)) for r in attributed]
                    row.material = f"{source.id} @{start:.1f}s in {host_track.id}"
                    rows.append(row)
                    progress(f"{variant} {length:.0f} s")
    return rows


def shared_correlation(output: np.ndarray, span: replication.ReplicatedSpan, reference: Path) -> float:
    """Best normalised correlation of the output's audio over `span` with the reference's audio at the
    span's offset, within +-SHARED_MAX_LAG_S (0 for a span at another pitch or tempo: a waveform
    comparison cannot see through those)."""
    if abs(span.pitch_factor - 1) > SHARED_MAX_FACTOR_ERROR or abs(span.tempo_factor - 1) > SHARED_MAX_FACTOR_ERROR:
        return 0.0
    lag = int(SHARED_MAX_LAG_S * SR)
    x = output[int(span.output_start_s * SR) : int(span.output_end_s * SR)]
    start = max(0.0, span.reference_start_s - SHARED_MAX_LAG_S)
    y = audio.decode_span(reference, start, span.duration_s + 2 * SHARED_MAX_LAG_S, SR)
    if len(x) < SR or len(y) < len(x):
        return 0.0
    n = 1 << int(np.ceil(np.log2(len(x) + len(y))))
    corr = np.fft.irfft(np.fft.rfft(y, n) * np.conj(np.fft.rfft(x, n)), n)[: min(2 * lag + 1, len(y) - len(x) + 1)]
    windows = np.sqrt(np.convolve(y**2, np.ones(len(x)), "valid")[: len(corr)])
    return float(np.max(np.abs(corr) / (windows * np.linalg.norm(x) + 1e-9)))


def shared_pattern_correlation(output: np.ndarray, span: replication.ReplicatedSpan, reference: Path) -> float:
    """Best correlation of the output's spectro-temporal pattern over `span` with the reference's at the
    span's offset, within +-SHARED_MAX_LAG_S (0 for a span at another pitch or tempo).

    The pattern is the engine's log-frequency spectrogram (dB) less each band's mean over the span: how
    every band rises and falls in time, not the spectral balance all music shares. A waveform test
    misses the same music in another mix or master (another reverb, a stereo image folded differently
    to mono), whose phases differ while its bands move together."""
    if abs(span.pitch_factor - 1) > SHARED_MAX_FACTOR_ERROR or abs(span.tempo_factor - 1) > SHARED_MAX_FACTOR_ERROR:
        return 0.0
    x = output[int(span.output_start_s * SR) : int(span.output_end_s * SR)]
    start = max(0.0, span.reference_start_s - SHARED_MAX_LAG_S)
    y = audio.decode_span(reference, start, span.duration_s + 2 * SHARED_MAX_LAG_S, SR)
    if len(x) < SR or len(y) < len(x):
        return 0.0
    return best_pattern_correlation(x, y)


def best_pattern_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """The best correlation of `x`'s band pattern (see shared_pattern_correlation) with that of any
    stretch of `y` as long, starting up to 2 * SHARED_MAX_LAG_S later; both at SR."""
    rate = params.ANALYSIS_SAMPLE_RATE
    px = _pattern(landmarks.log_spectrogram(resample_poly(x, rate, SR)))
    py = landmarks.log_spectrogram(resample_poly(y, rate, SR))
    frames = px.shape[1]
    best = 0.0
    for lag in range(min(py.shape[1] - frames, round(2 * SHARED_MAX_LAG_S / params.FRAME_S)) + 1):
        best = max(best, float(np.sum(px * _pattern(py[:, lag : lag + frames]))))
    return best


def _pattern(levels_db: np.ndarray) -> np.ndarray:
    """Band levels less each band's mean over time, scaled to unit norm (a correlation is then a dot product)."""
    centred = levels_db - levels_db.mean(axis=1, keepdims=True)
    return centred / (np.linalg.norm(centred) + 1e-9)


def _split_shared(
    matches: list[replication.ReplicatedSpan],
    sounds: list[np.ndarray],
    truth: str | None,
    track_of: dict[int, str],
    paths: dict[str, Path],
) -> tuple[list[replication.ReplicatedSpan], list[str]]:
    """(matches, descriptions of the spans that are material the corpus shares, by shared_correlation
    or shared_pattern_correlation on any of `sounds`: the output, and each of its parts alone).

    Only spans of other tracks than the one embedded (`truth`), over the replication floor (the ones
    the screen reports), are checked."""
    kept, shared = [], []
    for span in matches:
        track = track_of.get(span.recording_id, "")
        if span.duration_s >= replication.MIN_REPLICATED_SPAN_S and track in paths and track != truth:
            correlation = max(shared_correlation(sound, span, paths[track]) for sound in sounds)
            pattern = 0.0
            if correlation < SHARED_MIN_CORRELATION:
                pattern = max(shared_pattern_correlation(sound, span, paths[track]) for sound in sounds)
            if correlation >= SHARED_MIN_CORRELATION or pattern >= SHARED_MIN_PATTERN_CORRELATION:
                shared.append(
                    f"{track} ref {span.reference_start_s:.1f}-{span.reference_end_s:.1f} s at output "
                    f"{span.output_start_s:.1f}-{span.output_end_s:.1f} s, waveform correlation {correlation:.2f}"
                    + (f", band pattern correlation {pattern:.2f}" if pattern else "")
                )
                continue
        kept.append(span)
    return kept, shared


def _judge(row: Row, start: float, matches: list[replication.ReplicatedSpan], track_of: dict[int, str]) -> Row:
    """Fill in what the screen found: a match of the truth overlapping where it was embedded is a
    hit; one of another catalogued version of the same piece there is right too, and neither; every
    other match is false. Only matches over the floor count as reported spans."""
    placed = (CONTEXT_S, CONTEXT_S + row.length_s)
    floor = replication.MIN_REPLICATED_SPAN_S
    for span in matches:
        overlaps = span.output_end_s > placed[0] and span.output_start_s < placed[1]
        track = track_of.get(span.recording_id, "")
        if row.truth is not None and overlaps and track != row.truth and family(track) == family(row.truth):
            continue
        if row.truth is not None and track == row.truth and overlaps:
            row.truth_span_s = max(row.truth_span_s, span.duration_s)
            if span.duration_s >= floor and not row.detected:
                row.detected, row.span_s, row.pitch_factor = True, span.duration_s, span.pitch_factor
                # Where the found span starts in the reference, against where that moment of the
                # excerpt lies there (the span may begin a little after the excerpt does).
                expected = start + (span.output_start_s - CONTEXT_S) * span.tempo_factor
                row.start_error_s = abs(span.reference_start_s - expected)
        else:
            row.false_spans_s.append(span.duration_s)
            row.false_matches.append(
                f"{track_of.get(span.recording_id)} ref {span.reference_start_s:.1f}-{span.reference_end_s:.1f} s at "
                f"output {span.output_start_s:.1f}-{span.output_end_s:.1f} s, aligned {span.aligned:.0f}, "
                f"confidence {span.confidence:.2f}, pitch {span.pitch_factor:.3f}, tempo {span.tempo_factor:.3f}"
            )
            row.other_recordings += span.duration_s >= floor
    return row


def floor_sweep(rows: list[Row], floors: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0)) -> str:
    """Recall at 5 and 10 s (as is) and the pooled false-positive rate had the floor been each of `floors`."""
    negatives = [r for r in rows if not r.truth]
    lines = ["Minimum replicated span (s): recall as is at 5 s / 10 s, pooled FP rate"]
    for floor in floors:
        recall = []
        for length in (5.0, 10.0):
            pos = [r for r in rows if r.truth and r.variant == "plain" and r.length_s == length]
            recall.append(_rate(sum(r.truth_span_s >= floor for r in pos), len(pos)).strip())
        false = sum(any(s >= floor for s in r.false_spans_s) for r in negatives)
        marker = "  <- shipped" if floor == replication.MIN_REPLICATED_SPAN_S else ""
        lines.append(
            f"  {floor:3.1f} s: {recall[0]:>6} / {recall[1]:>6}, FP {_rate(false, len(negatives)).strip()}{marker}"
        )
    return "\n".join(lines)


def _rate(hits: int, n: int) -> str:
    return f"{hits / n:6.1%}" if n else "     -"


def report(rows: list[Row], cfg: EvalConfig) -> str:
    """The table per variant and length, the pooled false-positive rate and the targets met or missed."""
    lines = [
        f"{'condition':<11} {'length':>6} {'recall':>7} {'n':>4} {'FP rate':>7} {'n':>4} {'wrong rec.':>10} "
        f"{'span med':>8} {'ref. err':>8} {'attr. top':>9} {'attr. neg':>9}"
    ]
    for variant in cfg.variants:
        for length in cfg.lengths:
            cell = [r for r in rows if r.variant == variant and r.length_s == length]
            pos, neg = [r for r in cell if r.truth], [r for r in cell if not r.truth]
            found = [r for r in pos if r.detected]
            span = f"{np.median([r.span_s for r in found]):7.1f}s" if found else "       -"
            error = f"{np.median([r.start_error_s for r in found]):7.2f}s" if found else "       -"
            top = sum(bool(r.attributed) and r.attributed[0] == r.truth for r in pos)
            lines.append(
                f"{variant:<11} {length:5.0f}s {_rate(len(found), len(pos))} {len(pos):4d} "
                f"{_rate(sum(r.other_recordings > 0 for r in neg), len(neg))} {len(neg):4d} "
                f"{_rate(sum(r.other_recordings > 0 for r in pos), len(pos)):>10} {span} {error} "
                f"{_rate(top, len(pos)):>9} {_rate(sum(bool(r.attributed) for r in neg), len(neg)):>9}"
            )
    negatives = [r for r in rows if not r.truth]
    false = sum(r.other_recordings > 0 for r in negatives)
    at_10 = {v: [r for r in rows if r.truth and r.variant == v and r.length_s == 10.0] for v in cfg.variants}
    lines.append("")
    pooled = _rate(false, len(negatives)).strip()
    lines.append(f"False positives, all negative outputs pooled: {false} of {len(negatives)} ({pooled})")
    for variant, pos in at_10.items():
        if pos:
            recall = sum(r.detected for r in pos) / len(pos)
            verdict = "met" if recall >= TARGET_RECALL else "MISSED"
            lines.append(f"Target recall >= {TARGET_RECALL:.0%} at 10 s, {variant}: {recall:.1%} -> {verdict}")
    if negatives:
        verdict = "met" if false / len(negatives) <= TARGET_FP else "MISSED"
        lines.append(f"Target FP <= {TARGET_FP:.0%} (pooled): {false / len(negatives):.1%} -> {verdict}")
    lines.append(floor_sweep(rows))
    shared = [r for r in rows if r.shared]
    if shared:
        lines.append(
            f"Spans of material the corpus tracks share (waveform correlation >= {SHARED_MIN_CORRELATION}, or band "
            f"pattern correlation >= {SHARED_MIN_PATTERN_CORRELATION}, at the reported offset; counted neither as "
            f"hits nor as false positives): {sum(len(r.shared) for r in shared)} "
            f"in {len(shared)} outputs"
        )
        for row in shared:
            for span in row.shared:
                lines.append(f"  {row.variant} {row.length_s:.0f} s: {row.material} -> {span}")
    false = [r for r in rows if any(d >= replication.MIN_REPLICATED_SPAN_S for d in r.false_spans_s)]
    if false:
        lines.append("False spans reported (output made of -> span reported):")
        for row in false:
            kind = "negative" if row.truth is None else "positive"
            for match in row.false_matches:
                lines.append(f"  {row.variant} {row.length_s:.0f} s {kind}: {row.material} -> {match}")
    times = [r.screen_ms for r in rows]
    if times:
        median, p95 = np.median(times), np.percentile(times, 95)
        lines.append(f"Screen time per output (decode + match): median {median:.0f} ms, p95 {p95:.0f} ms")
    return "\n".join(lines)
