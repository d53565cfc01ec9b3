"""The one writer lock the on-disk indexes share: an exclusive fcntl lock on `<directory>/.lock`,
held while a new generation is written and swapped in, so two processes never publish at once."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive(directory: Path) -> Iterator[None]:
    """Hold the directory's writer lock (creating the directory) for the `with` block."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
