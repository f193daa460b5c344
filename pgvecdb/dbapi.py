"""The embedded API: ``pgvecdb.connect(path)`` gives a DB-API 2.0 (PEP 249) connection.

It runs the same sessions, planner and storage as the server, in-process: no wire
protocol, no encoding of results to text. Rows come back as Python values (vectors as
numpy arrays), or as Arrow/numpy for analytics with ``fetch_arrow()``/``fetchnumpy()``.

Parameters use ``%s`` (or ``%(name)s``) as psycopg does, or PostgreSQL's ``$1``.
Transactions follow PEP 249: a transaction starts with the first statement and ends with
``commit()``/``rollback()``, unless ``autocommit`` is set.
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa

from pgvecdb import errors
from pgvecdb.database import Database
from pgvecdb.exec.result import CopyIn, CopyOut, Result
from pgvecdb.types.registry import (
    BIT_TAG,
    HALFVEC_TAG,
    SPARSEVEC_TAG,
    VECTOR_TAG,
    by_oid,
)
from pgvecdb.types.sparsevec import SparseVector

apilevel = "2.0"
threadsafety = 1
paramstyle = "format"

Error = errors.PgError
DatabaseError = errors.PgError


def connect(path: str | os.PathLike | None = None, *, autocommit: bool = False) -> "Connection":
    """Open the database in directory ``path`` (created if missing); None keeps it in memory."""
    return Connection(Database.open(path), autocommit=autocommit, owns_database=True)


class Connection:
    def __init__(self, database: Database, *, autocommit: bool = False, owns_database: bool = False) -> None:
        self.database = database
        self.session = database.session()
        self.autocommit = autocommit
        self._owns_database = owns_database
        self.closed = False

    def cursor(self) -> "Cursor":
        self._check_open()
        return Cursor(self)

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> "Cursor":
        return self.cursor().execute(sql, params)

    def commit(self) -> None:
        self._check_open()
        if self.session.transaction_status != "I":
            list(self.session.execute_simple("COMMIT"))

    def rollback(self) -> None:
        self._check_open()
        if self.session.transaction_status != "I":
            list(self.session.execute_simple("ROLLBACK"))

    def close(self) -> None:
        if self.closed:
            return
        self.session.close()
        if self._owns_database:
            self.database.close()
        self.closed = True

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()
        self.close()

    def _check_open(self) -> None:
        if self.closed:
            raise errors.ConnectionException("connection is closed")

    def _begin_if_needed(self) -> None:
        if not self.autocommit and self.session.transaction_status == "I":
            list(self.session.execute_simple("BEGIN"))


class Cursor:
    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.description: list[tuple] | None = None
        self.rowcount = -1
        self._table: pa.Table | None = None
        self._columns = None
        self._position = 0
        self.statusmessage: str | None = None

    # ------------------------------------------------------------------ execute
    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> "Cursor":
        self.connection._check_open()
        session = self.connection.session
        self.connection._begin_if_needed()
        if params is None:
            result = None
            for result in session.execute_simple(sql):
                result = _complete(result)
            self._set_result(result)
            return self
        text, values = to_numbered(sql, params)
        stmt = session.prepare(text, [0] * len(values))
        adapted = [adapt(v, oid) for v, oid in zip(values, stmt.param_oids)]
        try:
            self._set_result(_complete(session.execute(stmt, adapted)))
        finally:
            session.sync()  # outside a transaction (autocommit) the statement commits here
        return self

    def executemany(self, sql: str, seq_of_params: Iterable[Sequence[Any] | Mapping[str, Any]]) -> "Cursor":
        total = 0
        for params in seq_of_params:
            self.execute(sql, params)
            total += max(self.rowcount, 0)
        self.rowcount = total
        return self

    def _set_result(self, result: Result | None) -> None:
        self._position = 0
        if result is None:
            self.description, self._table, self.rowcount, self.statusmessage = None, None, -1, None
            return
        self.statusmessage = result.tag
        if result.columns is None:
            self.description, self._table = None, None
            self.rowcount = result.rowcount
            return
        self._columns = result.columns
        self._table = result.table
        self.rowcount = result.table.num_rows
        self.description = [(c.name, c.type_oid, None, None, None, None, None) for c in result.columns]

    # ------------------------------------------------------------------ fetch
    def fetchone(self) -> tuple | None:
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        table = self._require_rows()
        size = self.arraysize if size is None else size
        chunk = table.slice(self._position, size)
        self._position += chunk.num_rows
        return _rows(chunk)

    def fetchall(self) -> list[tuple]:
        table = self._require_rows()
        chunk = table.slice(self._position)
        self._position = table.num_rows
        return _rows(chunk)

    def fetch_arrow(self) -> pa.Table:
        """The whole result as an Arrow table (vectors as lists of float32)."""
        return _plain_arrow(self._require_rows())

    def fetchnumpy(self) -> dict[str, np.ndarray]:
        """Each column as a numpy array; vector columns as 2-D float32 matrices."""
        table = self._require_rows()
        return {name: _column_numpy(table.column(i)) for i, name in enumerate(table.schema.names)}

    def __iter__(self) -> Iterator[tuple]:
        while True:
            row = self.fetchone()
            if row is None:
                return
            yield row

    def close(self) -> None:
        self._table = None

    def setinputsizes(self, sizes) -> None:
        pass

    def setoutputsize(self, size, column=None) -> None:
        pass

    def __enter__(self) -> "Cursor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _require_rows(self) -> pa.Table:
        if self._table is None:
            raise errors.PgError("no results to fetch", sqlstate="24000")
        return self._table


def _complete(outcome) -> Result:
    if isinstance(outcome, (CopyIn, CopyOut)):
        raise errors.FeatureNotSupported("COPY FROM STDIN/TO STDOUT needs a client; use the server")
    return outcome


# --------------------------------------------------------------------------- parameters
_PLACEHOLDER = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|%%|%\((\w+)\)s|%s|\$\d+""")


