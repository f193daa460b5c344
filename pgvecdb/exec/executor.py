"""Running query and DML plans: materialise the relations a plan reads, run its DuckDB
query, and write through the storage transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import duckdb
import numpy as np
import pyarrow as pa

from pgvecdb.catalog import pg_catalog
from pgvecdb.catalog.model import Catalog, Table
from pgvecdb.catalog.pg_catalog import SystemContext
from pgvecdb.errors import PgError, UniqueViolation
from pgvecdb.engine import SearchParams
from pgvecdb.exec import ann_scan, duck
from pgvecdb.exec.ann_direct import run_direct
from pgvecdb.exec.ann_scan import AnnStats
from pgvecdb.exec.result import ColumnInfo, Result
from pgvecdb.exec.rows import to_duck, to_storage
from pgvecdb.exec.vector_indexes import VectorIndexes
from pgvecdb.planner.dml import CONFLICT_RELATION, EXCLUDED_RELATION, POSITION, RETURNING_RELATION
from pgvecdb.planner.plans import DeletePlan, ExplainPlan, InsertPlan, QueryPlan, UpdatePlan
from pgvecdb.planner.rules.ann_search import SubQuery
from pgvecdb.planner.translate import DuckQuery, RelationRef
from pgvecdb.storage.api import ROWID, Store, Transaction, UniqueConflict
from pgvecdb.types.codecs import pg_type_for_duck
from pgvecdb.types import registry
from pgvecdb.types.registry import by_oid
from pgvecdb.types.typeref import UNKNOWN
from pgvecdb.types.typeref import duck_type as duck_type_of


@dataclass
class ExecContext:
    """What running a plan needs from the session."""

    store: Store
    catalog: Catalog
    cursor: duckdb.DuckDBPyConnection
    txn: Transaction
    system_context: Callable[[], SystemContext]  # built on demand: only catalog queries need it
    notices: list = field(default_factory=list)
    setting: Callable[[str], str | None] = lambda name: None
    vector_indexes: VectorIndexes | None = None
    ann_stats: dict[str, AnnStats] = field(default_factory=dict)  # per ANN relation, for EXPLAIN ANALYZE
    search_params: Callable[[], SearchParams] | None = None  # the session's, cached; else read from settings


# --------------------------------------------------------------------------- relations
def materialize(query: DuckQuery, ctx: ExecContext, supplied: dict[str, pa.Table] | None = None,
                bound: list[object] | None = None) -> dict[str, pa.Table]:
    """The Arrow table behind each relation ``query`` reads (``bound``: its parameters)."""
    tables: dict[str, pa.Table] = {}
    system_ctx = None
    for name, ref in query.relations.items():
        if ref.kind == "table" and ref.ann is not None and ann_scan.applies(ref.ann, ctx.setting):
            tables[name] = to_duck(ref.table, ann_scan.ann_rows(ref.ann, bound or [], ctx, ctx.ann_stats.get(name)),
                                   with_rowid=ref.with_rowid)
        elif ref.kind == "table":
            rows = _rows_by_key(ref, bound or [], ctx)
            if rows is None:
                rows = ctx.txn.scan(ref.table.oid)
            tables[name] = to_duck(ref.table, rows, with_rowid=ref.with_rowid)
        elif ref.kind == "system":
            if system_ctx is None:
                system_ctx = ctx.system_context()
            tables[name] = pg_catalog.system_relation(ref.schema, ref.name, system_ctx)
        elif supplied is not None and name in supplied:
            tables[name] = supplied[name]
    return tables


_KEY_VALUE_TYPES = {"int2": int, "int4": int, "int8": int, "text": str, "varchar": str}


def _rows_by_key(ref: RelationRef, bound: list[object], ctx: ExecContext) -> pa.Table | None:
    """The rows a key lookup of ``ref`` can match, fetched through the unique-key index;
    None when the query has none or its value is not of the key's own kind (then scan)."""
    if ref.key_lookup is None:
        return None
    key_index, kind, payload = ref.key_lookup
    value = bound[payload - 1] if kind == "param" and payload <= len(bound) else payload
    column = ref.table.column(ref.table.unique_keys()[key_index].columns[0])
    wanted = _KEY_VALUE_TYPES.get(column.type_name)
    if wanted is None or type(value) is not wanted:
        return None
    found = [r for r in ctx.txn.lookup(ref.table.oid, key_index, [(value,)]) if r is not None]
    return ctx.txn.fetch(ref.table.oid, np.asarray(found, dtype=np.int64))


