"""Recognise vector searches and hand them to the ANN operator.

A SELECT over one table ``t`` that orders by a pgvector distance between a column (or
the expression of an expression index) and a value known before the query runs ::

    SELECT ... FROM t [WHERE ...] ORDER BY embedding <-> $1 [, ...] LIMIT k [OFFSET o]

or that keeps the rows within a distance (``WHERE embedding <-> $1 < r``), becomes an
ANN search when a vector index of ``t`` matches the column, the operator (its operator
class) and, for a partial index, the predicate. The search runs per segment with the
WHERE as a bitset and yields the ``k + o`` nearest rows (or those within ``r``); the
SELECT itself still runs in DuckDB over those rows only, so its projection, WHERE,
ORDER BY and LIMIT keep their meaning and joins, CTEs or subqueries around it work
unchanged. The search's relation gets a name of its own, so that other references to
``t`` in the statement still read the whole table.

Without LIMIT (and without a radius) the index is used only when the session turns
``enable_seqscan`` off, as PostgreSQL would; exec decides that when the query runs.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable

from sqlglot import exp

from pgvecdb.catalog.model import Index, Table
from pgvecdb.engine import Metric
from pgvecdb.exec.vector_index_ddl import OPCLASSES, VECTOR_METHODS

# The metric each distance operator orders by.
OPERATOR_METRICS = {
    "<->": Metric.L2, "<#>": Metric.IP, "<=>": Metric.COSINE, "<+>": Metric.L1,
    "<~>": Metric.HAMMING, "<%>": Metric.JACCARD,
}
DISTANCE_META = "pgvector_distance"  # meta key the translator sets on a distance call: the operator
SEARCHABLE_TYPES = ("vector", "halfvec", "bit")


@dataclass
class SubQuery:
    """A part of the statement that exec evaluates by itself in DuckDB: ``sql`` reads
    ``relations`` (names of the statement's relations, plus ``supplied``) and binds the
    statement's parameters ``params`` (1-based) as its $1..$n."""

    sql: str
    params: list[int]
    relations: dict = field(default_factory=dict)  # name -> RelationRef


@dataclass
class Operand:
    """A value fixed for one execution: a bound parameter or a planned constant (both by
    their 1-based bind position), a literal ``value``, or a scalar subquery."""

    position: int | None = None
    query: SubQuery | None = None
    value: object = None


@dataclass
class AnnScan:
    """What the ANN operator does for one relation of a statement."""

    table: Table
    index: Index
    metric: Metric
    alias: str
    operator: str
    order_text: str  # the ORDER BY key as EXPLAIN shows it
    query: Operand
    limit: Operand | None = None
    offset: Operand | None = None
    radius: Operand | None = None
    filter: SubQuery | None = None  # yields the positions (column FILTER_POSITION) of the rows kept
    filter_columns: list[str] = field(default_factory=list)  # the table's columns the filter reads
    filter_text: str = ""
    ordered: bool = True  # False: a range search only
    predicate: tuple | None = None  # the filter in a form exec evaluates without DuckDB, when it has one
    # names this scan in exec's cache of filter bitsets (unique for the process's life)
    cache_key: int = field(default_factory=lambda: next(_SCAN_NUMBERS), repr=False, compare=False)


_SCAN_NUMBERS = itertools.count(1)
FILTER_RELATION = "pgv_ann_filter"
FILTER_POSITION = "__ann_pos"

KeySql = Callable[[Table, str], str]  # (table, SQL text of an expression over it) -> its DuckDB SQL


def mark_ann_searches(tree: exp.Expression, relations: dict, key_sql: KeySql, relation_ref: Callable) -> None:
    """Give every SELECT of ``tree`` that is a vector search an ANN relation of its own."""
    for select in list(tree.find_all(exp.Select)):
        found = _ann_scan(select, relations, key_sql)
        if found is None:
            continue
        scan, source = found
        original = source.name
        name = f"{original}__ann{sum(1 for r in relations.values() if getattr(r, 'ann', None))}"
        relations[name] = relation_ref(scan, relations[original])
        source.set("this", exp.to_identifier(name))
        if not any(t.name == original for t in tree.find_all(exp.Table)):
            del relations[original]


def _ann_scan(select: exp.Select, relations: dict, key_sql: KeySql) -> tuple[AnnScan, exp.Table] | None:
    source = _single_table(select, relations)
    if source is None:
        return None
    table: Table = relations[source.name].table
    alias = source.alias_or_name
    where = select.args.get("where")
    conjuncts = _conjuncts(where.this) if where is not None else []
    order = _order_key(select)
    radius_term = _range_term(conjuncts)
    if order is None and radius_term is None:
        return None
    distance = order if order is not None else radius_term.this
    if radius_term is not None and order is not None and not same(order, radius_term.this):
        distance = radius_term.this
    matched = _matching_index(table, distance, alias, conjuncts, key_sql)
    if matched is None:
        return None
    index, metric, query_side = matched
    query = _operand(query_side, relations)
    if query is None:
        return None
    limit, offset = _limit_operand(select, "limit", relations), _limit_operand(select, "offset", relations)
    if limit is False or offset is False:
        return None
    rest = [c for c in conjuncts if c is not radius_term]
    radius = None
    if radius_term is not None:
        radius = _operand(radius_term.expression, relations)
        if radius is None:
            return None
    filter_query = _filter(rest, source, relations) if rest else None
    if rest and filter_query is None:
        return None
    scan = AnnScan(
        table=table, index=index, metric=metric, alias=alias, operator=distance.meta[DISTANCE_META],
        order_text=_display(distance), query=query, limit=limit or None, offset=offset or None,
        radius=radius, filter=filter_query, filter_columns=sorted({c.name for r in rest for c in r.find_all(exp.Column)}),
        filter_text=" AND ".join(_display(c) for c in rest),
        ordered=order is not None and (radius_term is None or same(order, radius_term.this)),
    )
    return scan, source


# ------------------------------------------------------------------ the shape of the query
def _single_table(select: exp.Select, relations: dict) -> exp.Table | None:
    """The one user table a plain SELECT reads (no join, grouping, DISTINCT or window)."""
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is None or select.args.get("joins") or select.args.get("group") or select.args.get("having"):
        return None
    if select.args.get("distinct") or select.args.get("qualify") or select.args.get("laterals"):
        return None
    source = from_.this
    if not isinstance(source, exp.Table) or not isinstance(source.this, exp.Identifier):
        return None
    ref = relations.get(source.name)
    if ref is None or ref.kind != "table" or getattr(ref, "ann", None) is not None:
        return None
    if any(isinstance(e, exp.AggFunc) or isinstance(e, exp.Window) for s in select.expressions for e in s.walk()):
        return None
    return source


def _order_key(select: exp.Select) -> exp.Expression | None:
    """The ORDER BY's first key when it is an ascending pgvector distance."""
    order = select.args.get("order")
    if order is None or not order.expressions:
        return None
    first = order.expressions[0]
    if not isinstance(first, exp.Ordered) or first.args.get("desc") or first.args.get("nulls_first"):
        return None  # an index scan yields the nearest first and never NULL distances
    key = first.this
    return key if DISTANCE_META in key.meta else None


def _range_term(conjuncts: list[exp.Expression]) -> exp.Expression | None:
    """``distance < r`` (or ``<=``) among the WHERE's conjuncts."""
    for term in conjuncts:
        if isinstance(term, (exp.LT, exp.LTE)) and DISTANCE_META in term.this.meta:
            return term
    return None


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Paren):
        return _conjuncts(node.this)
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [node]


