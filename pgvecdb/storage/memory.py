"""A store that keeps tables in memory (``pgvecdb.connect()`` with no path).

Each table is a list of Arrow chunks with a row id column; a transaction keeps its own
inserted chunks and deleted row ids until commit.
"""

from __future__ import annotations

import itertools
import threading
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pgvecdb.storage.api import ROWID, StorageConfig, UniqueConflict


class _TableData:
    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.chunks: list[pa.Table] = []  # each with ROWID as last column
        self.deleted: set[int] = set()
        self.unique_keys: list[list[str]] = []
        self.keys: list[dict[tuple, int]] = []  # per unique key: key -> committed rowid

    def rebuild_keys(self) -> None:
        self.keys = [{} for _ in self.unique_keys]
        if not self.chunks:
            return
        table = pa.concat_tables(self.chunks)
        rowids = table.column(ROWID).to_pylist()
        for i, key in enumerate(self.unique_keys):
            cols = [table.column(c).to_pylist() for c in key]
            for rowid, values in zip(rowids, zip(*cols)):
                if rowid not in self.deleted and None not in values:
                    self.keys[i][values] = rowid


class MemoryStore:
    def __init__(self, path: str | None, config: StorageConfig) -> None:
        self.path = str(path) if path is not None else None
        self.config = config
        self._tables: dict[int, _TableData] = {}
        self._catalog: dict | None = None
        self._rowids = itertools.count(1)
        self._sequences: dict[int, int] = {}
        self._lock = threading.RLock()

    def close(self) -> None:
        pass

    def load_catalog(self) -> dict | None:
        return self._catalog

    def save_catalog(self, document: dict) -> None:
        self._catalog = document

    def create_table(self, table_id: int, schema: pa.Schema) -> None:
        self._tables[table_id] = _TableData(schema)

    def drop_table(self, table_id: int) -> None:
        self._tables.pop(table_id, None)

    def truncate_table(self, table_id: int) -> None:
        data = self._tables[table_id]
        data.chunks.clear()
        data.deleted.clear()
        data.rebuild_keys()

    def table_schema(self, table_id: int) -> pa.Schema:
        return self._tables[table_id].schema

    def table_size(self, table_id: int) -> int:
        return sum(c.nbytes for c in self._tables[table_id].chunks)

    def add_column(self, table_id: int, field: pa.Field, fill: pa.Scalar | None = None) -> None:
        data = self._tables[table_id]
        data.schema = data.schema.append(field)
        new_chunks = []
        for chunk in data.chunks:
            n = chunk.num_rows
            column = pa.nulls(n, field.type) if fill is None else pa.repeat(fill.cast(field.type), n)
            new_chunks.append(chunk.add_column(chunk.num_columns - 1, field, column))
        data.chunks = new_chunks

    def drop_column(self, table_id: int, name: str) -> None:
        data = self._tables[table_id]
        data.schema = data.schema.remove(data.schema.get_field_index(name))
        data.chunks = [c.drop_columns([name]) for c in data.chunks]

    def rename_column(self, table_id: int, old: str, new: str) -> None:
        data = self._tables[table_id]
        names = [new if n == old else n for n in data.schema.names]
        data.schema = pa.schema([f.with_name(n) for f, n in zip(data.schema, names)])
        data.chunks = [c.rename_columns(names + [ROWID]) for c in data.chunks]
        data.unique_keys = [[new if c == old else c for c in key] for key in data.unique_keys]

    def set_unique_keys(self, table_id: int, keys: list[list[str]]) -> None:
        data = self._tables[table_id]
        data.unique_keys = [list(k) for k in keys]
        data.rebuild_keys()

    def sequence_next(self, seq_id: int, start: int, increment: int) -> int:
        with self._lock:
            value = self._sequences.get(seq_id)
            value = start if value is None else value + increment
            self._sequences[seq_id] = value
            return value

    def sequence_set(self, seq_id: int, value: int) -> None:
        self._sequences[seq_id] = value

    def begin(self) -> "MemoryTransaction":
        return MemoryTransaction(self)

    def checkpoint(self) -> None:
        pass

    def vacuum(self, table_id: int | None = None, *, full: bool = False) -> None:
        for tid, data in self._tables.items():
            if table_id is not None and tid != table_id:
                continue
            if data.chunks:
                table = pa.concat_tables(data.chunks)
                keep = pc.invert(pc.is_in(table.column(ROWID), pa.array(sorted(data.deleted), pa.int64())))
                data.chunks = [table.filter(keep)]
                data.deleted.clear()

    def _next_rowids(self, n: int) -> np.ndarray:
        with self._lock:
            return np.fromiter((next(self._rowids) for _ in range(n)), dtype=np.int64, count=n)


