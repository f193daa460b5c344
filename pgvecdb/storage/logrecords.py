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

from dataclasses import dataclass

import numpy as np

from pgvecdb.storage.chunk import Chunk, decode_stream, write_stream
from pgvecdb.storage.wal import Part, PayloadSink

TRANSACTION = 1
SEQUENCE = 2

INSERT = 1
DELETE = 2
SEQUENCE_VALUE = 3


@dataclass(frozen=True)
class _ChunkPayload:
    chunk: Chunk

    def write_to(self, sink: PayloadSink) -> None:
        write_stream(self.chunk, sink)


def insert_part(table_id: int, chunk: Chunk, first_rowid: int) -> Part:
    """The INSERT part for ``chunk``, whose rows get the ids from ``first_rowid`` on."""
    return Part(INSERT, table_id, first_rowid, _ChunkPayload(chunk))


def delete_part(table_id: int, rowids: np.ndarray) -> Part:
    return Part(DELETE, table_id, 0, np.ascontiguousarray(rowids, dtype="<i8").tobytes())


def sequence_part(seq_id: int, value: int) -> Part:
    return Part(SEQUENCE_VALUE, seq_id, value)


def inserted_chunk(part: Part) -> Chunk:
    return decode_stream(part.payload, part.arg)


def deleted_rowids(part: Part) -> np.ndarray:
    return np.frombuffer(part.payload, dtype="<i8").astype(np.int64)
