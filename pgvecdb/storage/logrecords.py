"""What the WAL records say: committed transactions and sequence positions.

A committed transaction is one ``TRANSACTION`` record, so it is replayed whole or not at
all. Its parts:

* ``INSERT`` (key: table oid, arg: first row id): the inserted rows as an Arrow IPC stream;
  they carry consecutive row ids from ``arg``;
* ``DELETE`` (key: table oid): the deleted row ids, int64 little-endian.

A ``SEQUENCE`` record's part (key: sequence oid, arg: value) says the sequence's last value
is at most ``arg``: recovery restarts the sequence from there.
"""

from __future__ import annotations

import zlib

import numpy as np

from pgvecdb.storage.chunk import Chunk, decode_stream, encode_stream
from pgvecdb.storage.wal import Part

TRANSACTION = 1
SEQUENCE = 2

INSERT = 1
DELETE = 2
SEQUENCE_VALUE = 3


def insert_part(table_id: int, chunk: Chunk) -> Part:
    """The INSERT part for ``chunk``; the first row id is set later (``with_first_rowid``)."""
    payload = memoryview(encode_stream(chunk))
    return Part(INSERT, table_id, 0, payload, zlib.crc32(payload))


def with_first_rowid(part: Part, first_rowid: int) -> Part:
    return Part(part.kind, part.key, first_rowid, part.payload, part.crc)


def delete_part(table_id: int, rowids: np.ndarray) -> Part:
    return Part(DELETE, table_id, 0, np.ascontiguousarray(rowids, dtype="<i8").tobytes())


def sequence_part(seq_id: int, value: int) -> Part:
    return Part(SEQUENCE_VALUE, seq_id, value)


def inserted_chunk(part: Part) -> Chunk:
    return decode_stream(part.payload, part.arg)


def deleted_rowids(part: Part) -> np.ndarray:
    return np.frombuffer(part.payload, dtype="<i8").astype(np.int64)