def run_subquery(query: SubQuery, bound: list[object], ctx: ExecContext,
                 supplied: dict[str, pa.Table] | None = None) -> pa.Table:
    """A part of a statement the ANN operator evaluates on its own (its filter, its query
    vector): ``bound`` are the statement's bind values."""
    values = [bound[p - 1] if p <= len(bound) else None for p in query.params]
    duck_query = DuckQuery(sql=query.sql, relations=query.relations, params=[UNKNOWN] * len(values), constants=[])
    table, _ = duck.run(ctx.cursor, query.sql, values, {**materialize(duck_query, ctx, None, values), **(supplied or {})})
    return table


def bind(query: DuckQuery, params: list[object]) -> list[object]:
    values = list(params[: len(query.params)])
    values += [None] * (len(query.params) - len(values))
    return values + list(query.constants)


def run_duck(query: DuckQuery, params: list[object], ctx: ExecContext,
             supplied: dict[str, pa.Table] | None = None) -> tuple[pa.Table, list[str]]:
    bound = bind(query, params)
    return duck.run(ctx.cursor, query.sql, bound, materialize(query, ctx, supplied, bound))


def describe_columns(query: DuckQuery, types: list[str], names: list[str]) -> list[ColumnInfo]:
    """RowDescription fields: the planner's type for a column where DuckDB's agrees with it
    (same DuckDB representation), else the PostgreSQL type of DuckDB's."""
    inferred = query.column_types or []
    columns = []
    for i, duck_type in enumerate(types):
        oid, typmod = pg_type_for_duck(duck_type)
        ref = inferred[i] if i < len(inferred) else None
        if ref is not None and registry.by_name(ref.name) is not None and \
                duck_type_of(ref).replace(" ", "") == duck_type.replace(" ", ""):
            oid, typmod = registry.by_name(ref.name).oid, ref.typmod
        pgtype = by_oid(oid)
        name = query.column_names[i] if query.column_names and i < len(query.column_names) else names[i]
        columns.append(ColumnInfo(name=name, type_oid=oid, typmod=typmod, typlen=pgtype.typlen if pgtype else -1))
    return columns


# --------------------------------------------------------------------------- SELECT
def run_query(plan: QueryPlan, params: list[object], ctx: ExecContext) -> Result:
    direct = plan.query.direct
    if direct is not None and ann_scan.applies(direct.scan, ctx.setting):
        return run_direct(direct, plan.query, bind(plan.query, params), ctx, describe_columns)
    table, types = run_duck(plan.query, params, ctx)
    columns = describe_columns(plan.query, types, table.schema.names)
    return Result(tag=f"SELECT {table.num_rows}", columns=columns, table=table)


# --------------------------------------------------------------------------- INSERT
def run_insert(plan: InsertPlan, params: list[object], ctx: ExecContext) -> Result:
    proposed, _ = run_duck(plan.source, params, ctx)
    rows = to_storage(plan.table, proposed)
    written_duck = proposed
    if plan.conflict is None:
        insert_checked(plan.table, rows, ctx)
    else:
        rows, written_duck = _insert_on_conflict(plan, rows, proposed, params, ctx)
    count = rows.num_rows
    return _with_returning(f"INSERT 0 {count}", plan.returning, written_duck, plan.table, params, ctx)


def insert_checked(table: Table, rows: pa.Table, ctx: ExecContext) -> np.ndarray:
    try:
        return ctx.txn.insert(table.oid, rows)
    except UniqueConflict as conflict:
        raise unique_violation(table, conflict) from None


def unique_violation(table: Table, conflict: UniqueConflict) -> PgError:
    key = table.unique_keys()[conflict.key_index]
    values = ", ".join("null" if v is None else str(v) for v in conflict.key_values)
    return UniqueViolation(
        f'duplicate key value violates unique constraint "{key.name}"',
        detail=f"Key ({', '.join(key.columns)})=({values}) already exists.",
    )


