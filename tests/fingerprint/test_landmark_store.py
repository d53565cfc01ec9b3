"""The on-disk landmark index: lookups, atomic generations, and refusing indexes it cannot trust."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from fingerprint import landmark_store, landmarks, matching, params
from fingerprint.landmark_store import IndexMismatchError, LandmarkStore
from tests import audio as test_audio

REF_A, REF_B = 101, 202
# Pieces with plenty of landmarks: these tests are about the store, not about recall on sparse music
# (seed 12, used before the triplet engine, has 6.7 landmarks/s and an 8 s excerpt at 10 s is missed).
SEED_A, SEED_B = 13, 14


def _analysed(samples: np.ndarray) -> np.ndarray:
    """Samples at synth rate -> the engine's analysis rate."""
    assert test_audio.SR == 2 * params.ANALYSIS_SAMPLE_RATE
    return resample_poly(samples, 1, 2).astype(np.float32)


@cache
def _piece(seed: int) -> np.ndarray:
    return test_audio.piece(seed)


@cache
def _reference(seed: int) -> landmarks.Landmarks:
    return landmarks.extract(_analysed(_piece(seed)))


@cache
def _query(seed: int, start_s: float, length_s: float = 8.0) -> landmarks.QueryLandmarks:
    return landmarks.extract_query(_analysed(test_audio.excerpt(_piece(seed), start_s, length_s)))


def _best(store: LandmarkStore, query: landmarks.QueryLandmarks) -> matching.Alignment | None:
    postings = store.lookup(query.hashes)
    found = matching.best_alignments(
        query.anchor_frames, query.anchor_pitches, query.owner[postings.query_index], postings
    )
    return found[0] if found else None


def _store_with_two(directory: Path) -> LandmarkStore:
    store = LandmarkStore(directory)
    store.add(REF_A, _reference(SEED_A))
    store.add(REF_B, _reference(SEED_B))
    return store


def _live(directory: Path) -> Path:
    return directory / (directory / "CURRENT").read_text().strip()


def _marks(hashes: list[int], frames: list[int], pitches: list[int]) -> landmarks.Landmarks:
    """Hand-made landmarks, for checking exactly what a lookup returns."""
    return landmarks.Landmarks(
        hashes=np.array(hashes, np.uint32),
        frames=np.array(frames, np.uint32),
        pitches=np.array(pitches, np.uint16),
        n_frames=max(frames, default=0) + 1,
    )


# --------------------------------------------------------------------------- lookups


def test_an_excerpt_is_found_in_the_right_reference_at_the_right_offset(tmp_path: Path) -> None:
    store = _store_with_two(tmp_path)

    assert store.ref_ids() == {REF_A, REF_B}
    assert len(store) == len(_reference(SEED_A)) + len(_reference(SEED_B))
    for seed, ref, start in ((SEED_A, REF_A, 7.0), (SEED_B, REF_B, 15.5)):
        best = _best(store, _query(seed, start))
        assert best is not None and best.ref_id == ref
        assert abs(best.offset_s - start) < 0.5
        assert best.is_match()


def test_a_lookup_returns_every_posting_of_each_query_hash_with_its_frame_and_pitch(tmp_path: Path) -> None:
    store = LandmarkStore(tmp_path)
    store.add(REF_A, _marks([5, 9, 5, 7], [10, 20, 30, 40], [100, 200, 300, 400]))
    store.add(REF_B, _marks([9, 11], [1, 2], [64, 128]))

    postings = store.lookup(np.array([9, 3, 5], np.uint32))

    found = sorted(
        zip(
            postings.query_index.tolist(),
            postings.refs.tolist(),
            postings.ref_frames.tolist(),
            postings.ref_pitches.tolist(),
            strict=True,
        )
    )
    assert found == [
        (0, REF_A, 20, 200),
        (0, REF_B, 1, 64),
        (2, REF_A, 10, 100),
        (2, REF_A, 30, 300),
    ]
    empty = store.lookup(np.array([4, 6], np.uint32))
    assert len(empty.refs) == len(empty.query_index) == len(empty.ref_frames) == len(empty.ref_pitches) == 0


