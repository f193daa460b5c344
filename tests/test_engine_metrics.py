"""Every metric, through exact search and every index type, against a plain numpy reference
and against pgvector's own regression examples (hnsw_vector, hnsw_bit)."""

from __future__ import annotations

import numpy as np
import pytest

from pgvecdb.engine import CAPABILITIES, Bitset, IndexType, Metric, create_index, exact_search

FLOAT_METRICS = [Metric.L2, Metric.IP, Metric.COSINE, Metric.L1]
BIT_METRICS = [Metric.HAMMING, Metric.JACCARD]
INDEXES_BY_METRIC = {
    Metric.L2: [IndexType.FLAT, IndexType.HNSW, IndexType.IVF_FLAT],
    Metric.IP: [IndexType.FLAT, IndexType.HNSW, IndexType.IVF_FLAT],
    Metric.COSINE: [IndexType.FLAT, IndexType.HNSW, IndexType.IVF_FLAT],
    Metric.L1: [IndexType.FLAT, IndexType.HNSW],
    Metric.HAMMING: [IndexType.BIN_FLAT, IndexType.HNSW, IndexType.BIN_IVF_FLAT],
    Metric.JACCARD: [IndexType.BIN_FLAT, IndexType.HNSW],
}


def reference(metric: Metric, a: np.ndarray, b: np.ndarray) -> float:
    """One distance as pgvector defines it, for packed bits or float vectors."""
    if metric.binary:
        x, y = np.unpackbits(a).astype(bool), np.unpackbits(b).astype(bool)
        if metric is Metric.HAMMING:
            return float(np.sum(x != y))
        both, either = np.sum(x & y), np.sum(x | y)
        return 1.0 if both == 0 else 1.0 - both / either
    x, y = a.astype(np.float64), b.astype(np.float64)
    if metric is Metric.L2:
        return float(np.sqrt(np.sum((x - y) ** 2)))
    if metric is Metric.IP:
        return float(-np.dot(x, y))
    if metric is Metric.L1:
        return float(np.sum(np.abs(x - y)))
    norms = np.linalg.norm(x) * np.linalg.norm(y)
    return float("nan") if norms == 0 else float(1.0 - np.clip(np.dot(x, y) / norms, -1, 1))


