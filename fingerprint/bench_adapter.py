"""Adapter between ../shared/bench/run_bench.py and this project's CLI.

    python fingerprint/bench_adapter.py index REFLIST WORKDIR
    python fingerprint/bench_adapter.py query QUERYLIST WORKDIR OUT.jsonl

The index (database and landmark/vector indexes) lives in WORKDIR/data, which the harness measures.
The stored copies of the reference audio go beside WORKDIR (WORKDIR.media): the peers keep no copy
of the audio, so counting ours would compare an archive with an index.

With CONTENTID_BENCH_LANDMARK_DECOYS=K the index phase then adds K decoys of every reference to the
landmark store (fingerprint/decoys.py): queries meet the postings of a catalogue K + 1 times larger.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] not in {"index", "query"} or (argv[0] == "query" and len(argv) != 4):
        sys.stderr.write(__doc__ or "")
        return 2
    phase, list_path, workdir = argv[0], argv[1], Path(argv[2]).resolve()
    os.environ["CONTENTID_DATA_DIR"] = str(workdir / "data")
    os.environ["CONTENTID_MEDIA_DIR"] = str(workdir.parent / f"{workdir.name}.media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    for name in ("DATABASE_URL", "CELERY_BROKER_URL"):  # the benchmark is self-contained
        os.environ.pop(name, None)
    sys.path.insert(0, str(PROJECT_ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    if phase == "index":
        call_command("migrate", verbosity=0)
        call_command("register_audio", list_path=list_path)
        copies = int(os.environ.get("CONTENTID_BENCH_LANDMARK_DECOYS") or 0)
        if copies:
            from fingerprint.actions import landmark_store
            from fingerprint.decoys import add_landmark_decoys

            added = add_landmark_decoys(landmark_store(), copies)
            sys.stderr.write(f"added {len(added)} landmark decoys ({copies} per reference)\n")
    else:
        call_command("identify", list_path=list_path, jsonl=argv[3])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
