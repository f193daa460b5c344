"""PostgreSQL's system functions as SQL over the system relations.

DuckDB functions cannot see the catalog or the session, so a call such as
``pg_get_userbyid(c.relowner)`` or ``'items'::regclass`` is expanded into an expression over
pg_catalog's relations (``(SELECT rolname FROM pg_catalog.pg_authid WHERE oid = ...)``),
which the planner then binds like any other reference to them. The expansions are DuckDB
SQL templates; ``planner.rules.pg_compat`` decides where they apply.

Templates must not capture the columns of the query around them: an argument such as the
unqualified ``oid`` of ``oid::regtype`` would otherwise bind to the template's own
``pg_type``. So every relation a template reads (aliased ``pgvc_...``) is replaced by a
derived table whose columns are renamed ``pgvc_<column>``, which no outer query uses.
"""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from functools import lru_cache
from typing import Callable

import sqlglot
from sqlglot import exp

from pgvecdb.catalog import functions as udf
from pgvecdb.catalog.builtin_objects import PG_CLASS_OID, SYSTEM_NAMESPACE_OIDS
from pgvecdb.catalog.pg_catalog import RELATIONS
from pgvecdb.catalog.pg_types import type_name_oid
from pgvecdb.errors import (
    FeatureNotSupported,
    InvalidSchemaName,
    PgError,
    UndefinedFunction,
    UndefinedObject,
    UndefinedTable,
    udf_error,
)

_STARTED = datetime.now(timezone.utc)
_PLATFORM = f"{platform.machine()}-pc-linux-gnu"

Expansion = Callable[[list[exp.Expression]], exp.Expression]


_PREFIX = "pgvc_"


@lru_cache(maxsize=None)
def _parsed(sql: str) -> exp.Expression:
    tree = sqlglot.parse_one(sql, read="duckdb")
    for table in list(tree.find_all(exp.Table)):
        relation = RELATIONS.get((table.db, table.name))
        if relation is not None and table.alias.startswith(_PREFIX):
            renamed = exp.select(*(exp.alias_(exp.column(c.name), _PREFIX + c.name) for c in relation.columns))
            derived = renamed.from_(exp.table_(table.name, db=table.db))
            table.replace(exp.Subquery(this=derived, alias=exp.TableAlias(this=exp.to_identifier(table.alias))))
    for column in tree.find_all(exp.Column):
        if column.table.startswith(_PREFIX):
            column.set("this", exp.to_identifier(_PREFIX + column.name))
    return tree


def fill(sql: str, **args: exp.Expression) -> exp.Expression:
    """The template ``sql`` with each column ``__name`` replaced by a copy of ``args[name]``."""
    tree = _parsed(sql).copy()
    for column in list(tree.find_all(exp.Column)):
        if not column.table and column.name.startswith("__") and column.name[2:] in args:
            replacement = args[column.name[2:]].copy()
            if column is tree:
                return replacement
            column.replace(replacement)
    return tree


def string(text: str) -> exp.Expression:
    return exp.Literal.string(text)


def raise_error(error: type[PgError], message: exp.Expression) -> exp.Expression:
    """An expression that fails with ``error`` and ``message`` (itself an SQL expression)."""
    prefix, _, suffix = str(udf_error(error("\0"))).partition("\0")
    return exp.Anonymous(this="error", expressions=[
        exp.DPipe(this=exp.DPipe(this=string(prefix), expression=message), expression=string(suffix))
    ])


def unless_null(value: exp.Expression, source: exp.Expression, error: Callable[[], exp.Expression]) -> exp.Expression:
    """``value``, or ``error()`` when it is NULL although ``source`` is not."""
    return fill("CASE WHEN __source IS NULL THEN NULL ELSE coalesce(__value, __error) END",
                source=source, value=value, error=error())


# The session ---------------------------------------------------------------------------------


def session_value(column: str) -> exp.Expression:
    """A column of the one-row ``pg_catalog.pgvecdb_session`` relation."""
    return fill(f"(SELECT pgvc_s.{column} FROM pg_catalog.pgvecdb_session pgvc_s)")


def current_schemas(include_implicit: exp.Expression) -> exp.Expression:
    return fill("(SELECT CASE WHEN __b THEN pgvc_s.search_path ELSE pgvc_s.explicit_search_path END "
                "FROM pg_catalog.pgvecdb_session pgvc_s)", b=include_implicit)


