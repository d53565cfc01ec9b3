"""The identification engine as a user meets it: synthetic music in, references, offsets and transformations out.

Transformed copies are made three ways, each cheap and each with a known truth:
- speed change (pitch and tempo together): resampling, as a record played at the wrong speed;
- tempo only: the same piece composed again at a faster or slower tempo (same notes, same timbre);
- pitch only: the piece composed at tempo / f, then sped up by f through resampling, so its tempo
  is back to the original and every frequency is multiplied by f.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from scipy import ndimage
from scipy.signal import resample_poly

from catalog import synth
from catalog.models import AudioAsset, Recording
from fingerprint import actions, audio, landmarks, matching, params
from fingerprint.landmark_store import LandmarkStore
from tests import audio as test_audio
from tests import factories

REF_SEEDS = (13, 14, 15, 16)  # the pieces in the index (reference id = seed)
UNRELATED_SEEDS = (42, 44, 45)  # never indexed
PIECE_S = 30.0
TOLERANCE = 0.01  # pitch and tempo factors: within 1 % of the truth
OFFSET_TOLERANCE_S = 0.5


@pytest.fixture(autouse=True)
def landmarks_only(settings: object) -> None:
    """These tests pin the landmark engine (and skip importing torch): no segment embeddings."""
    settings.FINGERPRINT_EMBEDDINGS = False  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- audio helpers


@cache
def _composed(seed: int, duration_s: float = PIECE_S) -> synth.Piece:
    return synth.compose(seed, duration_s)


def _cached_piece(seed: int, duration_s: float = PIECE_S) -> np.ndarray:
    return _composed(seed, duration_s).samples


def _analysed(samples: np.ndarray) -> np.ndarray:
    """Synth rate (22.05 kHz) -> the engine's analysis rate."""
    assert test_audio.SR == 2 * params.ANALYSIS_SAMPLE_RATE
    return resample_poly(samples, 1, 2).astype(np.float32)


@cache
def _reference(seed: int) -> landmarks.Landmarks:
    return landmarks.extract(_analysed(_cached_piece(seed)))


def _sped_up(samples: np.ndarray, up: int, down: int) -> np.ndarray:
    """Resampled by up/down and played at the original rate: down/up times faster and higher."""
    return resample_poly(samples, up, down).astype(np.float32)


class _TempoScaled:
    """synth.compose's random generator, with its first draw (the piece's tempo) multiplied by `factor`."""

    def __init__(self, rng: np.random.Generator, factor: float) -> None:
        self._rng, self._factor, self._first = rng, factor, True

    def uniform(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        value = self._rng.uniform(*args, **kwargs)
        if self._first:
            self._first = False
            return value * self._factor
        return value

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._rng, name)


@cache
def _composed_at_tempo(seed: int, factor: float) -> np.ndarray:
    """Piece `seed` played `factor` times faster: the same notes, each `factor` times shorter.

    The duration is scaled too, so the generator draws the same notes and drum pattern.
    """
    original = _composed(seed)
    real_rng = np.random.default_rng
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(np.random, "default_rng", lambda s: _TempoScaled(real_rng(s), factor))
        piece = synth.compose(seed, PIECE_S / factor)
    # If synth ever draws its tempo differently, fail here rather than test the wrong truth.
    assert piece.tempo_bpm == pytest.approx(original.tempo_bpm * factor, abs=0.11)
    return piece.samples


# --------------------------------------------------------------------------- assertions


def _index_references(seeds: tuple[int, ...] = REF_SEEDS) -> LandmarkStore:
    store = actions.landmark_store()
    store.rebuild([(seed, _reference(seed)) for seed in seeds])
    return store


def _describe(found: list[matching.Alignment]) -> str:
    return "; ".join(
        f"ref {a.ref_id}: aligned {a.aligned:.1f}, match {a.is_match()}, offset {a.offset_s:.2f} s, "
        f"tempo {a.tempo_factor:.4f}, pitch {a.pitch_factor:.4f}, span {a.query_start_s:.1f}-{a.query_end_s:.1f} s"
        for a in found[:3]
    )


