"""`manage.py calibrate_fusion`: replay the fusion decision under a grid of parameters on a query suite.

Against the index of the configured data directory (as `identify`): register the suite's references
first (`register_audio --list SUITE/refs.tsv`), then

    python manage.py calibrate_fusion --list SUITE/queries.tsv --truth SUITE/truth.csv

with a suite from ../shared/bench/make_queries.py (truth.csv: query_id, ref_id, empty for an
out-of-catalogue query; an aliases.csv beside it groups references that are one recording).
"""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.models import AudioAsset
from fingerprint import actions, audio, fusion_calibration, matching
from fingerprint.management.commands._lists import (
    ProgressBar,
    default_workers,
    one_kernel_thread_per_worker,
    read_id_path_list,
)


class Command(BaseCommand):
    help = (
        "Search every query of a suite once, then replay fusion and decision for every combination of "
        "embedding similarity, agreeing fraction and segment weight; print correct answers, wrong "
        "recordings and out-of-catalogue answers per setting, and the setting the calibration rule chooses."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--list", required=True, dest="list_path", help="file of query_id<TAB>path lines")
        parser.add_argument("--truth", required=True, type=Path, help="truth.csv: query_id,ref_id (empty: OOC)")
        parser.add_argument("--aliases", type=Path, help="aliases.csv: ref_id,group (default: beside --truth)")
        parser.add_argument("--workers", type=int, default=default_workers())

    def handle(
        self, *args: Any, list_path: str, truth: Path, aliases: Path | None, workers: int, **options: Any
    ) -> None:
        entries = read_id_path_list(list_path)
        if not truth.is_file():
            raise CommandError(f"No truth file at {truth}")
        assets = dict(
            AudioAsset.objects.filter(kind=AudioAsset.Kind.REFERENCE).values_list("recording__external_id", "pk")
        )
        if not assets:
            raise CommandError("No references are registered here: run register_audio on the suite's refs first.")
        answers = _right_answers(truth, aliases or truth.with_name("aliases.csv"), assets)
        one_kernel_thread_per_worker(workers)
        actions.load_indexes()
        bar = ProgressBar(len(entries), "search")
        evidence: dict[str, matching.QueryEvidence] = {}

        def search(entry: tuple[str, Path]) -> tuple[str, matching.QueryEvidence | None]:
            try:
                return entry[0], actions.query_evidence(actions.decode_for_analysis(entry[1]).samples)
            except (audio.AudioError, OSError) as exc:
                self.stderr.write(f"{entry[0]}\t{exc}")
                return entry[0], None

        with ThreadPoolExecutor(max(1, workers)) as pool:
            for query_id, found in pool.map(search, entries):
                if found is not None:
                    evidence[query_id] = found
                bar.step(query_id)
        refine = _TransformCheck(dict(entries), actions.reference_paths())
        outcomes = fusion_calibration.replay(evidence, answers, fusion_calibration.grid(), refine)
        chosen = fusion_calibration.choose(outcomes)
        self.stdout.write(fusion_calibration.table(outcomes, chosen))
        if chosen is None:
            self.stdout.write("No setting answers no out-of-catalogue query with its neighbours doing the same.")


class _TransformCheck:
    """actions.refine_transforms for the replay, reading each query's audio again only for an
    embeddings-only best match, and each (query, reference, span, offset) once across settings."""

    def __init__(self, query_paths: dict[str, Path], reference_paths: dict[int, Path]) -> None:
        self.query_paths = query_paths
        self.reference_paths = reference_paths
        self.kept: dict[tuple[str, int, int, int, int], bool] = {}

    def __call__(self, query_id: str, matches: list[matching.Alignment]) -> list[matching.Alignment]:
        for match in matches:  # the replay scores the best match only: the first that stands
            if not match.embeddings_only:
                return [match]
            key = (query_id, match.ref_id, round(match.offset_frames), round(match.query_start_frame),
                   round(match.query_end_frame))  # fmt: skip
            if key not in self.kept:
                samples = actions.decode_for_analysis(self.query_paths[query_id]).samples
                self.kept[key] = bool(actions.refine_transforms(samples, [match], self.reference_paths.get))
            if self.kept[key]:
                return [match]
        return []


def _right_answers(truth: Path, aliases: Path, assets: dict[str, int]) -> dict[str, set[int]]:
    """query id -> the reference asset ids that are a right answer (all of an alias group's). An
    out-of-catalogue query cut from a track whose alias is registered has right answers too, as the
    bench harness scores it."""
    groups: dict[str, str] = {}
    if aliases.is_file():
        with aliases.open(newline="") as fh:
            groups = {row["ref_id"]: row["group"] for row in csv.DictReader(fh)}
    members: dict[str, set[int]] = {}
    for ref_id, pk in assets.items():
        members.setdefault(groups.get(ref_id, ref_id), set()).add(pk)
    answers = {}
    with truth.open(newline="") as fh:
        for row in csv.DictReader(fh):
            track = row["ref_id"] or row.get("source_track") or ""
            answers[row["query_id"]] = set(members.get(groups.get(track, track), set()))
    return answers
