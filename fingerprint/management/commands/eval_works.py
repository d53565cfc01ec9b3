"""`manage.py eval_works`: measure work (composition) identification on real compositions (Debian's
General MIDI collections) rendered with different soundfonts, keys, tempi, instruments, drums and noise.

Prints MAP, top-1, the identification rate and the false-positive rate on compositions kept out of
the catalogue, per excerpt length and per condition, transposition and tempo accuracy, and timings.
Renders are cached under --workdir; the work index is rebuilt there on every run (the configured
index is never touched).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from scipy.signal import resample_poly

from catalog import synth
from fingerprint import audio, work_eval, work_features, works
from fingerprint.management.commands._lists import ProgressBar
from fingerprint.work_store import WorkStore

SR = work_features.SAMPLE_RATE


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:4], "big")


class Command(BaseCommand):
    help = "Evaluate work identification (MAP, top-1, false positives, transposition, tempo, timings)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workdir", help="renders and the evaluation index (default $CONTENTID_DATA_DIR/eval_works)"
        )
        parser.add_argument("--lengths", default="10,20,30", help="excerpt lengths in s (default 10,20,30)")
        parser.add_argument("--excerpts", type=int, default=2, help="excerpts per rendition and length (default 2)")
        parser.add_argument("--holdout-every", type=int, default=4, help="every n-th MIDI file is kept out (default 4)")
        parser.add_argument("--distractors", type=int, default=100, help="synthetic works added to the catalogue")
        parser.add_argument("--synthetic-unrelated", type=int, default=40, help="synthetic unrelated 20 s queries")
        parser.add_argument("--jobs", type=int, default=2, help="renders run in parallel (default 2)")

    def handle(self, *args: Any, **options: Any) -> None:
        missing = work_eval.missing_tools()
        if missing:
            raise CommandError(
                "eval_works renders MIDI with soundfonts; install what is missing first:\n"
                f"  apt-get install -y --no-install-recommends {' '.join(missing)}"
            )
        workdir = Path(options["workdir"] or settings.DATA_DIR / "eval_works")
        lengths = [float(x) for x in options["lengths"].split(",")]
        files = work_eval.midi_files()
        every = options["holdout_every"]
        unrelated = {p for i, p in enumerate(files) if i % every == every - 1}
        catalogue = [p for p in files if p not in unrelated]
        renders = self._render_all(files, catalogue, workdir / "renders", options["jobs"])
        store, index_figures = self._build_index(workdir / "index", catalogue, renders, options["distractors"])
        records = self._query_all(store, files, unrelated, renders, lengths, options["excerpts"])
        records += self._synthetic_unrelated(store, options["synthetic_unrelated"])
        with (workdir / "results.jsonl").open("w") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in records)
        self._report(records, index_figures, len(catalogue), len(unrelated), options["distractors"], lengths)

    # --- material ------------------------------------------------------------------------------------
    def _render_all(self, files: list[Path], catalogue: list[Path], folder: Path, jobs: int) -> dict[tuple, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        wanted: dict[tuple, tuple[bytes, str, Path]] = {}
        for path in files:
            data, stem = path.read_bytes(), f"{path.parent.name}__{path.stem}"
            if path in catalogue:
                wanted[(path, "reference")] = (data, "fluidr3", folder / f"{stem}__reference.wav")
            for condition in work_eval.CONDITIONS:
                transpose, tempo = work_eval.draw_changes(_seed(path.name, condition.name), condition)
                program = work_eval.swap_program if condition.instruments else None
                midi = work_eval.rewrite_midi(data, transpose, tempo, program)
                out = folder / f"{stem}__{condition.name}__{transpose:+d}__{tempo:.4f}.wav"
                wanted[(path, condition.name)] = (midi, condition.renderer, out)
        todo = [(m, r, out) for m, r, out in wanted.values() if not out.exists()]
        bar = ProgressBar(len(todo), "render")
        with ThreadPoolExecutor(max(1, jobs)) as pool:
            for _ in pool.map(lambda job: work_eval.render(*job), todo):
                bar.step()
        return {key: out for key, (_, _, out) in wanted.items()}

    def _build_index(
        self, folder: Path, catalogue: list[Path], renders: dict[tuple, Path], n_distractors: int
    ) -> tuple[WorkStore, dict[str, float]]:
        shutil.rmtree(folder, ignore_errors=True)
        store = WorkStore(folder)
        seconds, analyse_s, batch = 0.0, 0.0, []
        bar = ProgressBar(len(catalogue) + n_distractors, "index")
        for path in catalogue:
            samples = _decode(renders[(path, "reference")])
            started = time.perf_counter()
            batch.append((path.stem, works.analyse_reference(samples, SR)))
            analyse_s += time.perf_counter() - started
            seconds += len(samples) / SR
            bar.step()
        for seed in range(n_distractors):
            piece = synth.compose(10_000 + seed, 90.0)
            started = time.perf_counter()
            batch.append((f"synthetic-{seed}", works.analyse_reference(piece.samples, synth.SAMPLE_RATE)))
            analyse_s += time.perf_counter() - started
            seconds += piece.duration_s
            bar.step()
        started = time.perf_counter()
        store.register_many(batch)
        publish_s = time.perf_counter() - started
        described = store.describe()
        hours = seconds / 3600
        vector_bytes = int(described["vectors"]) * work_features.VECTOR_DIM * 4
        return store, {
            "hours": hours,
            "works": float(described["works"]),
            "vectors": float(described["vectors"]),
            "x_rt": seconds / (analyse_s + publish_s),
            "disk_mb_per_hour": (int(described["bytes_on_disk"]) + int(described["sequence_bytes"])) / 1e6 / hours,
            "ram_mb_per_hour": (vector_bytes + int(described["sequence_bytes"])) / 1e6 / hours,
        }

    # --- queries -------------------------------------------------------------------------------------
    def _query_all(
        self, store: WorkStore, files: list[Path], unrelated: set[Path], renders: dict[tuple, Path],
        lengths: list[float], n_excerpts: int,
    ) -> list[dict[str, Any]]:  # fmt: skip
        records: list[dict[str, Any]] = []
        bar = ProgressBar(len(files) * len(work_eval.CONDITIONS), "identify")
        for path in files:
            for condition in work_eval.CONDITIONS:
                transpose, tempo = work_eval.draw_changes(_seed(path.name, condition.name), condition)
                samples = _decode(renders[(path, condition.name)])
                if condition.drums_db is not None or condition.snr_db is not None:
                    samples = work_eval.mix(samples, SR, _seed(path.name, "mix"), condition.drums_db, condition.snr_db)
                rng = np.random.default_rng(_seed(path.name, condition.name, "excerpts"))
                for length in lengths:
                    for excerpt, start in _excerpts(samples, length, n_excerpts, rng):
                        truth = None if path in unrelated else path.stem
                        records.append(
                            _identify(store, excerpt, truth, condition.name, length, transpose, tempo, start)
                            | {"file": path.name}
                        )
                bar.step(path.stem)
        return records

    def _synthetic_unrelated(self, store: WorkStore, n: int) -> list[dict[str, Any]]:
        records = []
        for seed in range(n):
            piece = synth.compose(50_000 + seed, 20.0)
            samples = resample_poly(piece.samples, SR, synth.SAMPLE_RATE).astype(np.float32)
            records.append(_identify(store, samples, None, "synthetic-unrelated", 20.0, 0, 1.0, 0.0))
        return records

    # --- report --------------------------------------------------------------------------------------
    def _report(
        self, records: list[dict[str, Any]], index: dict[str, float], n_cat: int, n_unrel: int, n_dis: int,
        lengths: list[float],
    ) -> None:  # fmt: skip
        write = self.stdout.write
        real = [r for r in records if r["condition"] != "synthetic-unrelated"]
        write(f"Work identification ({works.ENGINE_VERSION}); threshold {works.DECISION_THRESHOLD}")
        write(
            f"Catalogue: {n_cat} MIDI compositions (reference: FluidR3 GM) + {n_dis} synthetic works; "
            f"{n_unrel} MIDI compositions held out as unrelated queries."
        )
        write(f"Conditions: {', '.join(f'{c.name} [{c.renderer}]' for c in work_eval.CONDITIONS)}")
        write("\nBy excerpt length (all conditions):")
        write(f"  {'length':>8} {'queries':>8} {'MAP':>6} {'top-1':>7} {'ident.':>7} {'unrel.':>7} {'FP':>7}")
        for length in lengths:
            write("  " + _row(f"{length:.0f} s", [r for r in real if r["length_s"] == length]))
        write("  " + _row("all", real))
        write("\nBy condition (20 s excerpts):")
        for condition in work_eval.CONDITIONS:
            write(
                "  "
                + _row(
                    condition.name, [r for r in real if r["length_s"] == 20 and r["condition"] == condition.name], 30
                )
            )
        synthetic = [r for r in records if r["condition"] == "synthetic-unrelated"]
        if synthetic:
            fp = sum(r["accepted"] for r in synthetic) / len(synthetic)
            fp_midi = sum(r["accepted"] and not r["best"].startswith("synthetic-") for r in synthetic) / len(synthetic)
            write(
                f"\nSynthetic unrelated 20 s queries: {len(synthetic)}, accepted {fp:.1%} "
                f"(a MIDI work: {fp_midi:.1%}; the rest matched synthetic works from the same generator, "
                "which shares its 5 chord progressions and rhythm patterns)"
            )
        self._calibration(real)
        self._accuracy(real)
        q20 = [r["time_ms"] for r in real if r["length_s"] == 20]
        write("\nTimings (this machine, one process):")
        write(
            f"  index: {index['works']:.0f} works, {index['hours']:.2f} h of audio, {index['vectors']:.0f} segment "
            f"vectors; analysis+publish {index['x_rt']:.0f} x real time"
        )
        write(
            f"  index size per hour of audio: {index['disk_mb_per_hour']:.2f} MB on disk, "
            f"{index['ram_mb_per_hour']:.2f} MB in memory"
        )
        if q20:
            write(
                f"  identification of a 20 s excerpt (decoded): median {np.median(q20):.0f} ms, "
                f"p95 {np.percentile(q20, 95):.0f} ms"
            )

    def _calibration(self, real: list[dict[str, Any]]) -> None:
        write = self.stdout.write
        negatives = [r for r in real if r["truth"] is None]
        files = sorted({r["file"] for r in negatives})
        if len(files) < 2:
            return
        halves = [set(files[0::2]), set(files[1::2])]
        results = []
        for fold in (0, 1):
            calib = [r["score"] for r in negatives if r["file"] in halves[fold]]
            threshold = work_eval.threshold_for(calib, 0.01)
            test_neg = [r for r in negatives if r["file"] in halves[1 - fold]]
            fp = sum(r["score"] >= threshold for r in test_neg) / max(len(test_neg), 1)
            pos = [r for r in real if r["truth"] is not None and r["length_s"] == 20]
            tp = sum(r["score"] >= threshold and r["best"] == r["truth"] for r in pos) / max(len(pos), 1)
            results.append((threshold, fp, tp))
        all_threshold = work_eval.threshold_for([r["score"] for r in negatives], 0.01)
        write(
            f"\nThreshold for FP <= 1 % on all unrelated queries: {all_threshold:.3f} "
            f"(shipped {works.DECISION_THRESHOLD})."
        )
        write("2-fold check by held-out file (threshold from one half, measured on the other):")
        for fold, (threshold, fp, tp) in enumerate(results):
            write(f"  fold {fold}: threshold {threshold:.3f}: FP {fp:.1%} on the other half; 20 s identified {tp:.1%}")
        write("Confidence reliability (best candidate, all lengths): bin -> queries, share correct")
        for low, high in ((0.0, 0.1), (0.1, 0.5), (0.5, 0.9), (0.9, 0.99), (0.99, 1.01)):
            chosen = [r for r in real if low <= r["confidence"] < high]
            correct = sum(r["truth"] is not None and r["best"] == r["truth"] for r in chosen)
            if chosen:
                write(f"  [{low:.2f}, {min(high, 1):.2f}): {len(chosen):4d}, {correct / len(chosen):.1%}")

    def _accuracy(self, real: list[dict[str, Any]]) -> None:
        right = [r for r in real if r["truth"] is not None and r["best"] == r["truth"]]
        transposed = [r for r in right if "transpose" in r["condition"]]
        tempo = [r for r in right if "tempo" in r["condition"]]
        if transposed:
            ok = sum(r["est_transpose"] == r["transpose"] for r in transposed) / len(transposed)
            self.stdout.write(
                f"\nTransposition exact (correct top-1, transposed covers): {ok:.1%} of {len(transposed)}"
            )
        if tempo:
            errors = np.array([abs(r["est_tempo"] / r["tempo"] - 1) for r in tempo])
            self.stdout.write(
                f"Tempo ratio error (correct top-1, tempo-changed covers): median {np.median(errors):.1%}, "
                f"p90 {np.percentile(errors, 90):.1%}, within 3 %: {np.mean(errors <= 0.03):.1%} of {len(errors)}"
            )


def _decode(path: Path) -> np.ndarray:
    return audio.decode(path, SR, max_bytes=1 << 31, max_duration_s=3 * 3600).samples


def _excerpts(samples: np.ndarray, length_s: float, n: int, rng: np.random.Generator) -> list[tuple[np.ndarray, float]]:
    """n excerpts of length_s at random starts, avoiding nearly silent ones (a whole short rendition once)."""
    size = int(length_s * SR)
    if len(samples) < 0.8 * size:
        return []
    if len(samples) <= size:
        return [(samples, 0.0)]
    level = float(np.sqrt(np.mean(samples**2)))
    found = []
    for _ in range(n * 5):
        start = int(rng.integers(0, len(samples) - size))
        part = samples[start : start + size]
        if np.sqrt(np.mean(part**2)) >= 0.2 * level:
            found.append((part, start / SR))
        if len(found) == n:
            break
    return found


def _identify(
    store: WorkStore, samples: np.ndarray, truth: str | None, condition: str, length: float, transpose: int,
    tempo: float, start: float,
) -> dict[str, Any]:  # fmt: skip
    started = time.perf_counter()
    matches = store.identify(samples, SR)
    elapsed = time.perf_counter() - started
    ranked = [store.work_id(m.ref_id) for m in matches]
    best = matches[0] if matches else None
    return {
        "truth": truth, "condition": condition, "length_s": length, "start_s": round(start, 2),
        "transpose": transpose, "tempo": tempo, "ranked": ranked[:5],
        "ap": work_eval.average_precision(ranked, truth) if truth else None,
        "best": ranked[0] if ranked else None, "score": best.score if best else -1e9,
        "confidence": best.confidence if best else 0.0, "accepted": bool(best and best.accepted),
        "est_transpose": best.transpose_semitones if best else None, "est_tempo": best.tempo_ratio if best else None,
        "time_ms": elapsed * 1000,
    }  # fmt: skip


def _row(label: str, rows: list[dict[str, Any]], width: int = 8) -> str:
    pos = [r for r in rows if r["truth"] is not None]
    neg = [r for r in rows if r["truth"] is None]
    if not pos:
        return f"{label:>{width}} (no queries)"
    mean_ap = np.mean([r["ap"] for r in pos])
    top1 = np.mean([r["best"] == r["truth"] for r in pos])
    ident = np.mean([r["accepted"] and r["best"] == r["truth"] for r in pos])
    fp = np.mean([r["accepted"] for r in neg]) if neg else float("nan")
    return f"{label:>{width}} {len(pos):8d} {mean_ap:6.3f} {top1:7.1%} {ident:7.1%} {len(neg):7d} {fp:7.1%}"
