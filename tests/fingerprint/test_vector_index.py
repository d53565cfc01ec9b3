"""The on-disk vector index: search, replace and remove, generations, refusals, crashes and layouts."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from fingerprint import index as vector_index
from fingerprint import params
from fingerprint.index import VectorIndex, VectorIndexMismatchError, choose_layout, vector_ids

DIM = 16
SEGMENTS = 40
HOP_S = 0.5


@pytest.fixture(autouse=True)
def one_faiss_thread() -> object:
    """Tiny indexes gain nothing from OpenMP, and on a busy machine its spinning threads cost seconds."""
    before = vector_index.faiss_threads(1)
    yield
    vector_index.faiss_threads(before)


def _vectors(seed: int, n: int = SEGMENTS) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _times(n: int = SEGMENTS) -> np.ndarray:
    return np.arange(n, dtype=np.float32) * HOP_S


def _noisy(vectors: np.ndarray, seed: int = 99) -> np.ndarray:
    """A query's view of reference segments: the same vectors with some noise."""
    return vectors + 0.05 * np.random.default_rng(seed).standard_normal(vectors.shape).astype(np.float32)


def _index(directory: Path, model: str = "emb-1", dim: int = DIM) -> VectorIndex:
    return VectorIndex(directory, dim, model)


def _with_refs(directory: Path, refs: range) -> VectorIndex:
    index = _index(directory)
    index.add_many((ref, _vectors(ref), _times()) for ref in refs)
    return index


def _assert_finds(index: VectorIndex, ref: int, segments: list[int]) -> None:
    found = index.search(_noisy(_vectors(ref)[segments]), 3)
    assert found.ref_ids[:, 0].tolist() == [ref] * len(segments)
    assert found.times_s[:, 0].tolist() == [s * HOP_S for s in segments]


def _live(directory: Path) -> Path:
    return directory / (directory / "CURRENT").read_text().strip()


def test_a_segment_is_found_in_the_right_reference_at_the_right_time(tmp_path: Path) -> None:
    index = _with_refs(tmp_path, range(1, 6))

    found = index.search(_noisy(_vectors(3)[[4, 17]]), 5)

    assert found.ref_ids.shape == found.scores.shape == found.times_s.shape == (2, 5)
    assert found.ref_ids.dtype == np.int64 and found.scores.dtype == found.times_s.dtype == np.float32
    assert found.ref_ids[:, 0].tolist() == [3, 3]
    assert found.times_s[:, 0].tolist() == [2.0, 8.5]
    assert (found.scores[:, 0] > 0.95).all() and (np.diff(found.scores, axis=1) <= 0).all()
    assert len(index) == 5 * SEGMENTS and index.ref_ids() == {1, 2, 3, 4, 5}


def test_adding_a_reference_again_replaces_its_vectors(tmp_path: Path) -> None:
    index = _with_refs(tmp_path, range(1, 4))

    index.add(2, _vectors(222, 10), _times(10) + 100)

    assert len(index) == 2 * SEGMENTS + 10
    old = index.search(_noisy(_vectors(2)[[5]]), 1)
    assert old.ref_ids[0, 0] != 2 or old.scores[0, 0] < 0.9
    new = index.search(_noisy(_vectors(222, 10)[[3]]), 1)
    assert new.ref_ids[0, 0] == 2 and new.times_s[0, 0] == 101.5


def test_removing_a_reference_drops_its_vectors_and_keeps_the_others(tmp_path: Path) -> None:
    index = _with_refs(tmp_path, range(1, 4))

    index.remove(2)
    index.remove(42)  # not indexed: nothing happens

    assert index.ref_ids() == {1, 3} and len(index) == 2 * SEGMENTS
    assert 2 not in index.search(_noisy(_vectors(2)), 10).ref_ids
    _assert_finds(index, 3, [0, 39])


def test_an_empty_index_finds_nothing(tmp_path: Path) -> None:
    found = _index(tmp_path).search(_vectors(1, 2), 3)

    assert (found.ref_ids == -1).all() and np.isnan(found.times_s).all() and np.isneginf(found.scores).all()


def test_the_index_persists_for_a_new_instance(tmp_path: Path) -> None:
    _with_refs(tmp_path, range(1, 4)).remove(1)

    reopened = _index(tmp_path)

    assert reopened.ref_ids() == {2, 3} and len(reopened) == 2 * SEGMENTS
    _assert_finds(reopened, 2, [7, 30])
    sidecar = json.loads((_live(tmp_path) / "sidecar.json").read_text())
    assert sidecar["dim"] == DIM and sidecar["model_version"] == "emb-1" and sidecar["metric"] == "inner_product"
    assert sidecar["layout"] == "flat" and sidecar["vectors"] == 2 * SEGMENTS and sidecar["format_version"] == 1
    assert set(sidecar["checksums"]) == {"index.faiss", "refs.npy", "offsets.npy", "times.npy"}


