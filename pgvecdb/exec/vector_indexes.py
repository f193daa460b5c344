"""The vector indexes of a database, one per (catalog index, sealed segment).

As in Milvus, an index covers one sealed segment and lives as long as it: sealed rows
never change (deletes are a bitmap the search takes), so UPDATE and DELETE never touch
an index. ``CREATE INDEX`` seals the table's growing rows and builds for every sealed
segment before it returns; afterwards a background thread builds for each segment that
a seal makes, and at start for those without an index file; a compaction builds the
indexes of the segments it writes before it swaps them in. Until a segment's index exists,
searches read it exactly (so do they the growing segment).

Indexes are written beside their segment (``seg-<id>.idx<index oid>``), removed with it,
and memory-mapped back on first use.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

import duckdb
import numpy as np

from pgvecdb.catalog.model import Catalog, Index, Table
from pgvecdb.engine import Bitset, VectorIndex, create_index, load_index
from pgvecdb.errors import DataCorrupted
from pgvecdb.exec.vector_index_ddl import VECTOR_METHODS, indexed_type
from pgvecdb.exec.vector_keys import KeyQueries, KeySpec, key_matrix, key_spec
from pgvecdb.storage.api import SegmentSnapshot, Store

log = logging.getLogger(__name__)

SEARCHABLE_TYPES = ("vector", "halfvec", "bit")
# A table with a vector index seals its growing segment at this many rows (instead of the
# storage's default): rows not yet in a sealed, indexed segment are searched exactly, and
# this bounds that search (about 2 ms at 128 dimensions) while a seal's index builds.
INDEXED_SEGMENT_ROWS = 100_000


def is_searchable(table: Table, index: Index) -> bool:
    """Whether the engine builds ``index`` (a vector index over dense or bit vectors)."""
    if index.method not in VECTOR_METHODS:
        return False
    try:
        value_type, dim = indexed_type(table, index.columns[0] if index.columns else "",
                                       index.expressions[0] if index.expressions else None)
    except Exception:
        return False
    return value_type in SEARCHABLE_TYPES and dim is not None


def file_suffix(index: Index) -> str:
    return f"idx{index.oid}"


class VectorIndexes:
    def __init__(self, store: Store, catalog: Callable[[], Catalog], key_queries: KeyQueries,
                 duck: duckdb.DuckDBPyConnection) -> None:
        self._store = store
        self._catalog = catalog
        self._key_queries = key_queries
        self._duck = duck
        self._loaded: dict[tuple[int, int], VectorIndex] = {}  # (index oid, segment id)
        self._specs: dict[tuple[int, str], KeySpec] = {}
        self._build_lock = threading.Lock()
        self._pending: queue.Queue[int | None] = queue.Queue()
        # tables with a sealed segment whose index may be missing: table id -> requests made
        self._incomplete: dict[int, int] = {}
        self._requests_lock = threading.Lock()
        self._worker = threading.Thread(target=self._run, name="pgvecdb-index-builder", daemon=True)
        self._worker.start()
        store.add_segment_listener(self.schedule)
        store.add_segment_preparer(self.prepare)
        for table in catalog().tables.values():
            self._size_segments(table)
        self.schedule([table.oid for table in catalog().tables.values()])

    # ------------------------------------------------------------------ searching
    def spec(self, table: Table, index: Index) -> KeySpec:
        key = (index.oid, index.definition)
        found = self._specs.get(key)
        if found is None:
            found = self._specs[key] = key_spec(table, index, self._key_queries)
        return found

    def lookup(self, table: Table, index: Index, snapshot: SegmentSnapshot) -> VectorIndex | None:
        """The index of a sealed segment, loaded from its file on first use; None (and a
        build scheduled) when it has none yet."""
        if not snapshot.sealed:
            return None
        found = self._loaded.get((index.oid, snapshot.segment_id))
        if found is None:
            found = self._load(table, index, snapshot)
            if found is None:
                self.schedule([table.oid])
        return found

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self._duck.cursor()

    # ------------------------------------------------------------------ DDL
    def build_table(self, table: Table, index: Index) -> int:
        """CREATE INDEX / REINDEX: build ``index`` for every segment of ``table`` now; the
        number of rows indexed."""
        self.forget(table.oid, index)
        self._store.seal_table(table.oid)
        self._size_segments(table)
        indexed = 0
        for snapshot in self._sealed_segments(table):
            built = self._build(table, index, snapshot)
            indexed += built.indexed_rows
        return indexed

    def forget(self, table_id: int, index: Index) -> None:
        """DROP INDEX (or a rebuild): the index's segments leave memory and disk."""
        with self._build_lock:
            for key in [k for k in list(self._loaded) if k[0] == index.oid]:
                del self._loaded[key]
            self._store.remove_segment_files(table_id, file_suffix(index))
        table = self._catalog().table_by_oid(table_id)
        if table is not None:
            self._size_segments(table)

    def forget_table(self, table: Table) -> None:
        """DROP TABLE / TRUNCATE: every index of the table leaves memory (its files go
        with the segments)."""
        oids = {index.oid for index in table.indexes}
        with self._build_lock:
            for key in [k for k in list(self._loaded) if k[0] in oids]:
                del self._loaded[key]

    def _size_segments(self, table: Table) -> None:
        indexed = any(is_searchable(table, index) for index in table.indexes)
        self._store.set_segment_rows(table.oid, INDEXED_SEGMENT_ROWS if indexed else None)

    def prepare(self, table_id: int, snapshots: list[SegmentSnapshot]) -> None:
        """Build the indexes of segments a compaction is about to swap in, so that searches
        go on through indexes across the swap instead of reading the merged segment
        exactly until the background builder gets to it."""
        table = self._catalog().table_by_oid(table_id)
        if table is None:
            return
        for index in table.indexes:
            if is_searchable(table, index):
                for snapshot in snapshots:
                    if snapshot.sealed:
                        self._build(table, index, snapshot)

    # ------------------------------------------------------------------ background
    def schedule(self, table_ids: list[int]) -> None:
        with self._requests_lock:
            for table_id in table_ids:
                self._incomplete[table_id] = self._incomplete.get(table_id, 0) + 1
                self._pending.put(table_id)

    def complete(self, table_id: int) -> bool:
        """Whether every sealed segment of the table has its indexes at hand (searches of
        it are then index searches, except for the bounded growing segment)."""
        return table_id not in self._incomplete

    def close(self) -> None:
        self._pending.put(None)
        self._worker.join(timeout=30)

    def _run(self) -> None:
        while True:
            table_id = self._pending.get()
            if table_id is None:
                return
            requests = self._incomplete.get(table_id)
            try:
                self._complete(table_id)
                with self._requests_lock:
                    if self._incomplete.get(table_id) == requests:  # none came in meanwhile
                        self._incomplete.pop(table_id, None)
            except Exception:
                log.exception("building vector indexes of table %s failed", table_id)

    def _complete(self, table_id: int) -> None:
        """Load or build the index of every sealed segment of the table, for each index."""
        table = self._catalog().table_by_oid(table_id)
        if table is None:
            return
        indexes = [index for index in table.indexes if is_searchable(table, index)]
        if not indexes:
            return
        snapshots = self._sealed_segments(table)
        live = {s.segment_id for s in snapshots}
        for index in indexes:
            for key in [k for k in list(self._loaded) if k[0] == index.oid and k[1] not in live]:
                self._loaded.pop(key, None)
            for snapshot in snapshots:
                if (index.oid, snapshot.segment_id) not in self._loaded and \
                        self._load(table, index, snapshot) is None and self._still_indexed(table_id, index):
                    self._build(table, index, snapshot)

    def _still_indexed(self, table_id: int, index: Index) -> bool:
        table = self._catalog().table_by_oid(table_id)
        return table is not None and any(i.oid == index.oid for i in table.indexes)

    # ------------------------------------------------------------------ one segment
    def _sealed_segments(self, table: Table) -> list[SegmentSnapshot]:
        txn = self._store.begin()
        try:
            return [s for s in txn.scan_segments(table.oid) if s.sealed]
        finally:
            txn.rollback()

    def _build(self, table: Table, index: Index, snapshot: SegmentSnapshot) -> VectorIndex:
        spec = self.spec(table, index)
        with self._build_lock:
            key = (index.oid, snapshot.segment_id)
            if key in self._loaded:
                return self._loaded[key]
            cursor = self.cursor()
            try:
                matrix, usable = key_matrix(spec, table, snapshot.data, cursor)
            finally:
                cursor.close()
            built = create_index(spec.index_type, spec.metric, spec.dim, index.options)
            built.build(matrix, skip=None if usable.all() else Bitset.from_mask(~usable))
            self._store.save_segment_file(table.oid, snapshot.segment_id, file_suffix(index), built.serialize())
            self._loaded[key] = built
            return built

    def _load(self, table: Table, index: Index, snapshot: SegmentSnapshot) -> VectorIndex | None:
        path = self._store.segment_path(table.oid, snapshot.segment_id, file_suffix(index))
        if path is None:
            return None
        try:
            data = np.memmap(path, dtype=np.uint8, mode="r")
        except (FileNotFoundError, ValueError):
            return None
        try:
            loaded = load_index(data)
        except DataCorrupted:
            log.warning("vector index file %s is damaged; rebuilding it", path)
            return None
        if loaded.count != snapshot.data.num_rows:
            return None
        self._loaded[(index.oid, snapshot.segment_id)] = loaded
        return loaded
