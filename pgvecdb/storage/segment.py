"""Segments: the immutable row sets a table is made of, and their delete bitmaps.

A ``Segment`` never changes once built: appending to a growing segment builds a new one
(sharing the old chunks), and sealing replaces in-memory chunks by one memory-mapped file
holding the same rows in the same order, so row positions — which delete bitmaps and
vector indexes use — stay valid for the life of a segment id. Row ids inside a segment
always ascend, so finding a row is a binary search.

A ``SegmentState`` pairs a segment with the bitmap of its deleted rows at one moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pyarrow as pa

from pgvecdb.engine.bitset import Bitset
from pgvecdb.storage.chunk import Chunk, empty_table
from pgvecdb.storage.schema import FieldMeta

# Growing segments merge their small trailing chunks (amortised, like a binary counter) so
# that many one-row commits do not leave a scan with thousands of chunks to stitch.
MERGE_MAX_ROWS = 65536
MERGE_MAX_BYTES = 16 * 1024 * 1024
# A scan cuts deleted rows out with zero-copy slices when they form at most this many runs,
# and copies the kept rows with a filter otherwise.
SLICE_MAX_RUNS = 32


class Segment:
    """``sealed``: the rows are final, one chunk (a memory-mapped file in a data directory)."""

    __slots__ = ("id", "chunks", "num_rows", "sealed", "path", "file_bytes", "_rowids")

    def __init__(self, segment_id: int, chunks: tuple[Chunk, ...] = (), *, sealed: bool = False,
                 path: str | None = None, file_bytes: int = 0) -> None:
        self.id = segment_id
        self.chunks = chunks
        self.num_rows = sum(c.num_rows for c in chunks)
        self.sealed = sealed
        self.path = path
        self.file_bytes = file_bytes
        self._rowids: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.chunks)

    def appended(self, chunk: Chunk) -> "Segment":
        chunks = self.chunks + (chunk,)
        while len(chunks) >= 2 and _should_merge(chunks[-2], chunks[-1]):
            merged = pa.concat_tables([chunks[-2].data, chunks[-1].data]).combine_chunks()
            chunks = chunks[:-2] + (Chunk(merged, chunk.field_ids),)
        return Segment(self.id, chunks)

    def rowids(self) -> np.ndarray:
        if self._rowids is None:
            parts = [c.rowids() for c in self.chunks]
            self._rowids = parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.empty(0, np.int64)
        return self._rowids

    @property
    def first_rowid(self) -> int:
        return int(self.rowids()[0]) if self.num_rows else 0

    @property
    def last_rowid(self) -> int:
        return int(self.rowids()[-1]) if self.num_rows else -1

    def locate(self, rowids: np.ndarray) -> np.ndarray:
        """The position of each of ``rowids`` in this segment, -1 where it is not here."""
        own = self.rowids()
        if not own.size:
            return np.full(len(rowids), -1, dtype=np.int64)
        positions = np.searchsorted(own, rowids)
        found = positions < own.size
        found[found] = own[positions[found]] == rowids[found]
        return np.where(found, positions, -1).astype(np.int64)

    def project(self, fields: Sequence[FieldMeta]) -> pa.Table:
        """Every row (deleted ones too) as ``fields`` see them, plus ROWID."""
        tables = [c.project(fields) for c in self.chunks]
        if len(tables) == 1:
            return tables[0]
        return pa.concat_tables(tables) if tables else empty_table(fields)


def _should_merge(left: Chunk, right: Chunk) -> bool:
    return (
        left.field_ids == right.field_ids
        and left.num_rows <= right.num_rows
        and left.num_rows + right.num_rows <= MERGE_MAX_ROWS
        and left.nbytes + right.nbytes <= MERGE_MAX_BYTES
    )


@dataclass(frozen=True)
class SegmentState:
    segment: Segment
    deleted: Bitset

    @classmethod
    def fresh(cls, segment: Segment) -> "SegmentState":
        return cls(segment, Bitset(segment.num_rows))

    @property
    def live_rows(self) -> int:
        return self.segment.num_rows - self.deleted.count()

    def appended(self, chunk: Chunk) -> "SegmentState":
        segment = self.segment.appended(chunk)
        return SegmentState(segment, self.deleted.resized(segment.num_rows))

    def with_deleted(self, positions: np.ndarray) -> "SegmentState":
        deleted = self.deleted.copy()
        deleted.set(positions)
        return SegmentState(self.segment, deleted)

    def visible(self, fields: Sequence[FieldMeta], also_deleted: Bitset | None = None) -> pa.Table:
        """The rows not deleted (here or in ``also_deleted``), as ``fields`` see them."""
        table = self.segment.project(fields)
        deleted = self.deleted if also_deleted is None else self.deleted.union(also_deleted)
        return without_rows(table, deleted)


def without_rows(table: pa.Table, deleted: Bitset) -> pa.Table:
    """``table`` minus the rows whose bit is set: slices when few runs remain, else a filter."""
    if not deleted.any():
        return table
    keep = ~deleted.to_mask()
    edges = np.flatnonzero(np.diff(np.concatenate(([False], keep, [False])).astype(np.int8)))
    starts, stops = edges[0::2], edges[1::2]
    if len(starts) > SLICE_MAX_RUNS:
        return table.filter(pa.array(keep))
    if not len(starts):
        return table.slice(0, 0)
    return pa.concat_tables([table.slice(a, b - a) for a, b in zip(starts, stops)])
