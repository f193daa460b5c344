"""PostgreSQL system functions that need Python logic, installed into DuckDB as UDFs.

``planner.rules.pg_compat`` turns calls of PostgreSQL's functions into calls of these
(``format_type`` becomes ``pgvecdb_format_type`` ...), or into subqueries over the system
relations when the answer depends on the catalog or the session. The ``pgvecdb_`` prefix
keeps them apart from DuckDB's own ``pg_catalog`` compatibility macros, which give
different answers.
"""

from __future__ import annotations

import duckdb

from pgvecdb.catalog.identifiers import quote_ident
from pgvecdb.catalog.pg_types import format_type, type_name_oid

FORMAT_TYPE = "pgvecdb_format_type"
TYPE_OID = "pgvecdb_type_oid"
QUOTE_IDENT = "pgvecdb_quote_ident"
SIZE_PRETTY = "pgvecdb_size_pretty"

# pg_size_pretty's units: name, the size below which it is used, whether it is rounded
# half up, and its power of two (PostgreSQL's size_pretty_units).
_SIZE_UNITS = (("bytes", 10 * 1024, False, 0), ("kB", 20 * 1024 - 1, True, 10),
               ("MB", 20 * 1024 - 1, True, 20), ("GB", 20 * 1024 - 1, True, 30),
               ("TB", 20 * 1024 - 1, True, 40), ("PB", 20 * 1024 - 1, True, 50))


def size_pretty(size: int) -> str:
    """``pg_size_pretty(bigint)``: 8192 -> '8192 bytes', 123456789 -> '118 MB'."""
    for i, (name, limit, rounded, bits) in enumerate(_SIZE_UNITS):
        last = i == len(_SIZE_UNITS) - 1
        if last or abs(size) < limit:
            if rounded:
                size = _half_rounded(size)
            return f"{size} {name}"
        _, _, next_rounded, next_bits = _SIZE_UNITS[i + 1]
        shift = next_bits - bits - int(next_rounded) + int(rounded)
        size = _c_divide(size, 1 << shift)
    raise AssertionError("unreachable")


def _half_rounded(value: int) -> int:
    return _c_divide(value + (-1 if value < 0 else 1), 2)


def _c_divide(a: int, b: int) -> int:
    """Integer division truncating toward zero, as C does."""
    quotient = abs(a) // b
    return quotient if a >= 0 else -quotient


def _type_oid(name: str | None) -> int | None:
    return None if name is None else type_name_oid(name)


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Install the UDFs on ``con`` (they are visible to its cursors too)."""
    # format_type(oid, NULL) differs from format_type(oid, -1), so NULLs reach the function;
    # both functions answer NULL for a type they do not know.
    con.create_function(FORMAT_TYPE, format_type, ["BIGINT", "INTEGER"], "VARCHAR", null_handling="special")
    con.create_function(TYPE_OID, _type_oid, ["VARCHAR"], "BIGINT", null_handling="special")
    con.create_function(QUOTE_IDENT, quote_ident, ["VARCHAR"], "VARCHAR")
    con.create_function(SIZE_PRETTY, size_pretty, ["BIGINT"], "VARCHAR")
