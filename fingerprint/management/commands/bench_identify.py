from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

ADAPTER = Path(__file__).resolve().parents[2] / "bench_adapter.py"


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

    def handle(self, *args: Any, **options: Any) -> None:
        kit, data = Path(options["kit"]).resolve(), Path(options["data"]).resolve()
        if not (kit / "run_bench.py").exists():
            raise CommandError(f"No bench kit at {kit} (pass --kit or set BENCH_KIT).")
        env = {**os.environ, "BENCH_DATA": str(data)}
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
                ],
                env,
            )
        if options["suite"] == "public":
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

    def _run(self, command: list[str], env: dict[str, str]) -> None:
        self.stderr.write("$ " + " ".join(shlex.quote(c) for c in command))
        if subprocess.run(command, env=env, check=False).returncode != 0:
            raise CommandError(f"failed: {' '.join(command)}")


# The public corpus's one near-duplicate pair, found by cross-matching (../shared/research/
# peer_results_public.md): warzone2100 `menu` and `menu_enhanced` are one recording. The peers were
# scored with both in one group, so OOC queries cut from `menu` (its twin is indexed) count as
# in-catalogue; scoring without it would call every correct answer to them a false positive.
PUBLIC_ALIASES = (("warzone2100-menu", "warzone2100-menu"), ("warzone2100-menu_enhanced", "warzone2100-menu"))


def _write_public_aliases(suite: Path) -> None:
    path = suite / "aliases.csv"
    if not path.exists():
        path.write_text("ref_id,group\n" + "".join(f"{ref},{group}\n" for ref, group in PUBLIC_ALIASES))
