"""Sealing and checkpoints: frozen segments become files, the WAL becomes redundant.

``seal_frozen`` writes the segments that filled up (frozen at commit) as memory-mapped
Arrow files and records them in the manifest with the table's new ``replay_from``.
``checkpoint`` freezes every growing segment and starts a new WAL file, seals what it froze,
writes the delete bitmaps that changed, and records it all in the manifest with the new
``wal_start``; then the older WAL files go.

What a seal or checkpoint writes is taken under the commit lock and the WAL is fsynced
before it is written, so no file ever holds a change the WAL could still lose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgvecdb.storage.chunk import concat, open_file, write_file
from pgvecdb.storage.manifest import segment_entries, segment_entry
from pgvecdb.storage.segment import Segment, SegmentState
from pgvecdb.storage.table import TableState

if TYPE_CHECKING:
    from pgvecdb.storage.store import SegmentStore


def seal_frozen(store: "SegmentStore") -> None:
    with store.maintenance_lock:
        with store.commit_lock:
            tables = store.tables
        frozen = {t: s for t, s in tables.items() if s.frozen_segments()}
        if not frozen:
            return
        if store.wal is not None:
            store.wal.sync()
        entries = {t: _seal_table(store, t, state) for t, state in frozen.items()}
        store.persist(lambda doc: _record_seals(doc, entries))
    store.segments_changed(list(entries))


def seal_table(store: "SegmentStore", table_id: int) -> None:
    """Seal the growing segment of one table now (before an index is built over its rows)."""
    with store.maintenance_lock:
        with store.commit_lock:
            store.set_table(table_id, store.table(table_id).frozen())
        seal_frozen(store)


def checkpoint(store: "SegmentStore", *, exact_sequences: bool = False) -> None:
    with store.maintenance_lock:
        with store.commit_lock:
            for table_id, state in store.tables.items():
                store.set_table(table_id, state.frozen())
            tables = store.tables
            generation = store.wal.rotate() if store.wal is not None else None
            sequences = store.sequence_states(exact=exact_sequences)
        sealed = {t: _seal_table(store, t, s) for t, s in tables.items() if s.frozen_segments()}
        deletes = {t: _write_changed_deletes(store, t, s) for t, s in tables.items()}

        def change(doc: dict) -> None:
            _record_seals(doc, sealed)
            for table_id, counts in deletes.items():
                for entry in segment_entries(doc, table_id):
                    entry["deleted"] = counts.get(entry["id"], entry["deleted"])
            doc["sequences"] = sequences
            if generation is not None:
                doc["wal_start"] = generation

        store.persist(change)
        if generation is not None:
            store.wal.remove_before(generation)
    store.segments_changed(list(sealed))


def _seal_table(store: "SegmentStore", table_id: int, state: TableState) -> list[dict]:
    """Write the frozen segments of ``state``, publish them sealed; their manifest entries."""
    written = [write_segment(store, table_id, seg, state) for seg in state.frozen_segments()]
    with store.commit_lock:
        current = store.tables[table_id]
        for seg in written:
            now = current.find(seg.segment.id)
            current = current.with_segment(SegmentState(seg.segment, now.deleted))
        store.set_table(table_id, current)
    return [segment_entry(seg, seg.deleted.count()) for seg in written]


def write_segment(store: "SegmentStore", table_id: int, seg: SegmentState, state: TableState,
                  segment_id: int | None = None) -> SegmentState:
    """``seg``'s rows as one sealed chunk — a file, memory-mapped, in a data directory —
    with the delete bitmap of ``seg`` (written beside it when it has bits)."""
    segment_id = seg.segment.id if segment_id is None else segment_id
    chunk = concat(seg.segment.chunks, state.meta.fields)
    if store.directory is None:
        return SegmentState(Segment(segment_id, (chunk,), sealed=True), seg.deleted)
    path = store.directory.segment_file(table_id, segment_id)
    size = write_file(path, chunk)
    if seg.deleted.any():
        store.directory.write_deletes(table_id, segment_id, seg.deleted)
    segment = Segment(segment_id, (open_file(path),), sealed=True, path=path, file_bytes=size)
    return SegmentState(segment, seg.deleted)


def _write_changed_deletes(store: "SegmentStore", table_id: int, state: TableState) -> dict[int, int]:
    """Write the delete bitmaps of sealed segments that changed since the manifest's."""
    if store.directory is None:
        return {}
    durable = {e["id"]: e["deleted"] for e in segment_entries(store.manifest, table_id)}
    counts = {}
    for seg in state.sealed:
        count = seg.deleted.count()
        if seg.segment.id in durable and count != durable[seg.segment.id]:
            store.directory.write_deletes(table_id, seg.segment.id, seg.deleted)
            counts[seg.segment.id] = count
    return counts


def _record_seals(doc: dict, sealed: dict[int, list[dict]]) -> None:
    for table_id, entries in sealed.items():
        if str(table_id) not in doc["tables"] or not entries:
            continue
        table = doc["tables"][str(table_id)]
        table["segments"] += entries
        table["segments"].sort(key=lambda e: e["first_rowid"])
        table["replay_from"] = max(table["replay_from"], max(e["last_rowid"] for e in entries) + 1)
