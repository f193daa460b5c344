"""The distance metrics of the engine, with pgvector's definitions.

Every search in engine/ returns distances exactly as pgvector's operators define them,
smaller meaning closer:

* ``L2``      ``<->``  euclidean distance (not squared)
* ``IP``      ``<#>``  the negative inner product
* ``COSINE``  ``<=>``  1 - cos(a, b); NaN when either vector is zero
* ``L1``      ``<+>``  taxicab distance
* ``HAMMING`` ``<~>``  number of differing bits
* ``JACCARD`` ``<%>``  1 - |a & b| / |a | b|; 1 when the strings share no set bit

Float vectors are ``float32`` matrices (rows are vectors). Bit vectors are ``uint8``
matrices of packed bits, ``ceil(dim / 8)`` bytes a row, padding bits zero; the order of
bits inside a byte does not matter to either bit metric.

``pairwise`` computes the distances between queries and rows directly (never through the
``|a|² + |b|² - 2ab`` expansion, which loses the small distances), in float64.
"""

from __future__ import annotations

from enum import Enum

import faiss
import numpy as np


class Metric(Enum):
    L2 = "L2"
    IP = "IP"
    COSINE = "COSINE"
    L1 = "L1"
    HAMMING = "HAMMING"
    JACCARD = "JACCARD"

    @property
    def binary(self) -> bool:
        """True for the metrics over bit vectors."""
        return self in (Metric.HAMMING, Metric.JACCARD)

    def pairwise(self, queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Distances (float64, ``len(queries) x len(rows)``) between every query and row."""
        return _PAIRWISE[self](queries, rows)


def unit_rows(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``vectors`` scaled to unit length (float32) and the mask of its zero rows, which
    cannot be scaled and have no cosine distance (they stay zero)."""
    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64))
    zero = norms == 0
    scale = np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, norms))
    return np.asarray(vectors, dtype=np.float32) * scale.astype(np.float32)[:, None], zero


def _l2(queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
    out = np.empty((len(queries), len(rows)), dtype=np.float32)
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    for i, query in enumerate(queries):
        faiss.fvec_L2sqr_ny(faiss.swig_ptr(out[i]), faiss.swig_ptr(query), faiss.swig_ptr(rows),
                            rows.shape[1], len(rows))
    return np.sqrt(out.astype(np.float64))


def _inner_products(queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return (np.asarray(queries, dtype=np.float32) @ np.asarray(rows, dtype=np.float32).T).astype(np.float64)


def _ip(queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return -_inner_products(queries, rows)


def _cosine(queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
    dots = _inner_products(queries, rows)
    query_norms = np.einsum("ij,ij->i", queries, queries, dtype=np.float64)
    row_norms = np.einsum("ij,ij->i", rows, rows, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        similarity = dots / np.sqrt(np.outer(query_norms, row_norms))
    return 1.0 - np.clip(similarity, -1.0, 1.0)


def _l1(queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    return faiss.pairwise_distances(queries, rows, metric=faiss.METRIC_L1).astype(np.float64)


def _bit_counts(queries: np.ndarray, rows: np.ndarray, op: np.ufunc) -> np.ndarray:
    """For every (query, row) pair, the number of set bits of ``op(query, row)``."""
    counts = np.empty((len(queries), len(rows)), dtype=np.int64)
    for i, query in enumerate(queries):
        counts[i] = np.bitwise_count(op(rows, query)).sum(axis=1, dtype=np.int64)
    return counts


def _hamming(queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return _bit_counts(queries, rows, np.bitwise_xor).astype(np.float64)


def _jaccard(queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
    both = _bit_counts(queries, rows, np.bitwise_and).astype(np.float64)
    either = _bit_counts(queries, rows, np.bitwise_or).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(both == 0, 1.0, 1.0 - both / np.maximum(either, 1.0))


_PAIRWISE = {
    Metric.L2: _l2,
    Metric.IP: _ip,
    Metric.COSINE: _cosine,
    Metric.L1: _l1,
    Metric.HAMMING: _hamming,
    Metric.JACCARD: _jaccard,
}
