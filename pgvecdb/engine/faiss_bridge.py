"""What the engine needs from faiss, in one place: metrics, selectors, views, bytes.

faiss reports raw scores — squared L2, inner products, Jaccard similarity — and reads a set
bit of ``IDSelectorBitmap`` as *selected*; the engine speaks pgvector distances and bitsets
of *excluded* rows. The conversions between the two live here.
"""

from __future__ import annotations

import faiss
import numpy as np

from pgvecdb.engine.bitset import Bitset
from pgvecdb.engine.metrics import Metric
from pgvecdb.engine.topk import ordered

_FAISS_METRICS = {
    Metric.L2: faiss.METRIC_L2,
    Metric.IP: faiss.METRIC_INNER_PRODUCT,
    Metric.COSINE: faiss.METRIC_INNER_PRODUCT,  # over unit vectors
    Metric.L1: faiss.METRIC_L1,
    Metric.JACCARD: faiss.METRIC_Jaccard,  # over 0/1 floats: the similarity |a & b| / |a | b|
}


def faiss_metric(metric: Metric) -> int:
    return _FAISS_METRICS[metric]


def results(metric: Metric, scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Search results from faiss scores: pgvector distances (float64, +inf where there is
    no result) and ids, nearest first and ties by id (faiss leaves ties in heap order)."""
    distances = _distances(metric, scores)
    if ids.size and ids.min() < 0:
        distances[ids < 0] = np.inf
    return ordered(distances, ids)


def _distances(metric: Metric, scores: np.ndarray) -> np.ndarray:
    """pgvector's distances, as float64, from faiss's float32 scores."""
    if metric is Metric.L2:
        return np.sqrt(np.maximum(scores, 0.0, dtype=np.float64))
    if metric is Metric.IP:
        return np.negative(scores, dtype=np.float64)
    if metric is Metric.COSINE:
        return np.subtract(1.0, np.clip(scores, -1.0, 1.0), dtype=np.float64)
    if metric is Metric.JACCARD:
        return 1.0 - np.nan_to_num(scores.astype(np.float64), nan=0.0)  # two empty bit strings: distance 1
    return scores.astype(np.float64)


# Selectors kept for the bitsets searched last: a cached filter bitset (exec/ann_filter)
# is the same object query after query, and its selector costs an inversion to make.
KEPT_SELECTORS = 16
# Search parameters a selector keeps (faiss makes them slowly and only reads them).
KEPT_PARAMS = 64


class Selector:
    """An ``IDSelectorBitmap`` of the rows a bitset does not exclude (None: every row),
    with the faiss search parameters made for it."""

    __slots__ = ("faiss", "_included", "_params")

    def __init__(self, excluded: Bitset | None) -> None:
        self._params: dict[tuple, object] = {}
        if excluded is None:
            self.faiss = None
            self._included = None
            return
        self._included = excluded.invert().packed  # the selector reads this buffer: keep it alive
        self.faiss = faiss.IDSelectorBitmap(excluded.size, faiss.swig_ptr(self._included))

    def search_params(self, kind: type, **values: int) -> object:
        """``kind(**values)`` (``faiss.SearchParametersHNSW(efSearch=...)``, say) with this
        selector, made once per kind and values."""
        key = (kind, *values.items())
        found = self._params.get(key)
        if found is None:
            if len(self._params) >= KEPT_PARAMS:
                self._params.clear()
            found = self._params[key] = kind(**values) if self.faiss is None else kind(**values, sel=self.faiss)
        return found


_EVERY_ROW = Selector(None)
_selectors: dict[int, tuple[Bitset, Selector]] = {}


def selector(excluded: Bitset | None) -> Selector:
    """The selector of ``excluded``, made once per bitset object (bitsets do not change;
    the entry holds the bitset, so its id is not reused while it is kept)."""
    if excluded is None:
        return _EVERY_ROW
    found = _selectors.get(id(excluded))
    if found is None:
        if len(_selectors) >= KEPT_SELECTORS:
            _selectors.clear()
        found = _selectors[id(excluded)] = (excluded, Selector(excluded))
    return found[1]


def flat_vectors(storage: faiss.Index) -> np.ndarray:
    """A zero-copy view of the vectors held by a faiss ``IndexFlat``."""
    storage = faiss.downcast_index(storage)
    if storage.ntotal == 0:
        return np.empty((0, storage.d), dtype=np.float32)
    return faiss.rev_swig_ptr(storage.get_xb(), storage.ntotal * storage.d).reshape(storage.ntotal, storage.d)


def binary_flat_codes(storage: faiss.IndexBinary) -> np.ndarray:
    """A zero-copy view of the codes held by a faiss ``IndexBinaryFlat``."""
    storage = faiss.downcast_IndexBinary(storage)
    if storage.ntotal == 0:
        return np.empty((0, storage.code_size), dtype=np.uint8)
    size = storage.ntotal * storage.code_size
    return faiss.rev_swig_ptr(storage.xb.data(), size).reshape(storage.ntotal, storage.code_size)


def stored_bytes(storage: faiss.Index | faiss.IndexBinary) -> int:
    """Bytes of the codes held by a flat faiss index (float or binary)."""
    if isinstance(storage, faiss.IndexBinary):
        return storage.ntotal * storage.code_size
    return storage.ntotal * faiss.downcast_index(storage).code_size


def serialize(index: faiss.Index | faiss.IndexBinary) -> bytes:
    if isinstance(index, faiss.IndexBinary):
        return faiss.serialize_index_binary(index).tobytes()
    return faiss.serialize_index(index).tobytes()


def deserialize(data: bytes | memoryview, binary: bool) -> faiss.Index | faiss.IndexBinary:
    buffer = np.frombuffer(data, dtype=np.uint8)
    return faiss.deserialize_index_binary(buffer) if binary else faiss.deserialize_index(buffer)
