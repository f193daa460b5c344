"""PostgreSQL-isms that introspection queries use and DuckDB lacks, rewritten away.

The queries psql, drivers and ORMs send to read the catalog use PostgreSQL's spelling:
``OPERATOR(pg_catalog.~)``, ``COLLATE pg_catalog.default``, ``pg_catalog.``-qualified
functions, types and columns, ``::regclass`` / ``::regtype`` casts, array literals such as
``'{0}'``, and system functions (``format_type``, ``pg_get_indexdef``, ``current_user`` ...).
``rewrite`` turns each into DuckDB SQL; the system functions become expressions over the
system relations (``catalog.system_functions``), which the planner binds afterwards.

Nodes are rewritten children first, so an expansion always receives rewritten arguments.
A projection whose expression changes keeps the column name PostgreSQL gives it (an
explicit alias is added), since clients such as psql read results by name.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import sqlglot
from sqlglot import exp

from pgvecdb.catalog import system_functions as sf
from pgvecdb.catalog.pg_catalog import RELATIONS
from pgvecdb.errors import UndefinedFunction
from pgvecdb.planner.colnames import column_name
from pgvecdb.sql.dialect import DIALECT

SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema"})
# Collations every text comparison may name: all behave as DuckDB's default here.
_DEFAULT_COLLATIONS = frozenset({"default", "c", "posix", "ucs_basic"})
# Types that only catalog queries use, with the PostgreSQL type that represents them here.
# (The planner types oid, name, "char", xid ... itself; only these need a stand-in.)
_PLAIN_TYPES = {"pg_node_tree": "text", "aclitem": "text"}
_TEXT_TYPES = frozenset({"text", "varchar", "name", "char", "bpchar", "character varying"})
# Columns of the system relations whose type is an array (compared with '{...}' literals).
_ARRAY_COLUMNS = frozenset(col.name for r in RELATIONS.values() for col in r.columns
                           if col.type_name.endswith("[]") or col.type_name in ("int2vector", "oidvector"))
# int2vector and oidvector columns (pg_index.indkey ...), whose subscripts start at 0.
_ZERO_BASED_COLUMNS = frozenset(col.name for r in RELATIONS.values() for col in r.columns
                                if col.type_name in ("int2vector", "oidvector"))
_SESSION_FUNCTIONS: dict[type, str] = {
    exp.CurrentUser: "current_user",
    exp.SessionUser: "session_user",
    exp.CurrentSchema: "current_schema",
    exp.CurrentDatabase: "current_database",
    exp.CurrentCatalog: "current_database",
    exp.CurrentVersion: "version",
}
# Keywords PostgreSQL reads as the session user when they stand alone.
_USER_KEYWORDS = frozenset({"user", "current_role"})
_PROJECTION_NAMES = {exp.CurrentVersion: "version", exp.CurrentCatalog: "current_catalog"}


def rewrite(tree: exp.Expression) -> exp.Expression:
    """``tree`` with PostgreSQL's catalog idioms replaced by DuckDB SQL (in place)."""
    renamed: dict[int, tuple[exp.Expression, int, str]] = {}
    for node in reversed(list(tree.walk())):
        new = _rewrite_node(node)
        if new is node:
            continue
        _remember_projections(node, renamed)
        if node is tree:
            tree = new
        else:
            node.replace(new)
    _keep_projection_names(renamed)
    return tree


def _rewrite_node(node: exp.Expression) -> exp.Expression:
    handler = _HANDLERS.get(type(node))
    return handler(node) if handler is not None else node


# Syntax ------------------------------------------------------------------------------------------


def _operator(node: exp.Operator) -> exp.Expression:
    """``a OPERATOR(pg_catalog.~) b`` -> ``a ~ b``, parsed as the dialect parses the bare operator."""
    symbol = str(node.args.get("operator", "")).rsplit(".", 1)[-1].strip()
    return sf.fill(_operator_template(symbol), left=node.this, right=node.expression)


@lru_cache(maxsize=None)
def _operator_template(symbol: str) -> str:
    return sqlglot.parse_one(f"__left {symbol} __right", read=DIALECT).sql(dialect="duckdb")


def _collate(node: exp.Collate) -> exp.Expression:
    collation = node.expression
    name = collation.name if isinstance(collation, (exp.Column, exp.Identifier, exp.Literal)) else ""
    return node.this if name.lower() in _DEFAULT_COLLATIONS else node


