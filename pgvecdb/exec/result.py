"""What executing a statement gives back: rows as Arrow, a command tag, or a COPY stream.

The wire layer turns these into protocol messages; the embedded DB-API turns them into
Python rows. Neither needs to know how the statement was run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import pyarrow as pa

from pgvecdb.errors import Notice


# The tag of a prepared statement whose text was empty: the wire answers EmptyQueryResponse.
EMPTY_QUERY_TAG = "EMPTY"


@dataclass
class ColumnInfo:
    """One result column, as a RowDescription field describes it."""

    name: str
    type_oid: int
    typmod: int = -1
    typlen: int = -1
    table_oid: int = 0
    attnum: int = 0


@dataclass
class Result:
    """Outcome of one statement.

    ``columns`` is None for statements that return no rows (the wire sends NoData);
    otherwise ``table`` holds the rows, one Arrow column per entry of ``columns``, in the
    DuckDB representation of their type (see ``types.registry``).
    """

    tag: str
    columns: list[ColumnInfo] | None = None
    table: pa.Table | None = None
    notices: list[Notice] = field(default_factory=list)

    @property
    def rowcount(self) -> int:
        if self.table is not None:
            return self.table.num_rows
        parts = self.tag.split()
        return int(parts[-1]) if parts and parts[-1].isdigit() else -1


class CopyIn:
    """COPY ... FROM STDIN in progress: the client sends data, then finishes or fails.

    ``format`` is 'text', 'csv' or 'binary'; ``columns`` are the target columns.
    """

    format: str
    columns: list[ColumnInfo]

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def finish(self) -> Result:
        raise NotImplementedError

    def abort(self, message: str) -> None:
        raise NotImplementedError


class CopyOut:
    """COPY ... TO STDOUT: ``chunks()`` yields the data, then ``tag`` is the CommandComplete."""

    format: str
    columns: list[ColumnInfo]
    tag: str

    def chunks(self) -> Iterator[bytes]:
        raise NotImplementedError


Outcome = Result | CopyIn | CopyOut
