"""Small files written whole or not at all: the pieces of the on-disk indexes that are not a
VectorIndex generation (work ids and sequences, the artists' style rows and metric)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np


def npy_bytes(array: np.ndarray) -> bytes:
    """The array as the bytes of a .npy file."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array))
    return buffer.getvalue()


def atomic_write(path: Path, data: bytes) -> None:
    """Write beside the target, flush to disk, then rename over it: a reader sees the old file or the
    new one, whole, and a crash leaves the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
