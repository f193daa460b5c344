"""HNSW: a faiss graph index searched with a bitmap of the rows a filter keeps.

faiss is the search engine for every metric because it filters inside the graph walk with
``IDSelectorBitmap`` (no callback per candidate). Float graphs are built by hnswlib, which
is faster, and copied into faiss (``engine.hnsw_graph``); Hamming graphs by faiss's
binary HNSW. Jaccard is faiss's Jaccard similarity over the bits unpacked to 0/1 floats
(32x the memory of the bits; the packed bits are kept too, for exhaustive searches).

A filter widens ef_search so that enough of the candidates the walk keeps pass the filter
(measured on 200k x 128 clustered rows with raw faiss: at 10% ef 75 gives recall 0.96 and
ef 150 0.98, at 1% ef 1500 gives 0.95), and the planner prefers an exact search over the
matching rows when that is cheaper (``engine.strategy``). The widened ef still grows with
ef_search, so that ef_search trades recall for speed under a filter as it does without.
"""

from __future__ import annotations

import faiss
import numpy as np

from pgvecdb.engine import faiss_bridge, hnsw_graph
from pgvecdb.engine.bitset import Bitset
from pgvecdb.engine.exact import exact_search, search_cost
from pgvecdb.engine.faiss_bridge import faiss_metric
from pgvecdb.engine.index import VectorIndex, indexed_positions
from pgvecdb.engine.index_types import IndexType
from pgvecdb.engine.metrics import Metric
from pgvecdb.engine.params import SearchParams
from pgvecdb.engine.strategy import Costs, widened_budget
from pgvecdb.engine.topk import Results

# Under a filter keeping a fraction s of the rows, ef grows to FILTER_EF_FACTOR * ef / s
# and at least to FILTER_ROWS_FACTOR * k / s: with k 10 at 10%, ef 150 for ef_search 40
# (the default; recall 0.98 on the data above), 75 for ef_search 20 (0.96), 50 for 10 (0.92).
FILTER_EF_FACTOR = 0.375
FILTER_ROWS_FACTOR = 0.5
# A graph search with ef computes about ef x m distances, each with a cache miss: measured
# at 200k x 128, twice the cost of a distance in an exact search over gathered rows.
VISIT_COST = 2.0
# Past this ef, a search that still lacks rows is finished exhaustively.
MAX_EF = 8192


class HnswIndex(VectorIndex):
    index_type = IndexType.HNSW

    _faiss: faiss.IndexHNSW | faiss.IndexBinaryHNSW
    _bits: np.ndarray | None = None  # the packed bits of a Jaccard index

    def memory_size(self) -> int:
        hnsw = self._faiss.hnsw
        graph = hnsw.neighbors.size() * 4 + hnsw.offsets.size() * 8 + hnsw.levels.size() * 4
        stored = faiss_bridge.stored_bytes(self._faiss.storage)
        return int(graph + stored + (self._bits.nbytes if self._bits is not None else 0))

    def _build(self, vectors: np.ndarray, skip: Bitset | None) -> Bitset | None:
        m, ef_construction = self.params.m, self.params.ef_construction
        if self.metric is Metric.HAMMING:
            self._faiss = faiss.IndexBinaryHNSW(8 * self.row_width, m)
            self._faiss.hnsw.efConstruction = ef_construction
            self._faiss.add(vectors)
            return skip
        if self.metric is Metric.JACCARD:
            self._bits, vectors = vectors, _unpacked(vectors, self.row_width)
        included = indexed_positions(len(vectors), skip)
        self._faiss = hnsw_graph.build_hnsw(vectors, included, faiss_metric(self.metric), m, ef_construction)
        return skip

    def _search_index(self, queries: np.ndarray, k: int, budget: int, excluded: Bitset | None) -> Results:
        params = faiss_bridge.selector(excluded).search_params(faiss.SearchParametersHNSW, efSearch=budget)
        if self.metric is Metric.JACCARD:
            queries = _unpacked(queries, self.row_width)
        scores, ids = self._faiss.search(queries, k, params=params)
        return faiss_bridge.results(self.metric, scores, ids)

    def _search_exhaustive(self, queries: np.ndarray, k: int, excluded: Bitset | None) -> Results:
        return exact_search(self._stored_vectors(), queries, k, self.metric, excluded)

    def _stored_vectors(self) -> np.ndarray:
        """The rows as ``exact_search`` compares them (views where faiss holds them)."""
        if self._bits is not None:
            return self._bits
        if self.metric is Metric.HAMMING:
            return faiss_bridge.binary_flat_codes(self._faiss.storage)
        return faiss_bridge.flat_vectors(self._faiss.storage)

    def _costs(self, params: SearchParams, k: int, matching: int) -> Costs:
        selectivity = matching / self.count
        ef = widened_budget(max(params.ef_search, k), selectivity, FILTER_EF_FACTOR, FILTER_ROWS_FACTOR * k)
        return Costs(budget=ef, index=ef * self.params.m * VISIT_COST, exhaustive=search_cost(matching, self.count))

    def _max_budget(self) -> int:
        return min(self.count, MAX_EF)

    def _sections(self) -> dict[str, bytes]:
        sections = {"faiss": faiss_bridge.serialize(self._faiss)}
        if self._bits is not None:
            sections["bits"] = self._bits.tobytes()
        return sections

    def _restore(self, sections: dict[str, memoryview]) -> None:
        self._faiss = faiss_bridge.deserialize(sections["faiss"], binary=self.metric is Metric.HAMMING)
        if "bits" in sections:
            self._bits = np.frombuffer(sections["bits"], dtype=np.uint8).reshape(self.count, self.row_width).copy()


def _unpacked(bits: np.ndarray, width: int) -> np.ndarray:
    """Packed bit rows as 0/1 float32 rows (for faiss's Jaccard over floats)."""
    return np.unpackbits(bits, axis=1, count=8 * width).astype(np.float32)

