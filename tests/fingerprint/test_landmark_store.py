"""The on-disk landmark index: lookups, atomic generations, and refusing indexes it cannot trust."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from fingerprint import landmarks, matching, params
from fingerprint.landmark_store import IndexMismatchError, LandmarkStore
from tests import audio as test_audio

REF_A, REF_B = 101, 202
SEED_A, SEED_B = 11, 12


def _analysed(samples: np.ndarray) -> np.ndarray:
    """Samples at synth rate -> the engine's analysis rate."""
    assert test_audio.SR == 2 * params.ANALYSIS_SAMPLE_RATE
    return resample_poly(samples, 1, 2).astype(np.float32)


@cache
def _reference(seed: int) -> landmarks.Landmarks:
    return landmarks.extract(_analysed(test_audio.piece(seed)))


def _excerpt_marks(seed: int, start_s: float, length_s: float = 8.0) -> landmarks.Landmarks:
    return landmarks.extract(_analysed(test_audio.excerpt(test_audio.piece(seed), start_s, length_s)))


def _best(store: LandmarkStore, query: landmarks.Landmarks) -> matching.Alignment | None:
    postings = store.lookup(query.hashes)
    found = matching.best_alignments(query.frames, postings.query_index, postings.refs, postings.ref_frames)
    return found[0] if found else None


def _store_with_two(directory: Path) -> LandmarkStore:
    store = LandmarkStore(directory)
    store.add(REF_A, _reference(SEED_A).hashes, _reference(SEED_A).frames)
    store.add(REF_B, _reference(SEED_B).hashes, _reference(SEED_B).frames)
    return store


def _live(directory: Path) -> Path:
    return directory / (directory / "CURRENT").read_text().strip()


def test_an_excerpt_is_found_in_the_right_reference_at_the_right_offset(tmp_path: Path) -> None:
    store = _store_with_two(tmp_path)

    assert store.ref_ids() == {REF_A, REF_B}
    assert len(store) == len(_reference(SEED_A)) + len(_reference(SEED_B))
    for seed, ref, start in ((SEED_A, REF_A, 7.0), (SEED_B, REF_B, 15.5)):
        best = _best(store, _excerpt_marks(seed, start))
        assert best is not None and best.ref_id == ref
        assert abs(best.offset_s - start) < 0.5
        assert best.is_match()


def test_removing_a_reference_drops_it_and_keeps_the_other(tmp_path: Path) -> None:
    store = _store_with_two(tmp_path)

    store.remove(REF_A)

    assert store.ref_ids() == {REF_B}
    assert len(store) == len(_reference(SEED_B))
    best_a = _best(store, _excerpt_marks(SEED_A, 7.0))
    assert best_a is None or (best_a.ref_id != REF_A and not best_a.is_match())
    best_b = _best(store, _excerpt_marks(SEED_B, 10.0))
    assert best_b is not None and best_b.ref_id == REF_B and abs(best_b.offset_s - 10.0) < 0.5


def test_another_process_sees_the_new_generation_after_a_write(tmp_path: Path) -> None:
    writer = LandmarkStore(tmp_path)
    writer.add(REF_A, _reference(SEED_A).hashes, _reference(SEED_A).frames)
    reader = LandmarkStore(tmp_path)
    assert reader.ref_ids() == {REF_A}

    writer.add(REF_B, _reference(SEED_B).hashes, _reference(SEED_B).frames)

    assert reader.ref_ids() == {REF_A, REF_B}
    best = _best(reader, _excerpt_marks(SEED_B, 4.0))
    assert best is not None and best.ref_id == REF_B


def test_adding_a_reference_again_replaces_its_postings(tmp_path: Path) -> None:
    store = _store_with_two(tmp_path)
    before = len(store)

    store.add(REF_A, _reference(SEED_A).hashes, _reference(SEED_A).frames)

    assert len(store) == before
    assert store.generation().ref_counts == {REF_A: len(_reference(SEED_A)), REF_B: len(_reference(SEED_B))}


def test_an_index_built_by_another_engine_must_be_rebuilt(tmp_path: Path) -> None:
    _store_with_two(tmp_path)
    manifest_path = _live(tmp_path) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["signature"]["engine_version"] = "landmark-0"
    manifest_path.write_text(json.dumps(manifest))

    with pytest.raises(IndexMismatchError, match=r"(?i)rebuild"):
        LandmarkStore(tmp_path).generation()


def test_a_damaged_array_file_is_refused(tmp_path: Path) -> None:
    _store_with_two(tmp_path)
    hashes_path = _live(tmp_path) / "hashes.npy"
    data = bytearray(hashes_path.read_bytes())
    for i in range(len(data) - 16, len(data)):
        data[i] ^= 0xFF
    hashes_path.write_bytes(bytes(data))

    with pytest.raises(IndexMismatchError, match=r"(?i)damaged"):
        LandmarkStore(tmp_path).generation()


def test_a_write_that_fails_midway_leaves_the_previous_index_live(tmp_path: Path, monkeypatch) -> None:
    store = _store_with_two(tmp_path)
    live_before = (tmp_path / "CURRENT").read_text()
    counts_before = dict(store.generation().ref_counts)
    hashes_before = np.array(store.generation().hashes)

    real_save = np.save
    calls = []

    def failing_save(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[0])
        if len(calls) == 2:
            raise OSError("disk full")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(np, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        store.remove(REF_A)
    monkeypatch.undo()

    assert (tmp_path / "CURRENT").read_text() == live_before
    fresh = LandmarkStore(tmp_path).generation()
    assert fresh.ref_counts == counts_before
    assert np.array_equal(fresh.hashes, hashes_before)
    assert store.ref_ids() == {REF_A, REF_B}
    assert not list(tmp_path.glob(".gen-*.tmp"))
    best = _best(LandmarkStore(tmp_path), _excerpt_marks(SEED_A, 7.0))
    assert best is not None and best.ref_id == REF_A


def test_only_the_live_generation_and_the_one_before_it_stay_on_disk(tmp_path: Path) -> None:
    store = _store_with_two(tmp_path)
    store.remove(REF_A)
    store.add(REF_A, _reference(SEED_A).hashes, _reference(SEED_A).frames)
    store.remove(REF_B)

    generations = sorted(p.name for p in tmp_path.glob("gen-*"))
    assert generations == ["gen-000004", "gen-000005"]
    assert (tmp_path / "CURRENT").read_text() == "gen-000005"
    assert store.ref_ids() == {REF_A}