@pytest.mark.parametrize("block", [1, 2, 1 << 20])  # a posting a block, two, all in one
def test_a_lookup_for_some_references_returns_exactly_their_postings_in_query_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(landmark_store, "_LOOKUP_BLOCK", block)
    store = LandmarkStore(tmp_path)
    store.add(REF_A, _marks([5, 9, 5, 7], [10, 20, 30, 40], [100, 200, 300, 400]))
    store.add(REF_B, _marks([9, 11, 5], [1, 2, 3], [64, 128, 32]))
    store.add(303, _marks([9, 5], [7, 8], [1, 2]))
    hashes = np.array([9, 3, 5, 11, 9], np.uint32)

    everything = store.lookup(hashes)
    only = store.lookup(hashes, np.array([REF_B, 303]))

    keep = np.isin(everything.refs, [REF_B, 303])
    for got, full in zip(
        (only.query_index, only.refs, only.ref_frames, only.ref_pitches),
        (everything.query_index, everything.refs, everything.ref_frames, everything.ref_pitches),
        strict=True,
    ):
        assert got.tolist() == full[keep].tolist()
    assert only.query_index.tolist() == sorted(only.query_index.tolist()) and set(only.refs.tolist()) == {REF_B, 303}
    assert len(store.lookup(hashes, np.array([999])).refs) == 0


def test_a_hash_too_common_to_discriminate_is_skipped(tmp_path: Path) -> None:
    common = params.MAX_POSTINGS_PER_HASH + 1
    store = LandmarkStore(tmp_path)
    store.add(REF_A, _marks([1] * common + [2], list(range(common + 1)), [0] * (common + 1)))

    postings = store.lookup(np.array([1, 2], np.uint32))

    assert postings.query_index.tolist() == [1]
    assert postings.ref_frames.tolist() == [common]


@pytest.mark.parametrize(
    ("budget", "kept_hashes"),
    [(100, {1, 2, 3, 4}), (12, {1, 2, 3, 4}), (11, {1, 2, 3}), (5, {1, 2, 3}), (4, {1}), (0, set())],
)
def test_a_lookup_over_its_budget_drops_the_commonest_hashes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: int, kept_hashes: set[int]
) -> None:
    """Hash 1 has one posting, 2 and 3 two each, 4 seven: 12 in all."""
    monkeypatch.setattr(params, "MAX_POSTINGS_PER_LOOKUP", budget)
    hashes = [1, 2, 2, 3, 3] + [4] * 7
    store = LandmarkStore(tmp_path)
    store.add(REF_A, _marks(hashes, list(range(len(hashes))), [0] * len(hashes)))

    postings = store.lookup(np.array([4, 3, 2, 1], np.uint32))

    found = {4 - int(i) for i in postings.query_index}
    assert found == kept_hashes
    assert len(postings.refs) == sum(hashes.count(h) for h in kept_hashes)  # hashes 2 and 3 stand or fall together


def test_an_empty_index_finds_nothing(tmp_path: Path) -> None:
    store = LandmarkStore(tmp_path / "never-written")

    assert store.ref_ids() == set() and len(store) == 0
    assert _best(store, _query(SEED_A, 7.0)) is None


# --------------------------------------------------------------------------- writes and generations


def test_removing_a_reference_drops_it_and_keeps_the_other(tmp_path: Path) -> None:
    store = _store_with_two(tmp_path)

    store.remove(REF_A)

    assert store.ref_ids() == {REF_B}
    assert len(store) == len(_reference(SEED_B))
    best_a = _best(store, _query(SEED_A, 7.0))
    assert best_a is None or (best_a.ref_id != REF_A and not best_a.is_match())
    best_b = _best(store, _query(SEED_B, 10.0))
    assert best_b is not None and best_b.ref_id == REF_B and abs(best_b.offset_s - 10.0) < 0.5


def test_removing_a_reference_that_is_not_indexed_writes_nothing(tmp_path: Path) -> None:
    store = _store_with_two(tmp_path)
    live_before = (tmp_path / "CURRENT").read_text()

    store.remove(999)

    assert (tmp_path / "CURRENT").read_text() == live_before
    assert store.ref_ids() == {REF_A, REF_B}


def test_another_process_sees_the_new_generation_after_a_write(tmp_path: Path) -> None:
    writer = LandmarkStore(tmp_path)
    writer.add(REF_A, _reference(SEED_A))
    reader = LandmarkStore(tmp_path)
    assert reader.ref_ids() == {REF_A}

    writer.add(REF_B, _reference(SEED_B))

    assert reader.ref_ids() == {REF_A, REF_B}
    best = _best(reader, _query(SEED_B, 4.0))
    assert best is not None and best.ref_id == REF_B


