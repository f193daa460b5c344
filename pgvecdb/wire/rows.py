"""Result rows on the wire: RowDescription and DataRow messages from an Arrow table."""

from __future__ import annotations

import struct
from typing import Iterator, Sequence

import pyarrow as pa

from pgvecdb.errors import InvalidParameterValue, ProtocolViolation
from pgvecdb.exec.result import ColumnInfo
from pgvecdb.types.codecs import FormatOptions, encode_table_for_wire
from pgvecdb.wire.backend import row_description

_INT32 = struct.Struct("!i")
_NULL_FIELD = _INT32.pack(-1)

# DataRows are encoded this many rows at a time, so that a large result is sent while the
# rest is still being encoded, and memory holds one batch of encoded rows.
ROWS_PER_BATCH = 4096


def expand_formats(formats: Sequence[int], column_count: int) -> list[int]:
    """Result format codes as Bind gives them (none, one for all, or one per column)."""
    for code in formats:
        if code not in (0, 1):
            raise InvalidParameterValue(f"unsupported format code: {code}")
    if not formats:
        return [0] * column_count
    if len(formats) == 1:
        return [formats[0]] * column_count
    if len(formats) != column_count:
        raise ProtocolViolation(
            f"bind message has {len(formats)} result formats but query has {column_count} columns")
    return list(formats)


def describe_rows(columns: Sequence[ColumnInfo], formats: Sequence[int]) -> bytes:
    """The RowDescription message for ``columns`` sent in ``formats``."""
    return row_description(
        (c.name, c.table_oid, c.attnum, c.type_oid, c.typlen, c.typmod, fmt)
        for c, fmt in zip(columns, formats)
    )


def data_rows(table: pa.Table, columns: Sequence[ColumnInfo], formats: Sequence[int],
              options: FormatOptions) -> Iterator[bytes]:
    """DataRow messages for every row of ``table``, a batch of rows per yielded chunk."""
    type_oids = [c.type_oid for c in columns]
    header = struct.pack("!h", len(columns))
    for start in range(0, table.num_rows, ROWS_PER_BATCH):
        batch = table if table.num_rows <= ROWS_PER_BATCH else table.slice(start, ROWS_PER_BATCH)
        if not columns:  # SELECT with an empty target list still returns its rows
            yield _data_row(header, b"") * batch.num_rows
            continue
        encoded = encode_table_for_wire(batch, type_oids, formats, options=options)
        fields = [[_NULL_FIELD if v is None else _INT32.pack(len(v)) + v for v in column]
                  for column in encoded]
        bodies = fields[0] if len(fields) == 1 else [b"".join(row) for row in zip(*fields)]
        yield b"".join([_data_row(header, body) for body in bodies])


def _data_row(header: bytes, body: bytes) -> bytes:
    return b"D" + _INT32.pack(len(body) + 6) + header + body
