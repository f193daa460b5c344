"""The WHERE of an ANN search as the bitset of rows each segment's search must skip.

A predicate the planner compiled (rules/ann_direct) is evaluated with pyarrow.compute
straight into the bitset — Arrow's boolean bits have the bitset's layout — and, when it
reads no parameter, kept per sealed segment (``FILTER_BITSETS``). Any other WHERE runs in
DuckDB over the columns it reads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pgvecdb.engine import Bitset
from pgvecdb.exec.ann_operands import operand_value
from pgvecdb.exec.rows import to_duck
from pgvecdb.planner.rules.ann_search import FILTER_POSITION, FILTER_RELATION, AnnScan, Operand
from pgvecdb.storage.api import SegmentSnapshot


class BitsetCache:
    """The bitsets of filters without parameters, per (scan, sealed segment): a sealed
    segment never changes, so such a filter drops the same rows every time. Least
    recently used first out, within a byte budget shared by every plan."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[int, int], Bitset] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int]) -> Bitset | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[int, int], bits: Bitset) -> None:
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = bits
            self._bytes += bits.packed.nbytes
            while self._bytes > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.packed.nbytes


FILTER_BITSETS = BitsetCache(64 * 1024 * 1024)



def excluded_rows(scan: AnnScan, snapshots: list[SegmentSnapshot], bound: list[object], ctx) -> list[Bitset]:
    """Per segment, the rows no search may return: deleted, or not kept by the WHERE."""
    excluded = [s.deleted for s in snapshots]
    if scan.filter is None or not snapshots:
        return excluded
    if scan.predicate is not None:
        return [_joined(deleted, _failing_rows(scan, s, bound, ctx)) for s, deleted in zip(snapshots, excluded)]
    kept = _filter_positions(scan, snapshots, bound, ctx)
    result, start = [], 0
    for snapshot, deleted in zip(snapshots, excluded):
        end = start + snapshot.data.num_rows
        mine = kept[(kept >= start) & (kept < end)] - start
        dropped = np.ones(snapshot.data.num_rows, dtype=bool)
        dropped[mine] = False
        result.append(_joined(deleted, Bitset.from_mask(dropped)))
        start = end
    return result


def _joined(deleted: Bitset, failing: Bitset) -> Bitset:
    return deleted.union(failing) if deleted.any() else failing


def _failing_rows(scan: AnnScan, snapshot: SegmentSnapshot, bound: list[object], ctx) -> Bitset:
    """The rows of a segment the WHERE drops. A sealed segment never changes, so a WHERE
    without parameters drops the same rows every time: that bitset is kept."""
    key = (scan.cache_key, snapshot.segment_id)
    cacheable = snapshot.sealed and not _reads_parameters(scan.predicate)
    found = FILTER_BITSETS.get(key) if cacheable else None
    if found is not None:
        return found
    failing = _fails(scan.predicate, snapshot.data, bound, ctx)
    if cacheable:
        FILTER_BITSETS.put(key, failing)
    return failing


def _reads_parameters(predicate: tuple) -> bool:
    return any(isinstance(part, Operand) and part.position is not None for part in _leaves(predicate))


def _leaves(predicate) -> list:
    if isinstance(predicate, (tuple, list)):
        return [leaf for part in predicate for leaf in _leaves(part)]
    return [predicate]


def _fails(predicate: tuple, rows: pa.Table, bound: list[object], ctx) -> Bitset:
    """The rows where ``predicate`` is not true (false or NULL), as a bitset — straight
    from Arrow's boolean bits, which have the bitset's layout."""
    if not rows.num_rows:
        return Bitset(0)
    truth = _truth(predicate, rows, bound, ctx)
    if isinstance(truth, pa.ChunkedArray):
        truth = truth.combine_chunks()
    failing = pc.invert(truth.fill_null(False))
    if failing.offset:
        failing = pa.concat_arrays([failing])
    size = len(failing)
    packed = np.frombuffer(failing.buffers()[1], dtype=np.uint8, count=(size + 7) // 8).copy()
    if size % 8:
        packed[-1] &= (1 << (size % 8)) - 1
    return Bitset(size, packed)


def _truth(predicate: tuple, rows: pa.Table, bound: list[object], ctx):
    """A predicate of planner/rules/ann_search over ``rows``, with SQL's three values."""
    kind = predicate[0]
    if kind in ("and", "or"):
        combine = pc.and_kleene if kind == "and" else pc.or_kleene
        parts = [_truth(p, rows, bound, ctx) for p in predicate[1]]
        result = parts[0]
        for part in parts[1:]:
            result = combine(result, part)
        return result
    if kind == "not":
        return pc.invert(_truth(predicate[1], rows, bound, ctx))
    if kind == "null":
        return pc.is_null(rows.column(predicate[1]))
    column = rows.column(predicate[2] if kind == "compare" else predicate[1])
    if kind == "in":
        values = [v for v in (operand_value(o, bound, ctx) for o in predicate[2]) if v is not None]
        found = pc.is_in(column, value_set=pa.array(values, type=column.type)) if values else \
            pc.equal(column, pa.scalar(None, type=column.type))
        return pc.if_else(pc.is_null(column), pa.scalar(None, pa.bool_()), found)
    value = operand_value(predicate[3], bound, ctx)
    return getattr(pc, predicate[1])(column, pa.scalar(value, type=_comparable(column.type, value)))


def _comparable(column_type: pa.DataType, value: object) -> pa.DataType:
    """The type to compare a column with ``value`` in: an integer column with a fraction
    compares as float8, as in PostgreSQL."""
    if pa.types.is_integer(column_type) and isinstance(value, float):
        return pa.float64()
    if pa.types.is_integer(column_type) and isinstance(value, int) and not -2**31 <= value < 2**31:
        return pa.int64()
    return column_type


def _filter_positions(scan: AnnScan, snapshots: list[SegmentSnapshot], bound: list[object], ctx) -> np.ndarray:
    """Positions (over the segments in order) of the rows the WHERE keeps, by DuckDB."""
    from pgvecdb.exec.executor import run_subquery  # executor materialises ANN relations with this module

    columns = [c for c in scan.table.columns if c.name in scan.filter_columns] or scan.table.columns[:1]
    narrow = replace(scan.table, columns=columns)
    pieces = [s.data.select([c.name for c in columns]) for s in snapshots]
    rows = to_duck(narrow, pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0])
    rows = rows.append_column(FILTER_POSITION, pa.array(np.arange(rows.num_rows, dtype=np.int64)))
    result = run_subquery(scan.filter, bound, ctx, {FILTER_RELATION: rows})
    return result.column(0).to_numpy()
