"""Unique keys: a hash index from key to row id, kept by storage for every unique key.

Each ``UniqueIndex`` maps the key of every committed row to its row id, and keeps the keys
that each open transaction inserted (``reserved``: transaction id -> keys). An insert
conflicts with a committed row (unless its own transaction deleted that row) and with a key
another open transaction reserved: PostgreSQL would wait for that transaction, pgvecdb
reports the conflict at once. Keys with a NULL never conflict, as in PostgreSQL.

A key is the column value for one-column keys and a tuple for the others; values that
Python cannot hash (lists from array columns) become tuples.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import pyarrow as pa


def _hashable(value: object) -> object:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, _hashable(v)) for k, v in value.items())
    return value


def _column_values(column: pa.ChunkedArray | pa.Array) -> list:
    values = column.to_pylist()
    if pa.types.is_nested(column.type):
        values = [_hashable(v) for v in values]
    return values


def first_duplicate(keys: Sequence) -> object:
    """The first key that occurs twice in ``keys`` (None if none does)."""
    seen = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)
    return None


class UniqueIndex:
    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        self.committed: dict[object, int] = {}
        self.reserved: dict[int, set] = {}  # open transaction id -> keys it inserted

    def keys_of(self, rows: pa.Table) -> list:
        """The key of every row of ``rows`` (which has the key columns); None if it has a NULL."""
        columns = [_column_values(rows.column(c)) for c in self.columns]
        if len(columns) == 1:
            return columns[0]
        return [None if None in key else key for key in zip(*columns)]

    def normalize(self, key: Sequence) -> object:
        """The index's form of a key given as a tuple of column values."""
        values = tuple(_hashable(v) for v in key)
        return values[0] if len(values) == 1 else values

    def as_tuple(self, key: object) -> tuple:
        return key if len(self.columns) > 1 else (key,)

    def rebuild(self, rows: pa.Table, rowids: Sequence[int]) -> None:
        """Index ``rows`` (every visible committed row) afresh."""
        self.committed = dict(zip(self.keys_of(rows), rowids))
        self.committed.pop(None, None)

    def publish(self, removed: Sequence, added: Sequence, added_rowids: Sequence[int]) -> None:
        """A commit deleted the rows with keys ``removed`` and inserted ``added``."""
        for key in removed:
            self.committed.pop(key, None)
        self.committed.update(zip(added, added_rowids))

    def reserve(self, owner: int, keys: Iterable) -> None:
        self.reserved.setdefault(owner, set()).update(keys)

    def reserved_by(self, owner: int) -> set:
        return set(self.reserved.get(owner, ()))

    def restore(self, owner: int, keys: set) -> None:
        """Make ``keys`` the reservation of ``owner`` again (a savepoint's)."""
        self.reserved[owner] = set(keys)

    def release(self, owner: int) -> None:
        self.reserved.pop(owner, None)

    def held_elsewhere(self, keys: set, owner: int, is_open: Callable[[int], bool]) -> object:
        """One of ``keys`` that another open transaction reserved (None if none is); the
        reservations of transactions that ended without saying so are dropped on the way."""
        for other, held in list(self.reserved.items()):
            if other == owner:
                continue
            if not is_open(other):
                del self.reserved[other]
                continue
            common = keys & held
            if common:
                return next(iter(common))
        return None