def reference_matrix(metric: Metric, queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return np.array([[reference(metric, q, r) for r in rows] for q in queries])


def sample(metric: Metric, rows: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if metric.binary:
        return rng.integers(0, 256, (rows, 5), dtype=np.uint8), rng.integers(0, 256, (4, 5), dtype=np.uint8)
    return rng.standard_normal((rows, 12)).astype(np.float32), rng.standard_normal((4, 12)).astype(np.float32)


def bits(*strings: str) -> np.ndarray:
    """Bit strings packed as PostgreSQL stores bit(n): first bit in the high bit of byte 0."""
    return np.packbits(np.array([[c == "1" for c in s] for s in strings]), axis=1)


@pytest.mark.parametrize("metric", FLOAT_METRICS + BIT_METRICS)
def test_exact_search_ranks_every_row_by_the_reference_distance(metric):
    rows, queries = sample(metric, 300)
    distances, ids = exact_search(rows, queries, len(rows), metric)
    expected = reference_matrix(metric, queries, rows)
    order = np.lexsort((np.broadcast_to(np.arange(len(rows)), expected.shape), expected), axis=1)
    np.testing.assert_allclose(distances, np.take_along_axis(expected, order, axis=1), rtol=1e-5, atol=1e-5)
    assert (np.take_along_axis(expected, ids, axis=1) == np.take_along_axis(expected, order, axis=1)).all()


@pytest.mark.parametrize("metric", FLOAT_METRICS + BIT_METRICS)
def test_exact_search_skips_excluded_rows(metric):
    rows, queries = sample(metric, 200)
    excluded = Bitset.from_mask(np.arange(200) % 3 != 0)
    distances, ids = exact_search(rows, queries, 80, metric, excluded)
    assert (ids[:, :67] % 3 == 0).all() and (ids[:, 67:] == -1).all()
    assert np.isinf(distances[:, 67:]).all()
    kept = np.arange(0, 200, 3)
    expected = np.sort(reference_matrix(metric, queries, rows[kept]), axis=1)
    np.testing.assert_allclose(distances[:, :67], expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("metric", FLOAT_METRICS + BIT_METRICS)
def test_every_index_returns_reference_distances_for_its_rows(metric):
    rows, queries = sample(metric, 400)
    for index_type in INDEXES_BY_METRIC[metric]:
        assert CAPABILITIES[index_type].exact_distances
        options = {"lists": 4} if "IVF" in index_type.value else None
        index = create_index(index_type, metric, 40 if metric.binary else 12, options)
        index.build(rows)
        distances, ids = index.search(queries, 10)
        assert (ids >= 0).all(), index_type
        expected = np.array([[reference(metric, q, rows[i]) for i in row] for q, row in zip(queries, ids)])
        np.testing.assert_allclose(distances, expected, rtol=1e-5, atol=1e-5, err_msg=str(index_type))
        assert (np.diff(distances, axis=1) >= 0).all()


@pytest.mark.parametrize("index_type", [IndexType.IVF_SQ8, IndexType.IVF_PQ])
def test_quantized_indexes_report_close_distances(index_type):
    assert not CAPABILITIES[index_type].exact_distances
    rows, queries = sample(Metric.L2, 400)
    options = {"lists": 4, "m": 6} if index_type is IndexType.IVF_PQ else {"lists": 4}
    index = create_index(index_type, Metric.L2, 12, options)
    index.build(rows)
    distances, ids = index.search(queries, 5)
    expected = np.array([[reference(Metric.L2, q, rows[i]) for i in row] for q, row in zip(queries, ids)])
    np.testing.assert_allclose(distances, expected, rtol=0.25)


PGVECTOR_ROWS = np.array([[0, 0, 0], [1, 2, 3], [1, 1, 1], [1, 2, 4]], dtype=np.float32)
PGVECTOR_QUERY = np.array([[3, 3, 3]], dtype=np.float32)


@pytest.mark.parametrize("metric, order, first_distance", [
    (Metric.L2, [1, 3, 2, 0], np.sqrt(5.0)),
    (Metric.IP, [3, 1, 2, 0], -21.0),
    (Metric.COSINE, [2, 1, 3], 0.0),
    (Metric.L1, [1, 3, 2, 0], 3.0),
])
def test_pgvector_regression_orders(metric, order, first_distance):
    """hnsw_vector.out: ``ORDER BY val <-> '[3,3,3]'`` and friends; a cosine index leaves the
    zero vector out, as pgvector's does."""
    for index_type in INDEXES_BY_METRIC[metric]:
        index = create_index(index_type, metric, 3, {"lists": 1} if "IVF" in index_type.value else None)
        index.build(PGVECTOR_ROWS)
        distances, ids = index.search(PGVECTOR_QUERY, 4)
        expected_ids = order if index_type is not IndexType.FLAT or metric is not Metric.COSINE else order + [0]
        assert ids[0][:len(expected_ids)].tolist() == expected_ids, index_type
        assert distances[0][0] == pytest.approx(first_distance, abs=1e-6)


@pytest.mark.parametrize("metric, strings, query, order, distances", [
    (Metric.HAMMING, ["000", "100", "111", "110"], "111", [2, 3, 1, 0], [0, 1, 2, 3]),
    (Metric.JACCARD, ["0000", "1100", "1111", "1110"], "1111", [2, 3, 1, 0], [0, 0.25, 0.5, 1]),
])
def test_pgvector_bit_regression_orders(metric, strings, query, order, distances):
    """hnsw_bit.out and ivfflat_bit.out: ``ORDER BY val <~> B'111'`` / ``<%> B'1111'``."""
    for index_type in INDEXES_BY_METRIC[metric]:
        index = create_index(index_type, metric, len(query), {"lists": 1} if "IVF" in index_type.value else None)
        index.build(bits(*strings))
        found, ids = index.search(bits(query), 4)
        assert ids[0].tolist() == order, index_type
        np.testing.assert_allclose(found[0], distances)


def test_cosine_of_a_zero_vector_is_nan_and_ranks_last():
    rows = np.array([[0, 0], [1, 0], [0, 1]], dtype=np.float32)
    distances, ids = exact_search(rows, np.array([[1, 1]], dtype=np.float32), 3, Metric.COSINE)
    assert ids[0].tolist() == [1, 2, 0] and np.isnan(distances[0][2])
    for index_type in [IndexType.FLAT, IndexType.HNSW, IndexType.IVF_FLAT]:
        index = create_index(index_type, Metric.COSINE, 2, {"lists": 1} if index_type is IndexType.IVF_FLAT else None)
        index.build(rows)
        distances, ids = index.search(np.array([[0, 0]], dtype=np.float32), 3)
        assert np.isnan(distances[ids >= 0]).all(), index_type


def test_jaccard_of_two_empty_bit_strings_is_one():
    rows = bits("0000", "0011")
    for index_type in [IndexType.BIN_FLAT, IndexType.HNSW]:
        index = create_index(index_type, Metric.JACCARD, 4)
        index.build(rows)
        distances, ids = index.search(bits("0000"), 2)
        assert distances[0].tolist() == [1.0, 1.0] and sorted(ids[0].tolist()) == [0, 1]



@pytest.mark.parametrize("metric", FLOAT_METRICS)
def test_halfvec_rows_are_searched_as_their_float_values(metric):
    rows, queries = sample(metric, 300)
    half = rows.astype(np.float16)
    expected = exact_search(half.astype(np.float32), queries, 10, metric)
    np.testing.assert_array_equal(exact_search(half, queries, 10, metric)[1], expected[1])
    index = create_index(IndexType.HNSW, metric, 12)
    index.build(half)
    assert (index.search(queries, 10)[1] == expected[1]).mean() >= 0.9
