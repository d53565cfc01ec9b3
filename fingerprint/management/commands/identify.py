from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from catalog.models import AudioAsset
from fingerprint import actions, audio
from fingerprint.management.commands._lists import (
    ProgressBar,
    default_workers,
    one_kernel_thread_per_worker,
    read_id_path_list,
)


class Command(BaseCommand):
    help = (
        "Identify every file of a 'query_id<TAB>path' list against the index (loaded once) and write "
        "one JSON line per query: query_id, ref_id (or null), score, offset_s, query_span, "
        "pitch_factor, tempo_factor, and every match found."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--list", required=True, dest="list_path", help="file of query_id<TAB>path lines")
        parser.add_argument("--jsonl", required=True, help="output file ('-' for standard output)")
        parser.add_argument(
            "--workers",
            type=int,
            default=default_workers(),
            help="queries identified at once, in threads sharing the one loaded index (default: the CPUs "
            "this process may use, at most 4); each then runs torch and faiss on one thread",
        )

    def handle(self, *args: Any, list_path: str, jsonl: str, workers: int, **options: Any) -> None:
        entries = read_id_path_list(list_path)
        ref_names = {
            pk: external_id or str(recording_id)
            for pk, external_id, recording_id in AudioAsset.objects.filter(kind=AudioAsset.Kind.REFERENCE).values_list(
                "pk", "recording__external_id", "recording_id"
            )
        }
        paths = actions.reference_paths()
        workers = max(1, workers)
        one_kernel_thread_per_worker(workers)
        actions.load_indexes()
        out = sys.stdout if jsonl == "-" else Path(jsonl).open("w")
        bar = ProgressBar(len(entries), "identify")
        found = 0
        try:
            with ThreadPoolExecutor(workers) as pool:
                # The GIL is released in decoding, numpy's sorts and reductions, torch and faiss, so
                # threads overlap most of a query's work; map keeps the list's order in the output.
                for start in range(0, len(entries), _BATCH):
                    batch = entries[start : start + _BATCH]
                    for (query_id, _), line in zip(
                        batch, pool.map(lambda e: _identify_one(e[0], e[1], ref_names, paths), batch), strict=True
                    ):
                        found += line["ref_id"] is not None
                        out.write(json.dumps(line) + "\n")
                        bar.step(query_id)
        finally:
            if out is not sys.stdout:
                out.close()
        self.stderr.write(f"{found} of {len(entries)} queries matched a reference.")


_BATCH = 256  # queries handed to the pool at once: bounded memory for lists of any length


def _identify_one(query_id: str, path: Path, ref_names: dict[int, str], paths: dict[int, Path]) -> dict[str, Any]:
    started = time.monotonic()
    line: dict[str, Any] = {
        "query_id": query_id,
        "ref_id": None,
        "score": 0.0,
        "confidence": None,
        "offset_s": None,
        "query_span": None,
        "pitch_factor": None,
        "tempo_factor": None,
        "matches": [],
    }
    try:
        samples = actions.decode_for_analysis(path).samples
    except (audio.AudioError, OSError) as exc:
        line["error"] = str(exc)
        line["time_s"] = round(time.monotonic() - started, 4)
        return line
    candidates, decided = actions.decided_alignments(samples)
    decided = [a for a in decided if a.ref_id in ref_names]
    matches = actions.refine_transforms(samples, decided, paths.get)
    if candidates:
        line["score"] = round(candidates[0].aligned, 3)
    if matches:
        best = matches[0]
        line.update(
            ref_id=ref_names[best.ref_id],
            score=round(best.aligned, 3),
            confidence=round(best.confidence, 4),
            offset_s=round(best.offset_s, 3),
            query_span=[round(best.query_start_s, 3), round(best.query_end_s, 3)],
            pitch_factor=round(best.pitch_factor, 4),
            tempo_factor=round(best.tempo_factor, 4),
        )
    line["matches"] = [
        {
            "ref_id": ref_names[a.ref_id],
            "score": round(a.aligned, 3),
            "offset_s": round(a.offset_s, 3),
            "query_span": [round(a.query_start_s, 3), round(a.query_end_s, 3)],
            "pitch_factor": round(a.pitch_factor, 4),
            "tempo_factor": round(a.tempo_factor, 4),
        }
        for a in matches
    ]
    line["time_s"] = round(time.monotonic() - started, 4)
    return line