def test_another_process_sees_the_new_generation_after_a_write(tmp_path: Path) -> None:
    writer = _with_refs(tmp_path, range(1, 3))
    reader = _index(tmp_path)
    assert reader.ref_ids() == {1, 2}

    writer.add(7, _vectors(7), _times())

    assert reader.ref_ids() == {1, 2, 7}
    _assert_finds(reader, 7, [11])
    assert sorted(p.name for p in tmp_path.glob("vec-*")) == ["vec-000001", "vec-000002"]  # the last two kept


@pytest.mark.parametrize(("model", "dim"), [("emb-2", DIM), ("emb-1", 32)])
def test_it_refuses_an_index_built_by_another_model_or_dimension(tmp_path: Path, model: str, dim: int) -> None:
    _with_refs(tmp_path, range(1, 3))

    with pytest.raises(VectorIndexMismatchError, match=r"python manage\.py build_index"):
        len(_index(tmp_path, model=model, dim=dim))


@pytest.mark.parametrize("damaged", ["index.faiss", "times.npy"])
def test_it_refuses_a_damaged_file(tmp_path: Path, damaged: str) -> None:
    _with_refs(tmp_path, range(1, 3))
    path = _live(tmp_path) / damaged
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))

    with pytest.raises(VectorIndexMismatchError, match=r"checksum.*python manage\.py build_index"):
        _index(tmp_path).search(_vectors(1, 1), 1)


def test_it_refuses_a_directory_that_holds_another_index(tmp_path: Path) -> None:
    (tmp_path / "CURRENT").write_text("gen-000003")

    with pytest.raises(VectorIndexMismatchError, match="directory of its own"):
        len(_index(tmp_path))


def test_a_crash_while_saving_leaves_the_previous_generation_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = _with_refs(tmp_path, range(1, 3))
    before = sorted(p.name for p in tmp_path.iterdir())

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(faiss, "write_index", crash)
    with pytest.raises(OSError, match="disk full"):
        index.add(3, _vectors(3), _times())
    monkeypatch.undo()

    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no new generation, no temp folder
    for reader in (index, _index(tmp_path)):
        assert reader.ref_ids() == {1, 2}
        _assert_finds(reader, 2, [9])
    index.add(3, _vectors(3), _times())
    assert _index(tmp_path).ref_ids() == {1, 2, 3}


def test_a_generation_left_unpublished_by_a_crash_is_skipped_and_cleared(tmp_path: Path) -> None:
    index = _with_refs(tmp_path, range(1, 3))
    live = _live(tmp_path).name
    (tmp_path / "vec-000099").mkdir()  # written and renamed, but CURRENT never swapped

    assert _index(tmp_path).ref_ids() == {1, 2} and _live(tmp_path).name == live
    index.add(3, _vectors(3), _times())

    assert _live(tmp_path).name == "vec-000100" and not (tmp_path / "vec-000099").exists()
    assert _index(tmp_path).ref_ids() == {1, 2, 3}


def test_layouts_switch_at_thresholds_and_keep_finding_segments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(params, "VECTOR_IVF_MIN_VECTORS", 400)
    monkeypatch.setattr(params, "VECTOR_SQ8_MIN_VECTORS", 1200)
    monkeypatch.setattr(params, "VECTOR_PQ_MIN_VECTORS", 2400)
    index = _index(tmp_path)
    kinds = []
    for first in range(1, 81, 5):  # 200 vectors a step
        index.add_many((ref, _vectors(ref), _times()) for ref in range(first, first + 5))
        kind = index.describe()["layout"]["kind"]
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
            _assert_finds(index, 1, [3, 20])
            _assert_finds(index, first + 4, [0, 39])
    assert kinds == ["flat", "ivf_flat", "ivf_sq8", "ivf_pq"]

    index.remove_many(range(60, 81))  # 2360 left: under PQ's threshold, not by the hysteresis factor
    assert index.describe()["layout"]["kind"] == "ivf_pq"
    index.remove_many(range(11, 60))  # 400 left: back to IVF-Flat
    assert _index(tmp_path).describe()["layout"]["kind"] == "ivf_flat"
    _assert_finds(_index(tmp_path), 10, [5, 25])