def version() -> exp.Expression:
    return fill(f"'PostgreSQL ' || (SELECT pgvc_g.setting FROM pg_catalog.pg_settings pgvc_g "
                f"WHERE pgvc_g.name = 'server_version') || ' on {_PLATFORM}, 64-bit'")


def current_setting(args: list[exp.Expression]) -> exp.Expression:
    name = args[0]
    value = fill("(SELECT pgvc_g.setting FROM pg_catalog.pg_settings pgvc_g WHERE lower(pgvc_g.name) = lower(__n))",
                 n=name)
    if len(args) > 1:
        return fill("CASE WHEN __missing_ok THEN __value ELSE __checked END", missing_ok=args[1], value=value,
                    checked=_setting_or_error(value, name))
    return _setting_or_error(value, name)


def _setting_or_error(value: exp.Expression, name: exp.Expression) -> exp.Expression:
    message = fill("'unrecognized configuration parameter \"' || __n || '\"'", n=name)
    return unless_null(value, name, lambda: raise_error(UndefinedObject, message))


# Names of objects and their OIDs: the reg* types ----------------------------------------------

# kind -> (relation, OID column, name column, namespace column, error, what the error calls it)
_REG_KINDS = {
    "regclass": ("pg_class", "relname", "relnamespace", UndefinedTable, "relation"),
    "regtype": ("pg_type", "typname", "typnamespace", UndefinedObject, "type"),
    "regnamespace": ("pg_namespace", "nspname", None, InvalidSchemaName, "schema"),
    "regproc": ("pg_proc", "proname", "pronamespace", UndefinedFunction, "function"),
    "regprocedure": ("pg_proc", "proname", "pronamespace", UndefinedFunction, "function"),
    "regrole": ("pg_authid", "rolname", None, UndefinedObject, "role"),
}
REG_TYPES = frozenset(_REG_KINDS)


def name_to_oid(kind: str, source: exp.Expression, *, missing_ok: bool = False) -> exp.Expression:
    """The OID named by ``source`` (text: a name, possibly schema-qualified, or digits)."""
    if kind not in _REG_KINDS:
        raise FeatureNotSupported(f"type {kind} is not supported")
    if isinstance(source, exp.Literal):
        return _literal_name_to_oid(kind, source, missing_ok)
    relation, name_col, _, error, what = _REG_KINDS[kind]
    source = exp.Cast(this=source, to=exp.DataType.build("text"))  # a parameter here is text
    lookup = _dynamic_lookup(kind, source)
    value = fill("CASE WHEN regexp_full_match(__src, '[0-9]+') THEN CAST(__src AS BIGINT) ELSE __lookup END",
                 src=source, lookup=lookup)
    if missing_ok:
        return value
    message = fill(f"'{what} \"' || __src || '\" does not exist'", src=source)
    return unless_null(value, source, lambda: raise_error(error, message))


def _literal_name_to_oid(kind: str, source: exp.Literal, missing_ok: bool) -> exp.Expression:
    text = source.this
    if not source.is_string or text.strip().isdigit():
        return exp.Literal.number(int(text))
    static = _static_oid(kind, text)
    if static is not None:
        return exp.Literal.number(static)
    schema, name = split_qualified_name(text)
    relation, name_col, namespace_col, error, what = _REG_KINDS[kind]
    lookup = _lookup(relation, name_col, namespace_col, string(name), string(schema) if schema else None)
    if missing_ok:
        return lookup
    return fill("coalesce(__v, __error)", v=lookup, error=raise_error(error, string(f'{what} "{text}" does not exist')))


def _static_oid(kind: str, text: str) -> int | None:
    """OIDs known without the catalog: built-in types, and pg_catalog's own relations."""
    if kind == "regtype":
        return type_name_oid(text)
    if kind == "regclass":
        schema, name = split_qualified_name(text)
        relation = RELATIONS.get((schema or "pg_catalog", name))
        return relation.oid if relation is not None else None
    return None


