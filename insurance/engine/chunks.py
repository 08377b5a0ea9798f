"""Chunking and seeding: what makes a run reproducible whatever the number of workers.

Paths are grouped in fixed chunks of `chunk_size`: chunk i holds global paths
`[i·chunk_size, min((i + 1)·chunk_size, paths))` and draws its random numbers from
`SeedSequence(seed).spawn(n)[i]` (the same child for any n ≥ i + 1), always for the whole
chunk. A path's prices therefore depend only on (seed, chunk_size, paths, its index), never on
which `path_range` asked for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ChunkSlice:
    """Chunk `index` covers global paths [chunk_start, chunk_stop); the run needs [start, stop) of it."""

    index: int
    chunk_start: int
    chunk_stop: int
    start: int
    stop: int


def chunk_seed(seed: int, index: int) -> np.random.SeedSequence:
    """The seed of chunk `index`: identical to `SeedSequence(seed).spawn(index + 1)[index]`."""
    return np.random.SeedSequence(entropy=seed, spawn_key=(index,))


def chunk_generator(seed: int, index: int) -> np.random.Generator:
    """A fresh PCG64 generator for chunk `index`."""
    return np.random.Generator(np.random.PCG64(chunk_seed(seed, index)))


def chunk_count(paths: int, chunk_size: int) -> int:
    """Number of chunks a run of `paths` paths has."""
    return -(-paths // chunk_size)


def chunk_slices(paths: int, chunk_size: int, start: int, stop: int) -> Iterator[ChunkSlice]:
    """The chunks overlapping global paths [start, stop), with the part of each that is needed."""
    if start >= stop:
        return
    for index in range(start // chunk_size, (stop - 1) // chunk_size + 1):
        chunk_start = index * chunk_size
        chunk_stop = min(chunk_start + chunk_size, paths)
        yield ChunkSlice(index, chunk_start, chunk_stop, max(start, chunk_start), min(stop, chunk_stop))
