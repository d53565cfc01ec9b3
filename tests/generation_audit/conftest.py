from __future__ import annotations

import numpy as np
import pytest

from catalog import synth
from generation_audit import degradations

RATE = 44100  # Hz: the comb tests run at CD rate, where a 44.1 kHz / 512 decoder's comb sits at 86.13 Hz


@pytest.fixture(scope="session")
def music() -> np.ndarray:
    """12 s of synthetic music at 44.1 kHz (catalog.synth, upsampled), shared by the detector tests."""
    return degradations.resample(synth.compose(5, 12.0).samples, synth.SAMPLE_RATE, RATE)
