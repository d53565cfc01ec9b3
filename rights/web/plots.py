"""Pictures for the claim page: the alignment of upload and reference time (SVG), and spectrograms (PNG).

There is no imaging library in the project, so the PNG encoder is the few lines the format needs
(zlib + struct); a spectrogram is a log-magnitude STFT mapped through a small colour map.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

# --- PNG -------------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def encode_png(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of `rgb` (height x width x 3, uint8): filter type 0 on every row, one IDAT."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("encode_png wants a height x width x 3 array")
    height, width, _ = rgb.shape
    rows = np.ascontiguousarray(rgb, dtype=np.uint8).reshape(height, width * 3)
    raw = np.hstack([np.zeros((height, 1), dtype=np.uint8), rows]).tobytes()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit truecolour, no interlace
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b"")


# --- spectrogram -----------------------------------------------------------------------------------

# Anchors of a dark-to-bright colour map (close to "magma"): quiet is dark, loud is bright, and the
# steps stay distinguishable in greyscale print.
_COLOUR_ANCHORS = np.array(
    [[0, 0, 4], [59, 15, 112], [140, 41, 129], [222, 73, 104], [254, 159, 109], [252, 253, 191]], dtype=np.float64
)

MAX_SPAN_S = 20.0  # longer spans are cut: a snippet is for the eye, and decoding costs
DYNAMIC_RANGE_DB = 80.0
N_FFT = 512
HOP = 128
MAX_WIDTH_PX = 640


def colour_map(values: np.ndarray) -> np.ndarray:
    """Values in 0..1 (any shape) -> uint8 RGB (shape + (3,)), interpolated between the anchors."""
    scaled = np.clip(values, 0.0, 1.0) * (len(_COLOUR_ANCHORS) - 1)
    low = np.floor(scaled).astype(int).clip(0, len(_COLOUR_ANCHORS) - 2)
    frac = (scaled - low)[..., None]
    rgb = _COLOUR_ANCHORS[low] * (1 - frac) + _COLOUR_ANCHORS[low + 1] * frac
    return rgb.round().astype(np.uint8)


def log_spectrogram(samples: np.ndarray) -> np.ndarray:
    """Magnitude in dB, frequency bins x frames (lowest bin first), of mono `samples`."""
    samples = np.asarray(samples, dtype=np.float32)
    if len(samples) < N_FFT:
        samples = np.pad(samples, (0, N_FFT - len(samples)))
    frames = 1 + (len(samples) - N_FFT) // HOP
    index = np.arange(N_FFT)[None, :] + HOP * np.arange(frames)[:, None]
    spectrum = np.abs(np.fft.rfft(samples[index] * np.hanning(N_FFT).astype(np.float32), axis=1))
    return 20.0 * np.log10(spectrum.T + 1e-9)


def spectrogram_image(samples: np.ndarray) -> np.ndarray:
    """RGB picture of the spectrogram: low frequencies at the bottom, at most MAX_WIDTH_PX wide
    (frames pooled by their maximum so short loud events stay visible)."""
    db = log_spectrogram(samples)[1:]  # drop the DC bin: 256 rows
    frames = db.shape[1]
    if frames > MAX_WIDTH_PX:
        group = -(-frames // MAX_WIDTH_PX)
        width = -(-frames // group)  # the last column may pool fewer frames; no padding column is drawn
        padded = np.pad(db, ((0, 0), (0, group * width - frames)), mode="edge")
        db = padded.reshape(db.shape[0], width, group).max(axis=2)
    top = float(db.max())
    level = (db - (top - DYNAMIC_RANGE_DB)) / DYNAMIC_RANGE_DB
    return colour_map(level[::-1])


def spectrogram_png(samples: np.ndarray) -> bytes:
    return encode_png(spectrogram_image(samples))


# --- alignment -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """One matched run: from (query_start_s, reference_start_s), `duration_s` of upload time, at `tempo`
    (reference seconds per upload second)."""

    query_start_s: float
    duration_s: float
    reference_start_s: float
    tempo: float
    pitch: float
    label: str
    highlight: bool = False
    note: str = ""  # what the plot writes about the highlighted run (default: its pitch and tempo factors)

    @property
    def end(self) -> tuple[float, float]:
        return self.query_start_s + self.duration_s, self.reference_start_s + self.tempo * self.duration_s


def _ticks(limit: float, count: int = 5) -> list[float]:
    """Round tick positions from 0 to `limit` (steps of 1, 2, 5 x 10^n)."""
    if limit <= 0:
        return [0.0]
    raw = limit / count
    magnitude = 10 ** np.floor(np.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return [float(t) for t in np.arange(0, limit + step / 2, step) if t <= limit + 1e-9]


def alignment_svg(segments: Sequence[Segment], upload_s: float, reference_s: float, title: str = "") -> str:
    """Upload time (x) against reference time (y); every matched run as a line whose slope is its tempo
    factor, the claim's own run highlighted and labelled with its pitch and tempo factors."""
    width, height = 560, 360
    left, right, top, bottom = 56, 16, 28, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    x_max = max(upload_s, *(s.end[0] for s in segments), 1.0) if segments else max(upload_s, 1.0)
    y_max = max(reference_s, *(s.end[1] for s in segments), 1.0) if segments else max(reference_s, 1.0)

    def x(t: float) -> float:
        return left + plot_w * t / x_max

    def y(t: float) -> float:
        return top + plot_h * (1 - t / y_max)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="alignment-title" font-family="system-ui, sans-serif" font-size="12">',
        f'<title id="alignment-title">{escape(title or "Alignment of upload and reference time")}</title>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#f6f8fa" stroke="#8c959f"/>',
    ]
    for t in _ticks(x_max):
        out.append(f'<line x1="{x(t):.1f}" y1="{top}" x2="{x(t):.1f}" y2="{top + plot_h}" stroke="#d0d7de"/>')
        out.append(f'<text x="{x(t):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{t:g}</text>')
    for t in _ticks(y_max):
        out.append(f'<line x1="{left}" y1="{y(t):.1f}" x2="{left + plot_w}" y2="{y(t):.1f}" stroke="#d0d7de"/>')
        out.append(f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle">upload time (s)</text>')
    out.append(
        f'<text x="14" y="{top + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + plot_h / 2})">reference time (s)</text>'
    )
    for segment in sorted(segments, key=lambda s: s.highlight):  # the highlighted run is drawn last, on top
        (x0, y0), (x1, y1) = (segment.query_start_s, segment.reference_start_s), segment.end
        colour, stroke = ("#a40e26", 4) if segment.highlight else ("#4f5b66", 2)
        out.append(
            f'<line x1="{x(x0):.1f}" y1="{y(y0):.1f}" x2="{x(x1):.1f}" y2="{y(y1):.1f}" stroke="{colour}" '
            f'stroke-width="{stroke}" stroke-linecap="round"><title>{escape(segment.label)}</title></line>'
        )
        if segment.highlight:  # the factors are written in the top-left corner of the plot
            note = segment.note or f"claimed run: pitch x{segment.pitch:.3f}, tempo x{segment.tempo:.3f}"
            out.append(f'<text x="{left + 8}" y="{top + 16}" fill="{colour}" font-weight="600">{escape(note)}</text>')
    out.append("</svg>")
    return "\n".join(out)