def to_numbered(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple[str, list[Any]]:
    """Rewrite %s / %(name)s placeholders as $1..$n; returns the SQL and positional values."""
    if isinstance(params, Mapping):
        names: list[str] = []

        def named(match: re.Match[str]) -> str:
            token = match.group(0)
            if token == "%%":
                return "%"
            if match.group(1) is None:
                return token
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        return _PLACEHOLDER.sub(named, sql), [params[n] for n in names]
    values = list(params)
    counter = iter(range(1, len(values) + 1))

    def positional(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "%%":
            return "%"
        if token == "%s":
            return f"${next(counter)}"
        return token

    if "%s" not in sql and "%(" not in sql:
        return sql, values
    return _PLACEHOLDER.sub(positional, sql), values


def adapt(value: Any, oid: int) -> Any:
    """A Python value as a parameter of the DuckDB representation of type ``oid``."""
    if value is None:
        return None
    pgtype = by_oid(oid)
    name = pgtype.name if pgtype else ""
    if name in ("vector", "halfvec"):
        tag = VECTOR_TAG if name == "vector" else HALFVEC_TAG
        return {tag: [float(x) for x in _as_list(value)]}
    if name == "sparsevec":
        return {SPARSEVEC_TAG: _sparse(value)}
    if name in ("bit", "varbit"):
        return {BIT_TAG: value if isinstance(value, str) else "".join("1" if b else "0" for b in value)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _as_list(value: Any) -> list:
    if hasattr(value, "to_list"):
        return value.to_list()
    if isinstance(value, str):
        return [float(x) for x in value.strip("[]").split(",")]
    return list(np.asarray(value, dtype=np.float32))


def _sparse(value: Any) -> dict:
    """A sparse vector given as pgvecdb's SparseVector, pgvector-python's, a dense sequence
    or the DuckDB dict itself; indices are 0-based inside pgvecdb."""
    if isinstance(value, dict):
        return value
    if isinstance(value, SparseVector):
        return value.as_duck()
    if callable(getattr(value, "indices", None)):  # pgvector-python's SparseVector
        return SparseVector(int(value.dimensions()), np.asarray(value.indices(), dtype=np.int32),
                            np.asarray(value.values(), dtype=np.float32)).as_duck()
    return SparseVector.from_dense(np.asarray(value, dtype=np.float32)).as_duck()


# --------------------------------------------------------------------------- results
def _rows(table: pa.Table) -> list[tuple]:
    columns = [_column_values(table.column(i)) for i in range(table.num_columns)]
    return list(zip(*columns)) if columns else [() for _ in range(table.num_rows)]


def _column_values(column: pa.ChunkedArray) -> list:
    tag = _tag_of(column.type)
    values = column.to_pylist()
    if tag in (VECTOR_TAG, HALFVEC_TAG):
        dtype = np.float32 if tag == VECTOR_TAG else np.float16
        return [None if v is None else np.asarray(v[tag], dtype=dtype) for v in values]
    if tag == BIT_TAG:
        return [None if v is None else v[tag] for v in values]
    if tag == SPARSEVEC_TAG:
        return [None if v is None else v[tag] for v in values]
    return values


def _tag_of(dtype: pa.DataType) -> str | None:
    if pa.types.is_struct(dtype) and dtype.num_fields == 1 and dtype.field(0).name.startswith("__"):
        return dtype.field(0).name
    return None


def _plain_arrow(table: pa.Table) -> pa.Table:
    """Tagged structs unwrapped: a vector column becomes list<float32>."""
    arrays = []
    for column in table.columns:
        tag = _tag_of(column.type)
        arrays.append(pa.chunked_array([c.field(0) for c in column.chunks], type=column.type.field(0).type)
                      if tag else column)
    return pa.Table.from_arrays(arrays, names=table.schema.names)


def _column_numpy(column: pa.ChunkedArray) -> np.ndarray:
    tag = _tag_of(column.type)
    if tag in (VECTOR_TAG, HALFVEC_TAG) and column.null_count == 0 and len(column):
        lists = pa.chunked_array([c.field(0) for c in column.chunks]).combine_chunks()
        flat = lists.flatten().to_numpy(zero_copy_only=False)
        return flat.reshape(len(lists), -1).astype(np.float32 if tag == VECTOR_TAG else np.float16, copy=False)
    return np.asarray(_column_values(column), dtype=object) if tag else column.to_numpy()
