"""Build and search parameters are checked before any work, with PostgreSQL's messages."""

from __future__ import annotations

import pytest

from pgvecdb.engine import (MAX_BINARY_DIM, MAX_FLOAT_DIM, IndexParams, IndexType, Metric, SearchParams,
                            check_dimensions, create_index, validate_build)
from pgvecdb.errors import InvalidParameterValue


def rejected(index_type, metric, dim, options) -> InvalidParameterValue:
    with pytest.raises(InvalidParameterValue) as info:
        create_index(index_type, metric, dim, options)
    assert info.value.sqlstate == "22023"
    return info.value


def test_defaults_are_pgvectors():
    assert validate_build(IndexType.HNSW, Metric.L2, 3) == IndexParams(m=16, ef_construction=64)
    assert validate_build(IndexType.IVF_FLAT, Metric.L2, 3) == IndexParams(lists=100)
    assert validate_build(IndexType.IVF_PQ, Metric.L2, 128) == IndexParams(lists=100, m=32, nbits=8)
    assert validate_build(IndexType.IVF_PQ, Metric.L2, 7) == IndexParams(lists=100, m=1, nbits=8)
    assert validate_build(IndexType.FLAT, Metric.L1, 3) == IndexParams()
    assert SearchParams() == SearchParams(ef_search=40, nprobe=1)


def test_options_as_sql_writes_them():
    params = validate_build(IndexType.HNSW, Metric.COSINE, 3, {"M": "8", "ef_construction": 32})
    assert params == IndexParams(m=8, ef_construction=32)
    assert validate_build(IndexType.HNSW, Metric.COSINE, 3, params) == params


@pytest.mark.parametrize("index_type, options, message, detail", [
    (IndexType.HNSW, {"m": 1}, 'value 1 out of bounds for option "m"', 'Valid values are between "2" and "100".'),
    (IndexType.HNSW, {"m": 101}, 'value 101 out of bounds for option "m"', 'Valid values are between "2" and "100".'),
    (IndexType.HNSW, {"ef_construction": 3}, 'value 3 out of bounds for option "ef_construction"',
     'Valid values are between "4" and "1000".'),
    (IndexType.HNSW, {"ef_construction": 1001}, 'value 1001 out of bounds for option "ef_construction"',
     'Valid values are between "4" and "1000".'),
    (IndexType.IVF_FLAT, {"lists": 0}, 'value 0 out of bounds for option "lists"',
     'Valid values are between "1" and "32768".'),
    (IndexType.IVF_FLAT, {"lists": 32769}, 'value 32769 out of bounds for option "lists"',
     'Valid values are between "1" and "32768".'),
    (IndexType.IVF_PQ, {"nbits": 17}, 'value 17 out of bounds for option "nbits"',
     'Valid values are between "1" and "16".'),
])
def test_out_of_bounds_options_have_postgresql_messages(index_type, options, message, detail):
    error = rejected(index_type, Metric.L2, 8, options)
    assert (error.message, error.detail) == (message, detail)


def test_ef_construction_must_cover_twice_m():
    assert rejected(IndexType.HNSW, Metric.L2, 3, {"m": 16, "ef_construction": 31}).message == \
        "ef_construction must be greater than or equal to 2 * m"
    assert create_index(IndexType.HNSW, Metric.L2, 3, {"m": 16, "ef_construction": 32}).params.ef_construction == 32


@pytest.mark.parametrize("index_type, options, message", [
    (IndexType.HNSW, {"lists": 10}, 'unrecognized parameter "lists"'),
    (IndexType.FLAT, {"m": 4}, 'unrecognized parameter "m"'),
    (IndexType.HNSW, {"m": "sixteen"}, 'invalid value for integer option "m": sixteen'),
    (IndexType.HNSW, {"m": 4.5}, 'invalid value for integer option "m": 4.5'),
    (IndexType.HNSW, {"m": True}, 'invalid value for integer option "m": True'),
    (IndexType.IVF_PQ, {"m": 3}, 'value 3 for option "m" does not divide the 8 dimensions'),
])
def test_unknown_or_malformed_options(index_type, options, message):
    assert rejected(index_type, Metric.L2, 8, options).message == message


@pytest.mark.parametrize("index_type, metric, dim, message", [
    (IndexType.HNSW, Metric.L2, MAX_FLOAT_DIM + 1, "column cannot have more than 16000 dimensions for hnsw index"),
    (IndexType.IVF_FLAT, Metric.L2, MAX_FLOAT_DIM + 1,
     "column cannot have more than 16000 dimensions for ivfflat index"),
    (IndexType.HNSW, Metric.HAMMING, MAX_BINARY_DIM + 1,
     "column cannot have more than 64000 dimensions for hnsw index"),
    (IndexType.BIN_IVF_FLAT, Metric.HAMMING, MAX_BINARY_DIM + 1,
     "column cannot have more than 64000 dimensions for ivfflat index"),
    (IndexType.FLAT, Metric.L2, 0, "vectors must have at least 1 dimension, not 0"),
])
def test_dimension_limits(index_type, metric, dim, message):
    assert rejected(index_type, metric, dim, None).message == message


def test_the_largest_dimensions_are_accepted():
    assert create_index(IndexType.HNSW, Metric.L2, MAX_FLOAT_DIM).dim == MAX_FLOAT_DIM
    assert create_index(IndexType.BIN_IVF_FLAT, Metric.HAMMING, MAX_BINARY_DIM).dim == MAX_BINARY_DIM


@pytest.mark.parametrize("index_type, metric", [
    (IndexType.IVF_FLAT, Metric.L1), (IndexType.IVF_PQ, Metric.HAMMING), (IndexType.FLAT, Metric.JACCARD),
    (IndexType.BIN_FLAT, Metric.L2), (IndexType.BIN_IVF_FLAT, Metric.JACCARD),
])
def test_metrics_an_index_type_cannot_serve(index_type, metric):
    assert rejected(index_type, metric, 8, None).message == \
        f"index type {index_type.value} does not support the {metric.value} metric"


@pytest.mark.parametrize("fields, message", [
    ({"ef_search": 0}, "ef_search must be a positive integer, not 0"),
    ({"nprobe": -1}, "nprobe must be a positive integer, not -1"),
    ({"exact_selectivity": 1.5}, "exact_selectivity must be between 0 and 1, not 1.5"),
])
def test_search_parameters_are_checked(fields, message):
    with pytest.raises(InvalidParameterValue, match=message):
        SearchParams(**fields)


def test_the_sql_layer_can_apply_pgvectors_own_limit():
    check_dimensions(2000, 2000, "hnsw")
    with pytest.raises(InvalidParameterValue, match="^column cannot have more than 2000 dimensions for hnsw index$"):
        check_dimensions(2001, 2000, "hnsw")
