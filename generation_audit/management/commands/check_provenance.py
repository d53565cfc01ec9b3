"""Check a list of audio files for AI provenance: every detector, then the combined verdict, one JSON line each."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generation_audit import verdict
from generation_audit.detectors import registry


def read_list(list_path: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """(id, path) entries of an `id<TAB>path` list, and one message per bad line naming its number.

    Blank lines and lines starting with # are skipped; relative paths are taken relative to the
    list file; a repeated id is a bad line (the output is keyed by id).
    """
    entries: list[tuple[str, Path]] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, raw in enumerate(list_path.read_text(errors="replace").splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            problems.append(f"{list_path}:{number}: expected 'id<TAB>path', got {line!r}")
            continue
        identifier, path = parts[0].strip(), Path(parts[1].strip())
        if identifier in seen:
            problems.append(f"{list_path}:{number}: id {identifier!r} appears twice")
            continue
        seen.add(identifier)
        entries.append((identifier, path if path.is_absolute() else list_path.parent / path))
    return entries, problems


def check_file(identifier: str, path: Path) -> dict[str, Any]:
    """One output line: the verdict and every finding with its evidence, or an error."""
    started = time.monotonic()
    line: dict[str, Any] = {"id": identifier, "path": str(path)}
    if not path.is_file():
        return {**line, "ai_generated": None, "score": None, "error": f"no such file: {path}", "findings": []}
    results = registry.run_all(path)
    signal = [r for r in results if r.detector in (verdict.COMB, verdict.LEARNED)]
    if signal and all("error" in r.evidence for r in signal):
        # Neither signal detector could decode it: the file is unreadable, which is not "no evidence".
        errors = "; ".join(str(r.evidence.get("error", "")) for r in signal)
        return {
            **line,
            "ai_generated": None,
            "score": None,
            "error": f"could not decode: {errors}",
            "findings": [r.as_dict() for r in results],
        }
    combined = verdict.combine(results)
    return {
        **line,
        "ai_generated": combined.ai_generated,
        "score": combined.score,
        "verdict_version": combined.version,
        "reasons": combined.reasons,
        "findings": [r.as_dict() for r in results],
        "time_s": round(time.monotonic() - started, 3),
    }


class Command(BaseCommand):
    help = (
        "Check every file of an 'id<TAB>path' list for AI provenance and write one JSON line per file: id, "
        "ai_generated, score (0..1, rises with confidence it is generated), reasons, and every detector's "
        "finding with its evidence. Nothing is stored. A missing or unreadable file gives a line with an "
        "'error'; malformed list lines are reported with their line number (exit status 1 at the end)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--list", required=True, dest="list_path", help="file of id<TAB>path lines")
        parser.add_argument("--jsonl", required=True, help="output file ('-' for standard output)")

    def handle(self, *args: Any, list_path: str, jsonl: str, **options: Any) -> None:
        source = Path(list_path)
        if not source.is_file():
            raise CommandError(f"List file not found: {source}")
        entries, problems = read_list(source)
        for problem in problems:
            self.stderr.write(problem)
        out: IO[str] = self.stdout if jsonl == "-" else Path(jsonl).open("w")  # type: ignore[assignment]
        flagged = failed = 0
        try:
            for identifier, path in entries:
                result = check_file(identifier, path)
                flagged += bool(result["ai_generated"])
                failed += "error" in result
                out.write(json.dumps(result, default=str) + "\n")
                out.flush()
        finally:
            if out is not self.stdout:
                out.close()
        self.stderr.write(
            f"{len(entries)} files checked: {flagged} AI-generated, {failed} could not be checked "
            f"(verdict {verdict.VERSION}, threshold {verdict.THRESHOLD})."
        )
        if problems:
            raise CommandError(f"{len(problems)} malformed line(s) in {source} (listed above); the rest were checked.")
