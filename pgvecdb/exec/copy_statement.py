"""COPY ... FROM STDIN into a table: the data formats of ``exec.copy`` bound to a table's
columns, defaults, constraints and the session's transaction."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyarrow as pa

from pgvecdb.catalog.model import Column, Table
from pgvecdb.errors import DuplicateColumn, NotNullViolation, UndefinedColumn, UndefinedTable
from pgvecdb.exec.copy import CopyFromStdin, parse_copy_options
from pgvecdb.exec.executor import ExecContext, insert_checked
from pgvecdb.exec.result import ColumnInfo
from pgvecdb.exec.rows import storage_schema
from pgvecdb.sql.utility import CopyStatement
from pgvecdb.types import registry
from pgvecdb.types.codecs import FormatOptions


def copy_target(stmt: CopyStatement, ctx: ExecContext) -> tuple[Table, list[Column]]:
    table = ctx.catalog.table(stmt.table, stmt.schema or "public")
    if table is None:
        raise UndefinedTable(f'relation "{stmt.table}" does not exist')
    if stmt.columns is None:
        return table, list(table.columns)
    columns: list[Column] = []
    for name in stmt.columns:
        column = table.column(name)
        if column is None:
            raise UndefinedColumn(f'column "{name}" of relation "{table.name}" does not exist')
        if column in columns:
            raise DuplicateColumn(f'column "{name}" specified more than once')
        columns.append(column)
    return table, columns


def column_infos(columns: list[Column]) -> list[ColumnInfo]:
    return [ColumnInfo(name=c.name, type_oid=registry.by_name(c.type_name).oid, typmod=c.typmod) for c in columns]


def copy_from_stdin(stmt: CopyStatement, ctx: ExecContext, format_options: FormatOptions,
                    default_value: Callable[[Column], pa.Scalar | None]) -> CopyFromStdin:
    """COPY table FROM STDIN; ``default_value`` evaluates a DEFAULT for the columns not listed."""
    table, columns = copy_target(stmt, ctx)
    options = parse_copy_options(stmt.options, is_from=True, column_names=[c.name for c in columns])
    defaults = DefaultFiller(table, [c for c in table.columns if c not in columns], ctx, default_value)

    def sink(batch: pa.Table) -> None:
        rows = defaults.complete(batch)
        _check_not_null(table, rows)
        insert_checked(table, rows, ctx)

    return CopyFromStdin(table.name, column_infos(columns), options, sink, format_options=format_options)


class DefaultFiller:
    """Values for the columns a COPY does not list: their defaults, else NULL."""

    def __init__(self, table: Table, missing: list[Column], ctx: ExecContext,
                 default_value: Callable[[Column], pa.Scalar | None]) -> None:
        self.table = table
        self.missing = missing
        self.ctx = ctx
        self.constants = {c.name: default_value(c) for c in missing if c.default and not _sequence_of(c, ctx)}

    def complete(self, batch: pa.Table) -> pa.Table:
        n = batch.num_rows
        schema = storage_schema(self.table)
        arrays = []
        for column, field in zip(self.table.columns, schema):
            if column.name in batch.schema.names:
                arrays.append(batch.column(column.name))
            else:
                arrays.append(self._default(column, field.type, n))
        return pa.Table.from_arrays(arrays, schema=schema)

    def _default(self, column: Column, dtype: pa.DataType, n: int) -> pa.Array:
        sequence = _sequence_of(column, self.ctx)
        if sequence is not None:
            store = self.ctx.store
            values = np.fromiter((store.sequence_next(sequence.oid, sequence.start, sequence.increment)
                                  for _ in range(n)), dtype=np.int64, count=n)
            return pa.array(values).cast(dtype)
        scalar = self.constants.get(column.name)
        return pa.nulls(n, dtype) if scalar is None else pa.repeat(scalar, n).cast(dtype)


def _sequence_of(column: Column, ctx: ExecContext):
    if not column.default or not column.default.startswith("nextval('"):
        return None
    name = column.default.split("'")[1]
    return ctx.catalog.sequences.get(("public", name))


def _check_not_null(table: Table, rows: pa.Table) -> None:
    for column in table.columns:
        if column.not_null and rows.column(column.name).null_count:
            raise NotNullViolation(
                f'null value in column "{column.name}" of relation "{table.name}" violates not-null constraint')