# ------------------------------------------------------------------ matching an index
def _matching_index(table: Table, distance: exp.Expression, alias: str, conjuncts: list[exp.Expression],
                    key_sql: KeySql) -> tuple[Index, Metric, exp.Expression] | None:
    """The first vector index whose key is one side of ``distance`` under the operator's
    metric (and whose predicate, for a partial index, is one of the WHERE's conjuncts);
    with the metric and the other side."""
    metric = OPERATOR_METRICS[distance.meta[DISTANCE_META]]
    left, right = distance.expressions[0], distance.expressions[1]
    conjunct_sql = {unqualified_sql(c, alias) for c in conjuncts}
    for index in table.indexes:
        if index.method not in VECTOR_METHODS or not index.opclasses:
            continue
        value_type, index_metric = OPCLASSES.get(index.opclasses[0] or _default_opclass(table, index), (None, None))
        if index_metric is not metric or value_type not in SEARCHABLE_TYPES:
            continue
        if index.predicate and key_sql(table, index.predicate) not in conjunct_sql:
            continue
        for key, other in ((left, right), (right, left)):
            if _is_index_key(key, table, index, alias, key_sql):
                return index, metric, other
    return None


def _default_opclass(table: Table, index: Index) -> str:
    column = table.column(index.columns[0]) if index.columns and index.columns[0] else None
    if column is not None and column.type_name in ("bit", "varbit"):
        return "bit_hamming_ops"
    return f"{column.type_name if column is not None else 'vector'}_l2_ops"


def _is_index_key(node: exp.Expression, table: Table, index: Index, alias: str, key_sql: KeySql) -> bool:
    expression = index.expressions[0] if index.expressions else None
    if expression:
        return unqualified_sql(node, alias) == key_sql(table, expression)
    node = without_identity_cast(node)
    return isinstance(node, exp.Column) and node.name == index.columns[0] and node.table in ("", alias)


def without_identity_cast(node: exp.Expression) -> exp.Expression:
    """A column under the cast the translator adds to restate its own type."""
    while isinstance(node, exp.Cast) and isinstance(node.this, exp.Column):
        node = node.this
    return node


