"""``VectorIndex``: the one interface of every index type (Knowhere's ``Index``).

An index covers the rows of one segment: row ``i`` of the matrix given to ``build`` is id
``i``, and every search returns those ids. Float vectors are ``float32`` matrices (rows
are vectors; float16 and float64 are widened or narrowed), bit vectors ``uint8`` matrices
of packed bits (``ceil(dim / 8)`` bytes a row). Distances are pgvector's
(``engine.metrics``).

A search takes a ``Bitset`` of excluded rows (deleted or filtered out; ``engine.bitset``)
and returns ``min(k, rows not excluded)`` results for every query, whatever the filter's
selectivity (``engine.strategy``). ``build`` may be told rows to leave out (NULL vectors):
they are never returned. As in pgvector, a cosine index leaves out zero vectors too.

Subclasses provide the build, an index search with a budget (ef_search / nprobe), an
exhaustive search over the rows a bitset does not exclude, their costs, their bytes and
their size; this class does the checking, the planning and the envelope.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import partial
from typing import ClassVar

import numpy as np

from pgvecdb.engine import serialization
from pgvecdb.engine.bitset import Bitset
from pgvecdb.engine.index_types import IndexType
from pgvecdb.engine.metrics import Metric, unit_rows
from pgvecdb.engine.params import IndexParams, SearchParams
from pgvecdb.engine.strategy import Costs, SearchPlan, plan_search, search_to_completion
from pgvecdb.engine.threads import faiss_threads, get_num_threads, threads_for
from pgvecdb.engine.topk import Results
from pgvecdb.errors import DataCorrupted, DataException

# A range search asks its index for this many nearest rows first, then 4x more while the
# farthest of them is still inside the radius.
RANGE_FIRST_K = 64


class VectorIndex(ABC):
    index_type: ClassVar[IndexType]
    # Under cosine, compare unit vectors by inner product, leaving zero vectors out as
    # pgvector's indexes do (FLAT instead computes pgvector's cosine distance itself).
    unit_vectors_for_cosine: ClassVar[bool] = True

    def __init__(self, metric: Metric, dim: int, params: IndexParams) -> None:
        self.metric = metric
        self.dim = dim
        self.params = params
        self.count = 0  # rows covered: the size every bitset passed to a search must have
        # True when the index had fewer rows than its parameters need (an IVF with fewer
        # rows than lists: pgvector's "ivfflat index created with little data").
        self.little_data = False
        self._skip: Bitset | None = None  # rows left out of the index

    @property
    def skipped(self) -> Bitset | None:
        """The rows left out at build (NULL keys; zero vectors under cosine)."""
        return self._skip

    @property
    def indexed_rows(self) -> int:
        """The rows a search can return: all but those left out at build."""
        return self.count - (self._skip.count() if self._skip is not None else 0)

    @property
    def row_width(self) -> int:
        """Columns of the matrices ``build`` and ``search`` take: bytes for bits, else dims."""
        return (self.dim + 7) // 8 if self.metric.binary else self.dim

    def build(self, vectors: np.ndarray, skip: Bitset | None = None) -> None:
        """Index ``vectors`` (train + add). Rows set in ``skip`` are left out."""
        vectors = self._matrix(vectors)
        if skip is not None and skip.size != len(vectors):
            raise ValueError(f"a skip bitset of {skip.size} bits does not fit {len(vectors)} rows")
        self.count = len(vectors)
        skip = skip if skip is not None and skip.any() else None
        if self._scales_to_unit():
            vectors, zero = unit_rows(vectors)
            if zero.any():
                skip = Bitset.from_mask(zero) if skip is None else skip.union(Bitset.from_mask(zero))
        with faiss_threads(get_num_threads()):
            self._skip = self._build(vectors, skip)

    def search(self, queries: np.ndarray, k: int, params: SearchParams | None = None,
               bitset: Bitset | None = None) -> Results:
        """The ``k`` nearest rows to each query not excluded by ``bitset``: ``(distances,
        ids)``, both ``len(queries) x k``, nearest first; id -1 and distance +inf pad."""
        queries = self._queries(queries)
        if k < 0:
            raise ValueError("k must not be negative")
        excluded = self._excluded(bitset)
        plan = self._plan(params or SearchParams(), k, excluded)
        if k == 0 or not len(queries) or not plan.matching:
            return np.full((len(queries), k), np.inf), np.full((len(queries), k), -1, dtype=np.int64)
        with faiss_threads(threads_for(len(queries))):
            capped = params is not None and params.max_budget is not None
            max_budget = min(self._max_budget(), params.max_budget) if capped else self._max_budget()
            distances, ids = search_to_completion(
                plan, unit_rows(queries)[0] if self._scales_to_unit() else queries, k, max_budget,
                partial(self._search_index, excluded=excluded),
                partial(self._search_exhaustive, excluded=excluded), capped=capped)
        return self._undefined_for_zero_queries(queries, distances, ids), ids

    def plan(self, k: int, params: SearchParams | None = None, bitset: Bitset | None = None) -> SearchPlan:
        """What ``search`` would do for this filter (for EXPLAIN)."""
        return self._plan(params or SearchParams(), k, self._excluded(bitset))

    def range_search(self, queries: np.ndarray, radius: float, params: SearchParams | None = None,
                     bitset: Bitset | None = None) -> list[Results]:
        """For each query, the rows at a distance below ``radius`` (strictly) that the index
        finds, nearest first: a list of ``(distances, ids)``."""
        queries = self._queries(queries)
        found: list[Results] = [(np.empty(0), np.empty(0, dtype=np.int64))] * len(queries)
        pending, k = np.arange(len(queries)), RANGE_FIRST_K
        while pending.size:
            distances, ids = self.search(queries[pending], k, params, bitset)
            complete = ~(distances[:, -1] < radius) | (k >= self.count)
            for row in np.flatnonzero(complete):
                hits = distances[row] < radius
                found[pending[row]] = distances[row][hits], ids[row][hits]
            pending, k = pending[~complete], k * 4
        return found

    def serialize(self) -> bytes:
        header = {
            "index_type": self.index_type.value, "metric": self.metric.value, "dim": self.dim,
            "params": self.params.as_options(), "count": self.count, "little_data": self.little_data,
        }
        sections = self._sections()
        if self._skip is not None:
            sections["skip"] = self._skip.to_bytes()
        return serialization.pack(header, sections)

    def load(self, data: bytes | memoryview) -> None:
        """Restore what ``serialize`` wrote, for an index of the same type, metric, dims and params."""
        header, sections = serialization.unpack(data)
        described = (header.get("index_type"), header.get("metric"), header.get("dim"), header.get("params"))
        expected = (self.index_type.value, self.metric.value, self.dim, self.params.as_options())
        if described != expected:
            raise DataCorrupted(f"vector index data describes {described}, expected {expected}")
        try:
            self.count = int(header["count"])
            self.little_data = bool(header["little_data"])
            skip = sections.pop("skip", None)
            self._skip = None if skip is None else Bitset.from_bytes(self.count, skip)
            self._restore(sections)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # faiss reports bad bytes as RuntimeError
            raise DataCorrupted(f"vector index data is damaged: {exc}") from None

    @abstractmethod
    def memory_size(self) -> int:
        """Bytes the index holds in memory."""

    @abstractmethod
    def _build(self, vectors: np.ndarray, skip: Bitset | None) -> Bitset | None:
        """Index the rows not in ``skip``; return the rows left out."""

    @abstractmethod
    def _search_index(self, queries: np.ndarray, k: int, budget: int, excluded: Bitset | None) -> Results:
        """One index search with ``budget`` (ef_search or nprobe)."""

    @abstractmethod
    def _search_exhaustive(self, queries: np.ndarray, k: int, excluded: Bitset | None) -> Results:
        """A search that finds every row not excluded (exact where the index stores vectors)."""

    @abstractmethod
    def _costs(self, params: SearchParams, k: int, matching: int) -> Costs:
        """The budget for ``params`` widened for the filter, and what either search costs."""

    @abstractmethod
    def _max_budget(self) -> int:
        """The budget past which an index search cannot find more."""

    @abstractmethod
    def _sections(self) -> dict[str, bytes]:
        """The index's bytes, by section name."""

    @abstractmethod
    def _restore(self, sections: dict[str, memoryview]) -> None:
        """Rebuild the index from ``_sections``' bytes."""

    def _scales_to_unit(self) -> bool:
        return self.metric is Metric.COSINE and self.unit_vectors_for_cosine

    def _plan(self, params: SearchParams, k: int, excluded: Bitset | None) -> SearchPlan:
        matching = self.count - (excluded.count() if excluded is not None else 0)
        if not matching:
            return SearchPlan(exhaustive=True, matching=0, rows=self.count, budget=0)
        return plan_search(self._costs(params, max(k, 1), matching), params, matching, self.count)

    def _excluded(self, bitset: Bitset | None) -> Bitset | None:
        """The rows a search must not return: the bitset's and those left out of the index."""
        if bitset is not None and bitset.size != self.count:
            raise ValueError(f"a bitset of {bitset.size} bits does not fit an index of {self.count} rows")
        if bitset is None or not bitset.any():
            return self._skip
        return bitset if self._skip is None else bitset.union(self._skip)

    def _matrix(self, vectors: np.ndarray) -> np.ndarray:
        dtype = np.uint8 if self.metric.binary else np.float32
        vectors = np.ascontiguousarray(vectors, dtype=dtype)
        if vectors.ndim != 2 or vectors.shape[1] != self.row_width:
            raise ValueError(f"expected a matrix of {self.row_width} columns, got shape {vectors.shape}")
        return vectors

    def _queries(self, queries: np.ndarray) -> np.ndarray:
        dtype = np.uint8 if self.metric.binary else np.float32
        queries = np.asarray(queries)
        if not (queries.dtype == dtype and queries.ndim == 2 and queries.flags.c_contiguous):
            queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=dtype)
        if queries.ndim != 2 or queries.shape[1] != self.row_width:
            if self.metric.binary:
                raise DataException(f"bit strings of {queries.shape[-1]} bytes do not match bit({self.dim})")
            raise DataException(f"different vector dimensions {self.dim} and {queries.shape[-1]}")
        return queries

    def _undefined_for_zero_queries(self, queries: np.ndarray, distances: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """pgvector's cosine distance to a zero vector is NaN."""
        if self.metric is Metric.COSINE:
            zero = ~queries.any(axis=1)
            distances[zero[:, None] & (ids >= 0)] = np.nan
        return distances


def indexed_positions(rows: int, skip: Bitset | None) -> np.ndarray:
    """The positions of the rows an index takes in: all but those in ``skip``."""
    return np.arange(rows) if skip is None else skip.invert().positions()
