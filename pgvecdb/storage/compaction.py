"""Compaction: rewrite sealed segments without their deleted rows, merging small ones.

``plan`` picks groups of sealed segments (in row id order) to become one new segment each:
segments whose deleted fraction reached ``compact_deleted_ratio``, and runs of segments
smaller than ``compact_small_ratio`` of ``segment_max_rows``; VACUUM FULL takes every
segment with a deleted row and packs everything up to the size limits.

``compact`` writes each group's live rows to a new segment (outside the commit lock), then
swaps it in under the lock, carrying over rows deleted meanwhile, and records it in the
manifest; the old files are removed only after that manifest is durable. Readers that
still hold the old segments keep reading their memory maps. A segment in which an open
transaction has deleted rows is left for a later round: the transaction's bitmaps name it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pgvecdb.engine.bitset import Bitset
from pgvecdb.storage.api import ROWID, SegmentSnapshot, StorageConfig
from pgvecdb.storage.chunk import Chunk
from pgvecdb.storage.manifest import segment_entries, segment_entry
from pgvecdb.storage.sealing import write_segment
from pgvecdb.storage.segment import Segment, SegmentState
from pgvecdb.storage.table import TableState

if TYPE_CHECKING:
    from pgvecdb.storage.store import SegmentStore


def plan(state: TableState, config: StorageConfig, *, full: bool, locked: set[int],
         max_rows: int | None = None) -> list[list[SegmentState]]:
    """Groups of sealed segments to rewrite, each into one segment of at most ``max_rows``
    rows (the table's segment size)."""
    max_rows = max_rows or config.segment_max_rows
    small_rows = config.compact_small_ratio * max_rows
    groups: list[list[SegmentState]] = []
    group: list[SegmentState] = []
    rows = nbytes = 0

    def close_group() -> None:
        nonlocal group, rows, nbytes
        if len(group) > 1 or (group and _dirty(group[0], config, full)):
            groups.append(group)
        group, rows, nbytes = [], 0, 0

    for seg in state.sealed:
        if not seg.segment.sealed or seg.segment.id in locked:
            close_group()
            continue
        dirty = _dirty(seg, config, full)
        if not dirty and not full and seg.live_rows >= small_rows:
            close_group()
            continue
        live_bytes = seg.segment.nbytes * seg.live_rows // max(1, seg.segment.num_rows)
        if rows + seg.live_rows > max_rows or nbytes + live_bytes > config.segment_max_bytes:
            close_group()
        group.append(seg)
        rows += seg.live_rows
        nbytes += live_bytes
    close_group()
    return groups


def _dirty(seg: SegmentState, config: StorageConfig, full: bool) -> bool:
    deleted = seg.deleted.count()
    if full:
        return deleted > 0
    return deleted > 0 and deleted >= config.compact_deleted_ratio * seg.segment.num_rows


def needs_compaction(state: TableState, config: StorageConfig, max_rows: int | None = None) -> bool:
    return bool(plan(state, config, full=False, locked=set(), max_rows=max_rows))


def compact(store: "SegmentStore", table_ids: list[int], *, full: bool) -> None:
    for table_id in table_ids:
        with store.maintenance_lock:
            job = Compaction.prepare(store, table_id, full=full)
            if job is None:
                continue
            job.merge()
        job.prepare_new_segments()
        with store.maintenance_lock:
            job.install()


class Compaction:
    """One table's compaction, in four steps: ``prepare`` (pick groups, under the commit
    lock), ``merge`` (write the new segments, no lock), ``prepare_new_segments`` (the
    store's preparers build what they need for them, such as indexes), ``install`` (swap
    them in, record the manifest, remove the old files). The caller holds the maintenance
    lock for the first two steps and for the last, not while the preparers work: nothing
    else sees the new segments until ``install``, which discards a group that changed
    meanwhile (another compaction, a truncate, a dropped table)."""

    def __init__(self, store: "SegmentStore", table_id: int, state: TableState, groups: list[list[SegmentState]]) -> None:
        self.store = store
        self.table_id = table_id
        self.state = state
        self.groups = groups
        self.merged: list[SegmentState | None] = []

    @classmethod
    def prepare(cls, store: "SegmentStore", table_id: int, *, full: bool) -> "Compaction | None":
        with store.commit_lock:
            state = store.tables.get(table_id)
            if state is None:
                return None
            groups = plan(state, store.config, full=full, locked=_locked_segments(store, table_id),
                          max_rows=store.segment_rows(table_id))
        return cls(store, table_id, state, groups) if groups else None

    def merge(self) -> None:
        if self.store.wal is not None:
            self.store.wal.sync()  # the deletes the merge drops are durable first
        self.merged = [_merge(self.store, self.table_id, self.state, group) for group in self.groups]

    def prepare_new_segments(self) -> None:
        fields = self.state.meta.fields
        self.store.prepare_segments(self.table_id, [
            SegmentSnapshot(new.segment.id, new.segment.sealed, new.segment.project(fields), new.deleted)
            for new in self.merged if new is not None])

    def install(self) -> None:
        store, table_id = self.store, self.table_id
        with store.commit_lock:
            current = store.tables.get(table_id)
            locked = _locked_segments(store, table_id)
            applied, discarded = [], False
            for group, new in zip(self.groups, self.merged):
                if current is None or not _still_free(current, group, locked):
                    _discard(store, table_id, new)
                    discarded = discarded or new is not None
                    continue
                new = _carry_deletes(current, group, new)
                current = current.with_segments_replaced({s.segment.id for s in group}, [new] if new else [])
                applied.append((group, new))
            if applied:
                store.set_table(table_id, current)
        if not applied:
            if discarded:  # what the preparers built for the discarded segments can go
                store.segments_changed([table_id])
            return
        store.persist(lambda doc: _record(doc, table_id, applied))
        if store.directory is not None:
            for group, _ in applied:
                for seg in group:
                    store.directory.remove_segment(table_id, seg.segment.id)
        store.segments_changed([table_id])


def _still_free(current: TableState, group: list[SegmentState], locked: set[int]) -> bool:
    """Every segment of ``group`` is still in the table and no open transaction deletes in it."""
    return all(current.find(s.segment.id) is not None and s.segment.id not in locked for s in group)


def _locked_segments(store: "SegmentStore", table_id: int) -> set[int]:
    locked: set[int] = set()
    for txn in store.open_transactions():
        locked |= txn.pending_delete_segments(table_id)
    return locked


def _merge(store: "SegmentStore", table_id: int, state: TableState, group: list[SegmentState]) -> SegmentState | None:
    """One new sealed segment with the live rows of ``group`` in row id order (None if none)."""
    fields = state.meta.fields
    pieces = [seg.visible(fields) for seg in group]
    rows = pa.concat_tables(pieces)
    if not rows.num_rows:
        return None
    rowids = rows.column(ROWID)
    if pc.any(pc.less_equal(rowids[1:], rowids[:-1])).as_py():
        rows = rows.take(pc.sort_indices(rowids))
    rows = rows.combine_chunks()
    chunk = Chunk(rows, tuple(f.id for f in fields))
    building = SegmentState.fresh(Segment(store.new_segment_id(), (chunk,)))
    return write_segment(store, table_id, building, state)


def _carry_deletes(current: TableState, group: list[SegmentState], new: SegmentState | None) -> SegmentState | None:
    """``new`` with the rows of ``group`` that were deleted after the merge read them."""
    if new is None:
        return None
    later = []
    for seg in group:
        now = current.find(seg.segment.id)
        extra = now.deleted.difference(seg.deleted).positions()
        later.append(seg.segment.rowids()[extra])
    rowids = np.concatenate(later)
    positions = new.segment.locate(rowids)
    positions = positions[positions >= 0]
    if not positions.size:
        return new
    return SegmentState(new.segment, Bitset.from_positions(new.segment.num_rows, positions))


def _discard(store: "SegmentStore", table_id: int, new: SegmentState | None) -> None:
    if new is not None and store.directory is not None:
        store.directory.remove_segment(table_id, new.segment.id)


def _record(doc: dict, table_id: int, applied: list[tuple[list[SegmentState], SegmentState | None]]) -> None:
    entries = segment_entries(doc, table_id)
    gone = {seg.segment.id for group, _ in applied for seg in group}
    entries[:] = [e for e in entries if e["id"] not in gone]
    entries += [segment_entry(new, 0) for _, new in applied if new is not None]
    entries.sort(key=lambda e: e["first_rowid"])
