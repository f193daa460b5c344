"""The key of a vector index over a segment's rows, as the matrix the engine takes.

A plain column is read straight from its Arrow storage — ``vector(n)`` and ``halfvec(n)``
are fixed-size lists, ``bit(n)`` fixed-size binary — as a numpy view without a copy.
An expression key (``(embedding::halfvec(3))``) and a partial index's predicate are
evaluated by DuckDB over the rows, through the query the planner made of them.

Rows an index search never returns are marked unusable: NULL keys, rows outside a
partial index's predicate and, under cosine, zero vectors (pgvector's indexes leave them
out, having no direction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import duckdb
import numpy as np
import pyarrow as pa

from pgvecdb.catalog.model import Index, Table
from pgvecdb.engine import IndexType, Metric
from pgvecdb.exec import duck
from pgvecdb.exec.rows import to_duck
from pgvecdb.exec.vector_index_ddl import OPCLASSES, index_type_for, indexed_type
from pgvecdb.types import registry
from pgvecdb.types.codecs import codec_for


@dataclass(frozen=True)
class KeyQuery:
    """DuckDB SQL yielding an index's key (column 0) and whether a row is in the index
    (column 1: a partial index's predicate, else TRUE) for the rows registered as
    ``relation``, in their order; ``constants`` bind its $1..$n. The planner makes it."""

    sql: str
    constants: tuple
    relation: str


@dataclass(frozen=True)
class KeySpec:
    """What an index's key is: its pgvector type, dimensions, metric, index type and
    how to compute it (``column``, or ``query`` for an expression or predicate)."""

    value_type: str
    dim: int
    metric: Metric
    index_type: IndexType
    column: str | None
    query: KeyQuery | None

    @property
    def binary(self) -> bool:
        return self.metric.binary


KeyQueries = Callable[[Table, Index], KeyQuery | None]


def key_spec(table: Table, index: Index, key_queries: KeyQueries) -> KeySpec:
    expression = index.expressions[0] if index.expressions else None
    value_type, dim = indexed_type(table, index.columns[0] if index.columns else "", expression)
    opclass = index.opclasses[0] if index.opclasses and index.opclasses[0] else \
        ("bit_hamming_ops" if value_type == "bit" else f"{value_type}_l2_ops")
    _, metric = OPCLASSES[opclass]
    query = key_queries(table, index) if expression or index.predicate else None
    return KeySpec(value_type, int(dim), metric, index_type_for(index.method, value_type),
                   None if expression else index.columns[0], query)


def key_matrix(spec: KeySpec, table: Table, rows: pa.Table,
               cursor: duckdb.DuckDBPyConnection) -> tuple[np.ndarray, np.ndarray]:
    """The key of every row of ``rows`` (storage representation) as a matrix, and the mask
    of the rows an index covers."""
    if spec.query is None:
        keys = rows.column(spec.column)
        keep = None
    else:
        keys, keep = _evaluated(spec, table, rows, cursor)
    keys = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
    matrix = _matrix(keys, spec)
    usable = np.asarray(keys.is_valid(), dtype=bool) if keys.null_count else np.ones(len(keys), dtype=bool)
    if keep is not None:
        usable &= keep
    if spec.metric is Metric.COSINE:
        usable &= matrix.any(axis=1)
    return matrix, usable


def _evaluated(spec: KeySpec, table: Table, rows: pa.Table,
               cursor: duckdb.DuckDBPyConnection) -> tuple[pa.Array, np.ndarray]:
    """The expression key and the predicate over ``rows``, through DuckDB."""
    query = spec.query
    result, _ = duck.run(cursor, query.sql, list(query.constants), {query.relation: to_duck(table, rows)})
    keys = result.column(0).combine_chunks()
    if spec.column is None:
        keys = codec_for(registry.by_name(spec.value_type).oid).from_duck(keys, spec.dim)
    else:
        keys = rows.column(spec.column)
    keep = result.column(1).fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
    return keys, keep


def _matrix(keys: pa.Array, spec: KeySpec) -> np.ndarray:
    """A numpy view of fixed-size keys: float rows (float16 for halfvec) or packed bytes."""
    width = (spec.dim + 7) // 8 if spec.binary else spec.dim
    if len(keys) == 0:
        return np.zeros((0, width), dtype=np.uint8 if spec.binary else np.float32)
    if pa.types.is_fixed_size_binary(keys.type):
        data = np.frombuffer(keys.buffers()[1], dtype=np.uint8)
        start = keys.offset * width
        return data[start:start + len(keys) * width].reshape(len(keys), width)
    values = keys.values
    dtype = np.float16 if pa.types.is_float16(values.type) else np.float32
    data = np.frombuffer(values.buffers()[1], dtype=dtype, offset=values.offset * dtype().itemsize)
    start = keys.offset * width
    return data[start:start + len(keys) * width].reshape(len(keys), width)
