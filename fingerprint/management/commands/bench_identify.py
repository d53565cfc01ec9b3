from __future__ import annotations

import csv
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

ADAPTER = Path(__file__).resolve().parents[2] / "bench_adapter.py"
# The further degradation classes of a breadth suite (make_queries.py --extra-classes).
EXTRA_CLASSES = Path(__file__).resolve().parents[2] / "bench_extra_classes.py"


class Command(BaseCommand):
    help = (
        "Identification benchmark: builds the public corpus and queries with the shared bench kit "
        "(if not built yet), runs register_audio and identify through its harness (run_bench.py), and "
        "prints per-class and per-length top-1, wrong-ID rate, out-of-catalogue false positives, top-1 at "
        "0 false positives, offset accuracy, index speed, query time, index MB per hour and peak memory."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kit", default=os.environ.get("BENCH_KIT", "../shared/bench"), help="bench kit folder")
        parser.add_argument("--data", default=os.environ.get("BENCH_DATA", str(Path.home() / "bench-data")))
        parser.add_argument("--suite", default="public", help="query suite name under DATA/queries")
        parser.add_argument("--name", default="public__contentid", help="result name")
        parser.add_argument("--per-cell", type=int, default=8, help="queries per class and length when building")
        parser.add_argument("--compare", nargs="*", default=[], help="other result JSON files to print beside ours")
        parser.add_argument(
            "--extra-classes",
            action="store_true",
            help=(
                "build the suite (when not built yet) from this project's further degradation classes "
                "(fingerprint/bench_extra_classes.py: speed and pitch past the public range, other codecs, band "
                "limits, clipping, compression, hall reverb, hum, drop-outs, wow, chains) instead of the kit's own; "
                "use with another --suite, e.g. --suite breadth"
            ),
        )
        parser.add_argument(
            "--landmark-decoys",
            type=int,
            default=0,
            help=(
                "after indexing, add this many decoys of every reference to the landmark store "
                "(fingerprint/decoys.py): accuracy, query time and memory as the postings of a catalogue "
                "K + 1 times larger meet each query; index speed and size then include the decoys"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kit, data = Path(options["kit"]).resolve(), Path(options["data"]).resolve()
        if not (kit / "run_bench.py").exists():
            raise CommandError(f"No bench kit at {kit} (pass --kit or set BENCH_KIT).")
        if options["landmark_decoys"] < 0:
            raise CommandError("--landmark-decoys must be zero or more")
        env = {
            **os.environ,
            "BENCH_DATA": str(data),
            "CONTENTID_BENCH_LANDMARK_DECOYS": str(options["landmark_decoys"]),
        }
        corpus = data / "corpus" / "public" / "manifest.csv"
        suite = data / "queries" / options["suite"]
        if not corpus.exists():
            self._run(["bash", str(kit / "build_corpus.sh")], env)
        if not (suite / "truth.csv").exists():
            self._run(
                [
                    sys.executable,
                    str(kit / "make_queries.py"),
                    "--manifest",
                    str(corpus),
                    "--out",
                    str(suite),
                    "--per-cell",
                    str(options["per_cell"]),
                    *(_extra_class_arguments() if options["extra_classes"] else []),
                ],
                env,
            )
        if options["suite"] == "public" or options["extra_classes"]:
            _write_public_aliases(suite)
        results = data / "results"
        adapter = f"{shlex.quote(sys.executable)} {shlex.quote(str(ADAPTER))}"
        self._run(
            [
                sys.executable,
                str(kit / "run_bench.py"),
                "run",
                "--adapter",
                adapter,
                "--suite",
                str(suite),
                "--name",
                options["name"],
                "--results",
                str(results),
            ],
            env,
        )
        ours = results / f"{options['name']}.json"
        if options["compare"]:
            self._run([sys.executable, str(kit / "run_bench.py"), "compare", str(ours), *options["compare"]], env)
        report = results / f"{options['name']}.md"
        if report.exists():
            self.stdout.write(report.read_text())
        answers = results / f"{options['name']}.run" / "out.jsonl"
        if answers.exists():
            self.stdout.write(factor_report(answers, suite / "truth.csv"))

    def _run(self, command: list[str], env: dict[str, str]) -> None:
        self.stderr.write("$ " + " ".join(shlex.quote(c) for c in command))
        if subprocess.run(command, env=env, check=False).returncode != 0:
            raise CommandError(f"failed: {' '.join(command)}")


# The public corpus's one near-duplicate pair, found by cross-matching (../shared/research/
# peer_results_public.md): warzone2100 `menu` and `menu_enhanced` are one recording. The peers were
# scored with both in one group, so OOC queries cut from `menu` (its twin is indexed) count as
# in-catalogue; scoring without it would call every correct answer to them a false positive.
PUBLIC_ALIASES = (("warzone2100-menu", "warzone2100-menu"), ("warzone2100-menu_enhanced", "warzone2100-menu"))


def _extra_class_arguments() -> list[str]:
    """make_queries.py arguments for a breadth suite: clean (half its out-of-catalogue queries are clean)
    and every further class."""
    from fingerprint import bench_extra_classes

    names = bench_extra_classes.class_names()
    return ["--extra-classes", str(EXTRA_CLASSES), "--classes", ",".join(["clean", *names])]


def _write_public_aliases(suite: Path) -> None:
    path = suite / "aliases.csv"
    if not path.exists():
        path.write_text("ref_id,group\n" + "".join(f"{ref},{group}\n" for ref, group in PUBLIC_ALIASES))


FACTOR_TOLERANCE = 0.01  # the target: tempo and pitch factors within 1 %


def _expected_factors(params: dict[str, float]) -> tuple[float, float]:
    """(pitch, tempo) factors, query over reference, that make_queries.py applied: rubberband -p
    semitones, rubberband -T tempo (faster above 1), or a speed change (both)."""
    if "semitones" in params:
        return 2 ** (params["semitones"] / 12), 1.0
    if "tempo" in params:
        return 1.0, params["tempo"]
    if "speed" in params:
        return params["speed"], params["speed"]
    return 1.0, 1.0


def factor_report(answers: Path, truth: Path) -> str:
    """Among correct answers: the share whose pitch and tempo factors are within FACTOR_TOLERANCE of
    what the query generator applied, per kind of transformation."""
    by_query = {row["query_id"]: row for row in csv.DictReader(truth.open(newline=""))}
    counts: dict[str, list[int]] = {}
    for line in answers.read_text().splitlines():
        found = json.loads(line)
        row = by_query.get(found["query_id"])
        if (
            row is None
            or not row["ref_id"]
            or found.get("ref_id") != row["ref_id"]
            or found.get("pitch_factor") is None
        ):
            continue
        pitch, tempo = _expected_factors(json.loads(row["params"] or "{}"))
        kind = row["class"].split("_")[0] if row["class"].startswith(("pitch", "tempo", "speed")) else "other"
        ok_pitch = abs(found["pitch_factor"] / pitch - 1) <= FACTOR_TOLERANCE
        ok_tempo = abs(found["tempo_factor"] / tempo - 1) <= FACTOR_TOLERANCE
        tally = counts.setdefault(kind, [0, 0, 0])
        tally[0] += 1
        tally[1] += ok_pitch
        tally[2] += ok_tempo
    lines = [
        "",
        f"Pitch and tempo factors of correct answers within {FACTOR_TOLERANCE:.0%} of those applied:",
        "| queries | n | pitch factor ok | tempo factor ok |",
        "|---|---|---|---|",
    ]
    for kind in sorted(counts):
        n, pitch_ok, tempo_ok = counts[kind]
        lines.append(f"| {kind} | {n} | {pitch_ok / n:.0%} | {tempo_ok / n:.0%} |")
    return "\n".join(lines) + "\n"