def _dynamic_lookup(kind: str, source: exp.Expression) -> exp.Expression:
    relation, name_col, namespace_col, _, _ = _REG_KINDS[kind]
    qualified = fill("contains(__src, '.')", src=source)
    schema = fill("CASE WHEN __q THEN lower(split_part(__src, '.', 1)) END", q=qualified, src=source)
    name = fill("CASE WHEN __q THEN lower(split_part(__src, '.', 2)) ELSE __src END", q=qualified, src=source)
    lookup = _lookup(relation, name_col, namespace_col, name, schema)
    if kind == "regtype":
        return fill(f"coalesce({udf.TYPE_OID}(__src), __lookup)", src=source, lookup=lookup)
    return lookup


def _lookup(relation: str, name_col: str, namespace_col: str | None, name: exp.Expression,
            schema: exp.Expression | None) -> exp.Expression:
    """The OID of the object called ``name`` in ``schema``; with no schema (or a NULL one),
    the first such object on the search path."""
    if namespace_col is None:
        return fill(f"(SELECT pgvc_o.oid FROM pg_catalog.{relation} pgvc_o WHERE pgvc_o.{name_col} = __name)",
                    name=name)
    if schema is None:
        return fill(
            f"(SELECT pgvc_o.oid FROM pg_catalog.{relation} pgvc_o "
            f"JOIN pg_catalog.pg_namespace pgvc_n ON pgvc_n.oid = pgvc_o.{namespace_col} "
            f"CROSS JOIN pg_catalog.pgvecdb_session pgvc_s "
            f"WHERE pgvc_o.{name_col} = __name AND list_contains(pgvc_s.search_path, pgvc_n.nspname) "
            f"ORDER BY list_position(pgvc_s.search_path, pgvc_n.nspname) LIMIT 1)",
            name=name)
    return fill(
        f"(SELECT pgvc_o.oid FROM pg_catalog.{relation} pgvc_o "
        f"JOIN pg_catalog.pg_namespace pgvc_n ON pgvc_n.oid = pgvc_o.{namespace_col} "
        f"CROSS JOIN pg_catalog.pgvecdb_session pgvc_s "
        f"WHERE pgvc_o.{name_col} = __name AND (pgvc_n.nspname = __schema OR "
        f"(__schema IS NULL AND list_contains(pgvc_s.search_path, pgvc_n.nspname))) "
        f"ORDER BY list_position(pgvc_s.search_path, pgvc_n.nspname) LIMIT 1)",
        name=name, schema=schema)


def split_qualified_name(text: str) -> tuple[str | None, str]:
    """``'public.items'`` -> ('public', 'items'); unquoted parts fold to lower case.

    A trailing argument list (regprocedure's ``f(integer)``) is dropped.
    """
    parts, current, quoted = [], "", False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"' and quoted and text[i + 1:i + 2] == '"':
            current += '"'
            i += 1
        elif ch == '"':
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(current)
            current = ""
        elif ch == "(" and not quoted:
            break
        else:
            current += ch if quoted else ch.lower()
        i += 1
    parts.append(current)
    parts = [p.strip() for p in parts]
    return (parts[-2] if len(parts) > 1 else None), parts[-1]


def oid_to_name(kind: str, oid: exp.Expression) -> exp.Expression:
    """How PostgreSQL prints an OID of a reg* type: the object's name, '-' for 0, digits if unknown."""
    if kind == "regtype":
        name = fill(f"coalesce({udf.FORMAT_TYPE}(__oid, NULL), "
                    f"(SELECT pgvc_t.typname FROM pg_catalog.pg_type pgvc_t WHERE pgvc_t.oid = __oid))", oid=oid)
    elif kind == "regclass":
        name = fill(
            f"(SELECT CASE WHEN list_contains(pgvc_s.search_path, pgvc_n.nspname) "
            f"THEN {udf.QUOTE_IDENT}(pgvc_c.relname) "
            f"ELSE {udf.QUOTE_IDENT}(pgvc_n.nspname) || '.' || {udf.QUOTE_IDENT}(pgvc_c.relname) END "
            f"FROM pg_catalog.pg_class pgvc_c JOIN pg_catalog.pg_namespace pgvc_n ON pgvc_n.oid = pgvc_c.relnamespace "
            f"CROSS JOIN pg_catalog.pgvecdb_session pgvc_s WHERE pgvc_c.oid = __oid)", oid=oid)
    else:
        relation, name_col, _, _, _ = _REG_KINDS[kind]
        name = fill(f"(SELECT {udf.QUOTE_IDENT}(pgvc_o.{name_col}) FROM pg_catalog.{relation} pgvc_o "
                    f"WHERE pgvc_o.oid = __oid)", oid=oid)
    return fill("CASE WHEN __oid = 0 THEN '-' ELSE coalesce(__name, CAST(__oid AS VARCHAR)) END", oid=oid, name=name)