def _assert_found(
    samples: np.ndarray, seed: int, start_s: float, *, pitch: float = 1.0, tempo: float = 1.0
) -> matching.Alignment:
    """The only match of `samples` is reference `seed`, at `start_s`, under the given transformation."""
    candidates = actions.candidate_alignments(samples)
    matches = actions.match_samples(samples)
    detail = _describe(candidates)
    assert [a.ref_id for a in matches] == [seed], detail
    best = matches[0]
    assert abs(best.offset_s - start_s) < OFFSET_TOLERANCE_S, detail
    assert abs(best.pitch_factor / pitch - 1) < TOLERANCE, detail
    assert abs(best.tempo_factor / tempo - 1) < TOLERANCE, detail
    # The reference span reported for the matched query span follows from the same truth.
    assert abs(best.reference_start_s - (start_s + tempo * best.query_start_s)) < OFFSET_TOLERANCE_S, detail
    return best


# --------------------------------------------------------------------------- plain excerpts


@pytest.mark.parametrize(("seed", "start_s", "snr_db"), [(13, 7.0, None), (16, 19.0, None), (14, 11.5, 15.0)])
def test_an_excerpt_is_found_in_its_reference_at_its_offset(seed: int, start_s: float, snr_db: float | None) -> None:
    _index_references()
    clip = test_audio.excerpt(_cached_piece(seed), start_s, 8.0)
    if snr_db is not None:
        clip = test_audio.add_noise(clip, snr_db)

    best = _assert_found(_analysed(clip), seed, start_s)

    assert best.confidence > 0.9
    assert best.aligned >= 5 * params.MIN_ALIGNED_HASHES
    assert best.query_start_s < 1.5 and best.query_end_s > 8.0 - 2.5  # most of the clip is accounted for
    # Every other reference is a chance candidate, far behind.
    others = [a for a in actions.candidate_alignments(_analysed(clip)) if a.ref_id != seed]
    assert all(a.aligned < best.aligned / 5 and a.confidence < 0.5 for a in others), _describe(others)


@pytest.mark.parametrize(
    "seed",
    [
        *UNRELATED_SEEDS,
        41,
    ],
)
def test_an_unrelated_piece_is_not_matched(seed: int) -> None:
    _index_references()
    samples = _analysed(_cached_piece(seed, 12.0))

    candidates = actions.candidate_alignments(samples)

    assert actions.match_samples(samples) == [], _describe(candidates)
    assert all(a.confidence < 0.5 for a in candidates), _describe(candidates)


# --------------------------------------------------------------------------- pitch and tempo


@pytest.mark.parametrize(("up", "down"), [(20, 21), (21, 20)], ids=["5pct_faster", "5pct_slower"])
def test_a_copy_played_at_another_speed_is_found_with_its_pitch_and_tempo(up: int, down: int) -> None:
    _index_references()
    seed, start_s = 14, 8.0
    factor = down / up  # pitch and tempo both
    clip = _sped_up(test_audio.excerpt(_cached_piece(seed), start_s, 10.0), up, down)

    best = _assert_found(_analysed(clip), seed, start_s, pitch=factor, tempo=factor)

    assert best.query_end_s - best.query_start_s > 6.0


@pytest.mark.parametrize(("seed", "factor"), [(15, 21 / 20), (16, 20 / 21)], ids=["5pct_faster", "5pct_slower"])
def test_a_copy_at_another_tempo_is_found_with_its_tempo_and_unchanged_pitch(seed: int, factor: float) -> None:
    _index_references()
    start_s = 8.0
    faster = _composed_at_tempo(seed, factor)
    clip = test_audio.excerpt(faster, start_s / factor, 10.0)

    best = _assert_found(_analysed(clip), seed, start_s, pitch=1.0, tempo=factor)

    assert best.query_end_s - best.query_start_s > 6.0


