"""PostgreSQL functions that DuckDB spells differently: renamed to DuckDB's equivalent.

The planner consults ``duckdb_equivalent`` for every function call it does not resolve
itself (pgvector's functions, sequences, session functions come first).
"""

from __future__ import annotations

from sqlglot import exp

# PostgreSQL name -> (DuckDB name, PostgreSQL result type)
RENAMED: dict[str, tuple[str, str]] = {
    "json_build_object": ("json_object", "json"),
    "jsonb_build_object": ("json_object", "jsonb"),
    "json_build_array": ("json_array", "json"),
    "jsonb_build_array": ("json_array", "jsonb"),
    "json_object_agg": ("json_group_object", "json"),
    "jsonb_object_agg": ("json_group_object", "jsonb"),
}

# sqlglot parses some of them into its own expression classes.
_CLASSES: dict[type, str] = {
    exp.JSONArrayAgg: "json_agg",
    exp.JSONObjectAgg: "json_object_agg",
}


def pg_name(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    return _CLASSES.get(type(node))


# json_agg(x [ORDER BY y]) is to_json(array_agg(x [ORDER BY y])): DuckDB's json_group_array
# is a macro, which cannot take ORDER BY.
_JSON_AGGREGATES = {"json_agg": "json", "jsonb_agg": "jsonb"}


def duckdb_equivalent(node: exp.Expression, args: list[exp.Expression]) -> tuple[exp.Expression, str] | None:
    """The DuckDB call for ``node`` and its PostgreSQL result type, if DuckDB names it differently."""
    name = pg_name(node)
    if name in _JSON_AGGREGATES and len(args) == 1:
        call = exp.Anonymous(this="to_json", expressions=[exp.ArrayAgg(this=args[0])])
        call.meta["pg_name"] = name
        return call, _JSON_AGGREGATES[name]
    if name not in RENAMED:
        return None
    duck_name, result = RENAMED[name]
    call = exp.Anonymous(this=duck_name, expressions=args)
    call.meta["pg_name"] = name
    return call, result