def _dot(node: exp.Dot) -> exp.Expression:
    """``pg_catalog.f(...)`` -> ``f(...)``: DuckDB's own pg_catalog functions must not answer."""
    if isinstance(node.this, exp.Identifier) and node.this.name.lower() in SYSTEM_SCHEMAS \
            and not isinstance(node.parent, exp.DataType):
        return node.expression
    return node


def _column(node: exp.Column) -> exp.Expression:
    if node.args.get("db") is not None and node.text("db").lower() in SYSTEM_SCHEMAS:
        node.set("db", None)
    if not node.table and not node.this.quoted and node.name.lower() in _USER_KEYWORDS:
        return sf.session_value("usename")
    return node


def _table(node: exp.Table) -> exp.Expression:
    """``FROM pg_catalog.generate_series(...)``: a function in FROM loses its schema; one that
    is a view here (``pg_available_extensions()``) becomes a subquery of the view."""
    if isinstance(node.this, exp.Func) and node.text("db").lower() in SYSTEM_SCHEMAS:
        node.set("db", None)
    if isinstance(node.this, exp.Anonymous):
        rows = sf.table_function(node.this.name.lower())
        if rows is not None:
            return exp.Subquery(this=rows.this if isinstance(rows, exp.Subquery) else rows,
                                alias=node.args.get("alias"))
    return node


def _comparison(node: exp.Binary) -> exp.Expression:
    """``polroles = '{0}'``: an array literal compared with an array column of the catalog."""
    for side, other in (("this", node.expression), ("expression", node.this)):
        literal = node.args.get(side)
        if (isinstance(literal, exp.Literal) and literal.is_string and literal.this.startswith("{")
                and literal.this.endswith("}") and isinstance(other, exp.Column) and other.name in _ARRAY_COLUMNS):
            node.set(side, exp.Literal.string("[" + literal.this[1:-1] + "]"))
    return node


# Casts -------------------------------------------------------------------------------------------


def _cast(node: exp.Cast) -> exp.Expression:
    type_name, is_array = _target_type(node.to)
    if type_name is None:
        return node
    if type_name in sf.REG_TYPES and not is_array:
        return _reg_cast(node, type_name)
    plain = _PLAIN_TYPES.get(type_name)
    if plain is not None:
        return _cast_to(node.this, plain + ("[]" if is_array else ""))
    if _is_qualified(node.to):
        return _cast_to(node.this, type_name + ("[]" if is_array else ""))
    return node


def _cast_to(value: exp.Expression, type_name: str) -> exp.Expression:
    return exp.Cast(this=value, to=exp.DataType.build(type_name, dialect="postgres"))


def _target_type(to: exp.Expression) -> tuple[str | None, bool]:
    """(type name without schema, whether it is an array of it) of a cast's target."""
    if isinstance(to, exp.ObjectIdentifier):
        return to.name.lower(), False
    if not isinstance(to, exp.DataType):
        return None, False
    if to.this == exp.DataType.Type.ARRAY and to.expressions:
        name, _ = _target_type(to.expressions[0])
        return name, True
    if to.this == exp.DataType.Type.USERDEFINED:
        kind = to.args.get("kind")
        if isinstance(kind, exp.Dot):
            if kind.this.name.lower() not in SYSTEM_SCHEMAS:
                return None, False
            kind = kind.expression
        return (kind.name.lower() if kind is not None else None), False
    if to.this == exp.DataType.Type.NAME:
        return "name", False
    return None, False


def _is_qualified(to: exp.Expression) -> bool:
    return any(isinstance(kind, exp.Dot) for kind in (d.args.get("kind") for d in to.find_all(exp.DataType)))


def _reg_cast(node: exp.Cast, kind: str) -> exp.Expression:
    """``x::regclass``: an OID where it is compared, the object's name where it is shown."""
    source = node.this
    if _is_oid_valued(source):
        oid = exp.Cast(this=source, to=exp.DataType.build("bigint"))
    else:
        oid = sf.name_to_oid(kind, source)
    if _shown_as_text(node):
        return sf.oid_to_name(kind, oid)
    return oid


def _is_oid_valued(node: exp.Expression) -> bool:
    """Whether a reg* cast's operand is already an OID (rather than a name to look up)."""
    if isinstance(node, exp.Literal):
        return not node.is_string
    if isinstance(node, (exp.Parameter, exp.Placeholder)):
        return False
    if isinstance(node, exp.Cast):
        name, _ = _target_type(node.to)
        return name not in _TEXT_TYPES and not node.to.is_type("text", "varchar")
    return True


