"""Installing vectorised Arrow UDFs and SQL macros on DuckDB.

DuckDB calls an Arrow UDF with a chunk of rows (about 2,048) per argument and keeps only
the text of an exception raised inside it. ``install`` wraps a kernel so that a
``PgError`` it raises is smuggled through DuckDB (``errors.udf_error``) and comes back
with its SQLSTATE.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

import duckdb
import pyarrow as pa

from pgvecdb.errors import PgError, udf_error
from pgvecdb.types.vector import as_array

Kernel = Callable[..., pa.Array]


@dataclass(frozen=True)
class Udf:
    """A DuckDB function implemented by a kernel over Arrow columns.

    ``params`` and ``returns`` are DuckDB type names. Rows with a NULL argument never
    reach the kernel (DuckDB answers NULL for them) and the kernel returns no NULL, unless
    ``nulls`` is set: then the kernel sees every row and may answer NULL.
    """

    name: str
    kernel: Kernel
    params: tuple[str, ...]
    returns: str
    nulls: bool = False


@dataclass(frozen=True)
class Macro:
    """A DuckDB scalar macro: ``name(args) AS body``."""

    name: str
    args: tuple[str, ...]
    body: str


def install(con: duckdb.DuckDBPyConnection, udf: Udf) -> None:
    kernel = udf.kernel

    def call(*columns: pa.ChunkedArray) -> pa.Array:
        try:
            return kernel(*[as_array(c) for c in columns])
        except PgError as err:
            raise udf_error(err) from None

    # DuckDB counts the parameters of the Python function it is given.
    call.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(f"arg{i}", inspect.Parameter.POSITIONAL_ONLY) for i in range(len(udf.params))]
    )
    con.create_function(
        udf.name,
        call,
        [duckdb.sqltype(p) for p in udf.params],
        duckdb.sqltype(udf.returns),
        type="arrow",
        null_handling="special" if udf.nulls else "default",
    )


def install_macro(con: duckdb.DuckDBPyConnection, macro: Macro) -> None:
    con.execute(f"CREATE OR REPLACE MACRO {macro.name}({', '.join(macro.args)}) AS {macro.body}")
