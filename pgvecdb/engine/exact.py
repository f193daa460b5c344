"""Exact (brute-force) search over a matrix of vectors, with a bitset of excluded rows.

This is how growing segments are searched, how a filter that keeps few rows is answered,
and the ground truth the approximate indexes are measured against. Row ``i`` of the
matrix is id ``i``. Distances follow ``engine.metrics`` (pgvector's definitions); a NaN
distance (cosine with a zero vector) ranks after every number, as PostgreSQL orders NaN.

Work is chunked over rows so memory stays bounded whatever the matrix size; a filter that
keeps a small part of the rows is answered from a compact copy of just those rows.
"""

from __future__ import annotations

import numpy as np

from pgvecdb.engine.bitset import Bitset
from pgvecdb.engine.metrics import Metric
from pgvecdb.engine.topk import merge_results, ordered

# Distances computed at once: queries x rows of one chunk (8 bytes each).
CHUNK_DISTANCES = 4_000_000
# A filter keeping at most this fraction of the rows is answered from a copy of those rows.
GATHER_FRACTION = 0.25
# Costs relative to one full vector distance, measured on 128 dimensions: comparing a row
# (copied out when a filter keeps few), and reading one bit of the filter.
EXACT_ROW_COST = 1.5
BITSET_ROW_COST = 1 / 32
# The rank of a NaN distance: after every number, before the excluded rows (+inf).
_NAN_RANK = np.finfo(np.float64).max


def exact_search(vectors: np.ndarray, queries: np.ndarray, k: int, metric: Metric,
                 bitset: Bitset | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows to each query: ``(distances, ids)``, both ``len(queries) x k``,
    nearest first, ties by id; missing results have id -1 and distance +inf."""
    queries = np.atleast_2d(queries)
    best = np.full((len(queries), k), np.inf), np.full((len(queries), k), -1, dtype=np.int64)
    if k == 0:
        return best
    for keys, ids in _ranked_chunks(vectors, queries, metric, bitset):
        best = merge_results([best, _nearest(keys, ids, k)], k)
    keys, ids = best
    ids[np.isinf(keys)] = -1
    return np.where(keys == _NAN_RANK, np.nan, keys), ids


def exact_range_search(vectors: np.ndarray, queries: np.ndarray, radius: float, metric: Metric,
                       bitset: Bitset | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each query, every row at a distance below ``radius`` (strictly), nearest first:
    a list of ``(distances, ids)`` pairs."""
    queries = np.atleast_2d(queries)
    limit = min(radius, _NAN_RANK)
    distances: list[list[np.ndarray]] = [[] for _ in range(len(queries))]
    positions: list[list[np.ndarray]] = [[] for _ in range(len(queries))]
    for keys, ids in _ranked_chunks(vectors, queries, metric, bitset):
        for query, row in enumerate(keys):
            hits = np.flatnonzero(row < limit)
            distances[query].append(row[hits])
            positions[query].append(ids[hits])
    return [ordered(np.concatenate(d, dtype=np.float64), np.concatenate(i, dtype=np.int64))
            for d, i in zip(distances, positions)]


def _ranked_chunks(vectors: np.ndarray, queries: np.ndarray, metric: Metric, bitset: Bitset | None):
    """Yield ``(keys, ids)`` per chunk of candidate rows: keys are distances with NaN
    replaced by ``_NAN_RANK`` and excluded rows by +inf; ``ids`` are the row positions."""
    _check_shapes(vectors, queries, bitset)
    rows, positions, excluded = _candidates(vectors, bitset)
    step = max(1, CHUNK_DISTANCES // max(1, len(queries)))
    for start in range(0, len(rows), step):
        keys = metric.pairwise(queries, rows[start:start + step])
        keys[np.isnan(keys)] = _NAN_RANK
        if excluded is not None:
            keys[:, excluded[start:start + step]] = np.inf
        ids = positions[start:start + step] if positions is not None else np.arange(start, start + keys.shape[1])
        yield keys, ids


def _candidates(vectors: np.ndarray, bitset: Bitset | None):
    """The rows to compare against: ``(rows, their ids or None for 0..n-1, excluded mask or None)``."""
    if bitset is None or not bitset.any():
        return vectors, None, None
    excluded = bitset.to_mask()
    if bitset.size - bitset.count() <= GATHER_FRACTION * len(vectors):
        positions = np.flatnonzero(~excluded)
        return np.take(vectors, positions, axis=0), positions, None
    return vectors, None, excluded


def _nearest(keys: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest keys of each row of a chunk (unordered) and their ids."""
    if keys.shape[1] <= k:
        return keys, np.broadcast_to(ids, keys.shape)
    part = np.argpartition(keys, k - 1, axis=1)[:, :k]
    return np.take_along_axis(keys, part, axis=1), ids[part]


def _check_shapes(vectors: np.ndarray, queries: np.ndarray, bitset: Bitset | None) -> None:
    if vectors.ndim != 2 or queries.shape[1] != vectors.shape[1]:
        raise ValueError(f"queries of width {queries.shape[1]} do not match vectors of shape {vectors.shape}")
    if bitset is not None and bitset.size != len(vectors):
        raise ValueError(f"a bitset of {bitset.size} bits does not fit {len(vectors)} rows")


def search_cost(matching: int, rows: int) -> float:
    """The cost of ``exact_search`` over ``matching`` of ``rows`` rows, in full vector
    distances: the rows compared (with the copy of the rows a filter keeps) plus a scan
    of the bitset."""
    return matching * EXACT_ROW_COST + rows * BITSET_ROW_COST
