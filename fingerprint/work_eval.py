"""Evaluation material for work identification (used by `manage.py eval_works` only, never at run time).

Real compositions come as General MIDI files from Debian packages; a "cover" is the same MIDI
rewritten here (transposed, tempo scaled, instruments swapped), rendered with another soundfont by
fluidsynth or timidity, optionally mixed with drums and noise, and cut into excerpts. The MIDI
rewriting is a small byte-level editor: it changes note numbers, tempo events and program changes
in place and leaves every other byte as it was.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIDI_DIRS = (
    ("openttd-openmsx", Path("/usr/share/games/openttd/baseset/openmsx")),
    ("planetblupi-music-midi", Path("/usr/share/planetblupi/music")),
)
# Renderer name -> (Debian package, how to render). fluidsynth takes a soundfont; timidity a config.
RENDERERS = {
    "fluidr3": ("fluid-soundfont-gm", "fluidsynth", Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")),
    "timgm6mb": ("timgm6mb-soundfont", "fluidsynth", Path("/usr/share/sounds/sf2/TimGM6mb.sf2")),
    "musescore": (
        "musescore-general-soundfont-small",
        "fluidsynth",
        Path("/usr/share/sounds/sf3/MuseScore_General.sf3"),
    ),
    "freepats": ("freepats timidity", "timidity", Path("/etc/timidity/freepats.cfg")),
}
DRUM_CHANNEL = 9  # General MIDI channel 10: unpitched, never transposed
DEFAULT_TEMPO_US = 500_000  # microseconds per quarter note when a file sets none (120 bpm)
# Instrument swap: each GM family (8 programs) is played by another pitched family.
_FAMILY_SWAP = {0: 2, 1: 3, 2: 0, 3: 5, 4: 4, 5: 7, 6: 8, 7: 9, 8: 5, 9: 10, 10: 9, 11: 6, 12: 11, 13: 3, 14: 1, 15: 15}


def swap_program(program: int) -> int:
    """Another General MIDI instrument of a different family (bass stays bass, one program over)."""
    family, member = divmod(program, 8)
    if family == 4:
        return 32 + (member + 3) % 8
    return _FAMILY_SWAP[family] * 8 + member


def missing_tools() -> list[str]:
    """What is not installed of what the evaluation needs, as Debian package names."""
    missing = []
    if not shutil.which("fluidsynth"):
        missing.append("fluidsynth")
    for package, tool, path in RENDERERS.values():
        if not path.exists() or not shutil.which(tool):
            missing.append(package)
    if not any(folder.is_dir() for _, folder in MIDI_DIRS):
        missing.extend(package for package, _ in MIDI_DIRS)
    return sorted(set(missing))


def midi_files() -> list[Path]:
    """Every MIDI file of the packaged collections, sorted."""
    found: list[Path] = []
    for _, folder in MIDI_DIRS:
        if folder.is_dir():
            found.extend(sorted(p for p in folder.iterdir() if p.suffix.lower() in (".mid", ".midi")))
    return found


def _read_varlen(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos


def _rewrite_track(body: bytes, transpose: int, tempo_factor: float, program: Callable[[int], int] | None) -> bytes:
    out = bytearray(body)
    pos, status = 0, 0
    while pos < len(body):
        _, pos = _read_varlen(body, pos)  # delta time
        byte = body[pos]
        if byte == 0xFF:  # meta event: type, length, data
            kind = body[pos + 1]
            length, start = _read_varlen(body, pos + 2)
            if kind == 0x51 and length == 3:
                tempo = int.from_bytes(body[start : start + 3], "big")
                out[start : start + 3] = min(round(tempo / tempo_factor), 0xFFFFFF).to_bytes(3, "big")
            pos = start + length
            continue
        if byte in (0xF0, 0xF7):  # sysex
            length, start = _read_varlen(body, pos + 1)
            pos = start + length
            continue
        if byte & 0x80:
            status = byte
            pos += 1
        kind, channel = status & 0xF0, status & 0x0F
        if kind in (0x80, 0x90, 0xA0) and channel != DRUM_CHANNEL:
            out[pos] = min(max(body[pos] + transpose, 0), 127)
        elif kind == 0xC0 and channel != DRUM_CHANNEL and program is not None:
            out[pos] = program(body[pos])
        pos += 1 if kind in (0xC0, 0xD0) else 2
    return bytes(out)


def rewrite_midi(
    data: bytes, transpose: int = 0, tempo_factor: float = 1.0, program: Callable[[int], int] | None = None
) -> bytes:
    """A Standard MIDI File with pitched notes moved by `transpose` semitones, every tempo multiplied by
    `tempo_factor` (1.1: 10 % faster) and program changes mapped through `program`."""
    if data[:4] != b"MThd":
        raise ValueError("not a Standard MIDI File")
    header_len = int.from_bytes(data[4:8], "big")
    pos = 8 + header_len
    chunks, first_track = [data[:pos]], True
    while pos + 8 <= len(data):
        chunk_id, length = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "big")
        body = data[pos + 8 : pos + 8 + length]
        pos += 8 + length
        if chunk_id != b"MTrk":
            chunks.append(data[pos - 8 - length : pos])
            continue
        body = _rewrite_track(body, transpose, tempo_factor, program)
        if first_track and tempo_factor != 1.0:  # the default tempo, scaled, in case the file sets none at 0
            tempo = round(DEFAULT_TEMPO_US / tempo_factor).to_bytes(3, "big")
            body = b"\x00\xff\x51\x03" + tempo + body
        first_track = False
        chunks.append(b"MTrk" + len(body).to_bytes(4, "big") + body)
    return b"".join(chunks)


def render(midi: bytes, renderer: str, out_wav: Path, sample_rate: int = 22050) -> Path:
    """Render MIDI bytes to a WAV file with one of RENDERERS (subprocess; raises CalledProcessError)."""
    _, tool, path = RENDERERS[renderer]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.mid"
        source.write_bytes(midi)
        partial = out_wav.with_name(f".{out_wav.name}.tmp.wav")
        if tool == "fluidsynth":
            command = ["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(sample_rate), "-F", str(partial), str(path),
                       str(source)]  # fmt: skip
        else:
            command = ["timidity", "-c", str(path), "-Ow", "-s", str(sample_rate), "-o", str(partial), str(source)]
        subprocess.run(command, check=True, capture_output=True, timeout=600)
        partial.replace(out_wav)
    return out_wav


def drum_loop(n_samples: int, sample_rate: int, seed: int) -> np.ndarray:
    """A kick/snare/hi-hat loop (float32) at a tempo drawn from `seed`, unrelated to any composition."""
    rng = np.random.default_rng(seed)
    eighth = 60.0 / rng.uniform(85, 140) / 2
    pattern = rng.integers(0, 2, size=(3, 8))
    pattern[0, 0] = pattern[1, 4] = 1
    t = np.arange(int(0.25 * sample_rate)) / sample_rate
    kick = np.sin(2 * np.pi * np.cumsum(110 * np.exp(-t * 20) + 45) / sample_rate) * np.exp(-t * 12)
    noise = rng.standard_normal(len(t))
    sounds = [kick, (0.6 * noise + 0.4 * np.sin(2 * np.pi * 190 * t)) * np.exp(-t * 20), 0.3 * np.diff(noise, prepend=0)
              * np.exp(-t * 60)]  # fmt: skip
    out = np.zeros(n_samples + len(t))
    for step in range(int(n_samples / sample_rate / eighth) + 1):
        start = int(step * eighth * sample_rate)
        for row, sound in enumerate(sounds):
            if pattern[row, step % 8]:
                out[start : start + len(t)] += sound
    return out[:n_samples].astype(np.float32)


def mix(samples: np.ndarray, sample_rate: int, seed: int, drums_db: float | None, snr_db: float | None) -> np.ndarray:
    """`samples` with a drum loop at `drums_db` relative level and white noise at `snr_db`, peak-normalised."""
    rng = np.random.default_rng(seed)
    signal = np.asarray(samples, np.float64)
    power = float(np.mean(signal**2)) or 1e-12
    out = signal.copy()
    if drums_db is not None:
        drums = drum_loop(len(signal), sample_rate, seed).astype(np.float64)
        out += drums * np.sqrt(power / max(float(np.mean(drums**2)), 1e-12) * 10 ** (drums_db / 10))
    if snr_db is not None:
        noise = rng.standard_normal(len(signal))
        out += noise * np.sqrt(power / 10 ** (snr_db / 10))
    return (out / max(float(np.abs(out).max()), 1e-9) * 0.9).astype(np.float32)


@dataclass(frozen=True)
class Condition:
    """How a cover differs from the reference rendition."""

    name: str
    renderer: str
    transpose: bool = False
    tempo: bool = False
    instruments: bool = False
    drums_db: float | None = None
    snr_db: float | None = None


CONDITIONS = (
    Condition("soundfont", "timgm6mb"),
    Condition("transpose", "musescore", transpose=True),
    Condition("tempo", "timgm6mb", tempo=True),
    Condition("transpose+tempo+instruments", "freepats", transpose=True, tempo=True, instruments=True),
    Condition("transpose+tempo+drums+noise", "musescore", transpose=True, tempo=True, drums_db=-3.0, snr_db=10.0),
)


def draw_changes(seed: int, condition: Condition) -> tuple[int, float]:
    """The (transpose in semitones, tempo factor) of one cover: +-1..5 semitones, +-5..15 % tempo."""
    rng = np.random.default_rng(seed)
    transpose = int(rng.choice([-1, 1]) * rng.integers(1, 6)) if condition.transpose else 0
    tempo = float(1 + rng.choice([-1, 1]) * rng.uniform(0.05, 0.15)) if condition.tempo else 1.0
    return transpose, round(tempo, 4)


def average_precision(ranked: list[str], relevant: str) -> float:
    """AP of one query with one relevant item: 1 / its rank, 0 when it is not in the list."""
    return 1.0 / (ranked.index(relevant) + 1) if relevant in ranked else 0.0


def threshold_for(scores: list[float], max_fp_rate: float) -> float:
    """The lowest threshold (score >= threshold accepts) accepting at most max_fp_rate of `scores`."""
    ordered = sorted(scores, reverse=True)
    allowed = int(np.floor(max_fp_rate * len(ordered)))
    return float(ordered[allowed]) + 1e-6 if allowed < len(ordered) else float("-inf")
