"""`manage.py eval_artists`: artist likeness on real music, each corpus package standing for an artist.

Per artist, half the tracks (seeded) build a profile from style vectors (fingerprint.style); the
other tracks are queried as 30 s excerpts, clean and degraded; prints top-1 per condition.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fingerprint import artist_eval, artist_profiles, style
from fingerprint.audio import AudioError
from fingerprint.management.commands._lists import ProgressBar

TARGET_TOP1 = 0.80


class Command(BaseCommand):
    help = "Evaluate artist likeness (top-1 of held-out tracks against artist profiles) on a corpus."

    def add_arguments(self, parser: CommandParser) -> None:
        default = Path(os.environ.get("BENCH_DATA", Path.home() / "bench-data")) / "corpus" / "public"
        parser.add_argument("--corpus", default=str(default), help=f"corpus with manifest.csv and wav/ ({default})")
        parser.add_argument("--splits", type=int, default=10, help="seeded profile/query splits averaged (10)")
        parser.add_argument("--profile-share", type=float, default=0.5, help="share of each artist's tracks profiled")
        parser.add_argument("--max-tracks", type=int, default=0, help="use at most this many tracks (0: all)")

    def handle(self, *args: Any, corpus: str, splits: int, profile_share: float, max_tracks: int, **_: Any) -> None:
        root = Path(corpus)
        if not (root / "manifest.csv").is_file():
            raise CommandError(f"{root}/manifest.csv not found: build the corpus (../shared/bench/build_corpus.sh)")
        rows = artist_eval.read_manifest(root)[: max_tracks or None]
        bar = ProgressBar(len(rows), "eval_artists")
        tracks, started, seconds = [], time.monotonic(), 0.0
        for index, (track_id, artist, path) in enumerate(rows):
            try:
                tracks.append(artist_eval.analyse(track_id, artist, path, seed=index))
            except AudioError as exc:
                self.stderr.write(f"{track_id}: {exc}")
            bar.step(track_id)
        seconds = time.monotonic() - started
        if len({t.artist for t in tracks}) < 2:
            raise CommandError("eval_artists needs tracks of at least two artists (packages)")
        scores = artist_eval.evaluate(tracks, profile_share, splits)
        out = self.stdout.write
        out(f"style vectors: {style.STYLE_VERSION}, {style.DIM} dims; {len(tracks)} tracks analysed in {seconds:.0f} s")
        out(
            f"{scores.artists} artists; per split {scores.profile_tracks} profile tracks, {scores.query_tracks} "
            f"held-out query tracks; {splits} splits; {artist_eval.EXCERPT_S:.0f} s excerpts"
        )
        out(
            f"likeness decision: closer to the artist than {artist_profiles.LIKENESS_COHORT_SHARE:.0%} of other "
            f"artists' excerpts and typical of it (>= {artist_profiles.LIKENESS_TYPICALITY:.2f} from their edge "
            "to its median)"
        )
        out(f"{'condition':<12} {'top-1':>7} {'queries':>8} {'flagged right':>14} {'false (open set)':>17}")
        for condition in artist_eval.CONDITIONS:
            false = scores.false_candidates(condition)
            opened = len(scores.impostor[condition])
            out(
                f"{condition:<12} {scores.top1(condition):>7.1%} {scores.total[condition]:>8} "
                f"{scores.detected(condition):>14.1%} "
                f"{(f'{false:.1%} of {opened}' if opened else 'n/a (< 3 artists)'):>17}"
            )
        if any(scores.impostor.values()):
            for share in (0.99, 0.999):
                flagged = np.mean([scores.detected(c, share) for c in artist_eval.CONDITIONS])
                false = np.mean([scores.false_candidates(c, share) for c in artist_eval.CONDITIONS])
                out(f"  at cohort share {share:.1%}: flagged right {flagged:.1%}, false (open set) {false:.1%}")
        worst = min(scores.top1(c) for c in artist_eval.CONDITIONS)
        verdict = "met" if worst >= TARGET_TOP1 else "MISSED"
        out(f"target top-1 >= {TARGET_TOP1:.0%} on held-out tracks: {verdict} (worst condition {worst:.1%})")
