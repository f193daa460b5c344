"""FLAT and BIN_FLAT: the vectors themselves, searched exactly (``engine.exact``)."""

from __future__ import annotations

import math

import numpy as np

from pgvecdb.engine.bitset import Bitset
from pgvecdb.engine.exact import exact_range_search, exact_search
from pgvecdb.engine.index import VectorIndex
from pgvecdb.engine.index_types import IndexType
from pgvecdb.engine.params import SearchParams
from pgvecdb.engine.strategy import Costs
from pgvecdb.engine.topk import Results


class FlatIndex(VectorIndex):
    index_type = IndexType.FLAT
    unit_vectors_for_cosine = False

    _vectors: np.ndarray

    def memory_size(self) -> int:
        return int(self._vectors.nbytes)

    def range_search(self, queries: np.ndarray, radius: float, params: SearchParams | None = None,
                     bitset: Bitset | None = None) -> list[Results]:
        return exact_range_search(self._vectors, self._queries(queries), radius, self.metric, self._excluded(bitset))

    def _build(self, vectors: np.ndarray, skip: Bitset | None) -> Bitset | None:
        self._vectors = vectors.copy()
        return skip

    def _search_index(self, queries: np.ndarray, k: int, budget: int, excluded: Bitset | None) -> Results:
        return self._search_exhaustive(queries, k, excluded)

    def _search_exhaustive(self, queries: np.ndarray, k: int, excluded: Bitset | None) -> Results:
        return exact_search(self._vectors, queries, k, self.metric, excluded)

    def _costs(self, params: SearchParams, k: int, matching: int) -> Costs:
        return Costs(budget=0, index=math.inf, exhaustive=float(matching))

    def _max_budget(self) -> int:
        return 0

    def _sections(self) -> dict[str, bytes]:
        return {"vectors": self._vectors.tobytes()}

    def _restore(self, sections: dict[str, memoryview]) -> None:
        dtype = np.uint8 if self.metric.binary else np.float32
        self._vectors = np.frombuffer(sections["vectors"], dtype=dtype).reshape(self.count, self.row_width).copy()


class BinaryFlatIndex(FlatIndex):
    index_type = IndexType.BIN_FLAT
