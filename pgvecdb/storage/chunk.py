"""Chunks: rows of one table as stored, and their Arrow IPC encodings.

A chunk is an Arrow table whose columns hold fields (named by ``field_ids``, see
``storage.schema``) followed by the ``__rowid`` column. It travels as an IPC *stream* in a
WAL record (whose header gives the real row ids, as a range) and lives as an IPC
*file* holding one record batch in a sealed segment, opened memory-mapped so that scans
never copy it. The field ids are kept in the schema metadata, so every file says what it
holds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pyarrow as pa

from pgvecdb.storage.api import ROWID
from pgvecdb.storage.files import fsync_directory, fsync_file
from pgvecdb.storage.schema import FieldMeta

FIELD_IDS_KEY = b"pgvecdb.field_ids"
ROWID_FIELD = pa.field(ROWID, pa.int64(), nullable=False)
# Projections a chunk keeps: a scan of a table asks for the same few column lists again
# and again, and a projection of stored fields shares the chunk's buffers, so keeping one
# costs a schema. Projections that fill a field added after the chunk was written are not
# kept (the fill may be a whole column).
KEPT_PROJECTIONS = 8


@dataclass(frozen=True)
class Chunk:
    data: pa.Table  # one column per field id, then ROWID
    field_ids: tuple[int, ...]
    _projections: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_rows(cls, rows: pa.Table, fields: Sequence[FieldMeta], rowids: np.ndarray) -> "Chunk":
        """A chunk of ``rows`` (columns named as ``fields``) with the given row ids."""
        schema = pa.schema([f.field for f in fields] + [ROWID_FIELD])
        data = rows.select([]).append_column(ROWID_FIELD, pa.array(rowids, pa.int64()))
        for i, column in enumerate(rows.columns):
            data = data.add_column(i, schema.field(i), column)
        return cls(data, tuple(f.id for f in fields))

    @property
    def num_rows(self) -> int:
        return self.data.num_rows

    @property
    def nbytes(self) -> int:
        return self.data.nbytes

    def rowids(self) -> np.ndarray:
        column = self.data.column(self.data.num_columns - 1)
        if column.num_chunks == 1:
            return column.chunk(0).to_numpy()
        return column.to_numpy()

    def with_rowids(self, rowids: np.ndarray) -> "Chunk":
        position = self.data.num_columns - 1
        return Chunk(self.data.set_column(position, ROWID_FIELD, pa.array(rowids, pa.int64())), self.field_ids)

    def slice(self, offset: int, length: int) -> "Chunk":
        return Chunk(self.data.slice(offset, length), self.field_ids)

    def filter(self, keep: np.ndarray) -> "Chunk":
        return Chunk(self.data.filter(pa.array(keep, pa.bool_())), self.field_ids)

    def project(self, fields: Sequence[FieldMeta]) -> pa.Table:
        """The rows as ``fields`` see them (current names, fills for newer fields), plus ROWID."""
        key = tuple(fields)
        found = self._projections.get(key)
        if found is None:
            found, filled = self._project(key)
            if not filled:
                if len(self._projections) >= KEPT_PROJECTIONS:
                    self._projections.clear()
                self._projections[key] = found
        return found

    def _project(self, fields: Sequence[FieldMeta]) -> tuple[pa.Table, bool]:
        """The projection, and whether it fills a field the chunk does not store."""
        positions = {field_id: i for i, field_id in enumerate(self.field_ids)}
        columns, filled = [], False
        for meta in fields:
            position = positions.get(meta.id)
            if position is None:
                columns.append(meta.fill_column(self.num_rows))
                filled = True
            else:
                columns.append(self.data.column(position))
        columns.append(self.data.column(self.data.num_columns - 1))
        schema = pa.schema([f.field for f in fields] + [ROWID_FIELD])
        return pa.Table.from_arrays(columns, schema=schema), filled


def _with_field_ids(schema: pa.Schema, field_ids: tuple[int, ...]) -> pa.Schema:
    return schema.with_metadata({FIELD_IDS_KEY: ",".join(map(str, field_ids)).encode()})


def _field_ids(schema: pa.Schema) -> tuple[int, ...]:
    text = (schema.metadata or {}).get(FIELD_IDS_KEY, b"").decode()
    return tuple(int(x) for x in text.split(",")) if text else ()


def write_stream(chunk: Chunk, sink: object) -> None:
    """Write the chunk as an IPC stream to ``sink`` (an object with ``write``), buffer by
    buffer. Its row ids are provisional: the WAL record gives the real ones as a range
    (``decode_stream``)."""
    data = chunk.data.replace_schema_metadata(_with_field_ids(chunk.data.schema, chunk.field_ids).metadata)
    with pa.ipc.new_stream(pa.PythonFile(sink, mode="w"), data.schema) as writer:
        writer.write_table(data)


def decode_stream(payload: memoryview | bytes, first_rowid: int) -> Chunk:
    """The chunk ``write_stream`` wrote, its rows numbered from ``first_rowid``."""
    data = pa.ipc.open_stream(pa.py_buffer(payload)).read_all()
    chunk = Chunk(data.replace_schema_metadata(None), _field_ids(data.schema))
    return chunk.with_rowids(np.arange(first_rowid, first_rowid + data.num_rows, dtype=np.int64))


def write_file(path: str, chunk: Chunk) -> int:
    """Write the chunk as an IPC file of one record batch, durably; return its size."""
    data = chunk.data.combine_chunks()
    schema = _with_field_ids(data.schema, chunk.field_ids)
    temporary = path + ".tmp"
    with pa.OSFile(temporary, "wb") as sink:
        with pa.ipc.new_file(sink, schema) as writer:
            writer.write_table(data.replace_schema_metadata(schema.metadata))
    fsync_file(temporary)
    os.replace(temporary, path)
    fsync_directory(os.path.dirname(path))
    return os.path.getsize(path)


def open_file(path: str) -> Chunk:
    """The chunk in a segment file, memory-mapped: its columns are views of the file."""
    with pa.memory_map(path, "r") as source:
        data = pa.ipc.open_file(source).read_all()
    return Chunk(data.replace_schema_metadata(None), _field_ids(data.schema))


def concat(chunks: Sequence[Chunk], fields: Sequence[FieldMeta]) -> Chunk:
    """One chunk holding the rows of ``chunks`` as ``fields`` see them (one copy)."""
    tables = [c.project(fields) for c in chunks]
    data = pa.concat_tables(tables).combine_chunks() if tables else empty_table(fields)
    return Chunk(data, tuple(f.id for f in fields))


def empty_table(fields: Sequence[FieldMeta]) -> pa.Table:
    return pa.schema([f.field for f in fields] + [ROWID_FIELD]).empty_table()