def test_adding_a_reference_again_replaces_its_postings(tmp_path: Path) -> None:
    store = _store_with_two(tmp_path)
    before = len(store)

    store.add(REF_A, _reference(SEED_A))

    assert len(store) == before
    assert store.generation().ref_counts == {REF_A: len(_reference(SEED_A)), REF_B: len(_reference(SEED_B))}


def test_adding_many_references_writes_one_generation(tmp_path: Path) -> None:
    store = LandmarkStore(tmp_path)
    store.add(REF_A, _marks([1, 2], [0, 1], [0, 0]))

    store.add_many([(REF_A, _reference(SEED_A)), (REF_B, _reference(SEED_B))])

    assert (tmp_path / "CURRENT").read_text() == "gen-000002"
    assert store.generation().ref_counts == {REF_A: len(_reference(SEED_A)), REF_B: len(_reference(SEED_B))}
    store.add_many([])  # nothing to do: no new generation
    assert (tmp_path / "CURRENT").read_text() == "gen-000002"


def test_a_rebuild_replaces_the_whole_index(tmp_path: Path) -> None:
    store = _store_with_two(tmp_path)

    store.rebuild([(REF_B, _reference(SEED_B))])

    assert store.ref_ids() == {REF_B}
    assert len(store) == len(_reference(SEED_B))
    best = _best(LandmarkStore(tmp_path), _query(SEED_B, 15.5))
    assert best is not None and best.ref_id == REF_B and best.is_match()


# --------------------------------------------------------------------------- indexes it cannot trust


def test_an_index_built_by_another_engine_must_be_rebuilt(tmp_path: Path) -> None:
    _store_with_two(tmp_path)
    manifest_path = _live(tmp_path) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["signature"]["engine_version"] = "landmark-0"
    manifest_path.write_text(json.dumps(manifest))

    with pytest.raises(IndexMismatchError, match=r"(?i)rebuild"):
        LandmarkStore(tmp_path).generation()


def test_an_index_built_with_other_landmark_parameters_must_be_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_with_two(tmp_path)
    monkeypatch.setattr(params, "BANDS_PER_SEMITONE", params.BANDS_PER_SEMITONE + 1)

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


def test_a_damaged_pitch_file_is_refused(tmp_path: Path) -> None:
    _store_with_two(tmp_path)
    pitches_path = _live(tmp_path) / "pitches.npy"
    data = bytearray(pitches_path.read_bytes())
    data[-1] ^= 0x01
    pitches_path.write_bytes(bytes(data))

    with pytest.raises(IndexMismatchError, match=r"(?i)damaged"):
        LandmarkStore(tmp_path).generation()


# --------------------------------------------------------------------------- failed writes


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
    best = _best(LandmarkStore(tmp_path), _query(SEED_A, 7.0))
    assert best is not None and best.ref_id == REF_A


def test_a_rebuild_whose_input_fails_leaves_the_previous_index_live(tmp_path: Path) -> None:
    store = _store_with_two(tmp_path)
    live_before = (tmp_path / "CURRENT").read_text()
    generations_before = sorted(p.name for p in tmp_path.glob("gen-*"))

    def items():  # type: ignore[no-untyped-def]
        yield REF_B, _reference(SEED_B)
        raise OSError("a reference file could not be read")

    with pytest.raises(OSError, match="could not be read"):
        store.rebuild(items())

    assert (tmp_path / "CURRENT").read_text() == live_before
    assert sorted(p.name for p in tmp_path.glob("gen-*")) == generations_before
    assert LandmarkStore(tmp_path).ref_ids() == {REF_A, REF_B}
    assert not list(tmp_path.glob(".gen-*.tmp"))


def test_only_the_live_generation_and_the_one_before_it_stay_on_disk(tmp_path: Path) -> None:
    store = _store_with_two(tmp_path)
    store.remove(REF_A)
    store.add(REF_A, _reference(SEED_A))
    store.remove(REF_B)

    generations = sorted(p.name for p in tmp_path.glob("gen-*"))
    assert generations == ["gen-000004", "gen-000005"]
    assert (tmp_path / "CURRENT").read_text() == "gen-000005"
    assert store.ref_ids() == {REF_A}