@pytest.mark.parametrize(("seed", "up", "down"), [(13, 20, 21), (14, 21, 20)], ids=["5pct_higher", "5pct_lower"])
def test_a_copy_at_another_pitch_is_found_with_its_pitch_and_unchanged_tempo(seed: int, up: int, down: int) -> None:
    _index_references()
    start_s = 8.0
    factor = down / up
    # Composed `factor` times slower, then sped up by `factor`: original tempo, every frequency x factor.
    slower = _composed_at_tempo(seed, up / down)
    clip = _sped_up(test_audio.excerpt(slower, start_s * factor, 10.0 * factor), up, down)

    best = _assert_found(_analysed(clip), seed, start_s, pitch=factor, tempo=1.0)

    assert best.query_end_s - best.query_start_s > 6.0


@pytest.mark.parametrize(("seed", "up", "down"), [(13, 50, 63), (14, 63, 50)], ids=["4st_higher", "4st_lower"])
def test_a_copy_pitched_past_the_covered_range_is_found_by_the_wider_second_search(
    seed: int, up: int, down: int
) -> None:
    _index_references()
    start_s = 8.0
    factor = down / up  # 1.26 or 0.79: four semitones, past params.MAX_PITCH_SHIFT_ST
    slower = _composed_at_tempo(seed, up / down)
    clip = _analysed(_sped_up(test_audio.excerpt(slower, start_s * factor, 10.0 * factor), up, down))

    # Within the covered range nothing passes; the wider search finds it, with its pitch.
    assert matching.decide(actions.candidate_alignments(clip)) == []
    best = _assert_found(clip, seed, start_s, pitch=factor, tempo=1.0)
    assert best.query_end_s - best.query_start_s > 6.0


@pytest.mark.parametrize(("seed", "up", "down"), [(15, 4, 5), (16, 5, 4)], ids=["sped_up_25pct", "slowed_20pct"])
def test_a_sped_up_or_slowed_version_is_found_with_its_pitch_and_tempo(seed: int, up: int, down: int) -> None:
    # The "sped-up" and "slowed" edits of short-video platforms: 20-30 % faster or slower, pitch and
    # tempo together, past the covered range in both; the wider search reaches a tempo of 1.35.
    _index_references()
    start_s = 6.0
    factor = down / up  # 1.25 (+3.9 semitones) or 0.8 (-3.9 semitones)
    clip = _analysed(_sped_up(test_audio.excerpt(_cached_piece(seed), start_s, 12.0), up, down))

    assert matching.decide(actions.candidate_alignments(clip)) == []
    best = _assert_found(clip, seed, start_s, pitch=factor, tempo=factor)
    assert best.query_end_s - best.query_start_s > 5.0


def test_an_unrelated_piece_is_not_matched_by_the_wider_second_search_either() -> None:
    _index_references()
    clip = _analysed(test_audio.excerpt(_cached_piece(UNRELATED_SEEDS[0]), 5.0, 10.0))

    candidates, decided = actions.decided_alignments(clip)
    assert decided == [] and all(a.confidence < 0.5 for a in candidates), _describe(candidates)


@pytest.mark.parametrize(("seed", "up", "down"), [(13, 20, 21), (15, 21, 20)])
def test_a_resampled_copy_keeps_its_hashes(seed: int, up: int, down: int) -> None:
    """Landmark hashes do not move under a speed change: the query looks up what the reference stored."""
    start_s, end_s = 6.0, 18.0
    reference = _reference(seed)
    times = reference.frames * params.FRAME_S
    # Reference triplets wholly inside the passage (a triplet spans up to TARGET_MAX_DT frames).
    inside = (times >= start_s + 0.2) & (times <= end_s - params.TARGET_MAX_DT * params.FRAME_S - 0.2)
    passage_hashes = reference.hashes[inside]
    passage = test_audio.excerpt(_cached_piece(seed), start_s, end_s - start_s)
    copy = _sped_up(passage, up, down)
    unrelated = test_audio.excerpt(_cached_piece(UNRELATED_SEEDS[0], 12.0), 0.0, len(copy) / test_audio.SR)

    def share(samples: np.ndarray) -> float:
        """Fraction of the passage's reference hashes among the query variants of `samples`."""
        return float(np.isin(passage_hashes, landmarks.extract_query(_analysed(samples)).hashes).mean())

    found, unchanged, chance = share(copy), share(passage), share(unrelated)

    detail = f"speed-changed copy {found:.2f}, unchanged passage {unchanged:.2f}, unrelated piece {chance:.2f}"
    assert len(passage_hashes) > 100
    assert found >= 0.35, detail
    # The speed change costs well under half of what the unchanged passage itself finds...
    assert found >= 0.6 * unchanged, detail
    # ...and leaves far more than chance agreement with an unrelated piece.
    assert found >= 2 * chance, detail


