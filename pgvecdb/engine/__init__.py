"""The shared vector engine: indexes, metrics, bitsets and exact search (no SQL here).

``create_index(IndexType.HNSW, Metric.L2, 128, {"m": 16})`` makes a ``VectorIndex``;
``build`` it on a segment's vectors, ``search`` it with a ``Bitset`` of excluded rows,
``serialize`` it beside the segment and ``load_index`` it back. ``exact_search`` answers
the same questions over a plain matrix (growing segments, very selective filters), and
``merge_results`` combines the answers of several segments into one top-k.
"""

from pgvecdb.engine.bitset import Bitset
from pgvecdb.engine.exact import exact_range_search, exact_search
from pgvecdb.engine.factory import create_index, load_index
from pgvecdb.engine.index import VectorIndex
from pgvecdb.engine.index_types import CAPABILITIES, MAX_BINARY_DIM, MAX_FLOAT_DIM, IndexType
from pgvecdb.engine.metrics import Metric
from pgvecdb.engine.params import IndexParams, SearchParams, check_dimensions, validate_build
from pgvecdb.engine.strategy import SearchPlan
from pgvecdb.engine.threads import get_num_threads, set_num_threads
from pgvecdb.engine.topk import merge_results

__all__ = [
    "Bitset", "CAPABILITIES", "IndexParams", "IndexType", "MAX_BINARY_DIM", "MAX_FLOAT_DIM", "Metric", "SearchParams",
    "SearchPlan", "VectorIndex", "check_dimensions", "create_index", "exact_range_search", "exact_search", "get_num_threads",
    "load_index", "merge_results", "set_num_threads", "validate_build",
]
