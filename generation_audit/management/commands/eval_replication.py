"""`manage.py eval_replication`: recall and false-positive rate of the replication screen on real music.

Self-contained: the catalogue is registered into a throwaway database (a fresh test database of the
configured engine, migrated for the run and dropped after) and a temporary media and index directory,
so the configured database, media and index are never touched.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test.utils import override_settings

from fingerprint import actions as fingerprint_actions
from fingerprint import params
from fingerprint.management.commands._lists import ProgressBar
from generation_audit import attribution, replication, replication_eval


def _default_corpus() -> Path:
    root = Path(os.environ.get("BENCH_DATA") or Path.home() / "bench-data")
    return root / "corpus" / "public"


@contextmanager
def _throwaway_data(folder: Path) -> Iterator[None]:
    """A fresh, migrated database and empty media/index directories under `folder` for the block."""
    test_settings = connection.settings_dict.setdefault("TEST", {})
    saved_name = test_settings.get("NAME")
    # A name of our own: never the test suite's database, which a concurrent pytest run may be using.
    vendor_sqlite = connection.vendor == "sqlite"
    test_settings["NAME"] = (
        str(folder / "eval.sqlite3") if vendor_sqlite else f"{connection.settings_dict['NAME']}_eval_replication"
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with override_settings(MEDIA_ROOT=folder / "media", FINGERPRINT_INDEX_DIR=folder / "index"):
            yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if saved_name is None:
            test_settings.pop("NAME", None)
        else:
            test_settings["NAME"] = saved_name


class Command(BaseCommand):
    help = (
        "Evaluate the replication screen: outputs that embed 5, 10 and 30 s of a catalogue recording (as is, "
        "a semitone higher, mixed 6 dB under other music) against outputs that embed none. Prints recall and "
        "false-positive rate per condition and whether the targets (95 % recall at 10 s, <= 1 % FP) are met."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        d = replication_eval.EvalConfig(corpus=Path())
        parser.add_argument(
            "--corpus", type=Path, help="Folder with manifest.csv and wav/ (default: the bench corpus)."
        )
        parser.add_argument("--max-references", type=int, default=d.max_references, help="0: every catalogue track.")
        parser.add_argument(
            "--per-cell", type=int, default=d.per_cell, help="Positive (and negative) outputs per cell."
        )
        parser.add_argument("--seed", type=int, default=d.seed)
        parser.add_argument("--holdout-every", type=int, default=d.holdout_every)
        parser.add_argument("--lengths", default=",".join(f"{x:g}" for x in d.lengths), help="Excerpt lengths (s).")
        parser.add_argument(
            "--variants", default=",".join(d.variants), help=f"Of {', '.join(replication_eval.VARIANTS)}."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        corpus = options["corpus"] or _default_corpus()
        if not (corpus / "manifest.csv").is_file():
            raise CommandError(f"No corpus at {corpus} (manifest.csv and wav/); pass --corpus or set BENCH_DATA.")
        variants = tuple(v for v in options["variants"].split(",") if v)
        unknown = set(variants) - set(replication_eval.VARIANTS)
        if unknown:
            raise CommandError(f"unknown variants {sorted(unknown)}; known: {', '.join(replication_eval.VARIANTS)}")
        cfg = replication_eval.EvalConfig(
            corpus=corpus,
            max_references=options["max_references"],
            per_cell=options["per_cell"],
            seed=options["seed"],
            holdout_every=options["holdout_every"],
            lengths=tuple(float(x) for x in options["lengths"].split(",") if x),
            variants=variants,
        )
        catalogue, held = replication_eval.split(replication_eval.corpus_tracks(corpus), cfg)
        if len(held) < 2 or not catalogue:
            raise CommandError("the corpus is too small: it needs catalogue tracks and at least 2 held-out tracks")
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="eval-replication-") as tmp, _throwaway_data(Path(tmp)):
            bar = ProgressBar(len(catalogue), "register")
            recordings = replication_eval.register(catalogue, bar.step)
            registered_s = time.monotonic() - started
            model = fingerprint_actions.embedder()
            bar = ProgressBar(2 * cfg.per_cell * len(cfg.lengths) * len(cfg.variants), "screen")
            rows = replication_eval.run(cfg, recordings, catalogue, held, bar.step)
        self._header(cfg, catalogue, len(held), registered_s, model.model_version if model else None)
        self.stdout.write(replication_eval.report(rows, cfg))
        self.stdout.write(f"\nTotal {time.monotonic() - started:.0f} s")

    def _header(
        self, cfg: replication_eval.EvalConfig, catalogue: list[replication_eval.Track], n_held: int,
        registered_s: float, model_version: str | None,
    ) -> None:  # fmt: skip
        """What was measured, how, and what the columns mean."""
        hours = sum(t.duration_s for t in catalogue) / 3600
        write = self.stdout.write
        write(
            f"\nReplication screen: engine {params.ENGINE_VERSION} + {model_version or 'no embedder (landmarks only)'}"
            f"; replication = an engine match over >= {replication.MIN_REPLICATED_SPAN_S:g} s of the output, "
            f"screened in {replication.WINDOW_S:g} s windows every {replication.WINDOW_HOP_S:g} s"
        )
        write(
            f"Catalogue: {len(catalogue)} tracks ({hours:.2f} h) of {cfg.corpus}, registered in {registered_s:.0f} s; "
            f"{n_held} tracks held out (material around and over the excerpts, and every negative)"
        )
        write(
            f"Outputs: excerpt with {replication_eval.CONTEXT_S:g} s of held-out music each side; pitch+1st by "
            f"{replication_eval.pitch_method()}; mixed at {replication_eval.MIX_LEVEL_DB:g} dB under held-out music; "
            f"{cfg.per_cell} positive and {cfg.per_cell} negative outputs per cell; seed {cfg.seed}"
        )
        write(
            "wrong rec.: positives where a recording other than the embedded one (or a catalogued version of it) "
            "was also reported; attr. top: positives whose largest attribution share is the embedded recording; "
            f"attr. neg: negatives attributed to anything (similarity floor {attribution.SIMILARITY_FLOOR:g})\n"
        )
