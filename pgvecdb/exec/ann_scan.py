"""The ANN operator: the rows of a vector search, per segment, with the WHERE as a bitset.

For one ``AnnScan`` (planner/rules/ann_search) and one execution:

1. the WHERE is evaluated over the table's rows (by DuckDB, reading only the columns it
   names) into the rows each segment keeps; with the delete bitmap it forms the bitset
   of excluded rows every segment's search takes;
2. each sealed segment with an index is searched through it (the engine guarantees
   ``min(k, rows kept)`` results whatever the filter's selectivity, switching to an exact
   search when few rows pass); growing segments and sealed ones whose index is still
   being built are searched exactly;
3. the segments' answers merge into the ``k`` nearest (or all rows within the radius),
   returned as storage rows for DuckDB to finish the SELECT over.

What happened is kept in ``AnnStats`` for EXPLAIN.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pgvecdb.engine import Bitset, SearchParams, exact_range_search, exact_search
from pgvecdb.exec.rows import storage_schema, to_duck
from pgvecdb.exec.vector_keys import KeySpec, key_matrix
from pgvecdb.planner.rules.ann_search import FILTER_POSITION, FILTER_RELATION, AnnScan, Operand
from pgvecdb.errors import DataException, PgError
from pgvecdb.storage.api import ROWID, SegmentSnapshot

DEFAULT_MAX_PROBES = 32768


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


@dataclass
class AnnStats:
    """What one execution of the operator did (EXPLAIN ANALYZE)."""

    rows: int = 0  # rows of the table's segments, deleted ones included
    kept: int = 0  # rows the filter and the deletes leave
    by_index: int = 0  # segments searched through their index
    exact: int = 0  # segments searched exactly
    strategies: list[str] = field(default_factory=list)
    filter_ms: float = 0.0
    search_ms: float = 0.0
    returned: int = 0

    @property
    def selectivity(self) -> float:
        return self.kept / self.rows if self.rows else 0.0


@dataclass
class _Hits:
    distances: np.ndarray
    segments: np.ndarray  # index into the snapshots
    positions: np.ndarray


def search_params(setting) -> SearchParams:
    """pgvector's settings (and pgvecdb's own) as the engine's search parameters."""
    exact = float(setting("pgvecdb.exact_selectivity") or -1)
    cap = None
    if (setting("ivfflat.iterative_scan") or "off") != "off":
        max_probes = int(setting("ivfflat.max_probes") or DEFAULT_MAX_PROBES)
        cap = max(max_probes, int(setting("ivfflat.probes") or 1)) if max_probes < DEFAULT_MAX_PROBES else None
    return SearchParams(ef_search=int(setting("hnsw.ef_search") or 40), nprobe=int(setting("ivfflat.probes") or 1),
                        exact_selectivity=exact if exact >= 0 else None, max_budget=cap)


def applies(scan: AnnScan, setting) -> bool:
    """Whether the index serves this execution: with a LIMIT or a radius always, for a
    bare ORDER BY only when sequential scans are off (as PostgreSQL's planner would)."""
    return scan.limit is not None or scan.radius is not None or (setting("enable_seqscan") or "on") == "off"


def ann_rows(scan: AnnScan, bound: list[object], ctx, stats: AnnStats | None = None,
             columns: list[str] | None = None) -> pa.Table:
    """The rows of ``scan``'s table that the search finds, nearest first: storage columns
    (all, or ``columns`` and those the search itself reads) and ROWID. ``stats``, when
    given, records what the search did."""
    snapshots = ctx.txn.scan_segments(scan.table.oid, _columns_read(scan, columns))
    started = time.perf_counter()
    excluded = _excluded(scan, snapshots, bound, ctx)
    filtered = time.perf_counter()
    hits = _search(scan, snapshots, excluded, bound, ctx, stats if stats is not None else AnnStats())
    rows = _gather(scan, snapshots, hits, columns)
    if stats is not None:
        stats.rows = sum(s.data.num_rows for s in snapshots)
        stats.kept = sum(e.size - e.count() for e in excluded)
        stats.filter_ms = (filtered - started) * 1000
        stats.search_ms = (time.perf_counter() - filtered) * 1000
        stats.returned = rows.num_rows
    return rows


def _columns_read(scan: AnnScan, columns: list[str] | None) -> list[str] | None:
    if columns is None or (scan.index.expressions and scan.index.expressions[0]) or scan.index.predicate:
        return None
    wanted = {*columns, scan.index.columns[0], *scan.filter_columns}
    return [c.name for c in scan.table.columns if c.name in wanted]


