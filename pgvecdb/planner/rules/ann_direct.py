"""Which ANN SELECTs exec answers by itself, without DuckDB (exec/ann_direct).

``SELECT id[, embedding <-> $1 AS d] FROM t [WHERE ...] ORDER BY embedding <-> $1 LIMIT k``:
its columns are the table's or the distance it orders by, it orders by that distance only,
and its WHERE is a ``Predicate`` — comparisons of plain columns with constants or
parameters, IN lists, BETWEEN, IS [NOT] NULL, boolean columns, under AND, OR and NOT —
that exec evaluates with pyarrow.compute straight into the search's bitset. Anything else
runs in DuckDB over the rows the ANN operator finds (rules/ann_search).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from pgvecdb.planner.rules.ann_search import AnnScan, Operand, same, without_identity_cast

# A predicate exec evaluates with pyarrow.compute over a segment's columns:
#   ("and" | "or", [predicates]), ("not", predicate), ("compare", op, column, Operand),
#   ("in", column, [Operands]), ("null", column)
Predicate = tuple

_COMPARISONS = {exp.EQ: "equal", exp.NEQ: "not_equal", exp.LT: "less", exp.LTE: "less_equal",
                exp.GT: "greater", exp.GTE: "greater_equal"}
_MIRRORED = {"less": "greater", "less_equal": "greater_equal", "greater": "less", "greater_equal": "less_equal",
             "equal": "equal", "not_equal": "not_equal"}
_PLAIN_TYPES = ("int2", "int4", "int8", "float4", "float8", "bool", "text", "varchar", "bpchar")


@dataclass
class DirectSearch:
    """A SELECT that the ANN operator answers alone, without DuckDB: its columns are the
    table's or the distance it orders by, its WHERE is a ``Predicate`` and it orders by
    the distance only. ``outputs``: per result column, a column name or None for the
    distance (computed by ``distance_function``, the DuckDB UDF of the operator).
    ``relation`` names the ANN relation in the query; ``columns_read`` are the table's
    columns the outputs need (the indexed one too, for the distance)."""

    scan: AnnScan
    outputs: list[str | None]
    distance_function: str
    query_on_left: bool
    relation: str
    columns_read: list[str] = field(init=False)

    def __post_init__(self) -> None:
        wanted = [c for c in self.outputs if c] + ([self.scan.index.columns[0]] if None in self.outputs else [])
        self.columns_read = list(dict.fromkeys(wanted))


def direct_search(tree: exp.Expression, relations: dict) -> DirectSearch | None:
    """The DirectSearch ``tree`` is, when it is a plain ANN SELECT."""
    if not isinstance(tree, exp.Select) or tree.args.get("with") or tree.args.get("order") is None:
        return None
    if len(tree.args["order"].expressions) != 1:
        return None
    source = (tree.args.get("from_") or tree.args.get("from")).this if (tree.args.get("from_") or tree.args.get("from")) else None
    ref = relations.get(source.name) if isinstance(source, exp.Table) else None
    scan = getattr(ref, "ann", None)
    if scan is None or not scan.ordered or scan.radius is not None or scan.query.position is None:
        return None  # a query vector computed by a subquery needs DuckDB
    key = tree.args["order"].expressions[0].this
    outputs = _direct_outputs(tree, scan, key)
    if outputs is None:
        return None
    where = tree.args.get("where")
    if where is not None:
        predicate = _predicate(where.this, scan)
        if predicate is None:
            return None
        scan.predicate = predicate
    query_on_left = not _is_column_side(key.expressions[0], scan)
    return DirectSearch(scan, outputs, key.name, query_on_left, source.name)


def _is_column_side(node: exp.Expression, scan: AnnScan) -> bool:
    node = without_identity_cast(node)
    return isinstance(node, exp.Column) and node.name == scan.index.columns[0]


def _direct_outputs(select: exp.Select, scan: AnnScan, key: exp.Expression) -> list[str | None] | None:
    if scan.index.expressions and scan.index.expressions[0]:
        return None
    outputs: list[str | None] = []
    for item in select.expressions:
        node = item.unalias() if isinstance(item, exp.Alias) else item
        if isinstance(node, exp.Star):
            outputs += [c.name for c in scan.table.columns]
        elif isinstance(node, exp.Column) and isinstance(node.this, exp.Star) and node.table in ("", scan.alias):
            outputs += [c.name for c in scan.table.columns]
        elif isinstance(node, exp.Column) and node.table in ("", scan.alias) and scan.table.column(node.name):
            outputs.append(node.name)
        elif same(node, key):
            outputs.append(None)
        else:
            return None
    return outputs


def _predicate(node: exp.Expression, scan: AnnScan) -> Predicate | None:
    if isinstance(node, exp.Paren):
        return _predicate(node.this, scan)
    if isinstance(node, (exp.And, exp.Or)):
        parts = [_predicate(node.this, scan), _predicate(node.expression, scan)]
        return None if None in parts else ("and" if isinstance(node, exp.And) else "or", parts)
    if isinstance(node, exp.Not):
        inner = _predicate(node.this, scan)
        return None if inner is None else ("not", inner)
    if type(node) in _COMPARISONS:
        op = _COMPARISONS[type(node)]
        column, value = _plain_column(node.this, scan), node.expression
        if column is None:
            column, value, op = _plain_column(node.expression, scan), node.this, _MIRRORED[op]
        operand = _constant(value)
        return None if column is None or operand is None else ("compare", op, column, operand)
    if isinstance(node, exp.In) and not node.args.get("query"):
        column = _plain_column(node.this, scan)
        operands = [_constant(v) for v in node.expressions]
        return None if column is None or None in operands else ("in", column, operands)
    if isinstance(node, exp.Column):  # a boolean column on its own
        column = _plain_column(node, scan)
        boolean = column is not None and scan.table.column(column).type_name == "bool"
        return ("compare", "equal", column, Operand(value=True)) if boolean else None
    if isinstance(node, exp.Between):
        column, low, high = _plain_column(node.this, scan), _constant(node.args["low"]), _constant(node.args["high"])
        if column is None or low is None or high is None:
            return None
        return ("and", [("compare", "greater_equal", column, low), ("compare", "less_equal", column, high)])
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        column = _plain_column(node.this, scan)
        if column is None:
            return None
        return ("not", ("null", column)) if node.args.get("negate") else ("null", column)
    return None


def _plain_column(node: exp.Expression, scan: AnnScan) -> str | None:
    if isinstance(node, exp.Column) and node.table in ("", scan.alias):
        column = scan.table.column(node.name)
        if column is not None and column.type_name in _PLAIN_TYPES:
            return column.name
    return None


def _constant(node: exp.Expression) -> Operand | None:
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Parameter):
        node = node.this
    if isinstance(node, exp.Parameter) and isinstance(node.this, exp.Literal):
        return Operand(position=int(node.this.this))
    if isinstance(node, exp.Literal):
        if node.is_string:
            return Operand(value=node.this)
        return Operand(value=int(node.this) if node.is_int else float(node.this))
    if isinstance(node, exp.Boolean):
        return Operand(value=bool(node.this))
    if isinstance(node, exp.Null):
        return Operand(value=None)
    return None
