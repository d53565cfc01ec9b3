"""The long-upload benchmark's suite: catalogue excerpts pasted where it says, and its scoring of
what the engine reports (found, missed, chance)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile

from fingerprint import long_upload_eval
from fingerprint.long_upload_eval import Found, Insert
from tests import audio as test_audio


def _files(tmp_path: Path, seeds: range, seconds: float) -> dict[str, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return {f"track-{s}": test_audio.write(tmp_path / f"track-{s}.wav", test_audio.piece(s, seconds)) for s in seeds}


def test_each_excerpt_lies_in_its_upload_where_the_suite_says(tmp_path: Path) -> None:
    hosts = _files(tmp_path / "hosts", range(40, 42), 90.0)
    references = _files(tmp_path / "refs", range(50, 53), 30.0)

    inserts = long_upload_eval.build_uploads(hosts, references, tmp_path / "out", seconds=80.0, seed=3)

    assert len(inserts) == 4 and {i.upload for i in inserts} == set(hosts)
    assert json.loads((tmp_path / "out" / "inserts.json").read_text())[0]["ref"] == inserts[0].ref
    for insert in inserts:
        upload, rate = soundfile.read(tmp_path / "out" / f"{insert.upload}.wav", dtype="float32")
        host, _ = soundfile.read(hosts[insert.upload], dtype="float32")
        assert len(upload) == int(80.0 * rate)
        inside = slice(int((insert.at_s + 0.5) * rate), int((insert.at_s + insert.length_s - 0.5) * rate))
        assert not np.allclose(upload[inside], host[inside])  # replaced by the excerpt there
        before = slice(0, int((insert.at_s - 0.5) * rate))
        untouched = [i for i in inserts if i.upload == insert.upload and i.at_s < insert.at_s]
        if not untouched:
            assert np.array_equal(upload[before], host[before])  # and the host kept before it
        if insert.degradation == "clean":
            excerpt, _ = soundfile.read(references[insert.ref], dtype="float32")
            start = int(insert.ref_start_s * rate)
            pasted = upload[int(insert.at_s * rate) : int(insert.at_s * rate) + rate]
            assert np.allclose(pasted, 0.9 * excerpt[start : start + rate], atol=1e-3)


def test_a_match_finds_an_excerpt_only_on_its_recording_and_over_its_span() -> None:
    inserts = [Insert("u1", "a", 50.0, 10.0, 5.0, "clean"), Insert("u1", "b", 150.0, 6.0, 9.0, "pink_snr5")]
    matches = [
        Found("u1", "a", 51.0, 59.0, 40.0, 0.9),  # the first excerpt
        Found("u1", "a", 150.0, 155.0, 12.0, 0.5),  # a's recording over b's excerpt: chance
        Found("u2", "b", 150.0, 155.0, 12.0, 0.5),  # right recording and time, other upload: chance
    ]

    result = long_upload_eval.score(inserts, matches)

    assert result.found == [inserts[0]]
    assert result.missed == [inserts[1]]
    assert result.chance == matches[1:]
