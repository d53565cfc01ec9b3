"""Keep freed memory in the process for the next file, instead of handing it back to the kernel.

Fingerprinting a batch allocates and frees the same large arrays file after file (decoded audio,
spectrograms, patch tensors). glibc's defaults return every block over 128 KB-32 MB to the kernel
on free and fault it back in, zero-filled, on the next allocation: on the public bench corpus that
was 1.2 s of kernel time per 7.5 s of fingerprinting (with these settings: 0.3 s). Only the batch
commands ask for it; web and worker processes keep the defaults.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

# mallopt parameters (glibc malloc.h) and the values chosen.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -2, -3, -8
# Worker threads allocate from the main heap too: glibc gives each thread its own arena, whose
# 64 MB heaps ignore the trim and pad settings and hand freed pages back (with two workers, half
# the kernel time of a reference batch). The batch allocates large blocks rarely, so one lock is cheap.
ARENAS = 1
MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's ceiling: blocks under this come from the reusable heap
TRIM_THRESHOLD_BYTES = 1 << 30  # free heap kept before giving any back
TOP_PAD_BYTES = 256 << 20  # extra heap taken per growth, so growth is rare


def retain_freed_memory() -> bool:
    """Apply the settings above to this process's glibc allocator; False where there is no glibc. Call it
    before the worker threads start: a thread keeps the arena it first allocated from."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl, macOS: their allocators have no such knobs
        logger.debug("No glibc mallopt here; the allocator keeps its defaults")
        return False
    return all(
        mallopt(parameter, value) == 1
        for parameter, value in (
            (_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
            (_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
            (_M_TOP_PAD, TOP_PAD_BYTES),
            (_M_ARENA_MAX, ARENAS),
        )
    )
