"""The IVF family: IVF_FLAT, IVF_SQ8, IVF_PQ (faiss) and BIN_IVF_FLAT for bit vectors.

Rows are clustered into ``lists`` by k-means; a search scans the ``nprobe`` lists nearest
to the query. A filter widens nprobe (the nearest passing rows lie farther away), and
nprobe = lists scans everything, so a search still short of rows is completed that way
(``engine.strategy``). With fewer rows
than lists, the index makes one list per row and says so (``little_data``); IVF_PQ with
fewer rows than its codebooks need (2^nbits) keeps its vectors unquantized instead.

IVF_SQ8 and IVF_PQ return the distances of their quantized vectors, as Milvus does;
callers that show distances recompute them for the rows returned.

faiss's binary IVF takes no selector, so BIN_IVF_FLAT asks it for more rows, widened by
the filter, and drops the excluded ones (a vectorised bitset lookup, no callback); its
exhaustive search runs over a copy of the bits (an eighth of a float32 vector's size).
"""

from __future__ import annotations

import math

import faiss
import numpy as np

from pgvecdb.engine import faiss_bridge
from pgvecdb.engine.bitset import Bitset
from pgvecdb.engine.exact import exact_search, search_cost
from pgvecdb.engine.faiss_bridge import faiss_metric
from pgvecdb.engine.index import VectorIndex, indexed_positions
from pgvecdb.engine.index_types import IndexType
from pgvecdb.engine.params import SearchParams
from pgvecdb.engine.strategy import Costs, widened_budget
from pgvecdb.engine.topk import Results

# Under a filter keeping a fraction s of the rows, nprobe grows to FILTER_PROBE_FACTOR *
# nprobe / s (measured on clustered data, 100 lists: recall 0.96 at s = 10% with 8 lists
# instead of 1), and at least to the lists that hold FILTER_ROWS_FACTOR * k passing rows.
FILTER_PROBE_FACTOR = 1.0
FILTER_ROWS_FACTOR = 2.0
# Scanning a list tests every row against the filter: about 1/8 of a distance.
FILTER_CHECK_COST = 1 / 8
KMEANS_SEED = 1234
# Training samples: rows per list (faiss's own cap), and for bit vectors a cap on the 0/1
# floats k-means works on (1 GiB).
TRAIN_ROWS_PER_LIST = 256
TRAIN_FLOATS = 1 << 28


class IvfIndex(VectorIndex):
    """IVF_FLAT; IVF_SQ8 and IVF_PQ differ only in the faiss index they make."""

    index_type = IndexType.IVF_FLAT

    _faiss: faiss.IndexIVF | faiss.IndexBinaryIVF

    def memory_size(self) -> int:
        centroid_bytes = self._faiss.code_size if self.metric.binary else self.dim * 4
        centroids = self._faiss.nlist * centroid_bytes
        return int(self._faiss.ntotal * (self._faiss.code_size + 8) + centroids)

    def _build(self, vectors: np.ndarray, skip: Bitset | None) -> Bitset | None:
        included = indexed_positions(len(vectors), skip)
        rows = vectors if len(included) == len(vectors) else np.take(vectors, included, axis=0)
        self.little_data = self._little_data(len(rows))
        self._faiss = self._new_ivf(min(self.params.lists, max(1, len(rows))), len(rows))
        self._faiss.cp.min_points_per_centroid = 1  # small segments are expected: no warnings
        self._faiss.cp.seed = KMEANS_SEED
        if len(rows):
            self._train(rows)
            self._faiss.add_with_ids(rows, included)
        return skip

    def _little_data(self, rows: int) -> bool:
        """Fewer rows than the parameters need (pgvector's "created with little data")."""
        return rows < self.params.lists

    def _train(self, rows: np.ndarray) -> None:
        self._faiss.train(rows)

    def _new_ivf(self, lists: int, rows: int) -> faiss.IndexIVF | faiss.IndexBinaryIVF:
        metric = faiss_metric(self.metric)
        return faiss.IndexIVFFlat(faiss.IndexFlat(self.dim, metric), self.dim, lists, metric)

    def _search_index(self, queries: np.ndarray, k: int, budget: int, excluded: Bitset | None) -> Results:
        params = faiss_bridge.selector(excluded).search_params(faiss.SearchParametersIVF, nprobe=budget)
        scores, ids = self._faiss.search(queries, k, params=params)
        return faiss_bridge.results(self.metric, scores, ids)

    def _search_exhaustive(self, queries: np.ndarray, k: int, excluded: Bitset | None) -> Results:
        return self._search_index(queries, k, self._faiss.nlist, excluded)

    def _costs(self, params: SearchParams, k: int, matching: int) -> Costs:
        lists, rows = self._faiss.nlist, self._faiss.ntotal
        per_list = max(1.0, rows / lists)
        selectivity = matching / self.count
        widened = widened_budget(params.nprobe, selectivity, FILTER_PROBE_FACTOR, FILTER_ROWS_FACTOR * k / per_list)
        nprobe = min(lists, widened)
        row_cost = FILTER_CHECK_COST + selectivity
        return Costs(budget=nprobe, index=lists + nprobe * per_list * row_cost, exhaustive=lists + rows * row_cost)

    def _max_budget(self) -> int:
        return self._faiss.nlist

    def _sections(self) -> dict[str, bytes]:
        return {"faiss": faiss_bridge.serialize(self._faiss)}

    def _restore(self, sections: dict[str, memoryview]) -> None:
        self._faiss = faiss_bridge.deserialize(sections["faiss"], binary=self.metric.binary)


