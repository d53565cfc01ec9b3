"""Generated-style outputs built from the synthetic catalogue: an excerpt of a reference spliced into,
or mixed under, unrelated music. Shared by the replication-screen and output-audit tests."""

from __future__ import annotations

import numpy as np

from tests import audio as test_audio

SR = test_audio.SR
REFERENCE_SEED = 13
HOST_SEED = 42  # never registered: the generated material around the excerpt
EXCERPT_AT_S = 8.0  # where the excerpt starts in the reference
INSERT_AT_S = 12.0  # where it starts in the output
SEMITONE = 2 ** (1 / 12)


def spliced(excerpt: np.ndarray, host_seed: int = HOST_SEED, length_s: float = 36.0) -> np.ndarray:
    """Generated-style output: unrelated music, with `excerpt` replacing it from INSERT_AT_S on."""
    host = test_audio.piece(host_seed, length_s)
    at = int(INSERT_AT_S * SR)
    return np.concatenate([host[:at], excerpt, host[at + len(excerpt) :]]).astype(np.float32)


def mixed_under(excerpt: np.ndarray, level_db: float, host_seed: int = HOST_SEED) -> np.ndarray:
    """Unrelated music with `excerpt` mixed under it from INSERT_AT_S on, `level_db` below its level."""
    host = test_audio.piece(host_seed, 36.0)
    at = int(INSERT_AT_S * SR)
    part = host[at : at + len(excerpt)]
    gain = np.sqrt(np.mean(part**2) / np.mean(excerpt**2)) * 10 ** (level_db / 20)
    out = host.copy()
    out[at : at + len(excerpt)] += gain * excerpt
    return (out / max(1.0, float(np.abs(out).max()) / 0.95)).astype(np.float32)


def reference_excerpt(length_s: float = 10.0) -> np.ndarray:
    return test_audio.excerpt(test_audio.piece(REFERENCE_SEED), EXCERPT_AT_S, length_s)