def _shown_as_text(node: exp.Expression) -> bool:
    parent = node.parent
    if isinstance(parent, exp.Alias):
        node, parent = parent, parent.parent
    if isinstance(parent, exp.Select) and node.arg_key == "expressions":
        return True
    if isinstance(parent, exp.DPipe):
        return True
    if isinstance(parent, exp.Cast):
        name, _ = _target_type(parent.to)
        return name in _TEXT_TYPES or parent.to.is_type("text", "varchar")
    return False


# Functions ---------------------------------------------------------------------------------------


def _function(node: exp.Expression) -> exp.Expression:
    name = _function_name(node)
    if name == "generate_subscripts":
        return _zero_based_subscripts(node)
    expand = sf.FUNCTIONS.get(name)
    if expand is None:
        return node
    args = _arguments(node)
    try:
        expanded = expand(args)
    except IndexError:  # fewer arguments than the function takes
        shown = ", ".join("unknown" for _ in args)
        raise UndefinedFunction(f"function {name}({shown}) does not exist",
                                hint="No function matches the given name and argument types. "
                                     "You might need to add explicit type casts.") from None
    return _keep_parameters(expanded, args)


def _keep_parameters(expanded: exp.Expression, args: list[exp.Expression]) -> exp.Expression:
    """An expansion that ignores an argument (``pretty`` of pg_get_constraintdef ...) must still
    reference the client's parameters in it: the client binds a value to each of them."""
    present = {p.sql() for p in expanded.find_all(exp.Parameter, exp.Placeholder)}
    dropped = {p.sql(): p for a in args for p in a.find_all(exp.Parameter, exp.Placeholder) if p.sql() not in present}
    if not dropped:
        return expanded
    fields = [exp.PropertyEQ(this=exp.to_identifier("value"), expression=expanded)]
    fields += [exp.PropertyEQ(this=exp.to_identifier(f"unused{i}"), expression=p.copy())
               for i, p in enumerate(dropped.values())]
    return exp.StructExtract(this=exp.Struct(expressions=fields), expression=exp.Literal.string("value"))


def _zero_based_subscripts(node: exp.Anonymous) -> exp.Expression:
    """``generate_subscripts(indkey, 1)`` counts from 0 in PostgreSQL, from 1 in DuckDB."""
    array = node.expressions[0] if node.expressions else None
    if isinstance(array, exp.Column) and array.name in _ZERO_BASED_COLUMNS:
        return exp.Sub(this=node.copy(), expression=exp.Literal.number(1))
    return node


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    return _SESSION_FUNCTIONS.get(type(node), "")


def _arguments(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Anonymous):
        return list(node.expressions)
    return [v for v in node.args.values() if isinstance(v, exp.Expression)]


def _current_schemas(node: exp.CurrentSchemas) -> exp.Expression:
    return sf.current_schemas(node.this if node.this is not None else exp.true())


# Column names ------------------------------------------------------------------------------------


def _remember_projections(node: exp.Expression, renamed: dict[int, tuple[exp.Expression, int, str]]) -> None:
    """Before ``node`` changes, note the PostgreSQL name of each projection that contains it."""
    current = node
    while current.parent is not None:
        parent = current.parent
        if isinstance(parent, exp.Select) and current.arg_key == "expressions" and not isinstance(current, exp.Alias):
            if id(current) not in renamed:
                index = next(i for i, e in enumerate(parent.expressions) if e is current)
                renamed[id(current)] = (parent, index, _pg_column_name(current))
        current = parent


def _pg_column_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Dot) and isinstance(node.this, exp.Identifier) \
            and node.this.name.lower() in SYSTEM_SCHEMAS:
        node = node.expression
    special = _PROJECTION_NAMES.get(type(node))
    return special or column_name(node)


def _keep_projection_names(renamed: dict[int, tuple[exp.Expression, int, str]]) -> None:
    for select, index, name in renamed.values():
        projection = select.expressions[index]
        if not isinstance(projection, exp.Alias):
            projection.replace(exp.Alias(this=projection.copy(), alias=exp.to_identifier(name, quoted=True)))


_HANDLERS: dict[type, Callable[[exp.Expression], exp.Expression]] = {
    exp.Operator: _operator,
    exp.Collate: _collate,
    exp.Dot: _dot,
    exp.Column: _column,
    exp.Table: _table,
    exp.EQ: _comparison,
    exp.NEQ: _comparison,
    exp.Cast: _cast,
    exp.Anonymous: _function,
    exp.CurrentSchemas: _current_schemas,
    **{cls: _function for cls in _SESSION_FUNCTIONS},
}
