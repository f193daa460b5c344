"""SegmentStore: the Store of storage.api over segments, a WAL and a manifest.

Concurrency. ``tables`` maps table oid -> immutable ``TableState`` and is replaced whole on
every change, so readers take it without a lock and see every table at one commit.
``commit_lock`` orders what changes it: commits (WAL append + publish), deletes and key
reservations of open transactions. ``maintenance_lock`` serialises whatever writes files
and the manifest (seal, checkpoint, compaction, DDL); it is always taken before
``commit_lock``, never inside it.

Durability. A commit is one WAL record, appended under ``commit_lock``; the fsync happens
after the lock is released, so concurrent commits share one (group commit). A commit is
visible to other transactions from its publication, a moment before its fsync returns;
whatever later commit depends on it is fsynced after it, the WAL being sequential.
Without ``synchronous_commit`` the maintenance thread fsyncs every ``wal_flush_interval``.

In memory (no path) the same code runs without WAL, manifest or files.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pyarrow as pa

from pgvecdb.errors import DuplicateTable, ObjectNotInPrerequisiteState, UndefinedTable
from pgvecdb.storage import compaction, sealing
from pgvecdb.storage.api import SegmentSnapshot, StorageConfig, UniqueConflict
from pgvecdb.storage.keys import UniqueIndex, first_duplicate
from pgvecdb.storage.files import replace_atomically
from pgvecdb.storage.layout import DataDirectory
from pgvecdb.storage.logrecords import SEQUENCE, TRANSACTION, delete_part, insert_part, sequence_part
from pgvecdb.storage.maintenance import Maintenance
from pgvecdb.storage.manifest import new_manifest, table_entry
from pgvecdb.storage.recovery import recover
from pgvecdb.storage.schema import TableMeta
from pgvecdb.storage.table import SealLimits, TableState
from pgvecdb.storage.transaction import SegmentTransaction, TableCommit
from pgvecdb.storage.wal import Part, WalWriter

log = logging.getLogger(__name__)

# A sequence logs its value this many increments ahead, as PostgreSQL does (SEQ_LOG_VALS).
SEQUENCE_LOG_AHEAD = 32


class SegmentStore:
    def __init__(self, path: str | None, config: StorageConfig, directory: DataDirectory | None) -> None:
        self.path = path
        self.config = config
        self.directory = directory
        self.wal: WalWriter | None = None
        self.limits = SealLimits(config.segment_max_rows, config.segment_max_bytes)
        self.commit_lock = threading.RLock()
        self.maintenance_lock = threading.RLock()
        self.tables: dict[int, TableState] = {}
        self.manifest: dict = new_manifest()
        self._indexes: dict[int, list[UniqueIndex]] = {}
        self._open: weakref.WeakValueDictionary[int, SegmentTransaction] = weakref.WeakValueDictionary()
        self._sequences: dict[int, int] = {}
        self._sequence_bounds: dict[int, int] = {}
        self._next_rowid = 1
        self._next_segment_id = 1
        self._maintenance: Maintenance | None = None
        self._closed = False
        self._segment_listeners: list[Callable[[list[int]], None]] = []
        self._segment_preparers: list[Callable[[int, list[SegmentSnapshot]], None]] = []
        self._segment_rows: dict[int, int] = {}  # tables whose segments seal smaller

    @classmethod
    def open(cls, path: str | None, config: StorageConfig) -> "SegmentStore":
        if path is None:
            store = cls(None, config, None)
        else:
            directory = DataDirectory(path)
            directory.open()
            try:
                store = cls(directory.path, config, directory)
                store._recover()
            except BaseException:
                directory.unlock()
                raise
        store._maintenance = Maintenance(store)
        store._maintenance.start()
        return store

    def _recover(self) -> None:
        recovered = recover(self.directory, self.limits)
        self.manifest = recovered.manifest
        self.tables = recovered.tables
        self._sequences = dict(recovered.sequences)
        self._sequence_bounds = dict(recovered.sequences)
        self._next_rowid = recovered.next_rowid
        self._next_segment_id = recovered.next_segment_id
        self.wal = WalWriter(self.directory.wal_path, recovered.wal_generation, recovered.next_lsn)
        for table_id, state in self.tables.items():
            self._indexes[table_id] = self._build_indexes(state)

    def close(self) -> None:
        """Checkpoint (everything sealed, WAL emptied) and release the directory."""
        if self._closed:
            return
        self._closed = True
        self._maintenance.stop()
        if self.directory is not None:
            sealing.checkpoint(self, exact_sequences=True)
            self.wal.close()
            self.directory.unlock()

    # identifiers ----------------------------------------------------------------------
    def new_segment_id(self) -> int:
        with self.commit_lock:
            self._next_segment_id += 1
            return self._next_segment_id - 1

    def counters(self) -> dict:
        """The manifest's counters as of now."""
        return {
            "next_rowid": self._next_rowid,
            "next_segment_id": self._next_segment_id,
            "next_lsn": self.wal.next_lsn if self.wal else 1,
        }

    # tables ---------------------------------------------------------------------------
    def table(self, table_id: int) -> TableState:
        state = self.tables.get(table_id)
        if state is None:
            raise UndefinedTable(f"relation with OID {table_id} does not exist")
        return state

    def set_table(self, table_id: int, state: TableState | None) -> None:
        """Publish a new state of one table (None: the table is gone). Under commit_lock."""
        tables = dict(self.tables)
        if state is None:
            tables.pop(table_id, None)
        else:
            tables[table_id] = state
        self.tables = tables

    def persist(self, change: Callable[[dict], None]) -> None:
        """Apply ``change`` to the manifest and write it. Under maintenance_lock."""
        change(self.manifest)
        self.manifest.update(self.counters())
        if self.directory is not None:
            self.directory.write_manifest(self.manifest)

    def create_table(self, table_id: int, schema: pa.Schema) -> None:
        with self.maintenance_lock:
            with self.commit_lock:
                if table_id in self.tables:
                    raise DuplicateTable(f"relation with OID {table_id} already exists")
                meta = TableMeta.create(table_id, schema)
                self.set_table(table_id, TableState(meta))
                self._indexes[table_id] = []
                replay_from = self._next_rowid
            if self.directory is not None:
                self.directory.ensure_table(table_id)
            self.persist(lambda doc: doc["tables"].__setitem__(str(table_id), table_entry(meta, replay_from)))

    def drop_table(self, table_id: int) -> None:
        with self.maintenance_lock:
            with self.commit_lock:
                if table_id not in self.tables:
                    return
                self.set_table(table_id, None)
                self._indexes.pop(table_id, None)
            self.persist(lambda doc: doc["tables"].pop(str(table_id), None))
            if self.directory is not None:
                self.directory.remove_table(table_id)

    def truncate_table(self, table_id: int) -> None:
        with self.maintenance_lock:
            with self.commit_lock:
                state = self.table(table_id)
                self.set_table(table_id, state.emptied())
                for index in self._indexes[table_id]:
                    index.committed.clear()
                replay_from = self._next_rowid

            def change(doc: dict) -> None:
                entry = doc["tables"][str(table_id)]
                entry["segments"] = []
                entry["replay_from"] = replay_from

            self.persist(change)
            if self.directory is not None:
                for seg in state.sealed:
                    self.directory.remove_segment(table_id, seg.segment.id)

    def _alter(self, table_id: int, alter: Callable[[TableMeta], TableMeta], reindex: bool) -> None:
        with self.maintenance_lock:
            with self.commit_lock:
                state = self.table(table_id)
                state = state.with_meta(alter(state.meta))
                indexes = self._build_indexes(state) if reindex else self._indexes[table_id]
                self.set_table(table_id, state)
                self._indexes[table_id] = indexes
            self.persist(lambda doc: doc["tables"][str(table_id)].update(state.meta.to_json()))

    def add_column(self, table_id: int, field: pa.Field, fill: pa.Scalar | None = None) -> None:
        self._alter(table_id, lambda meta: meta.with_field_added(field, fill), reindex=False)

    def drop_column(self, table_id: int, name: str) -> None:
        self._alter(table_id, lambda meta: meta.with_field_dropped(name), reindex=True)

    def rename_column(self, table_id: int, old: str, new: str) -> None:
        self._alter(table_id, lambda meta: meta.with_field_renamed(old, new), reindex=True)

    def set_unique_keys(self, table_id: int, keys: list[list[str]]) -> None:
        self._alter(table_id, lambda meta: meta.with_unique_keys(keys), reindex=True)

    def _build_indexes(self, state: TableState) -> list[UniqueIndex]:
        """Index every committed visible row of ``state``; UniqueConflict on a duplicate."""
        indexes = []
        for number, key in enumerate(state.meta.unique_keys):
            index = UniqueIndex(key)
            fields = state.meta.select(list(key))
            rows = [s.visible(fields) for s in state.segments()]
            table = pa.concat_tables(rows) if rows else None
            if table is not None and table.num_rows:
                index.rebuild(table, table.column(table.num_columns - 1).to_pylist())
                keys = [k for k in index.keys_of(table) if k is not None]
                if len(index.committed) != len(keys):
                    duplicate = first_duplicate(keys)
                    raise UniqueConflict(state.meta.table_id, number, index.as_tuple(duplicate), index.committed[duplicate])
            indexes.append(index)
        return indexes

    def unique_indexes(self, table_id: int, *, missing_ok: bool = False) -> list[UniqueIndex]:
        indexes = self._indexes.get(table_id)
        if indexes is None:
            if missing_ok:
                return []
            raise UndefinedTable(f"relation with OID {table_id} does not exist")
        return indexes

    def table_schema(self, table_id: int) -> pa.Schema:
        return self.table(table_id).meta.schema

    def table_size(self, table_id: int) -> int:
        """Bytes on disk: sealed segment files and delete bitmaps, plus the rows still only
        in the WAL (all bytes in memory for an in-memory store)."""
        total = 0
        for seg in self.table(table_id).segments():
            segment = seg.segment
            if segment.path is None:
                total += segment.nbytes
                continue
            total += segment.file_bytes
            total += self.directory.file_size(self.directory.segment_file(table_id, segment.id, "del"))
        return total

    def segment_path(self, table_id: int, segment_id: int, suffix: str) -> str | None:
        """Where a file belonging to a segment (an index, say) lives; None in memory."""
        if self.directory is None:
            return None
        return self.directory.segment_file(table_id, segment_id, suffix)

    def save_segment_file(self, table_id: int, segment_id: int, suffix: str, data: bytes) -> None:
        """Keep ``data`` beside a sealed segment (an index of it); it goes with the segment.
        Nothing is kept in memory."""
        path = self.segment_path(table_id, segment_id, suffix)
        if path is not None and self.directory.has_table(table_id):
            replace_atomically(path, data)

    def remove_segment_files(self, table_id: int, suffix: str) -> None:
        """Remove the files with ``suffix`` of every segment of a table (a dropped index's)."""
        if self.directory is not None:
            self.directory.remove_segment_files(table_id, suffix)

    def load_catalog(self) -> dict | None:
        return self.manifest["catalog"]

    def save_catalog(self, document: dict) -> None:
        with self.maintenance_lock:
            self.persist(lambda doc: doc.__setitem__("catalog", document))

    # sequences ------------------------------------------------------------------------
    def sequence_next(self, seq_id: int, start: int, increment: int) -> int:
        with self.commit_lock:
            last = self._sequences.get(seq_id)
            value = start if last is None else last + increment
            self._sequences[seq_id] = value
            bound = self._sequence_bounds.get(seq_id)
            if bound is None or (value - bound) * increment > 0:
                bound = value + increment * (SEQUENCE_LOG_AHEAD - 1)
                self._sequence_bounds[seq_id] = bound
                lsn = self._log(SEQUENCE, [sequence_part(seq_id, bound)])
            else:
                lsn = None
        if lsn is not None:
            self.wal.sync(lsn)
        return value

    def sequence_set(self, seq_id: int, value: int) -> None:
        with self.commit_lock:
            self._sequences[seq_id] = value
            self._sequence_bounds[seq_id] = value
            lsn = self._log(SEQUENCE, [sequence_part(seq_id, value)])
        if lsn is not None:
            self.wal.sync(lsn)

    def sequence_states(self, *, exact: bool) -> dict[str, int]:
        """Sequence values for the manifest: the logged bounds, or (at close) the values."""
        source = self._sequences if exact else self._sequence_bounds
        return {str(k): v for k, v in source.items()}

    def _log(self, record_type: int, parts: list[Part]) -> int | None:
        return self.wal.append(record_type, parts) if self.wal is not None else None

    # transactions ---------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise ObjectNotInPrerequisiteState("the database is closed")

    def begin(self) -> SegmentTransaction:
        self._check_open()
        txn = SegmentTransaction(self)
        with self.commit_lock:
            self._open[txn.id] = txn
        return txn

    def open_transactions(self) -> list[SegmentTransaction]:
        return list(self._open.values())

    def is_open(self, txn_id: int) -> bool:
        return txn_id in self._open

    def forget(self, txn: SegmentTransaction) -> None:
        self._open.pop(txn.id, None)

    def publish(self, commits: list[TableCommit], sync: bool | None, end: Callable[[], None]) -> None:
        """Log and publish one transaction's writes, all at once; ``end`` (which drops the
        transaction's key reservations) runs in the same critical section, so no other
        transaction ever sees a key both committed and still reserved by its committer."""
        self._check_open()
        with self.commit_lock:
            tables = dict(self.tables)
            record: list[Part] = []
            key_updates = []
            for commit in commits:
                state = tables.get(commit.table_id)
                if state is None:
                    continue
                state, table_parts, updates = self._apply(state, commit)
                tables[commit.table_id] = state
                record += table_parts
                key_updates += updates
            lsn = self._log(TRANSACTION, record) if record else None
            for update in key_updates:
                update.index.publish(update.removed, update.added, update.added_rowids)
            self.tables = tables
            end()
        if lsn is not None and (self.config.synchronous_commit if sync is None else sync):
            self.wal.sync(lsn)
        if any(s.frozen_segments() for s in tables.values()):
            self._maintenance.wake()

    def _apply(self, state: TableState, commit: TableCommit) -> tuple[TableState, list[Part], list["_KeyUpdate"]]:
        """Under commit_lock: ``state`` with the commit applied, its WAL parts, its key updates."""
        positions = {}
        for segment_id, bits in commit.deleted.items():
            seg = state.find(segment_id)
            if seg is not None:
                positions[segment_id] = bits.positions()
        removed = self._keys_of_rows(state, positions)
        record = []
        if positions:
            rowids = np.concatenate([state.find(s).segment.rowids()[p] for s, p in positions.items()])
            record.append(delete_part(commit.table_id, rowids))
        state = state.with_deleted(positions)
        first = self._next_rowid
        provisional = []
        for chunk in commit.chunks:
            provisional.append(chunk.rowids())
            record.append(insert_part(commit.table_id, chunk, self._next_rowid))
            chunk = chunk.with_rowids(np.arange(self._next_rowid, self._next_rowid + chunk.num_rows, dtype=np.int64))
            self._next_rowid += chunk.num_rows
            state = state.with_rows(chunk, self.new_segment_id, self.seal_limits(commit.table_id))
        real_of = _real_rowid_lookup(provisional, first)
        updates = []
        for index, gone, own in zip(self._indexes.get(commit.table_id, []), removed, commit.own_keys):
            added = list(own.keys())
            reals = real_of(np.fromiter(own.values(), dtype=np.int64, count=len(own)))
            updates.append(_KeyUpdate(index, gone, added, reals.tolist()))
        return state, record, updates

    def _keys_of_rows(self, state: TableState, positions: dict[int, np.ndarray]) -> list[list]:
        """Per unique index, the keys of the rows at ``positions`` (segment id -> positions)."""
        result = []
        for index in self._indexes.get(state.meta.table_id, []):
            fields = state.meta.select(list(index.columns))
            keys: list = []
            for segment_id, found in positions.items():
                rows = state.find(segment_id).segment.project(fields).take(pa.array(found))
                keys += [k for k in index.keys_of(rows) if k is not None]
            result.append(keys)
        return result

    # maintenance ----------------------------------------------------------------------
    def flush(self) -> None:
        """fsync what deferred commits appended."""
        if self.wal is not None and self.wal.unsynced:
            self.wal.sync()

    def checkpoint(self) -> None:
        sealing.checkpoint(self)

    def seal_frozen(self) -> None:
        sealing.seal_frozen(self)

    def seal_table(self, table_id: int) -> None:
        sealing.seal_table(self, table_id)

    def set_segment_rows(self, table_id: int, rows: int | None) -> None:
        """Seal this table's growing segment at ``rows`` rows (None: the configured size).
        Not persisted: whoever asks for it asks again after a restart."""
        with self.commit_lock:
            if rows is None:
                self._segment_rows.pop(table_id, None)
            else:
                self._segment_rows[table_id] = min(rows, self.config.segment_max_rows)

    def segment_rows(self, table_id: int) -> int:
        return self._segment_rows.get(table_id, self.config.segment_max_rows)

    def seal_limits(self, table_id: int) -> SealLimits:
        rows = self._segment_rows.get(table_id)
        return self.limits if rows is None else SealLimits(rows, self.limits.max_bytes)

    def add_segment_listener(self, listener: Callable[[list[int]], None]) -> None:
        """Call ``listener(table_ids)`` whenever tables gain sealed segments or lose some
        to compaction, or a compaction discards segments it had prepared (from the thread
        that did it; it must return quickly)."""
        self._segment_listeners.append(listener)

    def segments_changed(self, table_ids: list[int]) -> None:
        if not table_ids:
            return
        for listener in self._segment_listeners:
            try:
                listener(table_ids)
            except Exception:
                log.exception("a segment listener failed")

    def add_segment_preparer(self, preparer: Callable[[int, list[SegmentSnapshot]], None]) -> None:
        """Call ``preparer(table_id, segments)`` with the segments a compaction has written
        and is about to swap in for older ones (on the compacting thread, before readers
        can see them): what it prepares for them, such as their indexes, is ready when they
        replace the old segments (Milvus's handoff)."""
        self._segment_preparers.append(preparer)

    def prepare_segments(self, table_id: int, segments: list[SegmentSnapshot]) -> None:
        for preparer in self._segment_preparers:
            try:
                preparer(table_id, segments)
            except Exception:
                log.exception("a segment preparer failed")

    def vacuum(self, table_id: int | None = None, *, full: bool = False) -> None:
        if full:
            sealing.checkpoint(self)
        if table_id is not None:
            self.table(table_id)
        table_ids = list(self.tables) if table_id is None else [table_id]
        compaction.compact(self, table_ids, full=full)


@dataclass
class _KeyUpdate:
    """What a commit changes in one unique index: keys of deleted rows, keys of new rows."""

    index: UniqueIndex
    removed: list
    added: list
    added_rowids: list[int]


def _real_rowid_lookup(provisional: list[np.ndarray], first: int) -> Callable[[np.ndarray], np.ndarray]:
    """Map the provisional ids of committed rows to the real ids given from ``first`` on."""
    if not provisional:
        return lambda ids: ids
    ids = np.concatenate(provisional)
    table = np.full(int(-ids.min()), -1, dtype=np.int64)
    table[-ids - 1] = np.arange(first, first + ids.size, dtype=np.int64)
    return lambda wanted: table[-wanted - 1]