def _insert_on_conflict(plan: InsertPlan, rows: pa.Table, proposed: pa.Table, params: list[object],
                        ctx: ExecContext) -> tuple[pa.Table, pa.Table]:
    """INSERT ... ON CONFLICT: split the proposed rows into new rows and conflicting ones."""
    table, clause = plan.table, plan.conflict
    keys = table.unique_keys()
    key_indexes = [clause.key_index] if clause.key_index is not None else list(range(len(keys)))
    existing = np.full(rows.num_rows, -1, dtype=np.int64)
    seen: dict[tuple[int, tuple], int] = {}
    fresh = np.ones(rows.num_rows, dtype=bool)
    for k in key_indexes:
        columns = [rows.column(c).to_pylist() for c in keys[k].columns]
        tuples = [tuple(v) for v in zip(*columns)]
        found = ctx.txn.lookup(table.oid, k, tuples)
        # DO NOTHING for a key another open transaction holds: PostgreSQL would wait for it
        # and, were it to commit, do nothing; not waiting, doing nothing never fails.
        held = ctx.txn.held_elsewhere(table.oid, k, tuples) if clause.action == "nothing" else None
        for i, (values, rowid) in enumerate(zip(tuples, found)):
            if None in values:
                continue
            if held is not None and held[i]:
                fresh[i] = False
            elif rowid is not None:
                existing[i] = rowid
                fresh[i] = False
            elif (k, values) in seen:
                if clause.action == "update":
                    raise PgError("ON CONFLICT DO UPDATE command cannot affect row a second time",
                                  sqlstate="21000",
                                  hint="Ensure that no rows proposed for insertion within the same command "
                                       "have duplicate constrained values.")
                fresh[i] = False
            else:
                seen[(k, values)] = i
    new_rows = rows.filter(pa.array(fresh))
    written = _named(proposed.filter(pa.array(fresh)), table)
    if new_rows.num_rows:
        insert_checked(table, new_rows, ctx)
    if clause.action == "update" and (~fresh).any():
        updated = _conflict_update(plan, proposed, existing, ~fresh, params, ctx)
        written = pa.concat_tables([written, updated]) if written.num_rows else updated
        return pa.concat_tables([new_rows, to_storage(table, updated)]) if new_rows.num_rows else \
            to_storage(table, updated), written
    return new_rows, written


def _conflict_update(plan: InsertPlan, proposed: pa.Table, existing: np.ndarray, conflicting: np.ndarray,
                     params: list[object], ctx: ExecContext) -> pa.Table:
    table = plan.table
    positions = np.nonzero(conflicting)[0]
    current = to_duck(table, ctx.txn.scan(table.oid), with_rowid=True)
    wanted = existing[positions]
    index = {int(r): i for i, r in enumerate(current.column(ROWID).to_pylist())}
    take = pa.array([index[int(r)] for r in wanted], pa.int64())
    old = current.take(take).append_column(POSITION, pa.array(positions, pa.int64()))
    excluded = proposed.take(pa.array(positions, pa.int64()))
    excluded = pa.Table.from_arrays(list(excluded.columns), names=[c.name for c in table.columns])
    excluded = excluded.append_column(POSITION, pa.array(positions, pa.int64()))
    result, _ = run_duck(plan.conflict.update, params, ctx, {CONFLICT_RELATION: old, EXCLUDED_RELATION: excluded})
    result = _apply_update(table, result, ctx)
    return _named(result.drop_columns([result.schema.names[0]]), table)


def _named(rows: pa.Table, table: Table) -> pa.Table:
    """``rows`` (one column per table column, in order) under the table's column names."""
    return pa.Table.from_arrays(list(rows.columns)[: len(table.columns)], names=[c.name for c in table.columns])


