"""Answering a plain ANN SELECT without DuckDB.

``SELECT id[, embedding <-> $1 AS d] FROM t [WHERE category = $2 ...] ORDER BY embedding
<-> $1 LIMIT 10``: the ANN operator finds the rows, this module projects them — table
columns in their DuckDB representation, the distance by the operator's own DuckDB
function — so that a prepared search costs the search and not a DuckDB query (DESIGN.md,
"The hot path": DuckDB's fixed cost per query is larger than an HNSW search).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pgvecdb.exec import ann_scan
from pgvecdb.exec.ann_operands import offset_of, operand_value
from pgvecdb.exec.functions.pgvector import LIBRARY
from pgvecdb.exec.result import ColumnInfo, Result
from pgvecdb.exec.rows import codec_of, storage_schema
from pgvecdb.planner.rules.ann_direct import DirectSearch
from pgvecdb.planner.translate import DuckQuery
from pgvecdb.storage.api import SegmentSnapshot
from pgvecdb.types.registry import VECTOR_TAG
from pgvecdb.types.typeref import TypeRef, duck_type
from pgvecdb.types.vector import FloatLists, float_lists

_KERNELS = {udf.name.upper(): udf.kernel for udf in LIBRARY.udfs}


def run_direct(search: DirectSearch, query: DuckQuery, bound: list[object], ctx,
               describe) -> Result:
    scan = search.scan
    snapshots, hits = ann_scan.ann_hits(scan, bound, ctx, ctx.ann_stats.get(search.relation), search.columns_read)
    offset = offset_of(scan, bound, ctx)
    if offset:
        hits = hits[offset:]
    arrays = [_output(search, column, snapshots, hits, bound, ctx) for column in search.outputs]
    names = query.column_names or [c or "?column?" for c in search.outputs]
    table = pa.Table.from_arrays(arrays, names=names)
    return Result(tag=f"SELECT {table.num_rows}", columns=_columns(search, query, describe), table=table)


def _output(search: DirectSearch, column: str | None, snapshots: list[SegmentSnapshot], hits: ann_scan.Hits,
            bound: list[object], ctx) -> pa.Array:
    scan = search.scan
    key = scan.index.columns[0]
    name = key if column is None else column
    definition = scan.table.column(name)
    values = ann_scan.gathered(snapshots, hits, name) if snapshots else \
        pa.array([], storage_schema(scan.table).field(name).type)
    if column is not None:
        return codec_of(definition).to_duck(values, definition.typmod)
    query = operand_value(scan.query, bound, ctx)
    if query is None:
        return pa.nulls(len(values), pa.float64())
    operands = _float4_rows(values, query)
    if operands is None:
        duck_values = codec_of(definition).to_duck(values, definition.typmod)
        operands = (duck_values, pa.array([query] * len(duck_values), type=duck_values.type))
    return _KERNELS[search.distance_function.upper()](*(operands[::-1] if search.query_on_left else operands))


def _float4_rows(values: pa.Array, query: object) -> tuple[FloatLists, FloatLists] | None:
    """The rows found and the query vector, repeated, as the dense kernels' float4 rows,
    straight from a ``vector`` column's storage (no DuckDB representation in between);
    None for other types, or a query of other dimensions (the kernel reports those)."""
    kind = values.type
    if not (isinstance(query, dict) and VECTOR_TAG in query and pa.types.is_fixed_size_list(kind)
            and kind.value_type == pa.float32() and not values.null_count):
        return None
    vector = np.asarray(query[VECTOR_TAG], dtype=np.float32)
    if vector.shape != (kind.list_size,):
        return None
    rows = float_lists(values)
    return rows, FloatLists(rows.offsets, np.tile(vector, len(values)), rows.valid)


def _columns(search: DirectSearch, query: DuckQuery, describe) -> list[ColumnInfo]:
    """RowDescription as the DuckDB path describes it (cached on the search)."""
    cached = getattr(search, "_columns", None)
    if cached is None:
        types = []
        for column in search.outputs:
            if column is None:
                types.append("DOUBLE")
            else:
                definition = search.scan.table.column(column)
                types.append(duck_type(TypeRef(definition.type_name, definition.typmod)))
        cached = describe(query, types, query.column_names or [c or "?column?" for c in search.outputs])
        search._columns = cached
    return cached
