"""EXPLAIN: the plan as PostgreSQL clients expect it, one text row per line of QUERY PLAN."""

from __future__ import annotations

import re
import time

import pyarrow as pa

from pgvecdb.exec import ann_scan, executor
from pgvecdb.exec.ann_scan import AnnStats
from pgvecdb.planner.rules.ann_search import AnnScan, Operand
from pgvecdb.exec.executor import ExecContext
from pgvecdb.exec.result import ColumnInfo, Result
from pgvecdb.planner.plans import DeletePlan, ExplainPlan, InsertPlan, QueryPlan, UpdatePlan
from pgvecdb.planner.translate import DuckQuery


EXPLAIN_ELEMENTS = 8  # of a vector EXPLAIN prints


def plan_lines(plan, params: list[object] | None = None, ctx: ExecContext | None = None) -> list[str]:
    """A readable outline of ``plan``: the operator and the relations it reads (an ANN
    search in detail, when ``ctx`` allows evaluating its filter)."""
    if isinstance(plan, QueryPlan):
        direct = plan.query.direct
        if direct is not None and (ctx is None or ann_scan.applies(direct.scan, ctx.setting)):
            return ["Query (ANN operator, without DuckDB)"] + _scans(plan.query, params, ctx)
        return ["Query (DuckDB)"] + _scans(plan.query, params, ctx)
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


def _scans(query: DuckQuery, params: list[object] | None = None, ctx: ExecContext | None = None) -> list[str]:
    lines = []
    for name, ref in query.relations.items():
        if ref.kind == "table" and ref.ann is not None:
            bound = executor.bind(query, params or [])
            applies = ctx is None or ann_scan.applies(ref.ann, ctx.setting)
            lines += _ann_lines(ref.ann, bound, ctx, ctx.ann_stats.get(name) if ctx else None) if applies else \
                [f"  ->  Seq Scan on {ref.table.name}"]
        elif ref.kind == "table" and ref.key_lookup is not None:
            key = ref.table.unique_keys()[ref.key_lookup[0]]
            lines.append(f"  ->  Key Lookup on {ref.table.name} using {key.name}")
        elif ref.kind == "table":
            lines.append(f"  ->  Seq Scan on {ref.table.name}")
        elif ref.kind == "system":
            lines.append(f"  ->  Catalog Scan on {ref.schema}.{ref.name}")
    return lines


def _ann_lines(scan: AnnScan, bound: list[object], ctx: ExecContext | None, stats: AnnStats | None) -> list[str]:
    index = scan.index
    kind = "Range Search" if not scan.ordered else "ANN Search"
    opclass = index.opclasses[0] if index.opclasses and index.opclasses[0] else "default operator class"
    lines = [f"  ->  {kind} on {scan.table.name}"
             f"{' ' + scan.alias if scan.alias != scan.table.name else ''} using {index.name} ({index.method}, {opclass})",
             f"        Order By: {_with_values(scan.order_text, bound)}"]
    if scan.limit is not None or scan.offset is not None:
        lines.append(f"        Rows Wanted: LIMIT {_operand_text(scan.limit, bound)}"
                     + (f" + OFFSET {_operand_text(scan.offset, bound)}" if scan.offset is not None else ""))
    if scan.radius is not None:
        lines.append(f"        Radius: < {_operand_text(scan.radius, bound)}")
    if scan.filter is not None:
        lines.append(f"        Filter (bitset): {_with_values(scan.filter_text, bound)}")
    if ctx is None:
        return lines
    estimated = stats is None
    if estimated:
        stats = ann_scan.estimate(scan, bound, ctx)
    label = "Estimated Selectivity" if estimated else "Selectivity"
    lines.append(f"        {label}: {stats.selectivity:.4f} ({stats.kept} of {stats.rows} rows)")
    lines.append(f"        Segments: {stats.by_index} searched by index, {stats.exact} exactly")
    for strategy in dict.fromkeys(stats.strategies):
        lines.append(f"        Segment Search: {strategy}")
    if not estimated:
        lines.append(f"        Filter Time: {stats.filter_ms:.3f} ms  Search Time: {stats.search_ms:.3f} ms"
                     f"  Rows Found: {stats.returned}")
    return lines


def _operand_text(operand: Operand | None, bound: list[object]) -> str:
    if operand is None:
        return "ALL"
    if operand.position is not None:
        return _value_text(bound[operand.position - 1] if operand.position <= len(bound) else None)
    return "(subquery)" if operand.query is not None else str(operand.value)


def _with_values(text: str, bound: list[object]) -> str:
    """``text`` with its $n shown as the values they stand for."""
    def value(match: re.Match) -> str:
        n = int(match.group(1))
        return _value_text(bound[n - 1]) if n <= len(bound) else match.group(0)
    return re.sub(r"\$(\d+)", value, text)


def _value_text(value: object) -> str:
    """A bound value as EXPLAIN shows it; a long vector by its first elements."""
    if isinstance(value, dict) and len(value) == 1:
        (_, inner), = value.items()
        if isinstance(inner, str):
            return f"'{inner}'" if len(inner) <= 64 else f"'{inner[:64]}...'"
        if inner is not None:
            shown = ",".join(f"{float(x):g}" for x in inner[:EXPLAIN_ELEMENTS])
            return f"'[{shown}{',...' if len(inner) > EXPLAIN_ELEMENTS else ''}]'"
    if value is None:
        return "NULL"
    return f"'{value}'" if isinstance(value, str) else str(value)


def explain(plan: ExplainPlan, params: list[object], ctx: ExecContext) -> Result:
    if plan.analyze:
        return _explain_analyze(plan, params, ctx)
    lines = plan_lines(plan.inner, params, ctx)
    if plan.verbose:
        lines += _verbose_lines(plan)
    return _plan_result(lines)


def _explain_analyze(plan: ExplainPlan, params: list[object], ctx: ExecContext) -> Result:
    for name, ref in _relations(plan.inner).items():
        if ref.kind == "table" and ref.ann is not None:
            ctx.ann_stats[name] = AnnStats()
    started = time.perf_counter()
    result = executor.run(plan.inner, params, ctx)
    elapsed = (time.perf_counter() - started) * 1000
    lines = plan_lines(plan.inner, params, ctx)
    if plan.verbose:
        lines += _verbose_lines(plan)
    lines[0] += f" (actual rows={result.rowcount if result.rowcount >= 0 else 0})"
    lines.append(f"Execution Time: {elapsed:.3f} ms")
    return _plan_result(lines)


def _relations(plan) -> dict:
    query = getattr(plan, "query", None) or getattr(plan, "source", None)
    return query.relations if query is not None else {}


def _verbose_lines(plan: ExplainPlan) -> list[str]:
    query = getattr(plan.inner, "query", None) or getattr(plan.inner, "source", None)
    return [f"  DuckDB SQL: {query.sql}"] if query is not None else []


def _plan_result(lines: list[str]) -> Result:
    table = pa.table({"QUERY PLAN": lines})
    return Result(tag="EXPLAIN", columns=[ColumnInfo("QUERY PLAN", 25)], table=table)
