"""The one way to make an index: ``create_index`` validates, then picks the implementation.

To add an index type: a member of ``IndexType`` with its ``CAPABILITIES`` row
(``engine.index_types``), a ``VectorIndex`` subclass, and its entry in ``_IMPLEMENTATIONS``.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from pgvecdb.engine import serialization
from pgvecdb.engine.flat import BinaryFlatIndex, FlatIndex
from pgvecdb.engine.hnsw import HnswIndex
from pgvecdb.engine.index import VectorIndex
from pgvecdb.engine.index_types import IndexType
from pgvecdb.engine.ivf import BinaryIvfIndex, IvfIndex, IvfPqIndex, IvfSq8Index
from pgvecdb.engine.metrics import Metric
from pgvecdb.engine.params import IndexParams, validate_build
from pgvecdb.errors import DataCorrupted

_IMPLEMENTATIONS: dict[IndexType, type[VectorIndex]] = {
    IndexType.FLAT: FlatIndex,
    IndexType.IVF_FLAT: IvfIndex,
    IndexType.IVF_SQ8: IvfSq8Index,
    IndexType.IVF_PQ: IvfPqIndex,
    IndexType.HNSW: HnswIndex,
    IndexType.BIN_FLAT: BinaryFlatIndex,
    IndexType.BIN_IVF_FLAT: BinaryIvfIndex,
}


def create_index(index_type: IndexType, metric: Metric, dim: int,
                 params: Mapping[str, object] | IndexParams | None = None) -> VectorIndex:
    """An empty index of ``index_type`` for ``dim``-dimensional vectors (bits for the bit
    metrics); raises ``InvalidParameterValue`` for options or dimensions it cannot take."""
    return _IMPLEMENTATIONS[index_type](metric, dim, validate_build(index_type, metric, dim, params))


def load_index(data: bytes | memoryview | np.ndarray) -> VectorIndex:
    """The index that ``VectorIndex.serialize`` turned into ``data`` — any buffer, such as
    ``np.memmap`` of an index file, which faiss then reads without another copy."""
    header, _ = serialization.unpack(data)
    try:
        index_type, metric = IndexType(header["index_type"]), Metric(header["metric"])
        dim, params = int(header["dim"]), header["params"]
    except (KeyError, ValueError, TypeError) as exc:
        raise DataCorrupted(f"vector index header does not name an index: {exc}") from None
    index = create_index(index_type, metric, dim, params)
    index.load(data)
    return index
