"""Blocks, chunks and seeding: what makes a run reproducible whatever the number of workers and threads.

Paths are grouped in fixed blocks of `BLOCK_PATHS`: block b holds global paths
`[b·BLOCK_PATHS, min((b + 1)·BLOCK_PATHS, paths))` and draws its random numbers from
`SeedSequence(seed).spawn(n)[b]` (the same child for any n ≥ b + 1), always for the whole block.
A path's prices therefore depend only on (seed, paths, its index), never on which `path_range`
asked for it, on the chunk size or on how many threads generate the blocks. Blocks are the unit of
parallel work inside one `simulate` call; chunks (`config.chunk_size` paths) are the unit of work
between Celery tasks. A chunk boundary inside a block costs that block's generation twice (once per
side); chunk sizes that are multiples of `BLOCK_PATHS` avoid it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

BLOCK_PATHS = 100


@dataclass(frozen=True)
class BlockSlice:
    """Block `index` covers global paths [block_start, block_stop); the run needs [start, stop) of it."""

    index: int
    block_start: int
    block_stop: int
    start: int
    stop: int


def block_seed(seed: int, index: int) -> np.random.SeedSequence:
    """The seed of block `index`: identical to `SeedSequence(seed).spawn(index + 1)[index]`."""
    return np.random.SeedSequence(entropy=seed, spawn_key=(index,))


def block_generator(seed: int, index: int) -> np.random.Generator:
    """A fresh PCG64 generator for block `index`."""
    return np.random.Generator(np.random.PCG64(block_seed(seed, index)))


def chunk_count(paths: int, chunk_size: int) -> int:
    """Number of chunks a run of `paths` paths has."""
    return -(-paths // chunk_size)


def block_slices(paths: int, start: int, stop: int) -> Iterator[BlockSlice]:
    """The blocks overlapping global paths [start, stop), with the part of each that is needed."""
    if start >= stop:
        return
    for index in range(start // BLOCK_PATHS, (stop - 1) // BLOCK_PATHS + 1):
        block_start = index * BLOCK_PATHS
        block_stop = min(block_start + BLOCK_PATHS, paths)
        yield BlockSlice(index, block_start, block_stop, max(start, block_start), min(stop, block_stop))