def regclass_argument(arg: exp.Expression) -> exp.Expression:
    """An argument PostgreSQL types as regclass: a string literal names a relation."""
    if isinstance(arg, exp.Literal) and arg.is_string:
        return name_to_oid("regclass", arg)
    return arg


# The functions ---------------------------------------------------------------------------------


def _visible(relation: str, namespace_col: str) -> Expansion:
    def expand(args: list[exp.Expression]) -> exp.Expression:
        return fill(
            f"__x IN (SELECT pgvc_o.oid FROM pg_catalog.{relation} pgvc_o "
            f"JOIN pg_catalog.pg_namespace pgvc_n ON pgvc_n.oid = pgvc_o.{namespace_col} "
            f"CROSS JOIN pg_catalog.pgvecdb_session pgvc_s WHERE list_contains(pgvc_s.search_path, pgvc_n.nspname))",
            x=args[0])
    return expand


def _objdef(args: list[exp.Expression]) -> exp.Expression:
    """pg_get_indexdef(oid [, column, pretty]) and pg_get_constraintdef(oid [, pretty])."""
    subid = args[1] if len(args) == 3 else exp.Literal.number(0)
    return fill("(SELECT pgvc_d.definition FROM pg_catalog.pgvecdb_objdef pgvc_d "
                "WHERE pgvc_d.oid = __x AND pgvc_d.subid = __subid)", x=regclass_argument(args[0]), subid=subid)


def _constraintdef(args: list[exp.Expression]) -> exp.Expression:
    """pg_get_constraintdef(oid [, pretty]): the pretty form is the definition's subid 1."""
    pretty = fill("CASE WHEN __p THEN 1 ELSE 0 END", p=args[1]) if len(args) > 1 else exp.Literal.number(0)
    return fill("(SELECT pgvc_d.definition FROM pg_catalog.pgvecdb_objdef pgvc_d "
                "WHERE pgvc_d.oid = __x AND pgvc_d.subid = __subid)", x=args[0], subid=pretty)


def _size(column: str) -> Expansion:
    def expand(args: list[exp.Expression]) -> exp.Expression:
        return fill(f"(SELECT {column} FROM pg_catalog.pgvecdb_relation_size pgvc_z WHERE pgvc_z.oid = __x)",
                    x=regclass_argument(args[0]))
    return expand


def _description(args: list[exp.Expression]) -> exp.Expression:
    """obj_description(oid [, catalog name])."""
    if len(args) == 1:
        return fill("(SELECT pgvc_d.description FROM pg_catalog.pg_description pgvc_d "
                    "WHERE pgvc_d.objoid = __x AND pgvc_d.objsubid = 0 LIMIT 1)", x=args[0])
    return fill("(SELECT pgvc_d.description FROM pg_catalog.pg_description pgvc_d "
                "WHERE pgvc_d.objoid = __x AND pgvc_d.classoid = __cls AND pgvc_d.objsubid = 0)",
                x=args[0], cls=regclass_argument(args[1]))


def _column_description(args: list[exp.Expression]) -> exp.Expression:
    return fill(f"(SELECT pgvc_d.description FROM pg_catalog.pg_description pgvc_d WHERE pgvc_d.objoid = __x "
                f"AND pgvc_d.classoid = {PG_CLASS_OID} AND pgvc_d.objsubid = __n)", x=args[0], n=args[1])


def _shared_description(args: list[exp.Expression]) -> exp.Expression:
    return fill("(SELECT pgvc_d.description FROM pg_catalog.pg_shdescription pgvc_d "
                "WHERE pgvc_d.objoid = __x AND pgvc_d.classoid = __cls)", x=args[0], cls=regclass_argument(args[1]))


def _format_type(args: list[exp.Expression]) -> exp.Expression:
    return fill(f"CASE WHEN __t IS NULL THEN NULL ELSE coalesce({udf.FORMAT_TYPE}(__t, __m), "
                f"(SELECT pgvc_t.typname FROM pg_catalog.pg_type pgvc_t WHERE pgvc_t.oid = __t), '???') END",
                t=args[0], m=args[1])


