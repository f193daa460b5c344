"""The ANN operator: the rows of a vector search, per segment, with the WHERE as a bitset.

For one ``AnnScan`` (planner/rules/ann_search) and one execution:

1. the WHERE becomes, per segment, the bitset of rows the search must skip (exec/
   ann_filter), joined with the segment's delete bitmap;
2. each sealed segment with an index is searched through it (the engine guarantees
   ``min(k, rows kept)`` results whatever the filter's selectivity, switching to an exact
   search when few rows pass); growing segments and sealed ones whose index is still
   being built are searched exactly;
3. the segments' answers merge into the ``k`` nearest (or all rows within the radius),
   returned as storage rows for DuckDB to finish the SELECT over.

What happened is kept in ``AnnStats`` for EXPLAIN.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from pgvecdb.engine import Bitset, SearchParams, exact_range_search, exact_search
from pgvecdb.exec.ann_filter import excluded_rows
from pgvecdb.exec.ann_operands import integer_value, operand_value, query_vector
from pgvecdb.exec.rows import storage_schema
from pgvecdb.exec.vector_keys import KeySpec, key_matrix
from pgvecdb.planner.rules.ann_search import AnnScan
from pgvecdb.storage.api import ROWID, SegmentSnapshot

DEFAULT_MAX_PROBES = 32768


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
class Hits:
    """Rows a search found, nearest first: their distances, segments (indexes into the
    snapshots searched) and positions within those segments."""

    distances: np.ndarray
    segments: np.ndarray
    positions: np.ndarray

    def __getitem__(self, rows: slice) -> "Hits":
        return Hits(self.distances[rows], self.segments[rows], self.positions[rows])


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


def ann_rows(scan: AnnScan, bound: list[object], ctx, stats: AnnStats | None = None) -> pa.Table:
    """The rows of ``scan``'s table that the search finds, nearest first: every storage
    column and ROWID. ``stats``, when given, records what the search did."""
    snapshots, hits = ann_hits(scan, bound, ctx, stats)
    return _gather(scan, snapshots, hits)


def ann_hits(scan: AnnScan, bound: list[object], ctx, stats: AnnStats | None = None,
             columns: list[str] | None = None) -> tuple[list[SegmentSnapshot], Hits]:
    """The search alone: the segments it read (with every storage column, or ``columns``
    and those the search itself reads) and the rows it found in them, nearest first."""
    snapshots = ctx.txn.scan_segments(scan.table.oid, _columns_read(scan, columns))
    started = time.perf_counter()
    excluded = excluded_rows(scan, snapshots, bound, ctx)
    filtered = time.perf_counter()
    hits = _search(scan, snapshots, excluded, bound, ctx, stats)
    if stats is not None:
        stats.rows = sum(s.data.num_rows for s in snapshots)
        stats.kept = sum(e.size - e.count() for e in excluded)
        stats.filter_ms = (filtered - started) * 1000
        stats.search_ms = (time.perf_counter() - filtered) * 1000
        stats.returned = len(hits.positions)
    return snapshots, hits


def gathered(snapshots: list[SegmentSnapshot], hits: Hits, column: str) -> pa.Array:
    """One column of the rows ``hits`` names, in their order."""
    if not len(hits.positions):
        return pa.array([], snapshots[0].data.schema.field(column).type)
    first = hits.segments[0]
    if len(snapshots) == 1 or (hits.segments == first).all():
        return _taken(snapshots[first].data.column(column), hits.positions)
    pieces, order = [], []
    for number in np.unique(hits.segments):
        mine = np.flatnonzero(hits.segments == number)
        pieces.append(_taken(snapshots[number].data.column(column), hits.positions[mine]))
        order.append(mine)
    return pa.concat_arrays(pieces).take(pa.array(np.argsort(np.concatenate(order))))


def _columns_read(scan: AnnScan, columns: list[str] | None) -> list[str] | None:
    if columns is None or (scan.index.expressions and scan.index.expressions[0]) or scan.index.predicate:
        return None
    wanted = {*columns, scan.index.columns[0], *scan.filter_columns}
    return [c.name for c in scan.table.columns if c.name in wanted]


# ------------------------------------------------------------------ the search
def _search(scan: AnnScan, snapshots: list[SegmentSnapshot], excluded: list[Bitset], bound: list[object],
            ctx, stats: AnnStats | None) -> Hits:
    spec = ctx.vector_indexes.spec(scan.table, scan.index)
    query = query_vector(scan, spec, bound, ctx)
    limit, offset = integer_value(scan.limit, bound, ctx, "LIMIT"), integer_value(scan.offset, bound, ctx, "OFFSET") or 0
    # a range search ordered by something else keeps every row within the radius
    k = None if limit is None or not scan.ordered else limit + offset
    radius = operand_value(scan.radius, bound, ctx) if scan.radius is not None else None
    if scan.radius is not None and radius is None:
        return Hits(np.empty(0), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    params = ctx.search_params() if ctx.search_params is not None else search_params(ctx.setting)
    parts = []
    for number, (snapshot, bitset) in enumerate(zip(snapshots, excluded)):
        distances, positions = _search_segment(scan, spec, snapshot, bitset, query, k, radius, params, ctx, stats)
        parts.append(Hits(distances, np.full(len(positions), number, dtype=np.int64), positions))
    return _nearest(parts, k)


def _search_segment(scan: AnnScan, spec: KeySpec, snapshot: SegmentSnapshot, bitset: Bitset, query, k, radius,
                    params: SearchParams, ctx, stats: AnnStats | None) -> tuple[np.ndarray, np.ndarray]:
    """One segment's answer; ``stats`` (EXPLAIN ANALYZE) also gets how it was searched."""
    if not snapshot.data.num_rows:
        return np.empty(0), np.empty(0, dtype=np.int64)
    index = ctx.vector_indexes.lookup(scan.table, scan.index, snapshot)
    if index is not None:
        wanted = k if k is not None else index.indexed_rows
        if stats is not None:
            stats.by_index += 1
            if query is not None:
                stats.strategies.append(index.plan(wanted, params, bitset).describe())
        if query is None:
            return _any_rows(bitset, index.skipped, wanted)
        if radius is not None:
            return index.range_search(query, radius, params, bitset)[0]
        distances, ids = index.search(query, wanted, params, bitset)
        return _found(distances[0], ids[0])
    cursor = ctx.vector_indexes.cursor()
    try:
        matrix, usable = key_matrix(spec, scan.table, snapshot.data, cursor)
    finally:
        cursor.close()
    bitset = bitset.union(Bitset.from_mask(~usable))
    wanted = k if k is not None else int(bitset.size - bitset.count())
    if stats is not None:
        stats.exact += 1
        if query is not None:
            stats.strategies.append(f"exact search over {bitset.size - bitset.count()} of {bitset.size} rows")
    if query is None:
        return _any_rows(bitset, None, wanted)
    if spec.binary is False:
        matrix = matrix.astype(np.float32, copy=False)
    if radius is not None:
        return exact_range_search(matrix, query, radius, spec.metric, bitset)[0]
    distances, ids = exact_search(matrix, query, wanted, spec.metric, bitset)
    return _found(distances[0], ids[0])


