"""Recall of the approximate indexes on a seeded clustered data set, with and without filters.

Ground truth is a float64 numpy brute force, independent of the engine's own exact search.
Recall@10 of a query is |returned ∩ true top 10| / min(10, rows passing the filter).
"""

from __future__ import annotations

import numpy as np
import pytest

from pgvecdb.engine import Bitset, IndexType, Metric, SearchParams, create_index, exact_search

ROWS, DIM, QUERIES, K = 20_000, 64, 100, 10
SELECTIVITIES = [0.5, 0.1, 0.01, 0.001]


def clustered(rows: int, dim: int, queries: int, seed: int = 7, clusters: int = 200):
    """Rows and queries from one Gaussian mixture (queries are never rows)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-1, 1, (clusters, dim))
    spread = rng.uniform(0.1, 0.3, clusters)

    def draw(count: int) -> np.ndarray:
        cluster = rng.integers(0, clusters, count)
        return (centres[cluster] + rng.standard_normal((count, dim)) * spread[cluster, None]).astype(np.float32)

    return draw(rows), draw(queries)


def true_top(rows: np.ndarray, queries: np.ndarray, metric: Metric, keep: np.ndarray | None) -> np.ndarray:
    x, q = rows.astype(np.float64), queries.astype(np.float64)
    if metric is Metric.L2:
        distances = (q * q).sum(axis=1)[:, None] + (x * x).sum(axis=1)[None, :] - 2 * q @ x.T
    else:
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
        distances = -(q @ x.T)
    if keep is not None:
        distances[:, ~keep] = np.inf
    top = np.argsort(distances, axis=1, kind="stable")[:, :K]
    return np.where(np.isinf(np.take_along_axis(distances, top, axis=1)), -1, top)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    per_query = [len(set(f[f >= 0]) & set(t[t >= 0])) / max(1, int((t >= 0).sum())) for f, t in zip(found, truth)]
    return float(np.mean(per_query))


@pytest.fixture(scope="module")
def data():
    rows, queries = clustered(ROWS, DIM, QUERIES)
    passes = np.random.default_rng(11).random(ROWS)
    return rows, queries, passes


@pytest.fixture(scope="module")
def indexes(data):
    rows = data[0]
    built = {}
    for index_type, metric in [(IndexType.HNSW, Metric.L2), (IndexType.HNSW, Metric.COSINE),
                               (IndexType.IVF_FLAT, Metric.L2), (IndexType.IVF_FLAT, Metric.COSINE)]:
        index = create_index(index_type, metric, DIM)
        index.build(rows)
        built[index_type, metric] = index
    return built


def one_at_a_time(index, queries, bitset=None, params=None):
    """Search like a SQL statement does: one query per call."""
    results = [index.search(query[None, :], K, params, bitset) for query in queries]
    return np.vstack([ids for _, ids in results])


@pytest.mark.parametrize("index_type", [IndexType.HNSW, IndexType.IVF_FLAT])
@pytest.mark.parametrize("metric", [Metric.L2, Metric.COSINE])
def test_recall_at_default_parameters(data, indexes, index_type, metric):
    rows, queries, _ = data
    found = one_at_a_time(indexes[index_type, metric], queries)
    assert (found >= 0).all()
    assert recall(found, true_top(rows, queries, metric, None)) >= 0.95


@pytest.mark.parametrize("selectivity", SELECTIVITIES)
@pytest.mark.parametrize("index_type", [IndexType.HNSW, IndexType.IVF_FLAT])
def test_filtered_search_fills_its_limit_with_recall(data, indexes, index_type, selectivity):
    rows, queries, passes = data
    keep = passes < selectivity
    found = one_at_a_time(indexes[index_type, Metric.L2], queries, Bitset.from_mask(~keep))
    assert ((found >= 0).sum(axis=1) == min(K, int(keep.sum()))).all()
    assert keep[found[found >= 0]].all()
    assert recall(found, true_top(rows, queries, Metric.L2, keep)) >= 0.95


@pytest.mark.parametrize("index_type", [IndexType.HNSW, IndexType.IVF_FLAT])
def test_a_filter_keeping_fewer_rows_than_k_returns_all_of_them(data, indexes, index_type):
    queries = data[1]
    kept = np.array([3, 5_000, 19_999])
    excluded = Bitset.from_mask(~np.isin(np.arange(ROWS), kept))
    distances, ids = indexes[index_type, Metric.L2].search(queries[:5], K, bitset=excluded)
    assert (np.sort(ids[:, :3], axis=1) == kept).all()
    assert (ids[:, 3:] == -1).all() and np.isinf(distances[:, 3:]).all()


def test_settings_do_not_shrink_a_filtered_result(data, indexes):
    """pgvector answers 0.4 of 10 rows at 1% with ef_search 40; the engine fills the limit."""
    queries, passes = data[1], data[2]
    excluded = Bitset.from_mask(~(passes < 0.01))
    for params in [SearchParams(ef_search=1), SearchParams(ef_search=1, exact_selectivity=0.0)]:
        found = one_at_a_time(indexes[IndexType.HNSW, Metric.L2], queries[:20], excluded, params)
        assert ((found >= 0).sum(axis=1) == K).all()


@pytest.mark.parametrize("index_type, options, floor", [
    (IndexType.IVF_SQ8, {"lists": 100}, 0.9),
    (IndexType.IVF_PQ, {"lists": 100, "m": 32, "nbits": 4}, 0.4),
])
def test_quantized_indexes_find_most_neighbours(data, index_type, options, floor):
    rows, queries, passes = data
    index = create_index(index_type, Metric.L2, DIM, options)
    index.build(rows)
    assert recall(one_at_a_time(index, queries), true_top(rows, queries, Metric.L2, None)) >= floor
    keep = passes < 0.1
    found = one_at_a_time(index, queries, Bitset.from_mask(~keep))
    assert ((found >= 0).sum(axis=1) == K).all() and keep[found[found >= 0]].all()


@pytest.fixture(scope="module")
def bit_data(data):
    """Sign bits of the clustered rows under a random rotation: 256-bit codes."""
    rows, queries, passes = data
    rotation = np.random.default_rng(3).standard_normal((DIM, 256)).astype(np.float32)
    return np.packbits(rows @ rotation > 0, axis=1), np.packbits(queries @ rotation > 0, axis=1), passes


def distance_recall(found_distances: np.ndarray, truth_distances: np.ndarray) -> float:
    """Share of results no farther than the true k-th neighbour (bit distances tie a lot)."""
    limit = truth_distances[:, -1:]
    return float(np.mean(found_distances <= limit + 1e-6))


BIT_INDEXES = [(IndexType.HNSW, Metric.HAMMING), (IndexType.BIN_IVF_FLAT, Metric.HAMMING),
               (IndexType.HNSW, Metric.JACCARD)]


@pytest.fixture(scope="module")
def bit_indexes(bit_data):
    built = {}
    for index_type, metric in BIT_INDEXES:
        built[index_type, metric] = index = create_index(index_type, metric, 256)
        index.build(bit_data[0])
    return built


@pytest.mark.parametrize("index_type, metric", BIT_INDEXES)
@pytest.mark.parametrize("selectivity", [None, 0.1, 0.01])
def test_bit_vector_recall(bit_data, bit_indexes, index_type, metric, selectivity):
    rows, queries, passes = bit_data
    excluded = None if selectivity is None else Bitset.from_mask(~(passes < selectivity))
    truth, _ = exact_search(rows, queries, K, metric, excluded)
    results = [bit_indexes[index_type, metric].search(query[None, :], K, bitset=excluded) for query in queries]
    found = np.vstack([distances for distances, _ in results])
    ids = np.vstack([ids for _, ids in results])
    assert (ids >= 0).all()
    if excluded is not None:
        assert not excluded.test_many(ids.ravel()).any()
    assert distance_recall(found, truth) >= 0.95
