"""The storage interface that exec/ codes against.

A ``Store`` owns one data directory (or none: in memory). Tables are addressed by their
catalog OID and hold Arrow data whose schema exec/ chooses (``types`` gives each PostgreSQL
type its Arrow storage type). Every read and write goes through a ``Transaction``:

* ``scan`` returns the rows visible to the transaction at the moment of the call (committed
  data plus the transaction's own writes — a READ COMMITTED statement snapshot), as one Arrow
  table whose last column, ``__rowid`` (int64), names each row for ``delete``/``update``.
* writes become visible to other transactions at ``commit``, all together, and vanish on
  ``rollback``.
* unique keys (declared with ``set_unique_keys``) are enforced on insert against committed
  rows, the transaction's own rows and other open transactions' rows: a duplicate raises
  ``UniqueConflict``.
* ``delete`` and ``update`` skip rows that a committed transaction deleted since the scan
  (PostgreSQL's READ COMMITTED does the same) and raise ``SerializationFailure`` for rows
  another open transaction deleted or updated (PostgreSQL would wait for it).
* ``with txn.statement():`` pins one snapshot for every scan inside it, so the scans of one
  statement (a join, a subquery) agree; outside it each scan sees the latest commits.

Row ids are stable int64s from commit until the row is deleted (compaction keeps them). Rows
a transaction inserted carry provisional negative ids until it commits.

The implementation is ``storage.store.SegmentStore``: sealed Arrow segments, a WAL, a
manifest (see ``storage.layout`` for the data directory).
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import numpy as np
import pyarrow as pa

from pgvecdb.engine.bitset import Bitset

ROWID = "__rowid"


class UniqueConflict(Exception):
    """An insert would duplicate the key ``key_values`` of unique key number ``key_index``.

    ``rowid`` is the row holding the key, -1 when an open transaction's uncommitted row does.
    """

    def __init__(self, table_id: int, key_index: int, key_values: tuple, rowid: int) -> None:
        super().__init__(f"duplicate key {key_values!r} in key {key_index} of table {table_id}")
        self.table_id = table_id
        self.key_index = key_index
        self.key_values = key_values
        self.rowid = rowid


@dataclass
class StorageConfig:
    """Knobs of the storage layer."""

    # A growing segment seals when it reaches either size.
    segment_max_rows: int = 1_000_000
    segment_max_bytes: int = 512 * 1024 * 1024
    # Commit waits for the WAL fsync; when False (synchronous_commit = off) the background
    # thread fsyncs every ``wal_flush_interval`` seconds instead.
    synchronous_commit: bool = True
    wal_flush_interval: float = 0.2
    # A checkpoint (seal everything, drop the WAL) runs when the WAL grows past this.
    checkpoint_wal_bytes: int = 1024 * 1024 * 1024
    # Background compaction rewrites a segment whose deleted fraction reaches
    # ``compact_deleted_ratio`` and merges segments below ``compact_small_ratio`` of
    # segment_max_rows. VACUUM runs the same policy by hand; VACUUM FULL rewrites all.
    auto_compact: bool = True
    compact_deleted_ratio: float = 0.2
    compact_small_ratio: float = 0.5


@dataclass(frozen=True)
class SegmentSnapshot:
    """One segment of a table as a transaction sees it (for per-segment vector search).

    ``data`` holds every row of the segment, deleted ones included, with ROWID last;
    ``deleted`` marks the rows the transaction must not see (its set bits). Sealed segments
    never change, so an index built over ``data`` of segment ``segment_id`` stays valid for
    the segment's life; ``segment_id`` -1 is the transaction's own uncommitted rows.
    """

    segment_id: int
    sealed: bool
    data: pa.Table
    deleted: Bitset


class Transaction(Protocol):
    def scan(self, table_id: int, columns: Sequence[str] | None = None) -> pa.Table: ...
    def scan_segments(self, table_id: int, columns: Sequence[str] | None = None) -> list[SegmentSnapshot]: ...
    def statement(self) -> AbstractContextManager[None]: ...
    def insert(self, table_id: int, rows: pa.Table) -> np.ndarray: ...
    def delete(self, table_id: int, rowids: np.ndarray) -> int: ...
    def update(self, table_id: int, rowids: np.ndarray, rows: pa.Table) -> np.ndarray: ...
    def update_rows(self, table_id: int, rowids: np.ndarray, rows: pa.Table) -> np.ndarray: ...
    def fetch(self, table_id: int, rowids: np.ndarray, columns: Sequence[str] | None = None) -> pa.Table: ...
    def lookup(self, table_id: int, key_index: int, keys: Sequence[tuple]) -> list[int | None]: ...
    def held_elsewhere(self, table_id: int, key_index: int, keys: Sequence[tuple]) -> list[bool]: ...
    def savepoint(self, name: str) -> None: ...
    def rollback_to(self, name: str) -> None: ...
    def release(self, name: str) -> None: ...
    def commit(self, *, sync: bool | None = None) -> None: ...
    def rollback(self) -> None: ...


class Store(Protocol):
    path: str | None

    def close(self) -> None: ...
    def load_catalog(self) -> dict | None: ...
    def save_catalog(self, document: dict) -> None: ...
    def create_table(self, table_id: int, schema: pa.Schema) -> None: ...
    def drop_table(self, table_id: int) -> None: ...
    def truncate_table(self, table_id: int) -> None: ...
    def add_column(self, table_id: int, field: pa.Field, fill: pa.Scalar | None = None) -> None: ...
    def drop_column(self, table_id: int, name: str) -> None: ...
    def rename_column(self, table_id: int, old: str, new: str) -> None: ...
    def set_unique_keys(self, table_id: int, keys: list[list[str]]) -> None: ...
    def table_schema(self, table_id: int) -> pa.Schema: ...
    def table_size(self, table_id: int) -> int: ...
    def sequence_next(self, seq_id: int, start: int, increment: int) -> int: ...
    def sequence_set(self, seq_id: int, value: int) -> None: ...
    def begin(self) -> Transaction: ...
    def checkpoint(self) -> None: ...
    def vacuum(self, table_id: int | None = None, *, full: bool = False) -> None: ...
    def seal_table(self, table_id: int) -> None: ...
    def set_segment_rows(self, table_id: int, rows: int | None) -> None: ...
    def add_segment_listener(self, listener: Callable[[list[int]], None]) -> None: ...
    def segment_path(self, table_id: int, segment_id: int, suffix: str) -> str | None: ...
    def save_segment_file(self, table_id: int, segment_id: int, suffix: str, data: bytes) -> None: ...
    def remove_segment_files(self, table_id: int, suffix: str) -> None: ...


def open_store(path: str | os.PathLike | None, config: StorageConfig | None = None) -> Store:
    """Open (creating if needed) the store at ``path``; ``None`` keeps everything in memory.

    A directory is locked while open: another opener gets ``ObjectInUse``.
    """
    from pgvecdb.storage.store import SegmentStore

    return SegmentStore.open(None if path is None else os.fspath(path), config or StorageConfig())