@pytest.mark.parametrize("shape", [(188, 16000), (188, 1), (3, 5), (40, 11), (25, 200)])
def test_the_peak_picker_neighbourhood_is_exactly_scipys_maximum_filter(shape: tuple[int, int]) -> None:
    # Fingerprints stay identical to those computed with scipy, so indexes built before still match;
    # repeated values (flat, clipped or silent passages) included.
    rng = np.random.default_rng(sum(shape))
    values = np.round(rng.standard_normal(shape) * 4).astype(np.float32)
    for size in [(25, 11), (1, 1), (3, 7)]:
        expected = ndimage.maximum_filter(values, size=size, mode="nearest")
        assert np.array_equal(landmarks.neighbourhood_max(values, size), expected)


def test_coincidences_bunched_in_a_fraction_of_a_second_are_not_a_match() -> None:
    """A real match is spread over the query: a few hundred milliseconds of agreement is chance."""
    bunched = matching.Alignment(
        ref_id=1,
        aligned=10.0,
        offset_frames=0.0,
        tempo=0.89,
        pitch_shift_st=0.0,
        query_start_frame=9.11 / params.FRAME_S,
        query_end_frame=9.34 / params.FRAME_S,
    )

    assert not bunched.is_match()


def test_a_short_passage_in_a_long_upload_is_found_among_many_references_chance_hits() -> None:
    """An hour-long upload whose only catalogue use is 12 s in the middle: thirty long references each
    gather more chance hits over the hour than the passage has, but the passage dominates its window."""
    rng = np.random.default_rng(3)
    frames_per_s = 1 / params.FRAME_S
    hour = 3600 * frames_per_s
    n_triplets = 40000
    query_frames = np.sort(rng.uniform(0, hour, n_triplets))
    query_pitches = rng.uniform(40, 80, n_triplets)
    refs, triplets, ref_frames = [], [], []
    for ref in range(1, 31):  # chance: 200 hits each, scattered over the hour at random offsets
        picked = rng.choice(n_triplets, 200, replace=False)
        refs += [ref] * 200
        triplets += picked.tolist()
        ref_frames += rng.uniform(0, 300 * frames_per_s, 200).tolist()
    used = np.flatnonzero((query_frames > 1800 * frames_per_s) & (query_frames < 1812 * frames_per_s))[:120]
    refs += [99] * len(used)  # the catalogue passage: 120 hits on one line (offset 60 s in reference 99)
    triplets += used.tolist()
    ref_frames += (query_frames[used] - 1800 * frames_per_s + 60 * frames_per_s).tolist()
    triplet = np.array(triplets)
    postings = matching.Postings(
        query_index=triplet,
        refs=np.array(refs, np.int64),
        ref_frames=np.array(ref_frames),
        ref_pitches=np.round(query_pitches[triplet] * params.PITCH_STORE_STEPS).astype(np.int64),
    )

    found = matching.decide(matching.best_alignments(query_frames, query_pitches, triplet, postings))

    assert [a.ref_id for a in found] == [99]
    assert found[0].query_start_s == pytest.approx(1800, abs=1) and found[0].reference_start_s == pytest.approx(
        60, abs=1
    )


# --------------------------------------------------------------------------- several pieces in one upload