# ------------------------------------------------------------------ the filter
def _excluded(scan: AnnScan, snapshots: list[SegmentSnapshot], bound: list[object], ctx) -> list[Bitset]:
    """Per segment, the rows no search may return: deleted, or not kept by the WHERE."""
    excluded = [s.deleted for s in snapshots]
    if scan.filter is None or not snapshots:
        return excluded
    if scan.predicate is not None:
        return [deleted.union(_failing_rows(scan, s, bound, ctx)) for s, deleted in zip(snapshots, excluded)]
    kept = _filter_positions(scan, snapshots, bound, ctx)
    result, start = [], 0
    for snapshot, deleted in zip(snapshots, excluded):
        end = start + snapshot.data.num_rows
        mine = kept[(kept >= start) & (kept < end)] - start
        dropped = np.ones(snapshot.data.num_rows, dtype=bool)
        dropped[mine] = False
        result.append(deleted.union(Bitset.from_mask(dropped)))
        start = end
    return result


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


# ------------------------------------------------------------------ the search
def _search(scan: AnnScan, snapshots: list[SegmentSnapshot], excluded: list[Bitset], bound: list[object],
            ctx, stats: AnnStats) -> _Hits:
    spec = ctx.vector_indexes.spec(scan.table, scan.index)
    query = _query_vector(scan, spec, bound, ctx)
    limit, offset = _integer(scan.limit, bound, ctx, "LIMIT"), _integer(scan.offset, bound, ctx, "OFFSET") or 0
    # a range search ordered by something else keeps every row within the radius
    k = None if limit is None or not scan.ordered else limit + offset
    radius = operand_value(scan.radius, bound, ctx) if scan.radius is not None else None
    if scan.radius is not None and radius is None:
        return _Hits(np.empty(0), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    params = ctx.search_params() if ctx.search_params is not None else search_params(ctx.setting)
    parts = []
    for number, (snapshot, bitset) in enumerate(zip(snapshots, excluded)):
        distances, positions = _search_segment(scan, spec, snapshot, bitset, query, k, radius, params, ctx, stats)
        parts.append(_Hits(distances, np.full(len(positions), number, dtype=np.int64), positions))
    return _nearest(parts, k)


def _search_segment(scan: AnnScan, spec: KeySpec, snapshot: SegmentSnapshot, bitset: Bitset, query, k, radius,
                    params: SearchParams, ctx, stats: AnnStats) -> tuple[np.ndarray, np.ndarray]:
    if not snapshot.data.num_rows:
        return np.empty(0), np.empty(0, dtype=np.int64)
    index = ctx.vector_indexes.lookup(scan.table, scan.index, snapshot)
    if index is not None:
        stats.by_index += 1
        wanted = k if k is not None else index.indexed_rows
        if query is None:
            return _any_rows(bitset, index.skipped, wanted)
        stats.strategies.append(index.plan(wanted, params, bitset).describe())
        if radius is not None:
            distances, ids = index.range_search(query, radius, params, bitset)[0]
        else:
            distances, ids = index.search(query, wanted, params, bitset)
            distances, ids = distances[0], ids[0]
        found = ids >= 0
        return distances[found], ids[found]
    stats.exact += 1
    cursor = ctx.vector_indexes.cursor()
    try:
        matrix, usable = key_matrix(spec, scan.table, snapshot.data, cursor)
    finally:
        cursor.close()
    bitset = bitset.union(Bitset.from_mask(~usable))
    wanted = k if k is not None else int(bitset.size - bitset.count())
    if query is None:
        return _any_rows(bitset, None, wanted)
    stats.strategies.append(f"exact search over {bitset.size - bitset.count()} of {bitset.size} rows")
    if spec.binary is False:
        matrix = matrix.astype(np.float32, copy=False)
    if radius is not None:
        distances, ids = exact_range_search(matrix, query, radius, spec.metric, bitset)[0]
    else:
        distances, ids = exact_search(matrix, query, wanted, spec.metric, bitset)
        distances, ids = distances[0], ids[0]
    found = ids >= 0
    return distances[found], ids[found]


def _any_rows(bitset: Bitset, skipped: Bitset | None, wanted: int) -> tuple[np.ndarray, np.ndarray]:
    """``wanted`` rows in no particular order: a NULL query vector has no distances, and
    pgvector's index scan then returns the rows it holds as they come."""
    if skipped is not None:
        bitset = bitset.union(skipped)
    positions = bitset.invert().positions()[:wanted]
    return np.full(len(positions), np.nan), positions


def _nearest(parts: list[_Hits], k: int | None) -> _Hits:
    distances = np.concatenate([p.distances for p in parts]) if parts else np.empty(0)
    segments = np.concatenate([p.segments for p in parts]) if parts else np.empty(0, dtype=np.int64)
    positions = np.concatenate([p.positions for p in parts]) if parts else np.empty(0, dtype=np.int64)
    order = np.argsort(np.where(np.isnan(distances), np.inf, distances), kind="stable")
    if k is not None:
        order = order[:k]
    return _Hits(distances[order], segments[order], positions[order])


def estimate(scan: AnnScan, bound: list[object], ctx) -> AnnStats:
    """What a search would do, without searching (EXPLAIN): the filter is evaluated for
    its selectivity and each segment's search planned."""
    stats = AnnStats()
    snapshots = ctx.txn.scan_segments(scan.table.oid)
    stats.rows = sum(s.data.num_rows for s in snapshots)
    excluded = _excluded(scan, snapshots, bound, ctx)
    stats.kept = sum(e.size - e.count() for e in excluded)
    limit, offset = _integer(scan.limit, bound, ctx, "LIMIT"), _integer(scan.offset, bound, ctx, "OFFSET") or 0
    params = search_params(ctx.setting)
    for snapshot, bitset in zip(snapshots, excluded):
        index = ctx.vector_indexes.lookup(scan.table, scan.index, snapshot) if snapshot.data.num_rows else None
        if index is not None:
            stats.by_index += 1
            k = limit + offset if limit is not None else index.indexed_rows
            stats.strategies.append(index.plan(k, params, bitset).describe())
        elif snapshot.data.num_rows:
            stats.exact += 1
            stats.strategies.append(f"exact search over {bitset.size - bitset.count()} of {bitset.size} rows")
    return stats


def _take(table: pa.Table, positions: np.ndarray) -> pa.Table:
    """``table.take(positions)``, with numpy for plain numeric columns without NULLs (a
    few rows out of a segment: Arrow's kernel costs more to call than to run)."""
    columns = []
    for column in table.columns:
        chunk = column.chunks[0] if column.num_chunks == 1 else None
        if chunk is not None and not chunk.null_count and (pa.types.is_integer(chunk.type)
                                                            or pa.types.is_floating(chunk.type)):
            columns.append(pa.array(chunk.to_numpy()[positions], type=chunk.type))
        else:
            columns.append(column.take(positions))
    return pa.Table.from_arrays(columns, schema=table.schema)


def _gather(scan: AnnScan, snapshots: list[SegmentSnapshot], hits: _Hits, columns: list[str] | None) -> pa.Table:
    """The rows ``hits`` name, in their order (``columns`` and ROWID, or all)."""
    if not len(hits.positions):
        empty = storage_schema(scan.table).empty_table()
        return empty.append_column(ROWID, pa.array([], pa.int64()))
    wanted = None if columns is None else [*columns, ROWID]
    first = hits.segments[0]
    if (hits.segments == first).all():
        data = snapshots[first].data
        return _take(data if wanted is None else data.select(wanted), hits.positions)
    pieces = []
    for number in np.unique(hits.segments):
        mine = hits.segments == number
        data = snapshots[number].data if wanted is None else snapshots[number].data.select(wanted)
        pieces.append((np.flatnonzero(mine), data.take(hits.positions[mine])))
    rows = pa.concat_tables([p[1] for p in pieces]) if len(pieces) > 1 else pieces[0][1]
    order = np.argsort(np.concatenate([p[0] for p in pieces]))
    return rows.take(pa.array(order)) if len(pieces) > 1 else rows


# ------------------------------------------------------------------ operands
def operand_value(operand: Operand | None, bound: list[object], ctx) -> object:
    if operand is None:
        return None
    if operand.position is not None:
        return bound[operand.position - 1] if operand.position <= len(bound) else None
    if operand.query is not None:
        from pgvecdb.exec.executor import run_subquery

        result = run_subquery(operand.query, bound, ctx)
        return result.column(0)[0].as_py() if result.num_rows else None
    return operand.value


def offset_of(scan: AnnScan, bound: list[object], ctx) -> int:
    return _integer(scan.offset, bound, ctx, "OFFSET") or 0


def _integer(operand: Operand | None, bound: list[object], ctx, clause: str = "LIMIT") -> int | None:
    """A LIMIT or OFFSET value: None for none (or NULL); negative ones are PostgreSQL's errors."""
    value = operand_value(operand, bound, ctx)
    if value is None:
        return None
    if int(value) < 0:
        raise PgError(f"{clause} must not be negative", sqlstate="2201W" if clause == "LIMIT" else "2201X")
    return int(value)


def _query_vector(scan: AnnScan, spec: KeySpec, bound: list[object], ctx) -> np.ndarray | None:
    """The query as the engine takes it (a float row or packed bits); None for NULL."""
    value = operand_value(scan.query, bound, ctx)
    inner = next(iter(value.values())) if isinstance(value, dict) and len(value) == 1 else value
    if inner is None:
        return None
    if not isinstance(inner, str if spec.binary else (list, tuple, np.ndarray)):
        raise DataException(f"cannot search {spec.value_type} values with a value of type {type(inner).__name__}")
    if spec.binary:
        bits = np.frombuffer(inner.encode("ascii"), dtype=np.uint8) - ord("0")
        if len(bits) != spec.dim:
            raise DataException(f"different bit lengths {spec.dim} and {len(bits)}")
        return np.packbits(bits)[None, :]
    query = np.asarray(inner, dtype=np.float32)
    if len(query) != spec.dim:
        raise DataException(f"different {spec.value_type} dimensions {spec.dim} and {len(query)}")
    return query[None, :]
