"""The demo catalogue, end to end: synthesise, register, upload altered excerpts, claim, report.

Everything is synthesised deterministically in code (catalog.synth): nothing is downloaded.
Running it again reuses what the first run registered and submitted.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from catalog import identifiers, synth
from catalog.models import Label, Recording, Work
from fingerprint import actions as fingerprint_actions
from fingerprint import audio, intake
from fingerprint.models import Scan
from rights import demo_people
from rights.models import Claim

TITLES = [
    "Harbour Lights",
    "Copper Sky",
    "Night Ferry",
    "Glass Orchard",
    "Slow Comet",
    "Paper Lanterns",
    "North Platform",
    "Velvet Static",
    "Salt Road",
    "Lantern Bay",
    "Iron Meadow",
    "Quiet Engine",
]
REFERENCE_FORMATS = ["wav", "mp3", "flac", "ogg"]
SR = synth.SAMPLE_RATE


@dataclass(frozen=True)
class DemoQuery:
    """An upload the demo submits, and what a correct system says about it."""

    name: str
    description: str
    samples: np.ndarray
    fmt: str
    expected: tuple[int, ...]  # indexes into TITLES; empty: must not match
    expected_offset_s: float | None
    source: int | None = None  # index of the piece the excerpt was cut from


@dataclass(frozen=True)
class DemoRow:
    query: DemoQuery
    scan: Scan
    found: list[tuple[str, float, float, float, str]]  # title, upload start, reference start, confidence, claim

    @property
    def correct(self) -> bool:
        return sorted(title for title, *_ in self.found) == sorted(TITLES[i] for i in self.query.expected)


DEMO_LABEL = "Demo Records"


def demo_isrc(index: int) -> str:
    return f"QZDEM26{index + 1:05d}"


def demo_iswc(index: int) -> str:
    digits = f"{900000000 + index + 1:09d}"
    return f"T{digits}{identifiers.iswc_check_digit(digits)}"


def _excerpt(samples: np.ndarray, start_s: float, length_s: float) -> np.ndarray:
    return samples[int(start_s * SR) : int((start_s + length_s) * SR)].copy()


def _with_noise(samples: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(len(samples)).astype(np.float32)
    noise *= np.sqrt(np.mean(samples**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    mixed = samples + noise
    return mixed / max(1.0, float(np.abs(mixed).max()) / 0.95)


def build_queries(pieces: list[np.ndarray]) -> list[DemoQuery]:
    """Altered excerpts of the catalogue, a two-track compilation, and three unrelated pieces."""
    q: list[DemoQuery] = []
    add: Callable[..., None] = lambda *args: q.append(DemoQuery(*args))  # noqa: E731
    add("upload-01", "12 s excerpt re-encoded as MP3 96 kbps", _excerpt(pieces[0], 6.0, 12.0), "mp3", (0,), 6.0)
    add(
        "upload-02",
        "10 s excerpt with white noise at 10 dB SNR, Ogg Opus",
        _with_noise(_excerpt(pieces[1], 14.0, 10.0), 10.0, 1),
        "ogg",
        (1,),
        14.0,
    )
    add("upload-03", "8 s excerpt, 12 dB quieter, AAC in M4A", _excerpt(pieces[2], 3.5, 8.0) * 0.25, "m4a", (2,), 3.5)
    add(
        "upload-04",
        "15 s excerpt with noise at 5 dB SNR, FLAC",
        _with_noise(_excerpt(pieces[4], 9.0, 15.0), 5.0, 2),
        "flac",
        (4,),
        9.0,
        4,
    )
    add("upload-05", "6 s cut from the end, MP3 64 kbps", _excerpt(pieces[6], 23.0, 6.0), "mp3", (6,), 23.0)
    add(
        "upload-06",
        "compilation: 10 s of one track then 10 s of another, WAV",
        np.concatenate([_excerpt(pieces[7], 2.0, 10.0), _excerpt(pieces[9], 12.0, 10.0)]),
        "wav",
        (7, 9),
        None,
    )
    add(
        "upload-07",
        "10 s excerpt with noise at 0 dB SNR, MP3 128 kbps",
        _with_noise(_excerpt(pieces[10], 5.0, 10.0), 0.0, 3),
        "mp3",
        (10,),
        5.0,
    )
    for n, seed in enumerate((1001, 1002, 1003), start=8):
        add(
            f"upload-{n:02d}", f"unrelated music (seed {seed}), MP3", synth.compose(seed, 15.0).samples, "mp3", (), None
        )
    return q


def same_passage(samples: np.ndarray, start_a: float, start_b: float, length_s: float) -> bool:
    """Whether the audio at two places of a piece is the same (normalised correlation >= 0.8)."""
    a, b = _excerpt(samples, start_a, length_s), _excerpt(samples, start_b, length_s)
    n = min(len(a), len(b))
    if n == 0:
        return False
    a, b = a[:n], b[:n]
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)) >= 0.8


def register_catalogue(workdir: Path, log: Callable[[str], None]) -> list[np.ndarray]:
    """Create the demo label, works and recordings, and register each one's reference audio."""
    label, _ = Label.objects.get_or_create(name=DEMO_LABEL)
    pieces = []
    for index, title in enumerate(TITLES):
        piece = synth.compose(seed=index)
        pieces.append(piece.samples)
        work, _ = Work.objects.get_or_create(iswc=demo_iswc(index), defaults={"title": title})
        recording, _ = Recording.objects.get_or_create(
            isrc=demo_isrc(index), defaults={"title": title, "label": label, "external_id": f"demo-{index + 1:02d}"}
        )
        recording.works.add(work)
        fmt = REFERENCE_FORMATS[index % len(REFERENCE_FORMATS)]
        path = workdir / f"{title.lower().replace(' ', '-')}.{fmt}"
        path.write_bytes(audio.encode(piece.samples, SR, fmt))
        asset = fingerprint_actions.register_reference(recording, path, path.name)
        log(
            f"  registered {identifiers.format_isrc(recording.isrc or '')}  {title:<15} "
            f"{piece.key:>2} {piece.scale:<6} {piece.tempo_bpm:5.1f} bpm  {fmt.upper():<4} "
            f"{asset.duration_s:5.1f} s  {asset.fingerprint.landmark_count} landmarks"
        )
    return pieces