class IvfSq8Index(IvfIndex):
    index_type = IndexType.IVF_SQ8

    def _new_ivf(self, lists: int, rows: int) -> faiss.IndexIVF:
        metric = faiss_metric(self.metric)
        return faiss.IndexIVFScalarQuantizer(faiss.IndexFlat(self.dim, metric), self.dim, lists,
                                             faiss.ScalarQuantizer.QT_8bit, metric)


class IvfPqIndex(IvfIndex):
    index_type = IndexType.IVF_PQ

    def _little_data(self, rows: int) -> bool:
        return super()._little_data(rows) or rows < 2 ** self.params.nbits

    def _new_ivf(self, lists: int, rows: int) -> faiss.IndexIVF:
        if rows < 2 ** self.params.nbits:  # too few rows to train the codebooks: keep vectors
            return super()._new_ivf(lists, rows)
        metric = faiss_metric(self.metric)
        index = faiss.IndexIVFPQ(faiss.IndexFlat(self.dim, metric), self.dim, lists,
                                 self.params.m, self.params.nbits, metric)
        index.pq.cp.min_points_per_centroid = 1
        return index


class BinaryIvfIndex(IvfIndex):
    index_type = IndexType.BIN_IVF_FLAT

    _codes: np.ndarray

    def memory_size(self) -> int:
        return super().memory_size() + int(self._codes.nbytes)

    def _build(self, vectors: np.ndarray, skip: Bitset | None) -> Bitset | None:
        self._codes = vectors.copy()
        return super()._build(vectors, skip)

    def _new_ivf(self, lists: int, rows: int) -> faiss.IndexBinaryIVF:
        bits = 8 * self.row_width
        return faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(bits), bits, lists)

    def _train(self, rows: np.ndarray) -> None:
        """k-means over the bits as 0/1 floats, centroids rounded back to bits (faiss's own
        binary IVF training took 15 s for 40 rows of 64,000 bits)."""
        bits = 8 * self.row_width
        lists = self._faiss.nlist
        sample_size = min(len(rows), TRAIN_ROWS_PER_LIST * lists, max(lists, TRAIN_FLOATS // bits))
        sample = rows[np.random.default_rng(KMEANS_SEED).choice(len(rows), sample_size, replace=False)]
        kmeans = faiss.Kmeans(bits, lists, seed=KMEANS_SEED, min_points_per_centroid=1)
        kmeans.train(np.unpackbits(sample, axis=1).astype(np.float32))
        self._faiss.quantizer.add(np.packbits(kmeans.centroids > 0.5, axis=1))
        self._faiss.is_trained = True

    def _search_index(self, queries: np.ndarray, k: int, budget: int, excluded: Bitset | None) -> Results:
        params = faiss.SearchParametersIVF(nprobe=budget)
        if excluded is None:
            scores, ids = self._faiss.search(queries, k, params=params)
            return faiss_bridge.results(self.metric, scores, ids)
        matching = self.count - excluded.count()
        wider = min(self._faiss.ntotal, math.ceil(FILTER_ROWS_FACTOR * k * self.count / max(1, matching)))
        scores, ids = self._faiss.search(queries, max(k, wider), params=params)
        dropped = (ids < 0) | excluded.test_many(np.maximum(ids, 0))
        keep = np.argsort(dropped, axis=1, kind="stable")[:, :k]
        ids = np.where(np.take_along_axis(dropped, keep, axis=1), -1, np.take_along_axis(ids, keep, axis=1))
        return faiss_bridge.results(self.metric, np.take_along_axis(scores, keep, axis=1), ids)

    def _search_exhaustive(self, queries: np.ndarray, k: int, excluded: Bitset | None) -> Results:
        return exact_search(self._codes, queries, k, self.metric, excluded)

    def _costs(self, params: SearchParams, k: int, matching: int) -> Costs:
        costs = super()._costs(params, k, matching)
        return Costs(costs.budget, costs.index, search_cost(matching, self.count))

    def _sections(self) -> dict[str, bytes]:
        return {**super()._sections(), "codes": self._codes.tobytes()}

    def _restore(self, sections: dict[str, memoryview]) -> None:
        super()._restore(sections)
        self._codes = np.frombuffer(sections["codes"], dtype=np.uint8).reshape(self.count, self.row_width).copy()

