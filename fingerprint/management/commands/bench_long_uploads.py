from __future__ import annotations

import csv
import resource
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fingerprint import actions, long_upload_eval, params
from fingerprint.management.commands._lists import ProgressBar, read_id_path_list, registered_catalogue

# Corpus tracks that are one of the indexed recordings under another name (bench_identify.PUBLIC_ALIASES):
# not out of the catalogue, so never a host.
NOT_HOSTS = {"warzone2100-menu"}


class Command(BaseCommand):
    help = (
        "Long-upload benchmark: pastes catalogue excerpts (6-10 s; clean, under pink noise at 5 dB, or 10 % "
        "faster or slower) into minutes of out-of-catalogue music, identifies each upload, and prints the "
        "excerpts found, the chance matches, CPU time and peak memory (fingerprint/long_upload_eval.py). "
        "Registers the catalogue first when it is not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        default_data = Path.home() / "bench-data"
        parser.add_argument("--data", default=str(default_data), help="bench data folder (../shared/bench)")
        parser.add_argument("--refs", help="catalogue 'id<TAB>path' list (default: DATA/queries/public/refs.tsv)")
        parser.add_argument("--hosts", help="out-of-catalogue 'id<TAB>path' list (default: the corpus's others)")
        parser.add_argument("--out", help="where the uploads are written (default: DATA/long_uploads)")
        parser.add_argument("--seconds", type=float, default=240.0, help="length of each upload (s)")
        parser.add_argument("--seed", type=int, default=11)

    def handle(self, *args: Any, **options: Any) -> None:
        data = Path(options["data"])
        refs_list = options["refs"] or str(data / "queries" / "public" / "refs.tsv")
        refs = read_id_path_list(refs_list)
        hosts = read_id_path_list(options["hosts"]) if options["hosts"] else _corpus_hosts(data, {r for r, _ in refs})
        if not hosts:
            raise CommandError("No out-of-catalogue tracks to build uploads from.")
        names = registered_catalogue(refs_list)
        out = Path(options["out"] or data / "long_uploads")
        inserts = long_upload_eval.build_uploads(dict(hosts), dict(refs), out, options["seconds"], options["seed"])
        actions.load_indexes()
        matches: list[long_upload_eval.Found] = []
        audio_s = cpu_s = 0.0
        bar = ProgressBar(len(hosts), "identify")
        for upload, _ in sorted(hosts):
            samples = actions.decode_for_analysis(out / f"{upload}.wav").samples
            audio_s += len(samples) / params.ANALYSIS_SAMPLE_RATE
            started = time.process_time()
            found = actions.match_samples(samples)
            cpu_s += time.process_time() - started
            matches += [
                long_upload_eval.Found(
                    upload, names.get(a.ref_id, str(a.ref_id)), a.query_start_s, a.query_end_s, a.aligned, a.confidence
                )
                for a in found
            ]
            bar.step(upload)
        result = long_upload_eval.score(inserts, matches)
        self._report(result, len(hosts), audio_s, cpu_s)

    def _report(self, result: long_upload_eval.Score, uploads: int, audio_s: float, cpu_s: float) -> None:
        total = len(result.found) + len(result.missed)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(f"{uploads} uploads, {audio_s:.0f} s of audio, {total} catalogue excerpts")
        self.stdout.write(f"excerpts found: {len(result.found)} of {total}")
        by_kind: dict[str, list[int]] = {}
        for insert in result.found + result.missed:
            by_kind.setdefault(insert.degradation, [0, 0])[1] += 1
        for insert in result.found:
            by_kind[insert.degradation][0] += 1
        for kind, (hit, all_) in sorted(by_kind.items()):
            self.stdout.write(f"  {kind}: {hit} of {all_}")
        for insert in result.missed:
            self.stdout.write(f"  missed: {insert.upload} {insert.degradation} {insert.length_s:.0f} s -> {insert.ref}")
        self.stdout.write(f"chance matches (no excerpt of theirs there): {len(result.chance)}")
        for match in result.chance:
            self.stdout.write(
                f"  {match.upload} {match.start_s:.1f}-{match.end_s:.1f} s -> {match.ref}: "
                f"{match.aligned:.1f} aligned, confidence {match.confidence:.2f}"
            )
        self.stdout.write(
            f"CPU {cpu_s:.0f} s ({audio_s / max(cpu_s, 1e-9):.1f} x real time), peak RSS {peak_mb:.0f} MB"
        )


def _corpus_hosts(data: Path, catalogue: set[str]) -> list[tuple[str, Path]]:
    """The corpus tracks outside the catalogue (and not one of its recordings under another name)."""
    manifest = data / "corpus" / "public" / "manifest.csv"
    if not manifest.exists():
        raise CommandError(f"No corpus at {manifest}: build it with ../shared/bench/build_corpus.sh")
    with manifest.open() as fh:
        ids = [row["id"] for row in csv.DictReader(fh)]
    return [(track, manifest.parent / "wav" / f"{track}.wav") for track in ids if track not in catalogue | NOT_HOSTS]
