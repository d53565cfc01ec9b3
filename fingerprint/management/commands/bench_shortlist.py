"""How often the segment embeddings alone put the right recording among the first K of the catalogue."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fingerprint import actions, shortlist_eval
from fingerprint.management.commands._lists import ProgressBar, read_id_path_list, registered_catalogue


class Command(BaseCommand):
    help = (
        "Shortlist benchmark: ranks the catalogue for each in-catalogue query of a ../shared/bench suite "
        "by the segment embeddings alone (matching.shortlist) and prints how often the right recording is "
        "among the first K, per class. The step before checking landmarks in a few recordings only, whose "
        "cost would not grow with the catalogue. Registers the suite's references first when they are not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--suite", default=str(Path.home() / "bench-data" / "queries" / "public"))
        parser.add_argument("--ks", default="1,5,10,20", help="comma-separated shortlist lengths")

    def handle(self, *args: Any, **options: Any) -> None:
        suite = Path(options["suite"])
        if not (suite / "truth.csv").exists():
            raise CommandError(f"No query suite at {suite} (../shared/bench/make_queries.py builds one).")
        try:
            ks = [int(k) for k in options["ks"].split(",") if k.strip()]
        except ValueError as exc:
            raise CommandError(f"--ks must be comma-separated integers: {exc}") from exc
        names = registered_catalogue(str(suite / "refs.tsv"))
        groups = _alias_groups(suite / "aliases.csv")
        with (suite / "truth.csv").open() as fh:
            truth = {row["query_id"]: row for row in csv.DictReader(fh) if row["ref_id"]}
        queries = [(q, p) for q, p in read_id_path_list(str(suite / "queries.tsv")) if q in truth]
        actions.load_indexes()
        ranks: dict[str, list[int]] = defaultdict(list)
        bar = ProgressBar(len(queries), "shortlist")
        for query_id, path in queries:
            ranked = [names.get(ref, str(ref)) for ref, _ in actions.embedding_shortlist(
                actions.decode_for_analysis(Path(path)).samples
            )]  # fmt: skip
            ranks[truth[query_id]["class"]].append(shortlist_eval.rank_of(ranked, truth[query_id]["ref_id"], groups))
            bar.step(query_id)
        self.stdout.write(f"{'class':<24}{'queries':>8}" + "".join(f"{'top ' + str(k):>9}" for k in ks))
        for name, count, shares in shortlist_eval.summary(ranks, ks):
            self.stdout.write(f"{name:<24}{count:>8}" + "".join(f"{share:>8.1f}%" for share in shares))


def _alias_groups(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    with path.open() as fh:
        return {row["ref_id"]: row["group"] for row in csv.DictReader(fh)}