@pytest.mark.django_db
@pytest.mark.parametrize("stretch_s", [None, 10.0], ids=["whole", "in_10s_stretches"])
def test_a_mix_of_three_registered_pieces_gives_three_matches_with_their_spans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stretch_s: float | None
) -> None:
    monkeypatch.setattr(test_audio, "piece", _cached_piece)  # reuse the synthesised pieces
    if stretch_s is not None:
        # As a long upload is matched (params.QUERY_CHUNK_S): in overlapping stretches, joined after.
        monkeypatch.setattr(params, "QUERY_CHUNK_S", stretch_s)
        monkeypatch.setattr(params, "QUERY_CHUNK_OVERLAP_S", 4.0)
    segments = [(14, 5.0), (15, 12.0), (16, 20.0)]  # (seed, where its 8 s excerpt starts)
    recordings = {seed: factories.registered_recording(tmp_path, seed) for seed, _ in segments}
    mix = np.concatenate([test_audio.excerpt(_cached_piece(seed), start, 8.0) for seed, start in segments])

    found = actions.match_samples(_analysed(mix))

    detail = _describe(found)
    assets = AudioAsset.objects.in_bulk([a.ref_id for a in found])
    by_recording = {assets[a.ref_id].recording_id: a for a in found}
    assert len(found) == 3 and set(by_recording) == {rec.pk for rec in recordings.values()}, detail
    for position, (seed, start) in enumerate(segments):
        match = by_recording[recordings[seed].pk]
        segment_start, segment_end = 8.0 * position, 8.0 * (position + 1)
        assert abs(match.query_start_s - segment_start) < 1.0, detail
        assert abs(match.query_end_s - segment_end) < 1.5, detail
        assert abs(match.reference_start_s - (start + match.query_start_s - segment_start)) < OFFSET_TOLERANCE_S, detail
        assert abs(match.tempo_factor - 1) < TOLERANCE and abs(match.pitch_factor - 1) < TOLERANCE, detail


def test_a_long_match_found_in_several_stretches_is_one_match_over_all_of_them(monkeypatch: pytest.MonkeyPatch) -> None:
    _index_references()
    seed, start_s = 15, 1.0
    clip = _analysed(test_audio.excerpt(_cached_piece(seed), start_s, 28.0))
    monkeypatch.setattr(params, "QUERY_CHUNK_S", 10.0)  # 28 s in five overlapping stretches
    monkeypatch.setattr(params, "QUERY_CHUNK_OVERLAP_S", 4.0)

    best = _assert_found(clip, seed, start_s)
    assert best.query_start_s < 1.0 and best.query_end_s > 26.0, _describe([best])


# --------------------------------------------------------------------------- unusable audio


def _silence(folder: Path) -> Path:
    return test_audio.write(folder / "silence.wav", np.zeros(5 * test_audio.SR, np.float32))