def unqualified_sql(node: exp.Expression, alias: str) -> str:
    copy = node.copy()
    for column in copy.find_all(exp.Column):
        if column.table == alias:
            column.set("table", None)
    return copy.sql(dialect="duckdb")


def same(a: exp.Expression, b: exp.Expression) -> bool:
    return a.sql(dialect="duckdb") == b.sql(dialect="duckdb")


# ------------------------------------------------------------------ values known at run time
def _operand(node: exp.Expression, relations: dict) -> Operand | None:
    """How exec gets the value of ``node``: a bind position, or a query of its own when it
    reads no column of the SELECT around it."""
    if isinstance(node, exp.Parameter) and isinstance(node.this, exp.Literal):
        return Operand(position=int(node.this.this))
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Parameter) and isinstance(node.this.this, exp.Literal):
        return Operand(position=int(node.this.this.this))
    if isinstance(node, exp.Literal) and not node.is_string:
        return Operand(value=int(node.this) if node.is_int else float(node.this))
    if _reads_outer_columns(node):
        return None
    return Operand(query=_subquery(exp.select(node.copy()), relations))


def _reads_outer_columns(node: exp.Expression) -> bool:
    """Whether ``node`` reads a column other than those of a subquery of its own."""
    for column in node.find_all(exp.Column):
        select = column.find_ancestor(exp.Select)
        if select is None or not _is_within(select, node):
            return True
        own = {s.alias_or_name for s in select.find_all(exp.Table)}
        if column.table and column.table not in own:
            return True
    return False


def _is_within(inner: exp.Expression, outer: exp.Expression) -> bool:
    while inner is not None:
        if inner is outer:
            return True
        inner = inner.parent
    return False


def _limit_operand(select: exp.Select, arg: str, relations: dict) -> Operand | None | bool:
    """LIMIT/OFFSET as an operand; None when absent; False when it cannot be known early."""
    node = select.args.get(arg)
    if node is None:
        return None
    value = node.args.get("expression") if isinstance(node, (exp.Limit, exp.Offset)) else node
    if value is None or isinstance(value, exp.Null):
        return None  # LIMIT NULL: no limit
    if isinstance(value, exp.Literal) and value.is_int:
        return Operand(value=int(value.this))
    if isinstance(value, exp.Cast):
        value = value.this
    if isinstance(value, exp.Parameter) and isinstance(value.this, exp.Literal):
        return Operand(position=int(value.this.this))
    return False


def _filter(conjuncts: list[exp.Expression], source: exp.Table, relations: dict) -> SubQuery | None:
    """The positions of the rows the WHERE keeps, over the rows exec supplies."""
    condition = exp.and_(*[c.copy() for c in conjuncts])
    for column in condition.find_all(exp.Column):
        select = column.find_ancestor(exp.Select)
        if select is None and column.table not in ("", source.alias_or_name):
            return None  # a column of an enclosing query: the filter is not the table's own
    query = exp.select(exp.column(FILTER_POSITION)).from_(
        exp.Table(this=exp.to_identifier(FILTER_RELATION), alias=exp.TableAlias(this=exp.to_identifier(source.alias_or_name)))
    ).where(condition)
    return _subquery(query, relations)


def _subquery(query: exp.Select, relations: dict) -> SubQuery:
    """``query`` with its parameters renumbered $1..$n, and the relations it reads."""
    positions: list[int] = []
    for node in query.find_all(exp.Parameter):
        if isinstance(node.this, exp.Literal):
            position = int(node.this.this)
            if position not in positions:
                positions.append(position)
            node.set("this", exp.Literal.number(positions.index(position) + 1))
    names = sorted({t.name for t in query.find_all(exp.Table) if t.name in relations})
    return SubQuery(sql=query.sql(dialect="duckdb"), params=positions, relations={n: relations[n] for n in names})


def _display(node: exp.Expression) -> str:
    """An expression as EXPLAIN shows it: distances in pgvector's notation, without the
    casts the translator added."""
    while isinstance(node, exp.Cast) and isinstance(node.this, (exp.Parameter, exp.Column)):
        node = node.this
    if DISTANCE_META in node.meta:
        left, right = (_display(arg) for arg in node.expressions)
        return f"{left} {node.meta[DISTANCE_META]} {right}"
    copy = node.copy()
    pairs = list(zip(node.find_all(exp.Anonymous), copy.find_all(exp.Anonymous)))
    for original, copied in reversed(pairs):  # innermost last in BFS order: replace those first
        if DISTANCE_META in original.meta:
            left, right = (_display(arg) for arg in original.expressions)
            copied.replace(exp.Var(this=f"{left} {original.meta[DISTANCE_META]} {right}"))
    for cast in list(copy.find_all(exp.Cast)):
        if isinstance(cast.this, (exp.Parameter, exp.Column)):
            cast.replace(cast.this)
    return copy.sql(dialect="postgres")
