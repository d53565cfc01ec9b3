from __future__ import annotations

import numpy as np
import pytest

from generation_audit import simulation
from generation_audit.detectors import learned
from generation_audit.detectors.base import AI_GENERATED, MODERATE, NO_EVIDENCE
from tests.generation_audit.conftest import RATE


def test_it_loads_the_shipped_weights_and_names_them_in_its_version() -> None:
    assert learned.WEIGHTS_FILE.exists(), "generation_audit/weights/learned.pt must be shipped"
    card = learned._model()[1]
    assert learned.VERSION.endswith(card["weights_sha256"][:8])
    assert card["command"].startswith("python manage.py train_provenance")


@pytest.mark.parametrize(
    "make",
    [
        lambda x: simulation.phase_vocoder(x, RATE, 1024, 80, seed=1),
        lambda x: simulation.tconv(x, RATE, 0, "strong", seed=1),
        lambda x: simulation.upsample_conv(x, RATE, 0, "medium", seed=1),
    ],
    ids=["phase_vocoder", "transposed_conv", "upsample_conv"],
)
def test_it_separates_generated_from_real_music(music: np.ndarray, make: object) -> None:
    excerpt = music[: 6 * RATE]
    generated = make(excerpt)  # type: ignore[operator]
    real, real_rate = simulation.real_at(excerpt, RATE, generated.sample_rate)

    fake_result = learned.analyse(generated.samples, generated.sample_rate)
    real_result = learned.analyse(real, real_rate)

    assert fake_result.label == AI_GENERATED
    assert real_result.label == NO_EVIDENCE
    assert fake_result.score > real_result.score
    assert fake_result.strength == MODERATE
    assert fake_result.evidence["clips"] == 4
