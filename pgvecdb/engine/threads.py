"""How many threads the engine's CPU-heavy work may use.

faiss (OpenMP), hnswlib and numpy release the GIL while they compute, so an index build
running in a worker thread leaves the event loop free. ``set_num_threads`` is the one
knob: index builds and batched searches use that many threads (default: every core);
a search for a single query always runs on the calling thread alone.

OpenMP keeps its thread count per calling thread, so ``faiss_threads`` applies the count
around each faiss call rather than once for the process.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import faiss

_num_threads = os.cpu_count() or 1


def set_num_threads(count: int) -> None:
    """Use at most ``count`` threads for builds and batched searches."""
    global _num_threads
    if count < 1:
        raise ValueError("the engine needs at least one thread")
    _num_threads = int(count)


def get_num_threads() -> int:
    return _num_threads


def threads_for(queries: int) -> int:
    """Threads for a search of ``queries`` queries."""
    return 1 if queries <= 1 else min(_num_threads, queries)


@contextmanager
def faiss_threads(count: int) -> Iterator[None]:
    """Let faiss calls made inside the block, on this thread, use ``count`` threads."""
    previous = faiss.omp_get_max_threads()
    if previous == count:
        yield
        return
    faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)