def submit_queries(queries: list[DemoQuery], workdir: Path) -> list[DemoRow]:
    rows = []
    for query in queries:
        path = workdir / f"{query.name}.{query.fmt}"
        path.write_bytes(
            audio.encode(
                query.samples.astype(np.float32),
                SR,
                query.fmt,
                bitrate=64000 if "64 kbps" in query.description else None,
            )
        )
        # Uploaded by the demo platform, so its login sees these uploads and the claims on them.
        scan = intake.accept_file(path, original_name=path.name, platform=demo_people.demo_platform())
        scan.refresh_from_db()
        found = []
        for match in scan.matches.select_related("recording").order_by("query_start_s"):
            claim = Claim.objects.filter(match=match).first()
            found.append(
                (
                    match.recording.title,
                    match.query_start_s,
                    match.reference_start_s,
                    match.confidence,
                    claim.status if claim else "none",
                )
            )
        rows.append(DemoRow(query, scan, found))
    return rows


def run(log: Callable[[str], None] = print) -> list[DemoRow]:
    """Register the demo catalogue, submit the demo uploads, print what matched; returns the rows."""
    with tempfile.TemporaryDirectory(prefix="contentid-demo-") as tmp:
        workdir = Path(tmp)
        log(f"Registering {len(TITLES)} synthesised recordings (reference audio in WAV, MP3, FLAC and Ogg):")
        pieces = register_catalogue(workdir, log)
        queries = build_queries(pieces)
        log(f"\nSubmitting {len(queries)} uploads: altered excerpts, a compilation, and unrelated music:")
        rows = submit_queries(queries, workdir)
    log("")
    log(
        f"{'upload':<10} {'what it is':<58} {'matched recording':<16} {'at (upload -> ref)':<20} {'conf':>5} "
        f"{'claim':<10} ok"
    )
    for row in rows:
        expected = row.query.expected_offset_s
        lines = row.found or [("(no match)", None, None, None, "none")]
        for i, (title, q_start, r_start, conf, claim) in enumerate(lines):
            at = f"{q_start:5.1f} s -> {r_start:5.1f} s" if q_start is not None else ""
            verdict = ("yes" if row.correct else "NO") if i == 0 else ""
            if i == 0 and row.scan.status == Scan.Status.FAILED:
                title, verdict = f"failed: {row.scan.error}", "NO"
            conf_text = f"{conf:5.2f}" if conf is not None else ""
            name, desc = (row.query.name, row.query.description[:58]) if i == 0 else ("", "")
            log(f"{name:<10} {desc:<58} {title:<16} {at:<20} {conf_text:>5} {claim:<10} {verdict}")
            if i == 0 and expected is not None and r_start is not None and q_start is not None:
                error = abs((r_start - q_start) - expected)
                found_at = r_start - q_start
                if error > 0.5 and row.query.source is not None:
                    repeat = same_passage(pieces[row.query.source], expected, found_at, row.query.samples.size / SR)
                    why = "the same passage repeats there" if repeat else "offset wrong by " + f"{error:.2f} s"
                    log(f"{'':<10} found at {found_at:.2f} s in the reference, cut at {expected:.2f} s: {why}")
    correct = sum(row.correct for row in rows)
    log(
        f"\n{correct} of {len(rows)} uploads identified correctly; "
        f"{Claim.objects.pending().count()} claims wait for review in the review queue (/review/)."
    )
    return rows
