"""Result column names as PostgreSQL chooses them (its FigureColname).

``SELECT count(*), '[1,2]'::vector, a + 1`` names its columns count, vector and
?column?; psql prints those names, so they must match.
"""

from __future__ import annotations

from sqlglot import exp

from pgvecdb.planner.datatypes import typeref_from_datatype
from pgvecdb.planner.rules import functions
from pgvecdb.types.typeref import split_type_text

UNNAMED = "?column?"

_FUNCTION_NAMES: dict[type, str] = {
    exp.Coalesce: "coalesce",
    exp.Greatest: "greatest",
    exp.Least: "least",
    exp.Nullif: "nullif",
    exp.CurrentDate: "current_date",
    exp.CurrentTimestamp: "current_timestamp",
    exp.CurrentTime: "current_time",
    exp.CurrentUser: "current_user",
}


def column_name(node: exp.Expression) -> str:
    name, _ = _figure(node)
    return name or UNNAMED


def _figure(node: exp.Expression) -> tuple[str | None, int]:
    """(name, strength): 2 for a real name, 1 for a fallback such as 'case', 0 for none."""
    if isinstance(node, exp.Alias):
        return node.alias, 2
    if isinstance(node, exp.Column):
        return (node.name if not isinstance(node.this, exp.Star) else None), 2
    if isinstance(node, exp.Paren):
        return _figure(node.this)
    if isinstance(node, exp.Cast):
        name, strength = _figure(node.this)
        if strength <= 1:
            return _cast_name(node.to), 1
        return name, strength
    if isinstance(node, exp.Case):
        return "case", 1
    if isinstance(node, exp.Array):
        return "array", 2  # ARRAY[] acts like a function
    if isinstance(node, exp.Tuple):
        return "row", 2
    if isinstance(node, exp.Exists):
        return "exists", 2
    if isinstance(node, exp.Subquery):
        select = node.this
        if isinstance(select, exp.Select) and select.expressions:
            return _figure(select.expressions[0])
        return None, 0
    for cls, name in _FUNCTION_NAMES.items():
        if isinstance(node, cls):
            return name, 2
    if isinstance(node, exp.Anonymous):
        return node.name.lower(), 2
    if isinstance(node, exp.Func) and not isinstance(node, (exp.Binary, exp.Unary)):
        return _func_name(node), 2
    return None, 0


def _func_name(node: exp.Func) -> str:
    if node.meta.get("pg_name"):
        return node.meta["pg_name"]
    if functions.pg_name(node):
        return functions.pg_name(node)
    name = node.sql_name().lower()
    return _SQLGLOT_TO_PG.get(name, name)


# sqlglot's canonical function names that PostgreSQL spells differently.
_SQLGLOT_TO_PG = {
    "group_concat": "string_agg",
    "listagg": "string_agg",
    "explode": "unnest",
    "count_if": "count",
    "current_timestamp": "now",
    "array_size": "array_length",
    "timestamp_trunc": "date_trunc",
    "str_position": "strpos",
}


def _cast_name(to: exp.DataType) -> str:
    try:
        return typeref_from_datatype(to).name.lstrip("_")
    except Exception:  # an unknown type name: PostgreSQL reports that error elsewhere
        name, _, _ = split_type_text(to.sql(dialect="postgres"))
        return name
