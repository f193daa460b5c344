"""The cache of filter bitsets stays within its byte budget, dropping the least recently used."""

from __future__ import annotations

import numpy as np

from pgvecdb.engine import Bitset
from pgvecdb.exec.ann_filter import BitsetCache


def bits(size: int, first: int) -> Bitset:
    return Bitset.from_positions(size, np.array([first]))


def test_least_recently_used_bitsets_leave_first_when_over_budget():
    cache = BitsetCache(max_bytes=3 * 1000)  # three bitsets of 8,000 rows (1,000 bytes each)
    for segment in range(3):
        cache.put((1, segment), bits(8000, segment))
    assert cache.get((1, 0)).test(0)  # now the most recently used
    cache.put((1, 3), bits(8000, 3))
    assert cache.get((1, 1)) is None
    assert cache.get((1, 0)) is not None and cache.get((1, 2)) is not None and cache.get((1, 3)).test(3)


def test_a_key_keeps_its_first_bitset():
    cache = BitsetCache(max_bytes=10_000)
    cache.put((7, 1), bits(100, 5))
    cache.put((7, 1), bits(100, 6))
    assert cache.get((7, 1)).test(5) and not cache.get((7, 1)).test(6)