def test_a_rebuild_replaces_everything_streaming_or_gathered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(params, "VECTOR_IVF_MIN_VECTORS", 400)
    index = _with_refs(tmp_path, range(1, 4))

    index.rebuild(((ref, _vectors(ref), _times()) for ref in range(10, 30)), total_vectors=20 * SEGMENTS)
    assert index.ref_ids() == set(range(10, 30)) and index.describe()["layout"]["kind"] == "ivf_flat"
    _assert_finds(_index(tmp_path), 17, [2, 33])

    index.rebuild([(5, _vectors(5), _times())])
    assert _index(tmp_path).ref_ids() == {5} and index.describe()["layout"]["kind"] == "flat"
    with pytest.raises(ValueError, match="twice"):
        index.rebuild([(5, _vectors(5), _times()), (5, _vectors(6), _times())])
    assert _index(tmp_path).ref_ids() == {5}


def test_it_rejects_malformed_input(tmp_path: Path) -> None:
    index = _index(tmp_path)
    with pytest.raises(ValueError, match="shape"):
        index.add(1, _vectors(1)[:, :8], _times())
    with pytest.raises(ValueError, match="segment times"):
        index.add(1, _vectors(1), _times(3))
    with pytest.raises(ValueError, match="NaN"):
        index.add(1, np.full((2, DIM), np.nan, np.float32), _times(2))
    with pytest.raises(ValueError, match="outside"):
        index.add(-1, _vectors(1), _times())


def test_ids_pack_the_reference_above_the_segment_index() -> None:
    ids = vector_ids(5, 3)

    assert ids.tolist() == [5 << 20, (5 << 20) + 1, (5 << 20) + 2]
    assert (ids >> params.VECTOR_ID_SEGMENT_BITS == 5).all()
    with pytest.raises(ValueError):
        vector_ids(1, (1 << params.VECTOR_ID_SEGMENT_BITS) + 1)


@pytest.mark.parametrize(
    ("n", "kind"),
    [(0, "flat"), (199_999, "flat"), (200_000, "ivf_flat"), (1_999_999, "ivf_flat"), (2_000_000, "ivf_sq8"),
     (20_000_000, "ivf_sq8"), (49_999_999, "ivf_sq8"), (50_000_000, "ivf_pq"), (500_000_000, "ivf_pq")],
)  # fmt: skip
def test_choose_layout_follows_the_documented_thresholds(n: int, kind: str) -> None:
    layout = choose_layout(n, dim=64)

    assert layout.kind == kind
    if kind != "flat":
        assert layout.nlist == min(round(n / params.VECTOR_VECTORS_PER_LIST), params.VECTOR_MAX_NLIST)
        assert params.VECTOR_MIN_NPROBE <= layout.nprobe <= min(params.VECTOR_MAX_NPROBE, layout.nlist)
    if kind == "ivf_pq":
        assert (layout.pq_m, layout.pq_bits) == (32, 8)


def test_the_vectors_scanned_per_query_grow_far_slower_than_the_catalogue() -> None:
    """Search cost is nprobe lists of n / nlist vectors: from 1M to 20M it may grow 2.7x, not 20x."""

    def scanned(n: int) -> float:
        layout = choose_layout(n, dim=64)
        return layout.nprobe * n / layout.nlist

    assert scanned(20_000_000) / scanned(1_000_000) < 3
    assert choose_layout(1_000_000, dim=64).nprobe == 32  # the 1M index probes what it always did


def test_many_lists_are_trained_in_two_levels_and_still_find_segments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(params, "VECTOR_IVF_MIN_VECTORS", 400)
    monkeypatch.setattr(params, "VECTOR_VECTORS_PER_LIST", 50)
    monkeypatch.setattr(params, "VECTOR_TWO_LEVEL_MIN_NLIST", 16)
    index = _index(tmp_path)
    index.rebuild((ref, _vectors(ref), _times()) for ref in range(1, 31))

    layout = index.describe()["layout"]
    assert (layout["kind"], layout["nlist"]) == ("ivf_flat", 24)
    for ref in (1, 17, 30):
        _assert_finds(_index(tmp_path), ref, [0, 21, 39])


@pytest.mark.parametrize("n_points", [2000, 120, 90])  # plenty, barely enough, one point a list
def test_two_level_training_gives_every_list_its_own_centroid(n_points: int) -> None:
    rows = np.random.default_rng(3).standard_normal((n_points, DIM)).astype(np.float32)
    rows[:3] += 40 * np.eye(DIM, dtype=np.float32)[0]  # three far points: a tiny cluster, worth under one list
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)

    centroids = vector_index._two_level_centroids(rows, 90)

    assert centroids.shape == (90, DIM)
    assert np.isfinite(centroids).all()
    assert len(np.unique(np.round(centroids, 5), axis=0)) == 90


def test_the_gpu_is_not_used_when_the_device_is_set_to_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTENTID_DEVICE", "cpu")

    assert vector_index.gpu_available() is False