def _userbyid(args: list[exp.Expression]) -> exp.Expression:
    return fill("coalesce((SELECT pgvc_a.rolname FROM pg_catalog.pg_authid pgvc_a WHERE pgvc_a.oid = __x), "
                "'unknown (OID=' || CAST(__x AS VARCHAR) || ')')", x=args[0])


def _serial_sequence(args: list[exp.Expression]) -> exp.Expression:
    table = name_to_oid("regclass", args[0])
    return fill(
        f"(SELECT {udf.QUOTE_IDENT}(pgvc_n.nspname) || '.' || {udf.QUOTE_IDENT}(pgvc_c.relname) "
        f"FROM pg_catalog.pg_depend pgvc_d JOIN pg_catalog.pg_class pgvc_c ON pgvc_c.oid = pgvc_d.objid "
        f"JOIN pg_catalog.pg_namespace pgvc_n ON pgvc_n.oid = pgvc_c.relnamespace "
        f"JOIN pg_catalog.pg_attribute pgvc_a "
        f"ON pgvc_a.attrelid = pgvc_d.refobjid AND pgvc_a.attnum = pgvc_d.refobjsubid "
        f"WHERE pgvc_d.refobjid = __t AND pgvc_a.attname = __col AND pgvc_c.relkind = 'S')",
        t=table, col=args[1])


def _publishable(args: list[exp.Expression]) -> exp.Expression:
    system = ", ".join(str(oid) for oid in SYSTEM_NAMESPACE_OIDS)
    return fill(f"(SELECT pgvc_c.relkind IN ('r', 'p') AND pgvc_c.relnamespace NOT IN ({system}) "
                f"FROM pg_catalog.pg_class pgvc_c WHERE pgvc_c.oid = __x)", x=regclass_argument(args[0]))


def _function_arguments(args: list[exp.Expression]) -> exp.Expression:
    return fill(f"(SELECT array_to_string(list_transform(pgvc_p.proargtypes, t -> {udf.FORMAT_TYPE}(t, NULL)), ', ') "
                f"FROM pg_catalog.pg_proc pgvc_p WHERE pgvc_p.oid = __x)", x=args[0])


def _function_result(args: list[exp.Expression]) -> exp.Expression:
    return fill(f"(SELECT {udf.FORMAT_TYPE}(pgvc_p.prorettype, NULL) FROM pg_catalog.pg_proc pgvc_p "
                f"WHERE pgvc_p.oid = __x)", x=args[0])


def _array_bound(value: str) -> Expansion:
    """array_upper / array_lower: DuckDB lists are one-dimensional and start at 1."""
    def expand(args: list[exp.Expression]) -> exp.Expression:
        return fill(f"CASE WHEN __d = 1 AND len(__a) > 0 THEN {value} END", a=args[0], d=args[1])
    return expand


def _to_reg(kind: str) -> Expansion:
    return lambda args: name_to_oid(kind, args[0], missing_ok=True)


def _constant(sql: str) -> Expansion:
    return lambda args: fill(sql)


# Set-returning functions in FROM that are views here: name -> the relation and its columns.
TABLE_FUNCTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pg_available_extensions": ("pg_available_extensions", ("name", "default_version", "comment")),
}


def table_function(name: str) -> exp.Expression | None:
    """``FROM pg_available_extensions()``: the rows of the view of the same name."""
    if name not in TABLE_FUNCTIONS:
        return None
    relation, cols = TABLE_FUNCTIONS[name]
    return fill(f"(SELECT {', '.join(cols)} FROM pg_catalog.{relation})")


