"""Decoy references for measuring the landmark engine at a larger catalogue's size.

Every lookup gathers the postings of each query hash, and the engine's hashes take only
landmarks.HASH_SPACE values, so a catalogue k times larger gives every query about k times the
postings to rank and align. Decoys reproduce that load on a benchmark index without more music:
each is a copy of an indexed reference's hashes and anchor pitches with its anchor frames shuffled,
so the hash distribution is the catalogue's own and no decoy lines up with a query except by chance.
They exist only in the landmark store (no recording, no vectors): identify drops any decoy it
matches, as it does every reference the catalogue does not hold.
"""

from __future__ import annotations

import numpy as np

from fingerprint.landmark_store import LandmarkStore
from fingerprint.landmarks import Landmarks


def add_landmark_decoys(store: LandmarkStore, copies: int, seed: int = 5) -> list[int]:
    """Add `copies` decoys of every reference in `store`, numbered above its highest reference id, in
    one new generation; returns their ids."""
    if copies < 0:
        raise ValueError("copies must be zero or more")
    gen = store.generation()
    refs = np.asarray(gen.arrays["refs"])
    real = np.unique(refs)
    if copies == 0 or len(real) == 0:
        return []
    next_id = int(real.max()) + 1
    if next_id + copies * len(real) > np.iinfo(np.uint32).max:
        raise ValueError("decoy ids would overflow the store's 32-bit reference ids")
    rng = np.random.default_rng(seed)
    hashes, frames, pitches = (np.asarray(gen.arrays[key]) for key in ("hashes", "frames", "pitches"))
    decoys: list[tuple[int, Landmarks]] = []
    for ref in real:
        mine = refs == ref
        ref_hashes, ref_frames, ref_pitches = hashes[mine], frames[mine], pitches[mine]
        n_frames = int(ref_frames.max()) + 1
        for _ in range(copies):
            decoys.append((next_id, Landmarks(ref_hashes, rng.permutation(ref_frames), ref_pitches, n_frames)))
            next_id += 1
    store.add_many(decoys)
    return [ref_id for ref_id, _ in decoys]
