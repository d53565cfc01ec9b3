"""`manage.py identify_works --list queries.tsv --jsonl out.jsonl`: which registered composition each
query performs (lines `query_id<TAB>path`; one JSON line per query)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from fingerprint import audio, work_features
from fingerprint.management.commands._lists import ProgressBar, read_id_path_list
from fingerprint.work_store import WorkStore, work_store


class Command(BaseCommand):
    help = (
        "Identify the composition (work) of every file of a 'query_id<TAB>path' list and write one JSON "
        "line per query: query_id, work_id (null when no work is recognised), score, confidence, "
        "transpose_semitones, tempo_ratio, the spans, and the best candidates. Errors are reported per line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--list", required=True, dest="list_path", help="file of query_id<TAB>path lines")
        parser.add_argument("--jsonl", required=True, help="output file ('-' for standard output)")
        parser.add_argument("--candidates", type=int, default=3, help="candidates listed per query (default 3)")

    def handle(self, *args: Any, list_path: str, jsonl: str, candidates: int, **options: Any) -> None:
        entries = read_id_path_list(list_path)
        store = work_store()
        if not len(store):
            self.stderr.write("The work index is empty: register works first (manage.py register_works).")
        out = sys.stdout if jsonl == "-" else Path(jsonl).open("w")
        bar = ProgressBar(len(entries), "identify_works")
        found = 0
        try:
            for query_id, path in entries:
                line = identify_one(store, query_id, path, candidates)
                found += line["work_id"] is not None
                out.write(json.dumps(line) + "\n")
                out.flush()
                bar.step(query_id)
        finally:
            if out is not sys.stdout:
                out.close()
        self.stderr.write(f"{found} of {len(entries)} queries matched a work.")


def identify_one(store: WorkStore, query_id: str, path: Path, n_candidates: int = 3) -> dict[str, Any]:
    """One output line for one query file (an `error` field instead of a match when it cannot be read)."""
    started = time.monotonic()
    line: dict[str, Any] = {
        "query_id": query_id,
        "work_id": None,
        "score": 0.0,
        "confidence": None,
        "transpose_semitones": None,
        "tempo_ratio": None,
    }
    try:
        decoded = audio.decode(
            path, work_features.SAMPLE_RATE, max_bytes=settings.AUDIO_MAX_BYTES,
            max_duration_s=settings.AUDIO_MAX_DURATION_S,
        )  # fmt: skip
    except (audio.AudioError, OSError) as exc:
        line["error"] = str(exc)
        line["time_s"] = round(time.monotonic() - started, 4)
        return line
    matches = store.identify(decoded.samples, decoded.sample_rate)
    if matches:
        best = matches[0]
        line["score"] = best.score
        line["confidence"] = best.confidence
        if best.accepted:
            line.update(
                work_id=store.work_id(best.ref_id),
                transpose_semitones=best.transpose_semitones,
                tempo_ratio=best.tempo_ratio,
                query_span=[best.query_start_s, best.query_end_s],
                work_span=[best.ref_start_s, best.ref_end_s],
            )
    line["candidates"] = [
        {
            "work_id": store.work_id(m.ref_id),
            "score": m.score,
            "transpose_semitones": m.transpose_semitones,
            "tempo_ratio": m.tempo_ratio,
            "query_span": [m.query_start_s, m.query_end_s],
            "work_span": [m.ref_start_s, m.ref_end_s],
        }
        for m in matches[:n_candidates]
    ]
    line["time_s"] = round(time.monotonic() - started, 4)
    return line
