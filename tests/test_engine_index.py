"""The VectorIndex interface: bitsets, skipped rows, padding, range search, plans, bytes, threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from pgvecdb.engine import (Bitset, IndexType, Metric, SearchParams, create_index, exact_range_search,
                            exact_search, get_num_threads, load_index, merge_results, set_num_threads)
from pgvecdb.errors import DataCorrupted, DataException

DIM = 16
ALL_KINDS = [
    (IndexType.FLAT, Metric.L2, None), (IndexType.HNSW, Metric.L2, None), (IndexType.HNSW, Metric.COSINE, None),
    (IndexType.HNSW, Metric.L1, None), (IndexType.IVF_FLAT, Metric.IP, {"lists": 8}),
    (IndexType.IVF_SQ8, Metric.L2, {"lists": 8}), (IndexType.IVF_PQ, Metric.L2, {"lists": 8, "m": 4, "nbits": 6}),
    (IndexType.BIN_FLAT, Metric.JACCARD, None), (IndexType.HNSW, Metric.HAMMING, None),
    (IndexType.HNSW, Metric.JACCARD, None), (IndexType.BIN_IVF_FLAT, Metric.HAMMING, {"lists": 8}),
]


def vectors(metric: Metric, rows: int, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if metric.binary:
        return rng.integers(0, 256, (rows, DIM // 8), dtype=np.uint8)
    return rng.standard_normal((rows, DIM)).astype(np.float32)


def built(index_type, metric, options, rows: np.ndarray, skip: Bitset | None = None):
    index = create_index(index_type, metric, DIM, options)
    index.build(rows, skip)
    return index


@pytest.mark.parametrize("index_type, metric, options", ALL_KINDS)
def test_serialize_and_load_give_the_same_answers(index_type, metric, options):
    rows = vectors(metric, 1000)
    skip = Bitset.from_positions(1000, np.array([7, 8, 9]))
    index = built(index_type, metric, options, rows, skip)
    excluded = Bitset.from_mask(np.arange(1000) % 2 == 1)
    data = index.serialize()
    loaded = load_index(data)
    assert (loaded.index_type, loaded.metric, loaded.dim, loaded.params) == \
        (index.index_type, index.metric, index.dim, index.params)
    assert loaded.count == 1000 and loaded.memory_size() == index.memory_size() > 0
    for bitset in (None, excluded):
        expected = index.search(rows[:20], 10, bitset=bitset)
        found = loaded.search(rows[:20], 10, bitset=bitset)
        np.testing.assert_array_equal(found[1], expected[1])
        np.testing.assert_array_equal(found[0], expected[0])
        assert not np.isin(found[1], [7, 8, 9]).any()


def test_damaged_bytes_are_reported_not_loaded():
    index = built(IndexType.HNSW, Metric.L2, None, vectors(Metric.L2, 100))
    data = index.serialize()
    for damaged in (data[:3], b"XXXX" + data[4:], data[:-1], data + b"\0"):
        with pytest.raises(DataCorrupted):
            load_index(damaged)
    other = create_index(IndexType.HNSW, Metric.L2, DIM, {"m": 8})
    with pytest.raises(DataCorrupted, match="describes"):
        other.load(data)


def test_memory_sizes_follow_compression():
    rows = vectors(Metric.L2, 4000)
    sizes = {t: built(t, Metric.L2, o, rows).memory_size() for t, o in [
        (IndexType.FLAT, None), (IndexType.IVF_SQ8, {"lists": 8}), (IndexType.IVF_PQ, {"lists": 8, "m": 4})]}
    assert sizes[IndexType.FLAT] == rows.nbytes
    assert sizes[IndexType.IVF_PQ] < sizes[IndexType.IVF_SQ8] < sizes[IndexType.FLAT]


@pytest.mark.parametrize("index_type, metric, options", ALL_KINDS)
def test_skipped_rows_are_never_returned(index_type, metric, options):
    rows = vectors(metric, 300)
    skip = Bitset.from_mask(np.arange(300) < 150)
    index = built(index_type, metric, options, rows, skip)
    distances, ids = index.search(rows[:5], 200)
    assert ((ids >= 150) | (ids == -1)).all()
    assert ((ids >= 0).sum(axis=1) == 150).all()


@pytest.mark.parametrize("index_type, metric, options", ALL_KINDS)
def test_padding_when_fewer_rows_than_k(index_type, metric, options):
    rows = vectors(metric, 30)
    index = built(index_type, metric, options, rows)
    distances, ids = index.search(rows[:2], 50)
    assert ids.shape == (2, 50) and ((ids[:, :30] >= 0).all()) and (ids[:, 30:] == -1).all()
    assert np.isinf(distances[:, 30:]).all()
    assert sorted(ids[0, :30].tolist()) == list(range(30))
    everything = Bitset.from_mask(np.ones(30, dtype=bool))
    distances, ids = index.search(rows[:2], 5, bitset=everything)
    assert (ids == -1).all() and np.isinf(distances).all()
    assert index.search(rows[:2], 0)[1].shape == (2, 0)


@pytest.mark.parametrize("index_type, metric, options", ALL_KINDS)
def test_an_empty_index_finds_nothing(index_type, metric, options):
    index = built(index_type, metric, options, vectors(metric, 0))
    distances, ids = index.search(vectors(metric, 3), 4)
    assert (ids == -1).all() and ids.shape == (3, 4)
    assert load_index(index.serialize()).search(vectors(metric, 1), 1)[1].tolist() == [[-1]]


def test_misfitting_inputs_are_refused():
    index = built(IndexType.HNSW, Metric.L2, None, vectors(Metric.L2, 50))
    with pytest.raises(ValueError, match="bitset of 49 bits"):
        index.search(vectors(Metric.L2, 1), 3, bitset=Bitset(49))
    with pytest.raises(DataException, match="different vector dimensions 16 and 3"):
        index.search(np.ones((1, 3), dtype=np.float32), 3)
    with pytest.raises(ValueError, match="16 columns"):
        create_index(IndexType.FLAT, Metric.L2, DIM).build(np.ones((4, 3), dtype=np.float32))


def test_ivf_with_fewer_rows_than_lists_works_and_says_so():
    rows = vectors(Metric.L2, 20)
    for index_type in (IndexType.IVF_FLAT, IndexType.IVF_SQ8, IndexType.IVF_PQ):
        options = {"lists": 100, "m": 4} if index_type is IndexType.IVF_PQ else {"lists": 100}
        index = built(index_type, Metric.L2, options, rows)
        assert index.little_data
        assert sorted(index.search(rows[:1], 20)[1][0].tolist()) == list(range(20))
    assert not built(IndexType.IVF_FLAT, Metric.L2, {"lists": 4}, rows).little_data


def test_ivf_pq_keeps_vectors_until_it_has_rows_for_its_codebooks():
    rows = vectors(Metric.L2, 100)
    unquantized = built(IndexType.IVF_PQ, Metric.L2, {"lists": 4, "m": 4, "nbits": 8}, rows)  # 256 codes
    assert unquantized.little_data and unquantized.memory_size() > rows.nbytes
    assert (unquantized.search(rows[:10], 1)[1][:, 0] == np.arange(10)).all()
    quantized = built(IndexType.IVF_PQ, Metric.L2, {"lists": 4, "m": 4, "nbits": 4}, rows)  # 16 codes
    assert not quantized.little_data and quantized.memory_size() < rows.nbytes


@pytest.mark.parametrize("metric", [Metric.L2, Metric.IP, Metric.COSINE, Metric.L1, Metric.HAMMING, Metric.JACCARD])
def test_exact_range_search_is_strict_and_complete(metric):
    rows = vectors(metric, 500)
    queries = rows[:3]
    excluded = Bitset.from_mask(np.arange(500) % 5 == 0)
    all_distances, _ = exact_search(rows, queries, 500, metric)
    radius = float(all_distances[0, 40])  # a distance some row has exactly
    for (distances, ids), row_distances in zip(exact_range_search(rows, queries, radius, metric, excluded),
                                               exact_search(rows, queries, 500, metric, excluded)[0]):
        assert (distances < radius).all() and (ids % 5 != 0).all()
        assert len(ids) == int(np.sum(row_distances < radius))
        assert (np.diff(distances) >= 0).all()


@pytest.mark.parametrize("index_type, metric, options", ALL_KINDS)
def test_range_search_finds_the_rows_inside_the_radius(index_type, metric, options):
    rows = vectors(metric, 3000)
    index = built(index_type, metric, options, rows)
    excluded = Bitset.from_mask(np.arange(3000) % 4 == 0)
    queries = rows[:5]
    radius = float(exact_search(rows, queries, 150, metric, excluded)[0][:, -1].mean())
    truth = exact_range_search(rows, queries, radius, metric, excluded)
    found = index.range_search(queries, radius, SearchParams(ef_search=200, nprobe=8), excluded)
    if index_type is not IndexType.IVF_PQ:  # PQ's approximate distances put other rows inside
        hits = sum(len(np.intersect1d(f[1], t[1])) for f, t in zip(found, truth))
        assert hits >= 0.9 * sum(len(t[1]) for t in truth)
    for distances, ids in found:
        assert (distances < radius).all() and (ids % 4 != 0).all()


def test_plans_choose_exhaustive_search_for_selective_filters():
    rows = vectors(Metric.L2, 5000)
    index = built(IndexType.HNSW, Metric.L2, None, rows)
    one_percent = Bitset.from_mask(np.arange(5000) % 100 != 0)
    plan = index.plan(10, bitset=one_percent)
    assert plan.exhaustive and plan.matching == 50 and plan.selectivity == pytest.approx(0.01)
    assert "exhaustive search over 50 of 5000 rows (1.0%)" == plan.describe()
    unfiltered = index.plan(10, SearchParams(ef_search=60))
    assert not unfiltered.exhaustive and unfiltered.budget == 60
    half = index.plan(10, bitset=Bitset.from_mask(np.arange(5000) % 2 == 0))
    assert not half.exhaustive and half.budget >= 40
    forced = index.plan(10, SearchParams(exact_selectivity=0.6), Bitset.from_mask(np.arange(5000) % 2 == 0))
    assert forced.exhaustive
    assert not index.plan(10, SearchParams(exact_selectivity=0.0), one_percent).exhaustive
    assert index.plan(10, SearchParams(exact_selectivity=0.0), one_percent).budget >= 1000


def test_a_filtered_index_search_widens_its_budget():
    """A 10% filter: 0.375 x ef_search / selectivity, at least 0.5 x k / selectivity (ef 50
    for ef_search 10); nprobe / selectivity for IVF."""
    rows = vectors(Metric.L2, 5000)
    ten_percent = Bitset.from_mask(np.arange(5000) % 10 != 0)
    index = built(IndexType.HNSW, Metric.L2, None, rows)
    budgets = [index.plan(10, SearchParams(ef_search=ef, exact_selectivity=0.0), ten_percent).budget
               for ef in (10, 20, 40, 80)]
    assert budgets == [50, 75, 150, 300]
    ivf = built(IndexType.IVF_FLAT, Metric.L2, {"lists": 50}, rows)
    assert [ivf.plan(10, SearchParams(nprobe=n), ten_percent).budget for n in (1, 3)] == [10, 30]
    assert ivf.plan(10, SearchParams(nprobe=10), ten_percent).exhaustive  # all 50 lists: a full scan


def test_thread_count_knob():
    previous = get_num_threads()
    with pytest.raises(ValueError):
        set_num_threads(0)
    try:
        set_num_threads(1)
        rows = vectors(Metric.L2, 2000)
        index = built(IndexType.HNSW, Metric.L2, None, rows)
        assert get_num_threads() == 1
        assert (index.search(rows[:10], 1)[1][:, 0] == np.arange(10)).all()
    finally:
        set_num_threads(previous)


def test_concurrent_searches_agree_with_sequential_ones():
    rows = vectors(Metric.L2, 5000)
    index = built(IndexType.HNSW, Metric.L2, None, rows)
    excluded = Bitset.from_mask(np.arange(5000) % 7 == 0)
    expected = [index.search(rows[i:i + 1], 10, bitset=excluded)[1] for i in range(50)]
    results: dict[int, np.ndarray] = {}

    def worker(start: int) -> None:
        for i in range(start, 50, 4):
            results[i] = index.search(rows[i:i + 1], 10, bitset=excluded)[1]

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.array_equal(results[i], expected[i]) for i in range(50))


@pytest.mark.parametrize("index_type, metric, dim", [
    (IndexType.HNSW, Metric.L2, 16000), (IndexType.FLAT, Metric.COSINE, 16000),
    (IndexType.HNSW, Metric.HAMMING, 64000), (IndexType.BIN_IVF_FLAT, Metric.HAMMING, 64000),
])
def test_the_widest_vectors_can_be_indexed(index_type, metric, dim):
    rng = np.random.default_rng(1)
    rows = (rng.integers(0, 256, (40, dim // 8), dtype=np.uint8) if metric.binary
            else rng.standard_normal((40, dim)).astype(np.float32))
    index = create_index(index_type, metric, dim, {"lists": 2} if "IVF" in index_type.value else None)
    index.build(rows)
    assert index.search(rows[:3], 1)[1][:, 0].tolist() == [0, 1, 2]


def test_damaged_sections_are_reported():
    index = built(IndexType.HNSW, Metric.L2, None, vectors(Metric.L2, 100))
    data = bytearray(index.serialize())
    data[-200:] = bytes(200)  # zero the end of the faiss section
    with pytest.raises(DataCorrupted):
        load_index(bytes(data))


def test_queries_may_be_lists_or_single_vectors():
    rows = vectors(Metric.L2, 100)
    index = built(IndexType.FLAT, Metric.L2, None, rows)
    assert index.search(rows[3].tolist(), 1)[1].tolist() == [[3]]


def test_results_of_segments_merge_into_one_top_k():
    """Two segments' answers (ids made global by the caller), NaN distances after numbers."""
    first = (np.array([[0.5, np.nan, np.inf]]), np.array([[10, 11, -1]]))
    second = (np.array([[0.2, 0.5, 0.9]]), np.array([[20, 9, 21]]))
    distances, ids = merge_results([first, second], 5)
    assert ids.tolist() == [[20, 9, 10, 21, 11]]
    assert np.isnan(distances[0, 4]) and distances[0, :4].tolist() == [0.2, 0.5, 0.5, 0.9]
    distances, ids = merge_results([first], 4)
    assert ids.tolist() == [[10, 11, -1, -1]] and np.isinf(distances[0, 2:]).all()


def test_an_index_loads_from_a_memory_mapped_file(tmp_path):
    rows = vectors(Metric.L2, 500)
    index = built(IndexType.HNSW, Metric.COSINE, None, rows)
    path = tmp_path / "segment.idx"
    path.write_bytes(index.serialize())
    loaded = load_index(np.memmap(path, dtype=np.uint8, mode="r"))
    np.testing.assert_array_equal(loaded.search(rows[:5], 5)[1], index.search(rows[:5], 5)[1])
