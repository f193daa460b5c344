"""Converting table rows between storage and DuckDB representations, with constraints.

Storage keeps each column in its storage Arrow type; DuckDB reads and writes the DuckDB
representation (see ``types.registry``). Writes pass through ``to_storage``, which applies
typmods (vector dimensions, varchar lengths) and NOT NULL exactly as PostgreSQL reports
them.
"""

from __future__ import annotations

import pyarrow as pa

from pgvecdb.catalog.model import Column, Table
from pgvecdb.errors import NotNullViolation, PgError
from pgvecdb.storage.api import ROWID
from pgvecdb.types import registry
from pgvecdb.types.codecs import Codec, codec_for


def codec_of(column: Column) -> Codec:
    pgtype = registry.by_name(column.type_name)
    if pgtype is None:
        raise PgError(f'type "{column.type_name}" does not exist', sqlstate="42704")
    return codec_for(pgtype.oid)


def storage_schema(table: Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, codec_of(c).storage_type(c.typmod)) for c in table.columns])


def to_duck(table: Table, rows: pa.Table, *, with_rowid: bool = False) -> pa.Table:
    """Storage rows (as ``Transaction.scan`` returns them) in the DuckDB representation."""
    arrays, names = [], []
    for column in table.columns:
        data = rows.column(column.name)
        data = data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data
        arrays.append(codec_of(column).to_duck(data, column.typmod))
        names.append(column.name)
    if with_rowid:
        arrays.append(rows.column(ROWID).combine_chunks())
        names.append(ROWID)
    return pa.Table.from_arrays(arrays, names=names)


def to_storage(table: Table, rows: pa.Table, *, offset: int = 0) -> pa.Table:
    """DuckDB rows holding every column of ``table`` in order (from column ``offset`` on)
    converted for storage, checking typmods and NOT NULL."""
    arrays = []
    for i, column in enumerate(table.columns):
        data = rows.column(offset + i)
        data = data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data
        if column.not_null and data.null_count:
            raise _not_null(table, column, rows, data, offset)
        arrays.append(codec_of(column).from_duck(data, column.typmod))
    return pa.Table.from_arrays(arrays, schema=storage_schema(table))


def _not_null(table: Table, column: Column, rows: pa.Table, data: pa.Array, offset: int) -> PgError:
    row = data.is_null().to_pylist().index(True)
    values = []
    for i in range(len(table.columns)):
        value = rows.column(offset + i)[row].as_py()
        values.append("null" if value is None else _show(value))
    return NotNullViolation(
        f'null value in column "{column.name}" of relation "{table.name}" violates not-null constraint',
        detail=f"Failing row contains ({', '.join(values)}).",
    )


def _show(value: object) -> str:
    if isinstance(value, dict) and len(value) == 1:
        (tag, inner), = value.items()
        if tag == "__vector" or tag == "__halfvec":
            return "[" + ",".join(f"{v:g}" for v in inner) + "]"
        if tag == "__bit":
            return str(inner)
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)