def _found(distances: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One query's results without the padding (id -1) that follows the rows found."""
    if not len(ids) or ids[-1] >= 0:
        return distances, ids
    found = ids >= 0
    return distances[found], ids[found]


def _any_rows(bitset: Bitset, skipped: Bitset | None, wanted: int) -> tuple[np.ndarray, np.ndarray]:
    """``wanted`` rows in no particular order: a NULL query vector has no distances, and
    pgvector's index scan then returns the rows it holds as they come."""
    if skipped is not None:
        bitset = bitset.union(skipped)
    positions = bitset.invert().positions()[:wanted]
    return np.full(len(positions), np.nan), positions


def _nearest(parts: list[Hits], k: int | None) -> Hits:
    """The ``k`` nearest of the segments' answers (each already nearest first)."""
    if len(parts) == 1:
        return parts[0] if k is None or len(parts[0].positions) <= k else parts[0][:k]
    distances = np.concatenate([p.distances for p in parts]) if parts else np.empty(0)
    segments = np.concatenate([p.segments for p in parts]) if parts else np.empty(0, dtype=np.int64)
    positions = np.concatenate([p.positions for p in parts]) if parts else np.empty(0, dtype=np.int64)
    order = np.argsort(np.where(np.isnan(distances), np.inf, distances), kind="stable")
    if k is not None:
        order = order[:k]
    return Hits(distances[order], segments[order], positions[order])


def estimate(scan: AnnScan, bound: list[object], ctx) -> AnnStats:
    """What a search would do, without searching (EXPLAIN): the filter is evaluated for
    its selectivity and each segment's search planned."""
    stats = AnnStats()
    snapshots = ctx.txn.scan_segments(scan.table.oid)
    stats.rows = sum(s.data.num_rows for s in snapshots)
    excluded = excluded_rows(scan, snapshots, bound, ctx)
    stats.kept = sum(e.size - e.count() for e in excluded)
    limit, offset = integer_value(scan.limit, bound, ctx, "LIMIT"), integer_value(scan.offset, bound, ctx, "OFFSET") or 0
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


def _taken(column: pa.ChunkedArray, positions: np.ndarray) -> pa.Array:
    """``column.take(positions)``, with numpy for a numeric column, or a fixed-size list
    of numbers (a vector), without NULLs: a few rows out of a segment, for which Arrow's
    kernel costs more to call than to run."""
    if column.num_chunks != 1:
        return column.take(positions).combine_chunks()
    chunk = column.chunk(0)
    kind = chunk.type
    if chunk.null_count:
        return chunk.take(positions)
    if _numeric(kind):
        return pa.array(chunk.to_numpy()[positions], type=kind)
    if pa.types.is_fixed_size_list(kind) and _numeric(kind.value_type):
        values = chunk.flatten()
        if not values.null_count:
            rows = values.to_numpy().reshape(-1, kind.list_size)[positions]
            return pa.FixedSizeListArray.from_arrays(pa.array(rows.ravel(), type=kind.value_type), type=kind)
    return chunk.take(positions)


def _numeric(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind)


def _gather(scan: AnnScan, snapshots: list[SegmentSnapshot], hits: Hits) -> pa.Table:
    """The rows ``hits`` name, in their order: every storage column and ROWID."""
    if not len(hits.positions):
        empty = storage_schema(scan.table).empty_table()
        return empty.append_column(ROWID, pa.array([], pa.int64()))
    schema = snapshots[0].data.schema
    return pa.Table.from_arrays([gathered(snapshots, hits, name) for name in schema.names], schema=schema)