def _half_a_second(folder: Path) -> Path:
    return test_audio.write(folder / "blip.wav", _cached_piece(13)[: test_audio.SR // 2])


def _mp3_cut(folder: Path, samples: np.ndarray) -> Path:
    whole = audio.encode(samples, test_audio.SR, "mp3")
    path = folder / "cut.mp3"
    path.write_bytes(whole[: len(whole) // 2])
    return path


def _truncated_mp3(folder: Path) -> Path:
    """Cut where the decoder stops cleanly: shorter than the header declares."""
    return _mp3_cut(folder, _cached_piece(5, 10.0))


def _corrupt_mp3(folder: Path) -> Path:
    """Garbage written over most of its frames: far more damage than a stray bad packet."""
    whole = bytearray(audio.encode(_cached_piece(UNRELATED_SEEDS[0], 12.0), test_audio.SR, "mp3"))
    noise = np.random.default_rng(1).integers(0, 256, len(whole), dtype=np.uint8).tobytes()
    for at in range(2000, len(whole) - 64, 500):
        whole[at : at + 64] = noise[at : at + 64]
    path = folder / "corrupt.mp3"
    path.write_bytes(bytes(whole))
    return path


def _not_audio(folder: Path) -> Path:
    path = folder / "song.mp3"
    path.write_text("la la la\n" * 300)
    return path


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (_silence, "silent"),
        (_half_a_second, "too_short"),
        (_truncated_mp3, "truncated"),
        (_corrupt_mp3, "undecodable"),
        (_not_audio, "unsupported_format"),
    ],
    ids=["silence", "half_a_second", "truncated_mp3", "corrupt_mp3", "not_audio"],
)
def test_unusable_query_audio_is_refused_with_its_reason(make, code: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _index_references()

    with pytest.raises(audio.AudioError) as caught:
        actions.find_alignments(make(tmp_path))

    assert caught.value.code == code, str(caught.value)


def _current(directory: Path) -> str:
    return (directory / "CURRENT").read_text()


@pytest.mark.django_db
def test_a_failed_registration_leaves_the_index_generation_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(test_audio, "piece", _cached_piece)
    index_dir = Path(settings.FINGERPRINT_INDEX_DIR)
    good = factories.registered_recording(tmp_path, 13)
    live = _current(index_dir)
    indexed = actions.landmark_store().ref_ids()
    target = Recording.objects.create(title="Silent Track")

    with pytest.raises(audio.AudioError) as caught:
        actions.register_reference(target, _silence(tmp_path))

    assert caught.value.code == "silent"
    assert _current(index_dir) == live
    assert actions.landmark_store().ref_ids() == indexed
    assert not AudioAsset.objects.filter(recording=target).exists()

    # A batch: the bad file is reported, the good one indexed, in one new generation.
    other = Recording.objects.create(title="Another Track")
    batch = [
        actions.Registration(target, _half_a_second(tmp_path)),
        actions.Registration(other, test_audio.write(tmp_path / "other.wav", _cached_piece(14))),
    ]
    done = actions.register_references(batch)

    assert isinstance(done[0].error, audio.AudioError) and done[0].error.code == "too_short"
    assert done[1].error is None and done[1].asset is not None
    assert int(_current(index_dir).removeprefix("gen-")) == int(live.removeprefix("gen-")) + 1
    assert actions.landmark_store().ref_ids() == indexed | {done[1].asset.pk}
    assert [a.ref_id for a in actions.match_samples(_analysed(test_audio.excerpt(_cached_piece(13), 4.0, 8.0)))] == [
        AudioAsset.objects.get(recording=good).pk
    ]


@pytest.mark.django_db
def test_a_registration_whose_index_write_fails_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(test_audio, "piece", _cached_piece)
    index_dir = Path(settings.FINGERPRINT_INDEX_DIR)
    factories.registered_recording(tmp_path, 13)
    live = _current(index_dir)
    indexed = actions.landmark_store().ref_ids()
    media_before = sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())
    target = Recording.objects.create(title="Unlucky Track")
    path = test_audio.write(tmp_path / "unlucky.wav", _cached_piece(14))

    def disk_full(self, parts):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(LandmarkStore, "_publish", disk_full)
    with pytest.raises(OSError, match="disk full"):
        actions.register_reference(target, path)
    monkeypatch.undo()

    assert _current(index_dir) == live
    assert LandmarkStore(index_dir).ref_ids() == indexed
    assert not AudioAsset.objects.filter(recording=target).exists()
    assert sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()) == media_before


# --------------------------------------------------------------------------- sparse music


def test_an_excerpt_of_sparse_slow_music_is_found() -> None:
    """Slow, chordal music has few peaks and many of them on one onset: its excerpts must still be found.

    (Seed 34, 78 bpm: with the first triplet parameters it kept 6.3 landmarks/s and this excerpt aligned
    only 1.0 triplet.)
    """
    seed, start_s = 34, 5.0
    _index_references((*REF_SEEDS, seed))

    _assert_found(_analysed(test_audio.excerpt(_cached_piece(seed), start_s, 8.0)), seed, start_s)
