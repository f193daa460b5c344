"""The bridge to DuckDB, the relational executor.

One DuckDB instance serves a database; each session has its own cursor, on which the
Arrow relations a query reads are registered for the duration of the query. DuckDB's
errors are translated to PostgreSQL's (SQLSTATE and wording) here, in one place.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import duckdb
import pyarrow as pa

from pgvecdb.catalog import functions as catalog_functions
from pgvecdb.errors import (
    DivisionByZero,
    FeatureNotSupported,
    InvalidTextRepresentation,
    NumericValueOutOfRange,
    PgError,
    QueryCanceled,
    SyntaxError as PgSyntaxError,
    UndefinedColumn,
    UndefinedFunction,
    UndefinedTable,
    from_duckdb_message,
)
from pgvecdb.exec.functions import pgvector as pgvector_sql

# What installs SQL functions on the DuckDB instance: pgvector's, PostgreSQL's system functions.
FUNCTION_LIBRARIES = (pgvector_sql.register, catalog_functions.register)


def open_duckdb() -> duckdb.DuckDBPyConnection:
    """A DuckDB instance set up to behave like PostgreSQL where the two differ."""
    con = duckdb.connect(config={"threads": 2})
    con.execute("SET default_null_order = 'nulls_last_on_asc_first_on_desc'")
    for register in FUNCTION_LIBRARIES:
        register(con)
    return con


@contextmanager
def registered(cursor: duckdb.DuckDBPyConnection, relations: dict[str, pa.Table]) -> Iterator[None]:
    """``relations`` visible to queries on ``cursor`` under their names, for the block."""
    for name, table in relations.items():
        cursor.register(name, table)
    try:
        yield
    finally:
        for name in relations:
            try:
                cursor.unregister(name)
            except duckdb.Error:
                pass


def run(
    cursor: duckdb.DuckDBPyConnection,
    sql: str,
    params: Sequence[object],
    relations: dict[str, pa.Table],
) -> tuple[pa.Table, list[str]]:
    """Run ``sql`` with ``relations`` registered; returns the rows and DuckDB's column types."""
    with registered(cursor, relations):
        try:
            relation = cursor.sql(sql, params=list(params) if params else None)
            if relation is None:
                return pa.table({}), []
            return relation.to_arrow_table(), [str(t) for t in relation.types]
        except duckdb.Error as exc:
            raise translate_error(exc) from None


def describe(
    cursor: duckdb.DuckDBPyConnection,
    sql: str,
    params: Sequence[object],
    relations: dict[str, pa.Table],
) -> tuple[list[str], list[str]]:
    """DuckDB's result column names and types for ``sql`` without running it."""
    with registered(cursor, relations):
        try:
            relation = cursor.sql(sql, params=list(params) if params else None)
            if relation is None:
                return [], []
            return list(relation.columns), [str(t) for t in relation.types]
        except duckdb.Error as exc:
            raise translate_error(exc) from None


_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], PgError]]] = [
    (re.compile(r"Table with name (\S+) does not exist"),
     lambda m: UndefinedTable(f'relation "{_user_name(m.group(1))}" does not exist')),
    (re.compile(r'Referenced column "([^"]+)" not found'),
     lambda m: UndefinedColumn(f'column "{m.group(1)}" does not exist')),
    (re.compile(r'Column "([^"]+)" referenced that exists in the SELECT clause'),
     lambda m: UndefinedColumn(f'column "{m.group(1)}" does not exist')),
    (re.compile(r'Values list "[^"]*" does not have a column named "([^"]+)"'),
     lambda m: UndefinedColumn(f'column "{m.group(1)}" does not exist')),
    (re.compile(r'Referenced table "([^"]+)" not found'),
     lambda m: UndefinedTable(f'missing FROM-clause entry for table "{m.group(1)}"')),
    (re.compile(r"(?:Scalar|Aggregate|Table) Function with name (\S+) does not exist"),
     lambda m: UndefinedFunction(f"function {m.group(1)} does not exist")),
    (re.compile(r"No function matches the given name and argument types '([^(]+)\(([^)]*)\)'"),
     lambda m: UndefinedFunction(f"function {m.group(1)}({_pg_types(m.group(2))}) does not exist",
                                 hint="No function matches the given name and argument types. "
                                      "You might need to add explicit type casts.")),
    (re.compile(r"Could not convert string '([^']*)' to (\w+)"),
     lambda m: InvalidTextRepresentation(
         f'invalid input syntax for type {_PG_NAMES.get(m.group(2), m.group(2).lower())}: "{m.group(1)}"')),
    (re.compile(r"Division by zero"), lambda m: DivisionByZero("division by zero")),
    (re.compile(r"Overflow in (?:addition|subtraction|multiplication) of (\w+)"),
     lambda m: NumericValueOutOfRange(f"{_PG_NAMES.get(m.group(1), m.group(1).lower())} out of range")),
    (re.compile(r"Type (\w+) with value (\S+) can't be cast because the value is out of range"),
     lambda m: NumericValueOutOfRange(f"{_PG_NAMES.get(m.group(1), m.group(1).lower())} out of range")),
    (re.compile(r"INTERRUPT|Interrupted", re.IGNORECASE),
     lambda m: QueryCanceled("canceling statement due to user request")),
    (re.compile(r"Parser Error: (.*)"), lambda m: PgSyntaxError(_first_line(m.group(1)))),
    (re.compile(r"Not implemented Error: (.*)"), lambda m: FeatureNotSupported(_first_line(m.group(1)))),
]

_PG_NAMES = {"INT32": "integer", "INT64": "bigint", "INT16": "smallint", "INTEGER": "integer",
             "BIGINT": "bigint", "SMALLINT": "smallint", "DOUBLE": "double precision", "FLOAT": "real",
             "BOOL": "boolean", "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp",
             "UUID": "uuid", "DECIMAL": "numeric"}


def _user_name(duck_name: str) -> str:
    match = re.match(r"pgv_(?:sys_)?(\w+?)__(\w+)", duck_name)
    return match.group(2) if match else duck_name


def _pg_types(duck_types: str) -> str:
    return ", ".join(_PG_NAMES.get(t.strip(), t.strip().lower()) for t in duck_types.split(",") if t.strip())


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def translate_error(exc: Exception) -> PgError:
    """The PostgreSQL error for a DuckDB exception."""
    text = str(exc)
    smuggled = from_duckdb_message(text)
    if smuggled is not None:
        return smuggled
    if isinstance(exc, duckdb.InterruptException):
        return QueryCanceled("canceling statement due to user request")
    for pattern, make in _RULES:
        match = pattern.search(text)
        if match:
            return make(match)
    message = _first_line(re.sub(r"^[A-Za-z ]+Error: ", "", text))
    return PgError(message, sqlstate=_sqlstate_for(exc))


def _sqlstate_for(exc: Exception) -> str:
    if isinstance(exc, duckdb.ConversionException):
        return "22P02"
    if isinstance(exc, duckdb.OutOfRangeException):
        return "22003"
    if isinstance(exc, (duckdb.BinderException, duckdb.CatalogException)):
        return "42000" if not isinstance(exc, duckdb.CatalogException) else "42704"
    if isinstance(exc, duckdb.InvalidInputException):
        return "22023"
    if isinstance(exc, duckdb.ParserException):
        return "42601"
    if isinstance(exc, duckdb.NotImplementedException):
        return "0A000"
    return "XX000"
