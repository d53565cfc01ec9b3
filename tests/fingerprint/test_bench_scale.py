"""The scale benchmark: what it reports about the landmark store as the catalogue grows."""

from __future__ import annotations

import io
import re
from pathlib import Path

from django.core.management import call_command

from fingerprint.landmarks import HASH_SPACE


def test_the_landmark_benchmark_reports_postings_growing_with_the_catalogue(tmp_path: Path) -> None:
    """Synthetic hashes come from the engine's own hash values, so a query gathers n / HASH_SPACE
    postings per hash it looks up, as a real catalogue of that size would make it (at best)."""
    out = io.StringIO()
    sizes = (HASH_SPACE // 4, HASH_SPACE)
    call_command(
        "bench_scale",
        sizes=",".join(map(str, sizes)),
        engines="landmarks",
        queries=5,
        query_hashes=4000,
        workdir=str(tmp_path),
        stdout=out,
        stderr=io.StringIO(),
    )

    text = out.getvalue()
    gathered = [int(m.replace(",", "")) for m in re.findall(r"postings gathered, mean\s+-\s+([\d,]+)", text)]
    assert len(gathered) == 2
    for size, postings in zip(sizes, gathered, strict=True):
        assert abs(postings - 4000 * size / HASH_SPACE) < 0.1 * 4000 * size / HASH_SPACE
    ratio = re.search(r"landmark lookup [\d.]+x, postings gathered ([\d.]+)x", text)
    assert ratio is not None and 3.5 < float(ratio.group(1)) < 4.5  # four times the catalogue
    assert "vector index" in text and not list(tmp_path.iterdir())  # nothing left behind
