"""Work (composition) identification: a rendition in another key, at another tempo, with other
instruments, is recognised as its composition; unrelated music is not; the batch commands."""

from __future__ import annotations

import json
from functools import cache
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from fingerprint import work_eval, works
from fingerprint import work_features as wf
from fingerprint.work_store import WorkStore, work_store
from tests import audio as test_audio

SR = test_audio.SR
WORK_SEEDS = (3, 5, 8)
UNRELATED_SEED = 13


@cache
def _score(seed: int) -> tuple[float, list[tuple[float, float, int]]]:
    """A composition for `seed`: tempo (bpm) and notes (start beat, length in beats, MIDI number)."""
    rng = np.random.default_rng(seed)
    tempo, root = float(rng.uniform(90, 130)), int(rng.integers(55, 67))
    scale = [0, 2, 4, 5, 7, 9, 11]
    notes, beat, degree = [], 0.0, 0
    while beat < 96:
        length = float(rng.choice([0.5, 1.0, 1.0, 2.0]))
        degree = int(np.clip(degree + rng.integers(-2, 3), 0, 13))
        notes.append((beat, length, root + 12 * (degree // 7) + scale[degree % 7]))
        beat += length
    progression = rng.permutation(7)[:4]
    for bar in range(24):
        chord = int(progression[bar % 4])
        for offset in (0, 2, 4):
            d = chord + offset
            notes.append((4.0 * bar, 4.0, root - 12 + 12 * (d // 7) + scale[d % 7]))
    return tempo, notes


def _render(seed: int, transpose: int = 0, tempo_factor: float = 1.0, timbre: int = 0) -> np.ndarray:
    """The composition `seed` played `transpose` semitones up, `tempo_factor` times faster, with one of
    two instruments (harmonic recipes), as mono float32 at SR."""
    tempo, notes = _score(seed)
    seconds_per_beat = 60.0 / tempo / tempo_factor
    end = max(start + length for start, length, _ in notes) * seconds_per_beat
    out = np.zeros(int(end * SR) + SR)
    harmonics = [np.array([1.0, 0.5, 0.3, 0.2]), np.array([1.0, 0.1, 0.6, 0.05, 0.3])][timbre]
    for start, length, note in notes:
        n = int(length * seconds_per_beat * SR)
        t = np.arange(n) / SR
        freq = 440.0 * 2 ** ((note + transpose - 69) / 12)
        wave = sum(a * np.sin(2 * np.pi * freq * (k + 1) * t) for k, a in enumerate(harmonics))
        envelope = np.minimum(1.0, t / 0.01) * np.exp(-t * 2.0) * np.minimum(1.0, (n - np.arange(n)) / 64)
        first = int(start * seconds_per_beat * SR)
        out[first : first + n] += wave * envelope
    return (out / np.abs(out).max() * 0.8).astype(np.float32)


def _store(tmp_path: Path) -> WorkStore:
    store = WorkStore(tmp_path / "works")
    store.register_many((f"W{seed}", works.analyse_reference(_render(seed), SR)) for seed in WORK_SEEDS)
    return store


def test_a_transposed_faster_rendition_is_identified_with_its_key_and_tempo(tmp_path: Path) -> None:
    store = _store(tmp_path)
    cover = test_audio.excerpt(_render(5, transpose=3, tempo_factor=1.1, timbre=1), 6.0, 20.0)
    best = store.identify(cover, SR)[0]
    assert store.work_id(best.ref_id) == "W5"
    assert best.accepted
    assert best.confidence > 0.5
    assert best.transpose_semitones == 3
    assert best.tempo_ratio == pytest.approx(1.1, abs=0.04)
    # 6 s into the cover is 6.6 s into the work, played 10 % faster.
    assert best.ref_start_s == pytest.approx(6.6 + best.query_start_s * 1.1, abs=1.5)


def test_a_downward_transposition_slower_is_reported_negative(tmp_path: Path) -> None:
    store = _store(tmp_path)
    cover = test_audio.excerpt(_render(8, transpose=-4, tempo_factor=0.88, timbre=1), 10.0, 20.0)
    best = store.identify(cover, SR)[0]
    assert store.work_id(best.ref_id) == "W8"
    assert best.transpose_semitones == -4
    assert best.tempo_ratio == pytest.approx(0.88, abs=0.04)


def test_an_unrelated_composition_matches_no_work(tmp_path: Path) -> None:
    store = _store(tmp_path)
    matches = store.identify(test_audio.excerpt(_render(UNRELATED_SEED, timbre=1), 5.0, 20.0), SR)
    assert not [m for m in matches if m.accepted]
    assert not [m for m in store.identify(test_audio.piece(44, 20.0), SR) if m.accepted]


def test_segment_vectors_rotate_exactly_with_transposition() -> None:
    sequence = wf.chroma(_render(3)[: 25 * SR], SR)
    vectors, _ = wf.segment_vectors(sequence)
    moved, _ = wf.segment_vectors(np.roll(sequence, 5, axis=1))
    np.testing.assert_allclose(wf.rotate_vectors(vectors, 5), moved, atol=1e-6)


def test_the_midi_editor_transposes_pitched_notes_scales_tempo_and_swaps_instruments() -> None:
    track = bytes([0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20,  # tempo 500000 us
                   0x00, 0xC0, 0x00,  # program 0 (piano) on channel 1
                   0x00, 0x90, 60, 100, 0x10, 62, 100,  # note on 60, running status note on 62
                   0x00, 0x99, 36, 100,  # drum note on channel 10
                   0x10, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00])  # fmt: skip
    midi = b"MThd" + (6).to_bytes(4, "big") + bytes([0, 0, 0, 1, 0, 96]) + b"MTrk" + len(track).to_bytes(4, "big")
    out = work_eval.rewrite_midi(midi + track, transpose=-3, tempo_factor=1.25, program=work_eval.swap_program)
    body = out[22:]
    assert body[:7] == bytes([0x00, 0xFF, 0x51, 0x03]) + (400000).to_bytes(3, "big")  # the inserted default
    assert body[7:14] == bytes([0x00, 0xFF, 0x51, 0x03]) + (400000).to_bytes(3, "big")
    assert body[16] == 16  # piano -> organ family
    assert (body[19], body[22], body[26], body[30]) == (57, 59, 36, 57)


def test_register_works_and_identify_works_round_trip(tmp_path: Path, settings: object) -> None:
    folder = tmp_path / "audio"
    folder.mkdir()
    lines = [f"W{seed}\t{test_audio.write(folder / f'w{seed}.flac', _render(seed)).name}" for seed in WORK_SEEDS]
    (folder / "works.tsv").write_text("\n".join(lines) + "\n")
    cover = test_audio.write(folder / "cover.mp3", test_audio.excerpt(_render(3, 2, 0.9, 1), 4.0, 20.0))
    other = test_audio.write(folder / "other.wav", test_audio.excerpt(_render(UNRELATED_SEED, timbre=1), 0.0, 20.0))
    (folder / "broken.mp3").write_bytes(b"not audio")
    queries = folder / "queries.tsv"
    queries.write_text(f"cover\t{cover}\nother\t{other}\nbroken\tbroken.mp3\n")
    err = StringIO()
    call_command("register_works", list_path=str(folder / "works.tsv"), stderr=err)
    assert "3 works registered" in err.getvalue()
    assert (Path(settings.FINGERPRINT_INDEX_DIR) / "works" / "works.json").is_file()  # type: ignore[attr-defined]
    out = tmp_path / "out.jsonl"
    call_command("identify_works", list_path=str(queries), jsonl=str(out), stderr=StringIO())
    rows = {row["query_id"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert rows["cover"]["work_id"] == "W3"
    assert rows["cover"]["transpose_semitones"] == 2
    assert rows["cover"]["tempo_ratio"] == pytest.approx(0.9, abs=0.04)
    assert set(rows["cover"]) >= {"query_id", "work_id", "score", "transpose_semitones", "tempo_ratio"}
    assert rows["other"]["work_id"] is None
    assert rows["broken"]["work_id"] is None and "error" in rows["broken"]
    assert len(work_store()) == 3


def test_aligning_several_references_in_one_pass_equals_one_at_a_time() -> None:
    rng = np.random.default_rng(7)
    piece = rng.random((300, 12)).astype(np.float32) ** 4
    query = np.concatenate([piece[100:160], rng.random((8, 12)).astype(np.float32), piece[160:200]])
    references = [piece, rng.random((250, 12)).astype(np.float32), piece[:2], piece[50:260]]
    together = wf.qmax_many(query, references)
    alone = [wf.qmax_many(query, [reference])[0] for reference in references]
    assert together == alone
    assert together[0].score > 3 * together[1].score
    assert together[3].ref_start == pytest.approx(50, abs=3)  # spans are per reference, not per pass
    assert together[2].score == 0.0


def test_harmonic_separation_keeps_the_chroma_of_a_mix_with_drums_closer_to_the_clean_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clean = _render(3)[: 20 * SR]
    drums = work_eval.mix(clean, SR, seed=1, drums_db=0.0, snr_db=None)

    def similarity() -> float:
        a, b = wf.chroma(clean, SR), wf.chroma(drums, SR)
        n = min(len(a), len(b))
        norms = np.linalg.norm(a[:n], axis=1) * np.linalg.norm(b[:n], axis=1)
        return float(np.median(np.sum(a[:n] * b[:n], axis=1) / np.maximum(norms, 1e-9)))

    separated = similarity()
    monkeypatch.setattr(wf, "harmonic", lambda spectrum: spectrum)
    assert separated > similarity() + 0.02
    assert separated > 0.8
