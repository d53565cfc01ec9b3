"""Further degradation classes for the bench kit's query generator (`make_queries.py --extra-classes`),
used by `manage.py bench_identify --extra-classes` to build a breadth suite.

The public suite holds one or two settings of each degradation; uploads meet many more, and the
project is measured on a held-out suite "with further degradation classes". These are the ones a
platform sees that the public suite leaves out, each a setting real audio reaches: speed changes
(a turntable at the wrong speed) at ±10 %, the sped-up (+25 %) and slowed-with-reverb (-20 %) edits
of short-video platforms, pitch at ±3 semitones, other codecs and bit rates (AAC, Vorbis, 32 kbit/s
MP3), band limits on either side, loudness damage (clipping, broadcast compression), bass-heavy EQ,
white noise, a long hall, mains hum, drop-outs, wow and flutter, and chains of two (a re-encoded
edit, a phone call in a crowd).

Each entry follows the kit's contract: name -> (seconds of reference per second of query,
fn(x, rng, ctx) -> (degraded, params)), with `x` mono float64 at the kit's rate. Only the kit's own
helpers, numpy and ffmpeg are used, so the queries are reproducible like the kit's own.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np


def class_names() -> list[str]:
    """The names of the classes `register` adds, in order."""
    classes: dict[str, Any] = {}
    register(classes, defaultdict(lambda: None))  # the helpers are only called when a class is applied
    return list(classes)


def register(classes: dict[str, Any], helpers: dict[str, Any]) -> None:
    """Add this module's classes to the kit's `classes` (make_queries.py's contract)."""
    sr = helpers["SR"]
    ffmpeg, rubberband, speed = helpers["ffmpeg_process"], helpers["rubberband"], helpers["speed"]
    add_noise, rms = helpers["add_noise"], helpers["rms"]

    def codec(ext: str, args: list[str]) -> Any:
        return lambda x: ffmpeg(x, [], ext, args)

    aac_48k = codec("m4a", ["-c:a", "aac", "-b:a", "48k"])
    vorbis_q0 = codec("ogg", ["-c:a", "libvorbis", "-q:a", "0"])

    for pct in (10, -10):
        f = 1 + pct / 100
        classes[f"speed_{pct:+d}pct"] = (f, lambda x, r, c, f=f: (speed(x, f), {"speed": f}))
    for st in (3, -3):
        classes[f"pitch_{st:+d}st"] = (1.0, lambda x, r, c, s=st: (rubberband(x, ["-p", str(s)]), {"semitones": s}))
    classes["aac_48k"] = (1.0, lambda x, r, c: (aac_48k(x), {"codec": "aac", "kbps": 48}))
    classes["vorbis_q0"] = (1.0, lambda x, r, c: (vorbis_q0(x), {"codec": "vorbis", "quality": 0}))
    classes["mp3_32k"] = (1.0, lambda x, r, c: (helpers["mp3"](x, 32), {"codec": "mp3", "kbps": 32}))
    classes["lowpass_2k"] = (1.0, lambda x, r, c: (ffmpeg(x, ["-af", "lowpass=f=2000,lowpass=f=2000"]), {}))
    classes["highpass_1k"] = (1.0, lambda x, r, c: (ffmpeg(x, ["-af", "highpass=f=1000,highpass=f=1000"]), {}))
    classes["clipped_12db"] = (1.0, lambda x, r, c: (_clipped(x, rms, 12.0), {"gain_db": 12}))
    classes["compressed"] = (
        1.0,
        lambda x, r, c: (ffmpeg(x, ["-af", "acompressor=threshold=0.05:ratio=20:attack=1:release=50:makeup=8"]), {}),
    )
    classes["bass_boost"] = (1.0, lambda x, r, c: (ffmpeg(x, ["-af", "bass=g=15:f=150,volume=-12dB"]), {}))
    classes["white_snr5"] = (
        1.0,
        lambda x, r, c: (add_noise(x, r.standard_normal(len(x)), 5), {"snr_db": 5}),
    )
    classes["reverb_hall"] = (1.0, lambda x, r, c: _hall(x, r, helpers))
    classes["hum_crackle"] = (1.0, lambda x, r, c: (_hum_crackle(x, r, rms, sr), {}))
    classes["dropouts"] = (1.0, lambda x, r, c: (_dropouts(x, r, sr), {"gap_s": 0.1, "every_s": 1.0}))
    classes["wow_flutter"] = (1.0, lambda x, r, c: (_wow_flutter(x, sr), {"depth": 0.005}))
    # The "sped-up" and "slowed + reverb" edits of short-video platforms.
    classes["speed_+25pct"] = (1.25, lambda x, r, c: (speed(x, 1.25), {"speed": 1.25}))
    classes["speed_-20pct+reverb"] = (
        0.8,
        lambda x, r, c: (helpers["convolve"](speed(x, 0.8), helpers["synthetic_rir"](r)[0]), {"speed": 0.8}),
    )
    classes["speed_+3pct+aac_48k"] = (1.03, lambda x, r, c: (aac_48k(speed(x, 1.03)), {"speed": 1.03}))
    classes["tempo_-8pct+mp3_64k"] = (
        0.92,
        lambda x, r, c: (helpers["mp3"](rubberband(x, ["-T", "0.92"]), 64), {"tempo": 0.92}),
    )
    classes["phone+babble_snr10"] = (
        1.0,
        lambda x, r, c: (
            helpers["phone"](add_noise(x, helpers["babble_noise"](len(x), r, c["babble"]), 10)),
            {"snr_db": 10},
        ),
    )


def _clipped(x: np.ndarray, rms: Any, gain_db: float) -> np.ndarray:
    """`x` brought to -14 dBFS RMS, raised `gain_db` and hard-clipped at full scale (a loudness-war
    master or an overdriven capture)."""
    level = 10 ** (-14 / 20) / max(rms(x), 1e-9)
    return np.clip(x * level * 10 ** (gain_db / 20), -1.0, 1.0)


def _hall(x: np.ndarray, rng: np.random.Generator, helpers: dict[str, Any]) -> tuple[np.ndarray, dict[str, float]]:
    """A long, wet hall: RT60 1.5-2.5 s, direct-to-reverberant -8..-2 dB (past the public suite's
    0.3-1.0 s, -6..+6 dB)."""
    rt60, drr = float(rng.uniform(1.5, 2.5)), float(rng.uniform(-8.0, -2.0))
    h, rt60, drr = helpers["synthetic_rir"](rng, rt60=rt60, drr_db=drr)
    return helpers["convolve"](x, h), {"rt60_s": round(rt60, 3), "drr_db": round(drr, 1)}


def _hum_crackle(x: np.ndarray, rng: np.random.Generator, rms: Any, sr: int) -> np.ndarray:
    """A worn vinyl transfer: 50 Hz mains hum and its harmonics 20 dB under the music, and sparse clicks."""
    t = np.arange(len(x)) / sr
    hum = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in (1, 2, 3))
    hum *= rms(x) / rms(hum) * 10 ** (-20 / 20)
    clicks = np.zeros(len(x))
    at = rng.integers(0, len(x), size=max(1, len(x) // (sr // 8)))
    clicks[at] = rng.uniform(-1, 1, size=len(at)) * 4 * rms(x)
    return x + hum + clicks


def _dropouts(x: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    """100 ms of silence once a second at a random phase (a lossy stream's concealed packet loss)."""
    y = x.copy()
    gap, phase = int(0.1 * sr), int(rng.integers(0, sr))
    for start in range(phase, len(y), sr):
        y[start : start + gap] = 0.0
    return y


def _wow_flutter(x: np.ndarray, sr: int) -> np.ndarray:
    """Wow (0.5 Hz) and flutter (6 Hz) of a worn turntable or tape: playback speed swings by 0.5 % and
    0.1 %, pitch and tempo together."""
    t = np.arange(len(x)) / sr
    rate = 1 + 0.005 * np.sin(2 * np.pi * 0.5 * t) + 0.001 * np.sin(2 * np.pi * 6 * t)
    position = np.cumsum(rate) - rate[0]
    position = position[position <= len(x) - 1]
    return np.interp(position, np.arange(len(x)), x)
