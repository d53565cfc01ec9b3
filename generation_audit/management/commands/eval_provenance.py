from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generation_audit import degradations, evaluation


def _default_corpus() -> Path | None:
    """$BENCH_DATA/corpus/public (the bench's convention), when it holds audio."""
    root = Path(os.environ.get("BENCH_DATA") or Path.home() / "bench-data")
    for candidate in (root / "corpus" / "public", Path("/work/bench-data/corpus/public")):
        if candidate.is_dir():
            return candidate
    return None


class Command(BaseCommand):
    help = (
        "Evaluate the signal provenance detectors: held-out real music against the same music through "
        "simulated neural decoders, under codec, resampling, loudness, low-pass and pitch degradations. "
        "Prints accuracy, false-positive rate, AUC and per-degradation breakdowns."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        d = evaluation.EvalConfig()
        parser.add_argument("--corpus", type=Path, help="Folder of real music (default: $BENCH_DATA/corpus/public).")
        parser.add_argument("--synthetic", action="store_true", help="Use catalog.synth music, not a corpus.")
        parser.add_argument("--max-files", type=int, default=d.max_files)
        parser.add_argument("--clip-seconds", type=float, default=d.clip_seconds)
        parser.add_argument("--clips-per-file", type=int, default=d.clips_per_file)
        parser.add_argument("--generators-per-clip", type=int, default=d.generators_per_clip)
        parser.add_argument("--degradations", default=",".join(d.degradations), help="Comma-separated names.")
        parser.add_argument("--detectors", default=",".join(d.detectors))
        parser.add_argument("--workers", type=int, default=d.workers)
        parser.add_argument("--seed", type=int, default=d.seed)
        parser.add_argument(
            "--write-calibration",
            type=int,
            default=0,
            metavar="FILES",
            help="First fit the comb detector's calibration on FILES training-split files and write it.",
        )
        parser.add_argument("--calibrate-only", action="store_true", help="Stop after writing the calibration.")
        parser.add_argument("--report-rows", type=Path, help="Only reprint the report of a saved --rows file.")
        parser.add_argument("--rows", type=Path, help="Also write every scored row as JSON lines here.")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        corpus = None if options["synthetic"] else (options["corpus"] or _default_corpus())
        if options["corpus"] and not options["corpus"].is_dir():
            raise CommandError(f"{options['corpus']} is not a folder")
        names = [n for n in options["degradations"].split(",") if n]
        unknown = set(names) - set(degradations.DEGRADATIONS)
        if unknown:
            raise CommandError(f"unknown degradations {sorted(unknown)}; known: {sorted(degradations.DEGRADATIONS)}")
        cfg = evaluation.EvalConfig(
            corpus=corpus,
            max_files=options["max_files"],
            clip_seconds=options["clip_seconds"],
            clips_per_file=options["clips_per_file"],
            generators_per_clip=options["generators_per_clip"],
            degradations=tuple(names),
            detectors=tuple(n for n in options["detectors"].split(",") if n),
            workers=options["workers"],
            seed=options["seed"],
        )
        log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
        if options["report_rows"]:
            with options["report_rows"].open() as fh:
                saved = [evaluation.Row(**json.loads(line)) for line in fh]
            self.stdout.write(evaluation.report(saved, cfg))
            return
        if options["write_calibration"]:
            fit_rows = self._calibrate(cfg, options["write_calibration"], log)
            if options["rows"]:
                self._write_rows(options["rows"].with_suffix(".calibration.jsonl"), fit_rows)
            if options["calibrate_only"]:
                return
        source = f"{corpus} (held-out quarter)" if corpus else "catalog.synth music (no corpus)"
        self.stdout.write(
            f"eval_provenance: real music from {source}; generators: transposed-conv / codec / upsample+conv "
            "decoders with constructed, randomly perturbed weights (not trained), Griffin-Lim, phase vocoder"
        )
        rows = evaluation.evaluate(cfg, log)
        self.stdout.write(evaluation.report(rows, cfg))
        if corpus and "decoder_artifacts" in cfg.detectors:
            self.stdout.write(evaluation.whole_file_report(evaluation.whole_file_statistics(cfg, log)))
        self.stdout.write(f"\n{len(rows)} scores in {time.monotonic() - started:.0f} s")
        if options["rows"]:
            self._write_rows(options["rows"], rows)

    @staticmethod
    def _write_rows(path: Path, rows: list[evaluation.Row]) -> None:
        with path.open("w") as fh:
            for row in rows:
                fh.write(json.dumps(dataclasses.asdict(row)) + "\n")

    def _calibrate(self, cfg: evaluation.EvalConfig, files: int, log: Any) -> list[evaluation.Row]:
        from generation_audit.detectors import decoder_artifacts

        fit_cfg = dataclasses.replace(
            cfg, held_out=False, max_files=files, detectors=("decoder_artifacts",), seed=cfg.seed + 1
        )
        log(f"calibration: fitting the comb detector on {files} training-split files")
        rows = evaluation.evaluate(fit_cfg, log)
        whole = evaluation.whole_file_statistics(fit_cfg, log)
        fitted = evaluation.fit_comb_calibration(rows, whole)
        fitted["command"] = "python manage.py eval_provenance " + " ".join(sys.argv[2:])
        decoder_artifacts.CALIBRATION_PATH.write_text(json.dumps(fitted, indent=2) + "\n")
        importlib.reload(decoder_artifacts)  # the module reads its calibration at import
        self.stdout.write(f"comb calibration written ({decoder_artifacts.VERSION}): {json.dumps(fitted)}")
        return rows
