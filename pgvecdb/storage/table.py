"""The committed state of one table at one moment: its segments and delete bitmaps.

A ``TableState`` is immutable; a commit, a seal or a compaction builds a new one and the
store publishes it, so a reader holding an old state (a snapshot) keeps a consistent view
whatever happens after.

``sealed`` holds the segments that no longer grow, ordered by their first row id (so a scan
returns rows in commit order), then comes the growing segment. Those not yet sealed
(``Segment.sealed`` false) are *frozen*: full, waiting for the maintenance thread to write
their file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable

import numpy as np

from pgvecdb.storage.chunk import Chunk
from pgvecdb.storage.schema import TableMeta
from pgvecdb.storage.segment import Segment, SegmentState


@dataclass(frozen=True)
class SealLimits:
    max_rows: int
    max_bytes: int

    def reached(self, state: SegmentState) -> bool:
        segment = state.segment
        return segment.num_rows >= self.max_rows or segment.nbytes >= self.max_bytes

    def room(self, state: SegmentState, chunk: Chunk) -> int:
        """How many rows of ``chunk`` fit before ``state`` must seal (at least one)."""
        segment = state.segment
        by_rows = self.max_rows - segment.num_rows
        row_bytes = max(1, chunk.nbytes // max(1, chunk.num_rows))
        by_bytes = (self.max_bytes - segment.nbytes) // row_bytes
        return max(1, min(by_rows, by_bytes, chunk.num_rows))


@dataclass(frozen=True)
class TableState:
    meta: TableMeta
    sealed: tuple[SegmentState, ...] = ()
    growing: SegmentState | None = None

    def segments(self) -> tuple[SegmentState, ...]:
        return self.sealed + ((self.growing,) if self.growing is not None else ())

    def find(self, segment_id: int) -> SegmentState | None:
        return next((s for s in self.segments() if s.segment.id == segment_id), None)

    def frozen_segments(self) -> list[SegmentState]:
        return [s for s in self.sealed if not s.segment.sealed]

    @property
    def live_rows(self) -> int:
        return sum(s.live_rows for s in self.segments())

    def with_meta(self, meta: TableMeta) -> "TableState":
        return replace(self, meta=meta)

    def emptied(self) -> "TableState":
        return TableState(self.meta)

    def with_rows(self, chunk: Chunk, new_segment_id: Callable[[], int], limits: SealLimits) -> "TableState":
        """Append ``chunk`` to the growing segment, freezing it whenever it is full."""
        sealed, growing = self.sealed, self.growing
        offset = 0
        while offset < chunk.num_rows:
            if growing is None:
                growing = SegmentState.fresh(Segment(new_segment_id()))
            rest = chunk.slice(offset, chunk.num_rows - offset)
            piece = rest.slice(0, limits.room(growing, rest))
            growing = growing.appended(piece)
            offset += piece.num_rows
            if limits.reached(growing):
                sealed, growing = sealed + (growing,), None
        return TableState(self.meta, sealed, growing)

    def frozen(self) -> "TableState":
        """The growing segment, if any, frozen (sealed, waiting for its file)."""
        if self.growing is None or not self.growing.segment.num_rows:
            return TableState(self.meta, self.sealed, None)
        return TableState(self.meta, self.sealed + (self.growing,), None)

    def with_deleted(self, positions: dict[int, np.ndarray]) -> "TableState":
        """The rows at ``positions`` (segment id -> positions) marked deleted."""
        if not positions:
            return self

        def update(state: SegmentState) -> SegmentState:
            found = positions.get(state.segment.id)
            return state if found is None or not len(found) else state.with_deleted(found)

        growing = update(self.growing) if self.growing is not None else None
        return TableState(self.meta, tuple(update(s) for s in self.sealed), growing)

    def with_segment(self, state: SegmentState) -> "TableState":
        """``state`` in place of the segment with its id (a frozen segment now in a file)."""
        sealed = tuple(state if s.segment.id == state.segment.id else s for s in self.sealed)
        return TableState(self.meta, sealed, self.growing)

    def with_segments_replaced(self, old_ids: set[int], new: Iterable[SegmentState]) -> "TableState":
        kept = [s for s in self.sealed if s.segment.id not in old_ids]
        sealed = tuple(sorted(kept + list(new), key=lambda s: s.segment.first_rowid))
        return TableState(self.meta, sealed, self.growing)

    def locate(self, rowids: np.ndarray) -> dict[int, np.ndarray]:
        """Where the given row ids are: segment id -> positions (ids not found are left out)."""
        rowids = np.asarray(rowids, dtype=np.int64)
        found: dict[int, np.ndarray] = {}
        for state in self.segments():
            segment = state.segment
            if not segment.num_rows:
                continue
            candidates = rowids[(rowids >= segment.first_rowid) & (rowids <= segment.last_rowid)]
            if not candidates.size:
                continue
            positions = segment.locate(candidates)
            positions = positions[positions >= 0]
            if positions.size:
                found[segment.id] = positions
        return found