class MemoryTransaction:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.inserted: dict[int, list[pa.Table]] = {}
        self.deleted: dict[int, set[int]] = {}
        self.savepoints: list[tuple[str, dict, dict]] = []

    def _data(self, table_id: int) -> _TableData:
        return self.store._tables[table_id]

    def scan(self, table_id: int, columns: Sequence[str] | None = None) -> pa.Table:
        data = self._data(table_id)
        chunks = data.chunks + self.inserted.get(table_id, [])
        names = list(columns) + [ROWID] if columns is not None else data.schema.names + [ROWID]
        if not chunks:
            fields = [data.schema.field(n) for n in names[:-1]] + [pa.field(ROWID, pa.int64())]
            return pa.schema(fields).empty_table()
        table = pa.concat_tables([c.select(names) for c in chunks])
        gone = data.deleted | self.deleted.get(table_id, set())
        if gone:
            keep = pc.invert(pc.is_in(table.column(ROWID), pa.array(sorted(gone), pa.int64())))
            table = table.filter(keep)
        return table

    def insert(self, table_id: int, rows: pa.Table) -> np.ndarray:
        data = self._data(table_id)
        rows = rows.select(data.schema.names).cast(data.schema)
        self._check_unique(table_id, rows)
        rowids = self.store._next_rowids(rows.num_rows)
        chunk = rows.append_column(pa.field(ROWID, pa.int64()), pa.array(rowids))
        self.inserted.setdefault(table_id, []).append(chunk)
        return rowids

    def _check_unique(self, table_id: int, rows: pa.Table) -> None:
        data = self._data(table_id)
        for i, key in enumerate(data.unique_keys):
            mine = self.scan(table_id, key)
            existing: dict[tuple, int] = {}
            cols = [mine.column(c).to_pylist() for c in key]
            for rowid, values in zip(mine.column(ROWID).to_pylist(), zip(*cols)):
                if None not in values:
                    existing[values] = rowid
            new_cols = [rows.column(c).to_pylist() for c in key]
            for values in zip(*new_cols):
                if None in values:
                    continue
                if values in existing:
                    raise UniqueConflict(table_id, i, values, existing[values])
                existing[values] = -1

    def delete(self, table_id: int, rowids: np.ndarray) -> int:
        rowids = {int(r) for r in np.asarray(rowids)}
        gone = self.deleted.setdefault(table_id, set())
        before = len(gone)
        gone |= rowids
        return len(gone) - before

    def update(self, table_id: int, rowids: np.ndarray, rows: pa.Table) -> np.ndarray:
        self.delete(table_id, rowids)
        return self.insert(table_id, rows)

    def lookup(self, table_id: int, key_index: int, keys: Sequence[tuple]) -> list[int | None]:
        key = self._data(table_id).unique_keys[key_index]
        visible = self.scan(table_id, key)
        found: dict[tuple, int] = {}
        cols = [visible.column(c).to_pylist() for c in key]
        for rowid, values in zip(visible.column(ROWID).to_pylist(), zip(*cols)):
            found[values] = rowid
        return [found.get(tuple(k)) for k in keys]

    def savepoint(self, name: str) -> None:
        self.savepoints.append(
            (name, {k: list(v) for k, v in self.inserted.items()}, {k: set(v) for k, v in self.deleted.items()})
        )

    def _find(self, name: str) -> int:
        for i in range(len(self.savepoints) - 1, -1, -1):
            if self.savepoints[i][0] == name:
                return i
        raise KeyError(name)

    def rollback_to(self, name: str) -> None:
        i = self._find(name)
        _, inserted, deleted = self.savepoints[i]
        self.inserted = {k: list(v) for k, v in inserted.items()}
        self.deleted = {k: set(v) for k, v in deleted.items()}
        del self.savepoints[i + 1:]

    def release(self, name: str) -> None:
        del self.savepoints[self._find(name):]

    def commit(self, *, sync: bool | None = None) -> None:
        with self.store._lock:
            for table_id, chunks in self.inserted.items():
                if table_id in self.store._tables:
                    self.store._tables[table_id].chunks.extend(chunks)
            for table_id, rowids in self.deleted.items():
                if table_id in self.store._tables:
                    self.store._tables[table_id].deleted |= rowids
        self.inserted.clear()
        self.deleted.clear()

    def rollback(self) -> None:
        self.inserted.clear()
        self.deleted.clear()
