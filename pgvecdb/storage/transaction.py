"""A transaction: its own inserted rows and deletes, unique-key reservations, savepoints.

What a transaction wrote stays private until commit:

* the rows it inserted form a private segment (``TableWrites.own``) whose row at position
  ``p`` has the provisional row id ``-(p + 1)``; deleting one of them sets its bit there;
* the committed rows it deleted are bitsets per segment id (``TableWrites.deleted``).

Both are immutable values replaced on every change, so a savepoint is a copy of a dict.
Unique keys it inserted are reserved in the store's ``UniqueIndex`` (see ``storage.keys``)
and remembered here (``_own_keys``: key -> provisional row id) to tell its own rows apart;
a key stays reserved when its own row is deleted, until the transaction ends.
``commit`` hands ``TableCommit``s to the store, which logs and publishes them atomically.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np
import pyarrow as pa

from pgvecdb.engine.bitset import Bitset
from pgvecdb.errors import InvalidSavepointSpecification, SerializationFailure, UndefinedTable
from pgvecdb.storage.api import SegmentSnapshot, UniqueConflict
from pgvecdb.storage.chunk import Chunk, empty_table
from pgvecdb.storage.keys import UniqueIndex, first_duplicate
from pgvecdb.storage.schema import FieldMeta, TableMeta
from pgvecdb.storage.segment import Segment, SegmentState, without_rows
from pgvecdb.storage.table import TableState

if TYPE_CHECKING:
    from pgvecdb.storage.store import SegmentStore

OWN_SEGMENT_ID = -1
_transaction_ids = itertools.count(1)


def fitted(bits: Bitset, size: int) -> Bitset:
    """``bits`` grown to ``size`` (a growing segment got longer since they were taken)."""
    return bits if bits.size == size else bits.resized(size)


@dataclass(frozen=True)
class TableWrites:
    own: SegmentState
    deleted: dict[int, Bitset] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> "TableWrites":
        return cls(SegmentState.fresh(Segment(OWN_SEGMENT_ID)))

    @property
    def changes(self) -> bool:
        return self.own.live_rows > 0 or any(b.any() for b in self.deleted.values())

    def own_row_deleted(self, provisional: int) -> bool:
        return self.own.deleted.test(-provisional - 1)


@dataclass
class TableCommit:
    """One table's part of a commit, prepared outside the store's commit lock."""

    table_id: int
    chunks: list[Chunk]  # surviving own rows, provisional row ids
    deleted: dict[int, Bitset]  # segment id -> committed rows deleted
    own_keys: list[dict]  # per unique key: key -> provisional row id of surviving rows


@dataclass
class _Savepoint:
    name: str
    writes: dict[int, TableWrites]
    own_keys: dict[tuple[int, int], dict]
    reserved: dict[tuple[int, int], set]  # what each index held reserved for the transaction


class SegmentTransaction:
    def __init__(self, store: "SegmentStore") -> None:
        self.id = next(_transaction_ids)
        self._store = store
        self._writes: dict[int, TableWrites] = {}
        self._own_keys: dict[tuple[int, int], dict] = {}  # (table, key no) -> key -> provisional id
        self._savepoints: list[_Savepoint] = []
        self._pinned: dict[int, TableState] | None = None
        self._finished = False

    # reading --------------------------------------------------------------------------
    @contextmanager
    def statement(self) -> Iterator[None]:
        """Let every scan inside see the same committed snapshot."""
        outer = self._pinned
        self._pinned = outer if outer is not None else self._store.tables
        try:
            yield
        finally:
            self._pinned = outer

    def _state(self, table_id: int) -> TableState:
        tables = self._pinned if self._pinned is not None else self._store.tables
        state = tables.get(table_id)
        if state is None:
            raise UndefinedTable(f"relation with OID {table_id} does not exist")
        return state

    def scan(self, table_id: int, columns: Sequence[str] | None = None) -> pa.Table:
        fields = self._state(table_id).meta.select(None if columns is None else list(columns))
        pieces = [without_rows(s.data, s.deleted) for s in self.scan_segments(table_id, columns)]
        pieces = [p for p in pieces if p.num_rows]
        if not pieces:
            return empty_table(fields)
        return pieces[0] if len(pieces) == 1 else pa.concat_tables(pieces)

    def scan_segments(self, table_id: int, columns: Sequence[str] | None = None) -> list[SegmentSnapshot]:
        state = self._state(table_id)
        fields = state.meta.select(None if columns is None else list(columns))
        writes = self._writes.get(table_id)
        snapshots = [SegmentSnapshot(seg.segment.id, seg.segment.sealed, seg.segment.project(fields), deleted)
                     for seg, deleted in self._visible_segments(state, writes)]
        if writes is not None and writes.own.segment.num_rows:
            own = writes.own
            snapshots.append(SegmentSnapshot(OWN_SEGMENT_ID, False, own.segment.project(fields), own.deleted))
        return snapshots

    @staticmethod
    def _visible_segments(state: TableState, writes: TableWrites | None) -> Iterator[tuple[SegmentState, Bitset]]:
        """Each committed segment with what this transaction must not see of it: the
        committed deletes and its own."""
        for seg in state.segments():
            deleted = seg.deleted
            mine = writes.deleted.get(seg.segment.id) if writes else None
            if mine is not None:
                deleted = deleted.union(fitted(mine, deleted.size))
            yield seg, deleted

    def fetch(self, table_id: int, rowids: np.ndarray, columns: Sequence[str] | None = None) -> pa.Table:
        """The visible rows among ``rowids``, with ROWID last, found by position in each
        segment (binary search over its row ids) rather than by a scan."""
        state = self._state(table_id)
        fields = state.meta.select(None if columns is None else list(columns))
        wanted = np.unique(np.asarray(rowids, dtype=np.int64))
        writes = self._writes.get(table_id)
        pieces = []
        for seg, deleted in self._visible_segments(state, writes):
            positions = seg.segment.locate(wanted)
            pieces.append(_rows_at(seg.segment, deleted, positions[positions >= 0], fields))
        if writes is not None and writes.own.segment.num_rows:
            own = writes.own  # provisional row id -n is its row n - 1
            positions = -wanted[wanted < 0] - 1
            pieces.append(_rows_at(own.segment, own.deleted, positions[positions < own.segment.num_rows], fields))
        pieces = [p for p in pieces if p is not None]
        if not pieces:
            return empty_table(fields)
        return pieces[0] if len(pieces) == 1 else pa.concat_tables(pieces)

    def lookup(self, table_id: int, key_index: int, keys: Sequence[tuple]) -> list[int | None]:
        index = self._store.unique_indexes(table_id)[key_index]
        own = self._own_keys.get((table_id, key_index), {})
        writes = self._writes.get(table_id)
        with self._store.commit_lock:
            state = self._store.tables[table_id]
            found = []
            for key in keys:
                key = index.normalize(key)
                provisional = own.get(key)
                if provisional is not None and not writes.own_row_deleted(provisional):
                    found.append(provisional)
                    continue
                rowid = index.committed.get(key)
                found.append(None if rowid is None or self._deleted_by_me(table_id, state, rowid) else rowid)
        return found

    def held_elsewhere(self, table_id: int, key_index: int, keys: Sequence[tuple]) -> list[bool]:
        """For each key, whether another open transaction has inserted it (INSERT ... ON
        CONFLICT DO NOTHING skips such rows rather than fail or wait)."""
        index = self._store.unique_indexes(table_id)[key_index]
        with self._store.commit_lock:
            return [index.held_elsewhere({index.normalize(key)}, self.id, self._store.is_open) is not None
                    for key in keys]

    # writing --------------------------------------------------------------------------
    def insert(self, table_id: int, rows: pa.Table) -> np.ndarray:
        state = self._state(table_id)
        rows = conform(rows, state.meta)
        writes = self._writes.get(table_id) or TableWrites.empty()
        start = writes.own.segment.num_rows
        provisional = -np.arange(start + 1, start + rows.num_rows + 1, dtype=np.int64)
        if state.meta.unique_keys and rows.num_rows:
            with self._store.commit_lock:
                self._reserve_keys(table_id, rows, provisional)
        chunk = Chunk.from_rows(rows, state.meta.fields, provisional)
        self._writes[table_id] = replace(writes, own=writes.own.appended(chunk))
        return provisional

    def delete(self, table_id: int, rowids: np.ndarray) -> int:
        return int(self._delete(table_id, np.asarray(rowids, dtype=np.int64)).sum())

    def update(self, table_id: int, rowids: np.ndarray, rows: pa.Table) -> np.ndarray:
        """Delete ``rowids`` and insert ``rows`` (one per row id) in their place.

        Rows whose old version was already deleted by a committed transaction are not
        inserted (PostgreSQL's UPDATE skips them); the new row ids of the others are returned.
        """
        return self._update(table_id, rowids, rows)[1]

    def update_rows(self, table_id: int, rowids: np.ndarray, rows: pa.Table) -> np.ndarray:
        """``update``, answering which rows it updated: a bool per row id (False where a
        committed transaction had already deleted the old version)."""
        return self._update(table_id, rowids, rows)[0]

    def _update(self, table_id: int, rowids: np.ndarray, rows: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        before = self._writes.get(table_id)
        try:
            done = self._delete(table_id, np.asarray(rowids, dtype=np.int64))
            return done, self.insert(table_id, rows.filter(pa.array(done)))
        except BaseException:
            self._restore(table_id, before)
            raise

    def _restore(self, table_id: int, writes: TableWrites | None) -> None:
        if writes is None:
            self._writes.pop(table_id, None)
        else:
            self._writes[table_id] = writes

    def _delete(self, table_id: int, rowids: np.ndarray) -> np.ndarray:
        """Delete the rows; True for each row id this call deleted (first occurrence only)."""
        self._state(table_id)
        unique, first = np.unique(rowids, return_index=True)
        writes = self._writes.get(table_id) or TableWrites.empty()
        writes, own_done = self._delete_own(writes, unique[unique < 0])
        committed = unique[unique >= 0]
        done_ids = [own_done]
        if committed.size:
            with self._store.commit_lock:
                writes, committed_done = self._delete_committed(table_id, writes, committed)
            done_ids.append(committed_done)
        self._writes[table_id] = writes
        done = np.zeros(len(rowids), dtype=bool)
        done[first[np.isin(unique, np.concatenate(done_ids))]] = True
        return done

    def _delete_own(self, writes: TableWrites, provisional: np.ndarray) -> tuple[TableWrites, np.ndarray]:
        positions = -provisional - 1
        positions = positions[positions < writes.own.segment.num_rows]
        positions = positions[~writes.own.deleted.to_mask()[positions]]
        if not positions.size:
            return writes, np.empty(0, np.int64)
        return replace(writes, own=writes.own.with_deleted(positions)), -positions - 1

    def _delete_committed(self, table_id: int, writes: TableWrites, rowids: np.ndarray) -> tuple[TableWrites, np.ndarray]:
        """Under the commit lock: mark committed rows deleted, skipping rows already gone."""
        state = self._store.tables[table_id]
        deleted = dict(writes.deleted)
        done = []
        for segment_id, positions in state.locate(rowids).items():
            seg = state.find(segment_id)
            size = seg.segment.num_rows
            mine = fitted(deleted.get(segment_id, Bitset(size)), size)
            positions = positions[~seg.deleted.to_mask()[positions] & ~mine.to_mask()[positions]]
            if not positions.size:
                continue
            self._check_not_deleted_by_others(table_id, segment_id, positions)
            mine = mine.copy()
            mine.set(positions)
            deleted[segment_id] = mine
            done.append(seg.segment.rowids()[positions])
        return replace(writes, deleted=deleted), np.concatenate(done) if done else np.empty(0, np.int64)

    def _check_not_deleted_by_others(self, table_id: int, segment_id: int, positions: np.ndarray) -> None:
        for other in self._store.open_transactions():
            if other is self:
                continue
            theirs = other._writes.get(table_id)
            bits = theirs.deleted.get(segment_id) if theirs else None
            if bits is None:
                continue
            inside = positions[positions < bits.size]
            if bits.to_mask()[inside].any():
                raise SerializationFailure(
                    "could not serialize access due to concurrent update",
                    detail="Another open transaction deleted or updated the same row.",
                )

    def pending_delete_segments(self, table_id: int) -> set[int]:
        """The segments of the table where this transaction deleted rows not yet committed."""
        writes = self._writes.get(table_id)
        return {s for s, bits in writes.deleted.items() if bits.any()} if writes else set()

    def _deleted_by_me(self, table_id: int, state: TableState, rowid: int) -> bool:
        writes = self._writes.get(table_id)
        if writes is None:
            return False
        for segment_id, positions in state.locate(np.array([rowid], dtype=np.int64)).items():
            mine = writes.deleted.get(segment_id)
            return mine is not None and int(positions[0]) < mine.size and mine.test(int(positions[0]))
        return False

    # unique keys ----------------------------------------------------------------------
    def _reserve_keys(self, table_id: int, rows: pa.Table, provisional: np.ndarray) -> None:
        """Under the commit lock: check the keys of ``rows``, then reserve them all."""
        indexes = self._store.unique_indexes(table_id)
        state = self._store.tables[table_id]
        keys = [index.keys_of(rows) for index in indexes]
        for number, (index, batch) in enumerate(zip(indexes, keys)):
            self._check_keys(table_id, state, number, index, batch)
        ids = provisional.tolist()
        for number, (index, batch) in enumerate(zip(indexes, keys)):
            live = dict(zip(batch, ids))
            live.pop(None, None)
            self._own_keys.setdefault((table_id, number), {}).update(live)
            index.reserve(self.id, live)

    def _check_keys(self, table_id: int, state: TableState, number: int, index: UniqueIndex, keys: list) -> None:
        new = [k for k in keys if k is not None]
        distinct = set(new)
        if len(distinct) != len(new):
            raise UniqueConflict(table_id, number, index.as_tuple(first_duplicate(new)), -1)
        own = self._own_keys.get((table_id, number), {})
        writes = self._writes.get(table_id)
        for key in distinct & own.keys():
            if not writes.own_row_deleted(own[key]):
                raise UniqueConflict(table_id, number, index.as_tuple(key), own[key])
        for key in distinct & index.committed.keys():
            rowid = index.committed[key]
            if not self._deleted_by_me(table_id, state, rowid):
                raise UniqueConflict(table_id, number, index.as_tuple(key), rowid)
        held = index.held_elsewhere(distinct, self.id, self._store.is_open)
        if held is not None:
            raise UniqueConflict(table_id, number, index.as_tuple(held), -1)

    # savepoints -----------------------------------------------------------------------
    def savepoint(self, name: str) -> None:
        with self._store.commit_lock:
            reserved = {key: index.reserved_by(self.id) for key, index in self._key_indexes()}
        self._savepoints.append(_Savepoint(
            name, dict(self._writes), {k: dict(v) for k, v in self._own_keys.items()}, reserved))

    def _find_savepoint(self, name: str) -> int:
        for i in range(len(self._savepoints) - 1, -1, -1):
            if self._savepoints[i].name == name:
                return i
        raise InvalidSavepointSpecification(f'savepoint "{name}" does not exist')

    def rollback_to(self, name: str) -> None:
        point = self._savepoints[self._find_savepoint(name)]
        with self._store.commit_lock:
            for key, index in self._key_indexes():
                index.restore(self.id, point.reserved.get(key, set()))
        self._writes = dict(point.writes)
        self._own_keys = {k: dict(v) for k, v in point.own_keys.items()}
        del self._savepoints[self._find_savepoint(name) + 1:]

    def release(self, name: str) -> None:
        del self._savepoints[self._find_savepoint(name):]

    def _key_indexes(self) -> list[tuple[tuple[int, int], UniqueIndex]]:
        """The unique indexes this transaction inserted keys into, by (table, key number)."""
        found = []
        for key in self._own_keys:
            table_id, number = key
            indexes = self._store.unique_indexes(table_id, missing_ok=True)
            if number < len(indexes):
                found.append((key, indexes[number]))
        return found

    # ending ---------------------------------------------------------------------------
    def commit(self, *, sync: bool | None = None) -> None:
        """Publish every write at once; durable on return unless ``sync`` (or the store's
        ``synchronous_commit``) is False."""
        if self._finished:
            return
        try:
            commits = [self._prepare(t, w) for t, w in self._writes.items() if w.changes]
            if commits:
                self._store.publish(commits, sync, self._leave)
        finally:
            self._end()

    def _prepare(self, table_id: int, writes: TableWrites) -> TableCommit:
        own = writes.own
        keep = ~own.deleted.to_mask()
        chunks, offset = [], 0
        for chunk in own.segment.chunks:
            part = keep[offset:offset + chunk.num_rows]
            offset += chunk.num_rows
            if part.any():
                chunks.append(chunk if part.all() else chunk.filter(part))
        own_keys = []
        for number in range(len(self._store.unique_indexes(table_id, missing_ok=True))):
            keys = self._own_keys.get((table_id, number), {})
            own_keys.append(keys if keep.all() else _surviving(keys, keep))
        return TableCommit(table_id, chunks, {s: b for s, b in writes.deleted.items() if b.any()}, own_keys)

    def rollback(self) -> None:
        if not self._finished:
            self._end()

    def _leave(self) -> None:
        """Under the commit lock: release the keys reserved and leave the open transactions."""
        for _, index in self._key_indexes():
            index.release(self.id)
        self._store.forget(self)

    def _end(self) -> None:
        self._finished = True
        with self._store.commit_lock:
            self._leave()
        self._writes.clear()
        self._own_keys.clear()
        self._savepoints.clear()


def _surviving(keys: dict, keep: np.ndarray) -> dict:
    """The entries of ``keys`` (key -> provisional id) whose own row is kept."""
    provisional = np.fromiter(keys.values(), dtype=np.int64, count=len(keys))
    kept = keep[-provisional - 1]
    return dict(itertools.compress(keys.items(), kept.tolist()))


def conform(rows: pa.Table, meta: TableMeta) -> pa.Table:
    """``rows`` with the table's columns in order and types; columns it lacks are NULL."""
    if not meta.fields:
        return rows.select([])  # keeps the row count, which from_arrays([]) would lose
    columns = []
    for f in meta.fields:
        if f.name in rows.column_names:
            column = rows.column(f.name)
            columns.append(column if column.type == f.field.type else column.cast(f.field.type))
        else:
            columns.append(pa.nulls(rows.num_rows, f.field.type))
    return pa.Table.from_arrays(columns, schema=meta.schema)


def _rows_at(segment: Segment, deleted: Bitset, positions: np.ndarray,
             fields: Sequence[FieldMeta]) -> pa.Table | None:
    """The rows of ``segment`` at ``positions`` that ``deleted`` does not exclude."""
    if positions.size:
        positions = positions[~deleted.test_many(positions)]
    if not positions.size:
        return None
    return segment.project(fields).take(pa.array(positions))