FUNCTIONS: dict[str, Expansion] = {
    "format_type": _format_type,
    "pg_get_userbyid": _userbyid,
    "pg_table_is_visible": _visible("pg_class", "relnamespace"),
    "pg_type_is_visible": _visible("pg_type", "typnamespace"),
    "pg_function_is_visible": _visible("pg_proc", "pronamespace"),
    "pg_opclass_is_visible": _visible("pg_opclass", "opcnamespace"),
    "pg_opfamily_is_visible": _visible("pg_opfamily", "opfnamespace"),
    "pg_collation_is_visible": _visible("pg_collation", "collnamespace"),
    "pg_get_indexdef": _objdef,
    "pg_get_constraintdef": _constraintdef,
    "pg_get_expr": lambda args: args[0],
    "pg_get_serial_sequence": _serial_sequence,
    "pg_relation_size": _size("pgvc_z.bytes"),
    "pg_table_size": _size("pgvc_z.bytes"),
    "pg_indexes_size": _size("pgvc_z.index_bytes"),
    "pg_total_relation_size": _size("pgvc_z.bytes + pgvc_z.index_bytes"),
    "pg_size_pretty": lambda args: fill(f"{udf.SIZE_PRETTY}(CAST(__x AS BIGINT))", x=args[0]),
    "obj_description": _description,
    "col_description": _column_description,
    "shobj_description": _shared_description,
    "quote_ident": lambda args: fill(f"{udf.QUOTE_IDENT}(__x)", x=args[0]),
    "pg_encoding_to_char": lambda args: fill("CASE __e WHEN 6 THEN 'UTF8' WHEN 0 THEN 'SQL_ASCII' ELSE '' END",
                                             e=args[0]),
    "pg_char_to_encoding": lambda args: fill("CASE upper(__e) WHEN 'UTF8' THEN 6 WHEN 'SQL_ASCII' THEN 0 ELSE -1 END",
                                             e=args[0]),
    "pg_database_size": _constant("(SELECT CAST(sum(CAST(pgvc_z.bytes + pgvc_z.index_bytes AS BIGINT)) AS BIGINT) "
                                  "FROM pg_catalog.pgvecdb_relation_size pgvc_z)"),
    "getdatabaseencoding": _constant("'UTF8'"),
    "pg_backend_pid": lambda args: session_value("backend_pid"),
    "pg_postmaster_start_time": _constant(f"CAST('{_STARTED.isoformat()}' AS TIMESTAMPTZ)"),
    "pg_conf_load_time": _constant(f"CAST('{_STARTED.isoformat()}' AS TIMESTAMPTZ)"),
    "pg_is_in_recovery": _constant("false"),
    "pg_is_other_temp_schema": _constant("false"),
    "pg_statistics_obj_is_visible": _constant("true"),
    "pg_my_temp_schema": _constant("CAST(0 AS BIGINT)"),
    "pg_relation_is_publishable": _publishable,
    "pg_get_partkeydef": _constant("CAST(NULL AS VARCHAR)"),
    "pg_get_statisticsobjdef_columns": _constant("CAST(NULL AS VARCHAR)"),
    "pg_get_viewdef": _constant("CAST(NULL AS VARCHAR)"),
    "pg_get_triggerdef": _constant("CAST(NULL AS VARCHAR)"),
    "pg_get_ruledef": _constant("CAST(NULL AS VARCHAR)"),
    "pg_get_functiondef": _constant("CAST(NULL AS VARCHAR)"),
    "pg_get_function_sqlbody": _constant("CAST(NULL AS VARCHAR)"),
    "pg_tablespace_location": _constant("''"),
    "pg_get_function_arguments": _function_arguments,
    "pg_get_function_identity_arguments": _function_arguments,
    "pg_get_function_result": _function_result,
    "pg_partition_ancestors": lambda args: fill("unnest([__x])", x=regclass_argument(args[0])),
    "array_upper": _array_bound("len(__a)"),
    "array_lower": _array_bound("1"),
    "current_setting": current_setting,
    "current_database": lambda args: session_value("datname"),
    "current_schema": lambda args: session_value("current_schema"),
    "current_schemas": lambda args: current_schemas(args[0]),
    "current_user": lambda args: session_value("usename"),
    "session_user": lambda args: session_value("usename"),
    "version": lambda args: version(),
    "to_regclass": _to_reg("regclass"),
    "to_regtype": _to_reg("regtype"),
    "to_regnamespace": _to_reg("regnamespace"),
    "to_regproc": _to_reg("regproc"),
    "to_regprocedure": _to_reg("regprocedure"),
    "to_regrole": _to_reg("regrole"),
}

# The privilege checks: the one user is a superuser, who may do everything.
for _name in ("has_table_privilege", "has_schema_privilege", "has_database_privilege", "has_column_privilege",
              "has_any_column_privilege", "has_function_privilege", "has_sequence_privilege", "has_type_privilege",
              "has_language_privilege", "has_tablespace_privilege", "has_foreign_data_wrapper_privilege",
              "has_server_privilege", "pg_has_role"):
    FUNCTIONS[_name] = _constant("true")
