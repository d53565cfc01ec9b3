"""Landmark decoys: a benchmark index made to carry a larger catalogue's postings."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from fingerprint import landmarks, matching, params
from fingerprint.decoys import add_landmark_decoys
from fingerprint.landmark_store import LandmarkStore
from tests import audio as test_audio

REF_A, REF_B = 7, 11


@cache
def _analysed(seed: int) -> np.ndarray:
    assert test_audio.SR == 2 * params.ANALYSIS_SAMPLE_RATE
    return resample_poly(test_audio.piece(seed), 1, 2).astype(np.float32)


def _store(directory: Path) -> LandmarkStore:
    store = LandmarkStore(directory)
    store.add_many([(REF_A, landmarks.extract(_analysed(13))), (REF_B, landmarks.extract(_analysed(14)))])
    return store


def _columns(store: LandmarkStore, ref_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gen = store.generation()
    mine = np.asarray(gen.arrays["refs"]) == ref_id
    return tuple(np.asarray(gen.arrays[key])[mine] for key in ("hashes", "frames", "pitches"))  # type: ignore[return-value]


def test_decoys_carry_each_reference_s_hashes_with_its_frames_shuffled(tmp_path: Path) -> None:
    store = _store(tmp_path)
    before = len(store)

    decoys = add_landmark_decoys(store, copies=3)

    assert len(decoys) == 6 and min(decoys) > REF_B and len(set(decoys)) == 6
    assert len(store) == 4 * before
    real_hashes, real_frames, real_pitches = _columns(store, REF_A)
    first = _columns(store, decoys[0])  # REF_A's first decoy (references in id order)
    order_real, order_decoy = np.lexsort((real_pitches, real_hashes)), np.lexsort((first[2], first[0]))
    assert np.array_equal(real_hashes[order_real], first[0][order_decoy])
    assert np.array_equal(real_pitches[order_real], first[2][order_decoy])
    assert np.array_equal(np.sort(real_frames), np.sort(first[1]))
    assert not np.array_equal(real_frames[order_real], first[1][order_decoy])


def test_with_decoys_a_query_gathers_more_postings_and_still_finds_its_reference(tmp_path: Path) -> None:
    store = _store(tmp_path)
    query = landmarks.extract_query(_analysed(13)[10 * params.ANALYSIS_SAMPLE_RATE : 18 * params.ANALYSIS_SAMPLE_RATE])
    alone = len(store.lookup(query.hashes).refs)

    add_landmark_decoys(store, copies=4)
    postings = store.lookup(query.hashes)
    found = matching.best_alignments(
        query.anchor_frames, query.anchor_pitches, query.owner[postings.query_index], postings
    )

    assert len(postings.refs) == 5 * alone
    assert found[0].ref_id == REF_A and found[0].is_match() and abs(found[0].offset_s - 10.0) < 0.5
    # Shuffled frames line up only by chance: a few triplets, never near the copy's own line.
    assert all(a.aligned < found[0].aligned / 10 for a in found[1:])


def test_no_decoys_writes_nothing_and_a_negative_count_is_refused(tmp_path: Path) -> None:
    store = _store(tmp_path)
    live = (tmp_path / "CURRENT").read_text()

    assert add_landmark_decoys(store, copies=0) == []
    assert (tmp_path / "CURRENT").read_text() == live
    with pytest.raises(ValueError, match="zero or more"):
        add_landmark_decoys(store, copies=-1)


def test_the_bench_adapter_adds_decoys_after_indexing_and_still_answers(tmp_path: Path) -> None:
    """bench_identify --landmark-decoys K runs the harness with this variable set for its adapter."""
    import json
    import os
    import subprocess
    import sys

    refs = tmp_path / "refs.tsv"
    refs.write_text(
        "".join(
            f"{name}\t{test_audio.write(tmp_path / f'{name}.wav', test_audio.piece(seed))}\n"
            for name, seed in (("a", 13), ("b", 14))
        )
    )
    queries = tmp_path / "queries.tsv"
    clip = test_audio.write(tmp_path / "q.wav", test_audio.excerpt(test_audio.piece(14), 12.0, 6.0))
    queries.write_text(f"q1\t{clip}\n")
    adapter = Path(__file__).resolve().parents[2] / "fingerprint" / "bench_adapter.py"
    env = {**os.environ, "CONTENTID_BENCH_LANDMARK_DECOYS": "2"}
    work = tmp_path / "work"

    for phase in (["index", str(refs), str(work)], ["query", str(queries), str(work), str(tmp_path / "out.jsonl")]):
        done = subprocess.run([sys.executable, str(adapter), *phase], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]

    store = LandmarkStore(work / "data" / "index")
    assert len(set(np.asarray(store.generation().arrays["refs"]).tolist())) == 6  # 2 references, 4 decoys
    answer = json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])
    assert answer["ref_id"] == "b" and abs(answer["offset_s"] - 12.0) < 0.5
