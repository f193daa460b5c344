"""EXPLAIN: the plan as PostgreSQL clients expect it, one text row per line of QUERY PLAN."""

from __future__ import annotations

import time

import pyarrow as pa

from pgvecdb.exec import executor
from pgvecdb.exec.executor import ExecContext
from pgvecdb.exec.result import ColumnInfo, Result
from pgvecdb.planner.plans import DeletePlan, ExplainPlan, InsertPlan, QueryPlan, UpdatePlan
from pgvecdb.planner.translate import DuckQuery


def plan_lines(plan) -> list[str]:
    """A readable outline of ``plan``: the operator and the relations it reads."""
    if isinstance(plan, QueryPlan):
        return ["Query (DuckDB)"] + _scans(plan.query)
    if isinstance(plan, InsertPlan):
        lines = [f"Insert on {plan.table.name}"]
        if plan.conflict is not None:
            lines.append(f"  Conflict Resolution: {plan.conflict.action.upper()}")
        return lines + ["  ->  Values/Query (DuckDB)"] + ["  " + s for s in _scans(plan.source)]
    if isinstance(plan, UpdatePlan):
        return [f"Update on {plan.table.name}"] + _scans(plan.source)
    if isinstance(plan, DeletePlan):
        return [f"Delete on {plan.table.name}"] + _scans(plan.source)
    return [type(plan).__name__]


def _scans(query: DuckQuery) -> list[str]:
    lines = []
    for ref in query.relations.values():
        if ref.kind == "table" and ref.key_lookup is not None:
            key = ref.table.unique_keys()[ref.key_lookup[0]]
            lines.append(f"  ->  Key Lookup on {ref.table.name} using {key.name}")
        elif ref.kind == "table":
            lines.append(f"  ->  Seq Scan on {ref.table.name}")
        elif ref.kind == "system":
            lines.append(f"  ->  Catalog Scan on {ref.schema}.{ref.name}")
    return lines


def explain(plan: ExplainPlan, params: list[object], ctx: ExecContext) -> Result:
    lines = plan_lines(plan.inner)
    if plan.verbose:
        query = getattr(plan.inner, "query", None) or getattr(plan.inner, "source", None)
        if query is not None:
            lines.append(f"  DuckDB SQL: {query.sql}")
    if plan.analyze:
        started = time.perf_counter()
        result = executor.run(plan.inner, params, ctx)
        elapsed = (time.perf_counter() - started) * 1000
        lines[0] += f" (actual rows={result.rowcount if result.rowcount >= 0 else 0})"
        lines.append(f"Execution Time: {elapsed:.3f} ms")
    table = pa.table({"QUERY PLAN": lines})
    return Result(tag="EXPLAIN", columns=[ColumnInfo("QUERY PLAN", 25)], table=table)
