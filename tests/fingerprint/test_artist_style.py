"""Artist likeness: style vectors place one artist's different tracks together, whatever the level,
and `eval_artists` reports top-1 on a corpus whose artists sound different."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from django.core.management import call_command

from fingerprint import audio, style
from tests import audio as test_audio

RATE = style.SAMPLE_RATE


def test_a_track_is_as_like_itself_at_any_level() -> None:
    samples = test_audio.artist_track(0, 1)
    loud, quiet = style.style_vector(samples), style.style_vector(samples * 0.1)
    assert np.allclose(loud, quiet, atol=1e-3)


def test_two_tracks_of_one_artist_are_closer_than_tracks_of_two_artists() -> None:
    tracks = {(a, s): style.style_vector(test_audio.artist_track(a, s)) for a in (0, 1) for s in range(4)}
    labels = np.array([a for a, _ in tracks])
    metric = style.Metric.fit(np.stack(list(tracks.values())), labels)
    query_same = style.style_vector(test_audio.artist_track(0, 10))
    query_other = style.style_vector(test_audio.artist_track(1, 10))
    profile_0 = style.profile(metric.apply(np.stack([v for (a, _), v in tracks.items() if a == 0])))
    assert float(metric.apply(query_same)[0] @ profile_0) > float(metric.apply(query_other)[0] @ profile_0)


def test_eval_artists_reports_top1_per_condition(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "wav").mkdir(parents=True)
    with (corpus / "manifest.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "set", "package", "source_file", "duration_s", "sha256", "source_sha256"])
        for artist in (0, 1):
            for seed in range(4):
                track_id = f"artist{artist}-{seed}"
                wav = audio.encode(test_audio.artist_track(artist, 100 * artist + seed), RATE, "wav")
                (corpus / "wav" / f"{track_id}.wav").write_bytes(wav)
                writer.writerow([track_id, "public", f"artist{artist}", "", "40", "", ""])
    out = io.StringIO()
    call_command("eval_artists", corpus=str(corpus), splits=2, stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "2 artists" in text
    for condition in ("clean", "mp3_64k", "pink_10db"):
        line = next(line for line in text.splitlines() if line.startswith(condition))
        assert line.split()[1] == "100.0%", text
    assert "target top-1 >= 80% on held-out tracks: met" in text
