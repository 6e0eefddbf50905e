"""Seeds of repeated requests, derived from one seed: sample ``i`` of a cell whose seed is ``s``
gets ``sample_seed(s, i)``, the same on every run, in every front end and whatever order the
samples finish in. Sample 0 keeps the cell's own seed, so ``samples=1`` asks what a plain
call asks."""

from __future__ import annotations

import hashlib


def sample_seed(seed: int, index: int) -> int:
    """The seed of sample ``index`` (0-based) of a request whose seed is ``seed``."""
    if index == 0:
        return seed
    digest = hashlib.sha256(f"{seed}:sample:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def sample_seeds(seed: int, k: int) -> list[int]:
    """The seeds of ``k`` samples, in index order (distinct for any k a notebook asks)."""
    seeds = [sample_seed(seed, i) for i in range(k)]
    seen: set[int] = set()
    for i, s in enumerate(seeds):  # a 31-bit collision is rare; step past it, stably
        while s in seen:
            s = (s + 1) & 0x7FFFFFFF
        seen.add(s)
        seeds[i] = s
    return seeds