# --------------------------------------------------------------------------- UPDATE / DELETE
def run_update(plan: UpdatePlan, params: list[object], ctx: ExecContext) -> Result:
    result, _ = run_duck(plan.source, params, ctx)
    rowids = result.column(0).to_numpy()
    _, unique_idx = np.unique(rowids, return_index=True)
    if len(unique_idx) != len(rowids):
        result = result.take(pa.array(np.sort(unique_idx)))
        rowids = result.column(0).to_numpy()
    result = _apply_update(plan.table, result, ctx)
    written = result.drop_columns([result.schema.names[0]])
    return _with_returning(f"UPDATE {result.num_rows}", plan.returning, written, plan.table, params, ctx)


def _apply_update(table: Table, result: pa.Table, ctx: ExecContext) -> pa.Table:
    """Write ``result`` (__rowid, then the new value of every column); returns the rows that
    were updated — not those a transaction that committed meanwhile had deleted."""
    if not result.num_rows:
        return result
    try:
        done = ctx.txn.update_rows(table.oid, result.column(0).to_numpy(), to_storage(table, result, offset=1))
    except UniqueConflict as conflict:
        raise unique_violation(table, conflict) from None
    return result if done.all() else result.filter(pa.array(done))


def run_delete(plan: DeletePlan, params: list[object], ctx: ExecContext) -> Result:
    result, _ = run_duck(plan.source, params, ctx)
    rowids = np.unique(result.column(0).to_numpy())
    deleted = None
    if plan.returning is not None and len(rowids):
        current = to_duck(plan.table, ctx.txn.scan(plan.table.oid), with_rowid=True)
        mask = np.isin(current.column(ROWID).to_numpy(), rowids)
        deleted = current.filter(pa.array(mask)).drop_columns([ROWID])
    count = ctx.txn.delete(plan.table.oid, rowids) if len(rowids) else 0
    if deleted is None:
        deleted = to_duck(plan.table, ctx.txn.scan(plan.table.oid).slice(0, 0))
    return _with_returning(f"DELETE {count}", plan.returning, deleted, plan.table, params, ctx)


def _with_returning(tag: str, returning: DuckQuery | None, rows: pa.Table, table: Table,
                    params: list[object], ctx: ExecContext) -> Result:
    if returning is None:
        return Result(tag=tag)
    rows = _named(rows, table)
    result, types = run_duck(returning, params, ctx, {RETURNING_RELATION: rows})
    return Result(tag=tag, columns=describe_columns(returning, types, result.schema.names), table=result)


# --------------------------------------------------------------------------- dispatch
_RUNNERS = {QueryPlan: run_query, InsertPlan: run_insert, UpdatePlan: run_update, DeletePlan: run_delete}


def run(plan, params: list[object], ctx: ExecContext) -> Result:
    return _RUNNERS[type(plan)](plan, params, ctx)


def describe(plan, ctx: ExecContext) -> list[ColumnInfo] | None:
    """The result columns of ``plan`` without running it (for Describe)."""
    if isinstance(plan, ExplainPlan):
        return [ColumnInfo("QUERY PLAN", 25)]
    if isinstance(plan, QueryPlan):
        query = plan.query
    else:
        query = getattr(plan, "returning", None)
    if query is None:
        return None
    relations = {name: _empty_relation(ref, ctx) for name, ref in query.relations.items()}
    names, types = duck.describe(ctx.cursor, query.sql, [None] * len(query.params) + list(query.constants),
                                 relations)
    return describe_columns(query, types, names)


def _empty_relation(ref: RelationRef, ctx: ExecContext) -> pa.Table:
    from pgvecdb.exec.rows import storage_schema

    if ref.kind == "system":
        return pg_catalog.system_relation(ref.schema, ref.name, ctx.system_context()).slice(0, 0)
    empty = storage_schema(ref.table).empty_table().append_column(ROWID, pa.array([], pa.int64()))
    rows = to_duck(ref.table, empty, with_rowid=ref.with_rowid or ref.kind == "rows")
    if ref.kind == "rows" and ref.name in (CONFLICT_RELATION, EXCLUDED_RELATION):
        rows = rows.append_column(POSITION, pa.array([], pa.int64()))
    if ref.kind == "rows" and ref.name == RETURNING_RELATION:
        rows = rows.drop_columns([ROWID])
    return rows
