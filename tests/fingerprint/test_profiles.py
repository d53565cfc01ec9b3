"""Recording profiles: one unit vector per recording, the mean of its references' segment embeddings,
kept up to date as references are registered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fingerprint import actions, params, profiles
from tests import audio as test_audio
from tests import factories


def test_a_profile_is_the_renormalised_mean_of_unit_segment_vectors() -> None:
    a = np.array([[3.0, 0.0], [0.0, 1.0]])  # lengths 3 and 1: each counts once, whatever its length
    b = np.array([[0.0, 5.0]])

    found = profiles.profile([a, b])

    assert found is not None and found.dtype == np.float32
    np.testing.assert_allclose(found, np.array([1.0, 2.0]) / np.sqrt(5.0), rtol=1e-6)
    assert profiles.profile([]) is None and profiles.profile([np.zeros((0, 2))]) is None


@pytest.mark.django_db
def test_a_second_reference_of_a_recording_joins_its_profile(tmp_path: Path) -> None:
    model = actions.embedder()
    assert model is not None, "embedder weights ship in fingerprint/weights/"
    recording = factories.recording(1)
    first, second = test_audio.piece(1, 10.0), test_audio.piece(2, 10.0)
    actions.register_reference(recording, test_audio.write(tmp_path / "first.wav", first))
    only_first = profiles.store(model).vector(recording.pk)

    actions.register_reference(recording, test_audio.write(tmp_path / "second.wav", second))

    store = profiles.store(model)
    both = profiles.profile(
        model.embed_audio(actions.decode_for_analysis(tmp_path / name).samples)[0]
        for name in ("first.wav", "second.wav")
    )
    assert only_first is not None and both is not None
    np.testing.assert_allclose(store.vector(recording.pk), both, atol=1e-5)
    assert float(only_first @ both) < 0.999  # the profile moved: it is no longer the first file's alone
    assert len(store) == 1 and store.index.ref_ids() == {recording.pk}
    assert store.vector(recording.pk).shape == (params.EMBEDDING_DIM,)  # type: ignore[union-attr]
