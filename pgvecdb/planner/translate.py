"""Translate a PostgreSQL statement tree into a DuckDB query over the session's relations.

The translation binds table references to the Arrow relations exec/ registers with DuckDB,
infers PostgreSQL types bottom-up (enough to resolve pgvector's operators and functions,
to coerce untyped literals and parameters as PostgreSQL does, and to keep integer division
integral), folds typed literals such as ``'[1,2,3]'::vector`` at plan time (so a bad
literal fails with pgvector's message and the literal's position), and names result
columns as PostgreSQL would.

Parameters: the client's ``$n`` become DuckDB's positional ``$n``; folded constants are
appended after them, so one positional list binds both at execution.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from pgvecdb.catalog import pg_catalog
from pgvecdb.catalog.model import Catalog, Index, Table
from pgvecdb.errors import (
    FeatureNotSupported,
    PgError,
    UndefinedFunction,
    UndefinedTable,
)
from pgvecdb.planner.colnames import column_name
from pgvecdb.planner.context import PlanContext
from pgvecdb.planner.datatypes import typeref_from_datatype
from pgvecdb.exec.functions import pgvector as pgvector_sql
from pgvecdb.exec.vector_keys import KeyQuery
from pgvecdb.planner.rules import ann_direct, ann_search, functions, pg_compat
from pgvecdb.sql.dialect import DIALECT, DISTANCE_OPERATORS
from pgvecdb.types import registry
from pgvecdb.types.codecs import codec_for
from pgvecdb.types.typeref import UNKNOWN, BIT_TYPES, VECTOR_TYPES, TypeRef, duck_type

SPECIAL_TYPES = VECTOR_TYPES + BIT_TYPES
INTEGER_TYPES = ("int2", "int4", "int8")


def duck_name_of_table(table: Table) -> str:
    """The name under which a user table's snapshot is registered with DuckDB."""
    return f"pgv_{table.schema}__{table.name}"


def duck_name_of_system(schema: str, name: str) -> str:
    return f"pgv_sys_{schema}__{name}"


@dataclass
class RelationRef:
    """What a DuckDB relation name of a query stands for.

    kind: 'table' (a user table's snapshot; ``with_rowid`` adds the ``__rowid`` column that
    DML needs), 'system' (a pg_catalog or information_schema relation) or 'rows' (rows that
    exec supplies itself, such as the rows a RETURNING clause reads).
    """

    kind: str
    table: Table | None = None
    schema: str = ""
    name: str = ""
    with_rowid: bool = False
    # A table the query reads only where a unique key equals one value: exec fetches those
    # rows by key instead of scanning. (key index, 'param' or 'value', bind position or value)
    key_lookup: tuple[int, str, object] | None = None
    # A vector search: exec yields only the rows the ANN operator finds (rules/ann_search).
    ann: ann_search.AnnScan | None = None


@dataclass
class DuckQuery:
    """A translated query: DuckDB SQL plus what executing it needs."""

    sql: str
    relations: dict[str, RelationRef]
    params: list[TypeRef]  # inferred type of each client parameter $1..$n
    constants: list[object]  # values bound after the client's parameters
    column_names: list[str] | None = None  # PostgreSQL's names for the result columns
    column_types: list[TypeRef | None] | None = None  # inferred PostgreSQL types of the result columns
    session_dependent: bool = False  # reads pg_catalog or session state at run time
    per_session: bool = False  # embeds the session's id: never shared between sessions
    direct: ann_direct.DirectSearch | None = None  # an ANN SELECT exec answers without DuckDB


class Translator:
    """Translates the trees of one statement; keeps the parameter and relation state."""

    def __init__(self, ctx: PlanContext) -> None:
        self.ctx = ctx
        self.relations: dict[str, RelationRef] = {}
        self.params: dict[int, TypeRef] = {
            i + 1: (TypeRef(registry.by_oid(oid).name) if oid and registry.by_oid(oid) else UNKNOWN)
            for i, oid in enumerate(ctx.param_oids)
        }
        self.constants: list[object] = []
        self.types: dict[int, TypeRef] = {}
        self.scope: dict[str, Table] = {}
        self.system_scope: dict[str, dict[str, str]] = {}  # alias -> column -> pg type name
        self.derived_scope: dict[str, dict[str, TypeRef | None]] = {}  # CTEs and subqueries in FROM
        self.multidimensional: set[int] = set()  # constants holding arrays of arrays
        self.session_dependent = False
        self.per_session = False
        self._param_nodes: dict[int, list[exp.Expression]] = {}
        self._key_sql_cache: dict[tuple[int, str], str] = {}

    # ------------------------------------------------------------------ entry points
    def prepare(self, tree: exp.Expression) -> exp.Expression:
        """Normalise identifiers, apply compatibility rewrites and bind relations."""
        tree = normalize_identifiers(tree.copy(), dialect="postgres")
        tree = pg_compat.rewrite(tree)
        self._bind_relations(tree)
        return tree

    def prepare_in_place(self, node: exp.Expression) -> exp.Expression:
        """``prepare`` for a part of a statement that is already being translated."""
        node = normalize_identifiers(node, dialect="postgres")
        node = pg_compat.rewrite(node)
        self._bind_relations(node)
        return node

    def name_columns_of(self, select: exp.Expression) -> list[str] | None:
        return self._name_columns(select)

    def query(self, tree: exp.Expression, *, name_columns: bool = True) -> DuckQuery:
        tree = self.prepare(tree)
        names = self._name_columns(tree) if name_columns else None
        tree = self.rewrite(tree)
        return self.finish(tree, names)

    def finish(self, tree: exp.Expression, names: list[str] | None = None) -> DuckQuery:
        self._default_param_types()
        types = self._output_types(tree)
        self._number_constants(tree)
        ann_search.mark_ann_searches(tree, self.relations, self._index_key_sql, _ann_relation)
        direct = ann_direct.direct_search(tree, self.relations)
        _mark_key_lookup(tree, self.relations)
        sql = tree.sql(dialect="duckdb")
        return DuckQuery(
            sql=sql,
            relations=dict(self.relations),
            params=[self.params.get(i, UNKNOWN) for i in range(1, self.param_count + 1)],
            constants=list(self.constants),
            column_names=names,
            column_types=types,
            session_dependent=self.session_dependent,
            per_session=self.per_session,
            direct=direct,
        )

    def _output_types(self, tree: exp.Expression) -> list[TypeRef | None] | None:
        """What the planner knows of the result columns' types: DuckDB's types cannot tell
        oid from bigint or "char" from text, nor carry typmods such as vector(3)."""
        select = tree
        while isinstance(select, (exp.Union, exp.Except, exp.Intersect)):
            select = select.this
        if not isinstance(select, exp.Select):
            return None
        types: list[TypeRef | None] = []
        for e in select.expressions:
            if isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star)):
                expanded = self._star_types(select, e.table if isinstance(e, exp.Column) else None)
                if expanded is None:
                    return None
                types.extend(expanded)
            else:
                types.append(self.type_of(e.unalias() if isinstance(e, exp.Alias) else e))
        return types

    def _star_types(self, select: exp.Select, only: str | None) -> list[TypeRef | None] | None:
        """The column types ``*`` (or ``alias.*``) stands for, when every source is known."""
        from_ = select.args.get("from_") or select.args.get("from")
        sources = ([from_.this] if from_ is not None else []) + [j.this for j in select.args.get("joins") or []]
        types: list[TypeRef | None] = []
        for source in sources:
            alias = source.alias_or_name
            if only and alias != only:
                continue
            if alias in self.scope:
                types.extend(TypeRef(c.type_name, c.typmod) for c in self.scope[alias].columns)
            elif alias in self.system_scope:
                types.extend(_typname_ref(t) for t in self.system_scope[alias].values())
            elif alias in self.derived_scope:
                types.extend(self.derived_scope[alias].values())
            else:
                return None
        return types

    def _number_constants(self, tree: exp.Expression) -> None:
        """Constants are bound after the client's parameters: $n+1, $n+2 ..."""
        base = self.param_count
        for node in tree.find_all(exp.Parameter):
            if "constant" in node.meta:
                node.set("this", exp.Literal.number(base + node.meta["constant"]))

    def _index_key_sql(self, table: Table, text: str) -> str:
        """The DuckDB SQL of an index's expression (or predicate) over ``table``, as the
        same expression in a query over it translates (column names unqualified)."""
        key = (table.oid, text)
        cached = self._key_sql_cache.get(key)
        if cached is None:
            select = sqlglot.parse_one(f'SELECT {text} FROM "{table.schema}"."{table.name}"', dialect=DIALECT)
            translator = Translator(replace(self.ctx, param_oids=[]))
            tree = translator.rewrite(translator.prepare(select))
            cached = ann_search.unqualified_sql(tree.expressions[0].unalias(), table.name)
            self._key_sql_cache[key] = cached
        return cached

    @property
    def param_count(self) -> int:
        return max([0, *self.params.keys(), *self._param_nodes.keys()])

    # ------------------------------------------------------------------ relations
    def _bind_relations(self, tree: exp.Expression) -> None:
        _name_function_columns(tree)
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        for table in list(tree.find_all(exp.Table)):
            if not isinstance(table.this, exp.Identifier) or table.meta.get("pgv_bound"):
                continue  # table functions (unnest(...)), or relations exec supplies
            schema = table.db or None
            name = table.name
            if schema is None and name in ctes:
                continue
            self._bind_table(table, schema, name)

    def _bind_table(self, node: exp.Table, schema: str | None, name: str) -> None:
        catalog = self.ctx.catalog
        alias = node.alias or name
        user = catalog.table(name, schema or "public") if schema in (None, "public") else catalog.table(name, schema)
        if user is not None:
            with_rowid = bool(node.meta.get("pgv_rowid"))
            duck = duck_name_of_table(user) + ("__rowid" if with_rowid else "")
            self.relations[duck] = RelationRef("table", table=user, with_rowid=with_rowid)
            self.scope[alias] = user
            node.set("this", exp.to_identifier(duck))
            node.set("db", None)
            node.set("catalog", None)
            if not node.alias:
                node.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
            return
        if pg_catalog.is_system_relation(schema, name):
            resolved_schema = schema or "pg_catalog"
            duck = duck_name_of_system(resolved_schema, name)
            self.relations[duck] = RelationRef("system", schema=resolved_schema, name=name)
            self.session_dependent = True
            node.set("this", exp.to_identifier(duck))
            node.set("db", None)
            node.set("catalog", None)
            if not node.alias:
                node.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
            self.system_scope[alias] = pg_catalog.column_types(schema, name)
            return
        shown = f"{schema}.{name}" if schema else name
        raise UndefinedTable(f'relation "{shown}" does not exist', position=self._position(node.this))

    # ------------------------------------------------------------------ positions
    def position_of(self, node: exp.Expression | None) -> int | None:
        """The 1-based position of ``node`` in the query string, when the parser recorded it."""
        return self._position(node)

    def _position(self, node: exp.Expression | None) -> int | None:
        while node is not None:
            start = node.meta.get("start") if hasattr(node, "meta") else None
            if start is not None:
                return self.ctx.statement_offset + start + 1
            children = [c for c in node.iter_expressions()]
            node = children[0] if children else None
        return None

    # ------------------------------------------------------------------ column names
    def _name_columns(self, tree: exp.Expression) -> list[str] | None:
        select = tree
        while isinstance(select, (exp.Union, exp.Except, exp.Intersect)):
            select = select.this
        if isinstance(select, exp.Subquery):
            select = select.unnest()
        if not isinstance(select, exp.Select):
            return None
        if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
               for e in select.expressions):
            return None
        names = [column_name(e) for e in select.expressions]
        for e, name in zip(list(select.expressions), names):
            if not isinstance(e, exp.Alias):
                e.replace(exp.alias_(e.copy(), name, quoted=True))
        return names

    # ------------------------------------------------------------------ types
    def type_of(self, node: exp.Expression) -> TypeRef | None:
        return self.types.get(id(node))

    def _typed(self, node: exp.Expression, ref: TypeRef | None) -> exp.Expression:
        if ref is not None:
            self.types[id(node)] = ref
        return node

    def column_type(self, node: exp.Column) -> TypeRef | None:
        if node.table:
            table = self.scope.get(node.table)
            candidates = [table] if table else []
        else:
            candidates = list(self.scope.values())
        for table in candidates:
            col = table.column(node.name)
            if col is not None:
                return TypeRef(col.type_name, col.typmod)
        systems = [self.system_scope.get(node.table, {})] if node.table else list(self.system_scope.values())
        for columns in systems:
            if node.name in columns:
                return _typname_ref(columns[node.name])
        derived = [self.derived_scope.get(node.table, {})] if node.table else list(self.derived_scope.values())
        for columns in derived:
            if node.name in columns:
                return columns[node.name]
        return None

    def _scalar_subquery(self, node: exp.Expression) -> exp.Expression:
        select = node.this
        if isinstance(select, exp.Select) and len(select.expressions) == 1:
            only = select.expressions[0]
            return self._typed(node, self.type_of(only.unalias() if isinstance(only, exp.Alias) else only))
        return node

    def _case(self, node: exp.Case) -> exp.Expression:
        """CASE has the type of its first typed result."""
        results = [i.args.get("true") for i in node.args.get("ifs") or []] + [node.args.get("default")]
        for result in results:
            ref = self.type_of(result) if result is not None else None
            if ref is not None and not ref.is_unknown:
                return self._typed(node, ref)
        return node

    def _paren(self, node: exp.Paren) -> exp.Expression:
        return self._typed(node, self.type_of(node.this))

    def _table_function(self, node: exp.Table) -> exp.Expression:
        """generate_series(a, b) AS n(n) in FROM: n is int4 when a and b are, else int8."""
        function = node.this
        alias = node.args.get("alias")
        if not isinstance(function, (exp.GenerateSeries, exp.ExplodingGenerateSeries)) or \
                not isinstance(alias, exp.TableAlias) or not alias.columns:
            return node
        bounds = [self.type_of(function.args.get(k)) for k in ("start", "end")]
        ref = TypeRef("int4") if all(b is not None and b.name == "int4" for b in bounds) else TypeRef("int8")
        self.derived_scope[alias.name] = {alias.columns[0].name: ref}
        return node

    def _unnest(self, node: exp.Unnest) -> exp.Expression:
        """unnest(array) AS v(v): v has the array's element type."""
        alias = node.args.get("alias")
        if isinstance(alias, exp.TableAlias) and alias.columns and node.expressions:
            array = self.type_of(node.expressions[0])
            pgtype = registry.by_name(array.name) if array is not None else None
            element = registry.element_type(pgtype) if pgtype is not None else None
            ref = TypeRef(element.name, array.typmod) if element is not None else None
            self.derived_scope[alias.name] = {alias.columns[0].name: ref}
        return node

    def _derived(self, node: exp.Expression) -> exp.Expression:
        """A CTE or a subquery in FROM: remember its columns' types for references to it.
        (Children are rewritten first, and a WITH comes before the query that uses it.)"""
        alias = node.args.get("alias")
        name = node.alias
        if not name:
            return self._scalar_subquery(node)
        select = node.this
        while isinstance(select, (exp.Union, exp.Except, exp.Intersect)):
            select = select.this
        if not isinstance(select, exp.Select):
            return node
        outputs = list(select.expressions)
        names = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) and alias.columns else \
            [e.alias_or_name for e in outputs]
        self.derived_scope[name] = {
            n: self.type_of(e.unalias() if isinstance(e, exp.Alias) else e) for n, e in zip(names, outputs)
        }
        return node

    # ------------------------------------------------------------------ rewriting
    def rewrite(self, node: exp.Expression) -> exp.Expression:
        """Rewrite ``node`` bottom-up; returns the (possibly replaced) node.

        A SELECT's sources (WITH, FROM, JOIN) go first, so that references to their
        columns find their types."""
        items = list(node.args.items())
        if isinstance(node, exp.Select):
            items.sort(key=lambda item: _SOURCE_ORDER.get(item[0], len(_SOURCE_ORDER)))
        for key, value in items:
            if isinstance(value, exp.Expression):
                new = self.rewrite(value)
                if new is not value:
                    node.set(key, new)
            elif isinstance(value, list):
                node.set(key, [self.rewrite(v) if isinstance(v, exp.Expression) else v for v in value])
        handler = _HANDLERS.get(type(node))
        if handler is None:
            for cls, h in _HANDLERS.items():
                if isinstance(node, cls):
                    handler = h
                    break
        return handler(self, node) if handler else node

    # literals and parameters -------------------------------------------------------------
    def _literal(self, node: exp.Literal) -> exp.Expression:
        if node.is_string:
            return self._typed(node, UNKNOWN)
        text = node.this
        if text.isdigit():
            value = int(text)
            ref = TypeRef("int4") if value < 2**31 else TypeRef("int8") if value < 2**63 else TypeRef("numeric")
            return self._typed(node, ref)
        return self._typed(node, TypeRef("numeric"))

    def _boolean(self, node: exp.Boolean) -> exp.Expression:
        return self._typed(node, TypeRef("bool"))

    def _parameter(self, node: exp.Expression) -> exp.Expression:
        text = node.this.this if isinstance(node.this, exp.Literal) else node.name
        try:
            index = int(str(text).lstrip("$"))
        except ValueError:
            return node
        placeholder = exp.Parameter(this=exp.Literal.number(index))
        self._param_nodes.setdefault(index, []).append(placeholder)
        self.params.setdefault(index, UNKNOWN)
        placeholder.meta["param"] = index
        if not self.params[index].is_unknown:  # the client declared its type
            return self.type_parameter(placeholder, self.params[index])
        return self._typed(placeholder, self.params[index])

    def _bit_string(self, node: exp.Expression) -> exp.Expression:
        bits = node.this
        if isinstance(node, exp.HexString):
            bits = "".join(f"{int(c, 16):04b}" for c in node.this)
        return self.constant(bits, TypeRef("bit", len(bits)), node, from_text=True)

    # constants ------------------------------------------------------------------------------
    def constant(self, value: object, ref: TypeRef, origin: exp.Expression | None = None,
                 *, from_text: bool = False) -> exp.Expression:
        """A value bound at execution time, cast to the DuckDB type of ``ref``."""
        if from_text:
            value = self.decode_literal(str(value), ref, origin)
        self.constants.append(value)
        index = len(self.constants)
        node = exp.Parameter(this=exp.Literal.number(index))
        node.meta["constant"] = index
        cast = exp.Cast(this=node, to=exp.DataType.build(duck_type(ref), dialect="duckdb"))
        if _is_nested_list(value):
            self.multidimensional.add(id(cast))
        return self._typed(cast, ref)

    def decode_literal(self, text: str, ref: TypeRef, origin: exp.Expression | None) -> object:
        """Parse a literal as PostgreSQL's input function would, then apply the typmod.

        Like PostgreSQL, a malformed literal is reported at the literal's position, but a
        value that does not fit the typmod (vector(2) given 3 dimensions) is not.
        """
        codec = codec_for(registry.by_name(ref.name).oid)
        try:
            value = codec.decode_text(text, -1)
        except PgError as err:
            raise err.with_position(self._position(origin))
        if ref.typmod >= 0:
            duck = pa.array([value], type=codec.duck_arrow_type())
            codec.from_duck(duck, ref.typmod)
        return value

    def coerce(self, node: exp.Expression, ref: TypeRef) -> exp.Expression:
        """Give an untyped literal or parameter the type ``ref`` (PostgreSQL's unknown resolution)."""
        current = self.type_of(node)
        if current is None or not current.is_unknown:
            return node
        if isinstance(node, exp.Literal) and node.is_string:
            if ref.name in TEXT_TYPES:
                return self._typed(node, ref)
            if _has_codec(ref):
                return self.constant(node.this, ref, node, from_text=True)
            cast = exp.Cast(this=node, to=exp.DataType.build(duck_type(ref), dialect="duckdb"))
            return self._typed(cast, ref)
        if isinstance(node, exp.Parameter) and "param" in node.meta:
            return self.type_parameter(node, ref)
        if isinstance(node, exp.Null):
            return self._typed(node, ref)
        return node

    def type_parameter(self, node: exp.Parameter, ref: TypeRef) -> exp.Expression:
        index = node.meta["param"]
        if self.params.get(index, UNKNOWN).is_unknown:
            self.params[index] = TypeRef(ref.name, -1)
        ref = self.params[index]
        cast = exp.Cast(this=node, to=exp.DataType.build(duck_type(ref), dialect="duckdb"))
        return self._typed(cast, ref)

    def _default_param_types(self) -> None:
        for index in self._param_nodes:
            if self.params.get(index, UNKNOWN).is_unknown:
                self.params[index] = TypeRef("text")

    # columns --------------------------------------------------------------------------------
    def _column(self, node: exp.Column) -> exp.Expression:
        return self._typed(node, self.column_type(node))

    # casts ------------------------------------------------------------------------------------
    def _cast(self, node: exp.Cast) -> exp.Expression:
        try:
            target = typeref_from_datatype(node.to)
        except PgError as err:
            raise err.with_position(self._position(node.to) or self._position(node.this))
        if target.name in ("regclass", "regtype", "regproc", "regnamespace", "regrole"):
            return self._typed(node, target)
        return self.cast_to(node.this, target, node)

    def cast_to(self, source: exp.Expression, target: TypeRef, origin: exp.Expression | None = None) -> exp.Expression:
        """``source`` (already rewritten) cast to ``target``, as PostgreSQL's explicit cast."""
        source_type = self.type_of(source)
        if isinstance(source, exp.Literal) and source.is_string and source_type and source_type.is_unknown:
            if target.name not in TEXT_TYPES and _has_codec(target):
                return self.constant(source.this, target, source, from_text=True)
        if isinstance(source, exp.Parameter) and "param" in source.meta:
            source = self.type_parameter(source, target)
            source_type = self.type_of(source)
            if source_type == target:
                return source
        if source_type is not None and (_is_special(target) or _is_special(source_type)):
            return self._special_cast(origin or source, source, source_type, target)
        cast = exp.Cast(this=source, to=exp.DataType.build(duck_type(target), dialect="duckdb"))
        return self._typed(cast, target)

    def _special_cast(self, node: exp.Cast, source: exp.Expression, source_type: TypeRef,
                      target: TypeRef) -> exp.Expression:
        casts = pgvector_sql.CASTS
        key = (_base_name(source_type), _base_name(target))
        if source_type.name == target.name and target.typmod < 0:
            return self._typed(source, target)
        overload = casts.get(key) or casts.get(("unknown" if source_type.is_unknown else source_type.name, target.name))
        if overload is None and source_type.name in ("text", "varchar", "unknown", "bpchar"):
            overload = casts.get(("text", target.name))
        if overload is None:
            raise PgError(
                f"cannot cast type {_display(source_type)} to {_display(target)}",
                sqlstate="42846",
                position=self._position(node),
            )
        if id(source) in self.multidimensional:
            raise PgError("array must be 1-D", sqlstate="22000")
        if not source_type.is_unknown:  # DuckDB's type may be wider (BIGINT for int4 series)
            source = exp.Cast(this=source, to=exp.DataType.build(duck_type(source_type), dialect="duckdb"))
        call = exp.Anonymous(this=overload.duck_name, expressions=[source, exp.Literal.number(target.typmod)])
        return self._typed(call, TypeRef(target.name, target.typmod))

    # operators ---------------------------------------------------------------------------------
    def _operator(self, node: exp.Binary) -> exp.Expression:
        op = DISTANCE_OPERATORS.get(type(node)) or _BINARY_OPS.get(type(node))
        left, right = node.left, node.right
        lt, rt = self.type_of(left), self.type_of(right)
        if op is None:
            return node
        special = (lt is not None and _is_special(lt)) or (rt is not None and _is_special(rt))
        is_distance = type(node) in DISTANCE_OPERATORS
        if not special and not is_distance:
            return self._plain_binary(node, lt, rt)
        if lt is not None and rt is not None:
            if lt.is_unknown and not rt.is_unknown:
                left = self.coerce(left, TypeRef(rt.name))
            elif rt.is_unknown and not lt.is_unknown:
                right = self.coerce(right, TypeRef(lt.name))
            elif lt.is_unknown and rt.is_unknown and is_distance:
                left = self.coerce(left, TypeRef("vector"))
                right = self.coerce(right, TypeRef("vector"))
        lt, rt = self.type_of(left), self.type_of(right)
        overload = pgvector_sql.OPERATORS.get((op, _base_name(lt), _base_name(rt)))
        if overload is None:
            if op in _COMPARISONS and lt and rt and lt.name == rt.name:
                node.set("this", left)
                node.set("expression", right)
                return self._typed(node, TypeRef("bool"))
            raise UndefinedFunction(
                f"operator does not exist: {_display(lt)} {op} {_display(rt)}",
                hint="No operator matches the given name and argument types. "
                     "You might need to add explicit type casts.",
                position=self._position(node),
            )
        call = exp.Anonymous(this=overload.duck_name, expressions=[left, right])
        if is_distance:
            call.meta[ann_search.DISTANCE_META] = op
        return self._typed(call, TypeRef(overload.result_type))

    def _plain_binary_node(self, node: exp.Binary) -> exp.Expression:
        return self._plain_binary(node, self.type_of(node.left), self.type_of(node.right))

    def _plain_binary(self, node: exp.Binary, lt: TypeRef | None, rt: TypeRef | None) -> exp.Expression:
        """Ordinary operators: resolve untyped parameters from the other side; keep ints integral."""
        left, right = node.left, node.right
        if lt is not None and rt is not None:
            if lt.is_unknown and not rt.is_unknown and isinstance(left, exp.Parameter):
                node.set("this", self.coerce(left, rt))
            elif rt.is_unknown and not lt.is_unknown and isinstance(right, exp.Parameter):
                node.set("expression", self.coerce(right, lt))
        lt, rt = self.type_of(node.left), self.type_of(node.right)
        if isinstance(node, (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.And, exp.Or,
                             exp.Like, exp.ILike, exp.Is)):
            return self._typed(node, TypeRef("bool"))
        if isinstance(node, exp.Div) and lt and rt and lt.name in INTEGER_TYPES and rt.name in INTEGER_TYPES:
            result = exp.IntDiv(this=node.left, expression=node.right)
            return self._typed(result, _wider_int(lt, rt))
        if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Mod)) and lt and rt:
            if lt.name in INTEGER_TYPES and rt.name in INTEGER_TYPES:
                return self._typed(node, _wider_int(lt, rt))
            if lt.name in ("float8", "float4") or rt.name in ("float8", "float4"):
                return self._typed(node, TypeRef("float8"))
            if lt.name == "numeric" or rt.name == "numeric":
                return self._typed(node, TypeRef("numeric"))
        if isinstance(node, exp.DPipe):
            return self._typed(node, TypeRef("text"))
        return node

    # functions ---------------------------------------------------------------------------------
    def _function(self, node: exp.Func) -> exp.Expression:
        name = _function_name(node)
        args = list(node.expressions) if isinstance(node, exp.Anonymous) else _func_args(node)
        if name in ("nextval", "currval", "setval") and args:
            return self._sequence_call(node, name, args)
        if name == "array_fill" and len(args) == 2:
            return self._array_fill(args)
        renamed = functions.duckdb_equivalent(node, args)
        if renamed is not None:
            return self._typed(renamed[0], TypeRef(renamed[1]))
        if name == "set_config" and len(args) == 3:
            call = exp.Anonymous(this="pgv_set_config", expressions=[self._session_id(), *[
                self.coerce(a, TypeRef(t)) for a, t in zip(args, ("text", "text", "bool"))]])
            call.meta["pg_name"] = name
            return self._typed(call, TypeRef("text"))
        overload = self._resolve_function(name, args, node)
        if overload is None:
            return self._builtin_function(node, name, args)
        args = [self._arg_for(overload, i, a) for i, a in enumerate(args)]
        if name in STATE_FUNCTIONS and any(id(a) in self.multidimensional for a in args):
            raise PgError(f"{name}: expected state array", sqlstate="XX000")
        call = pgvector_sql.build_call(overload, args)
        call.meta["pg_name"] = name
        return self._typed(call, TypeRef(overload.result_type))

    def _array_fill(self, args: list[exp.Expression]) -> exp.Expression:
        """array_fill(value, ARRAY[n]): a one-dimensional array of n copies of value."""
        value, dims = args
        length = dims.expressions[0] if isinstance(dims, exp.Array) and dims.expressions else dims
        ref = self.type_of(value) or TypeRef("int4")
        element = registry.by_name(ref.name)
        array = registry.array_type(element) if element is not None else None
        empty = exp.Cast(this=exp.Array(expressions=[]), to=exp.DataType.build(duck_type(ref) + "[]", dialect="duckdb"))
        call = exp.Anonymous(this="list_resize", expressions=[empty, length, value])
        return self._typed(call, TypeRef(array.name) if array else None)

    def _sequence_call(self, node: exp.Expression, name: str, args: list[exp.Expression]) -> exp.Expression:
        """nextval('s') and friends name their sequence by text: resolve it now, to its OID."""
        target = args[0].this if isinstance(args[0], exp.Cast) else args[0]
        if not (isinstance(target, exp.Literal) and target.is_string):
            raise FeatureNotSupported(f"{name}() needs the sequence name as a constant")
        parts = target.this.split(".")
        schema, seq_name = (parts[0], parts[1]) if len(parts) == 2 else ("public", parts[0])
        seq = self.ctx.catalog.sequences.get((schema, seq_name.strip('"')))
        if seq is None:
            raise UndefinedTable(f'relation "{target.this}" does not exist', position=self._position(target))
        rest = [exp.Cast(this=a, to=exp.DataType.build("BIGINT")) for a in args[1:2]]
        call = exp.Anonymous(this=f"pgv_{name}", expressions=[self._session_id(), exp.Literal.number(seq.oid), *rest])
        call.meta["pg_name"] = name
        return self._typed(call, TypeRef("int8"))

    def _session_id(self) -> exp.Expression:
        self.per_session = True
        return exp.Literal.number(self.ctx.session_id)

    def _arg_for(self, overload, index: int, arg: exp.Expression) -> exp.Expression:
        """An argument given the overload's parameter type: untyped ones take it, and an
        implicitly castable one (int4[] for float8[]) is cast to it."""
        wanted = overload.arg_types[index] if getattr(overload, "arg_types", None) else None
        if not wanted:
            return arg
        arg = self.coerce(arg, TypeRef(wanted))
        current = self.type_of(arg)
        if current is not None and current.name != wanted and _implicit(current, wanted):
            cast = exp.Cast(this=arg, to=exp.DataType.build(duck_type(TypeRef(wanted)), dialect="duckdb"))
            return self._typed(cast, TypeRef(wanted))
        return arg

    def _resolve_function(self, name: str, args: list[exp.Expression],
                          node: exp.Expression) -> pgvector_sql.Overload | None:
        candidates = [(key, ov) for key, ov in pgvector_sql.FUNCTIONS.items() if key[0] == name and len(key[1]) == len(args)]
        if not candidates:
            return None
        types = [self.type_of(a) for a in args]
        for key, overload in candidates:
            if all(t is not None and _base_name(t) == want for t, want in zip(types, key[1])):
                return _with_args(overload, key[1])
        if name in BUILTIN_NAMESAKES and all(t is None or t.is_unknown for t in types):
            return None  # PostgreSQL resolves unknown arguments to its own text functions first
        for key, overload in candidates:  # untyped literals/parameters take the overload's types
            if all(t is None or t.is_unknown or _base_name(t) == want or _implicit(t, want)
                   for t, want in zip(types, key[1])):
                return _with_args(overload, key[1])
        if any(t is not None and _is_special(t) for t in types) or all(t and t.is_unknown for t in types):
            shown = ", ".join(_display(t) for t in types)
            raise UndefinedFunction(
                f"function {name}({shown}) does not exist",
                hint="No function matches the given name and argument types. "
                     "You might need to add explicit type casts.",
                position=self._position(node),
            )
        return None

    def _builtin_function(self, node: exp.Expression, name: str, args: list[exp.Expression]) -> exp.Expression:
        if isinstance(node, (exp.Avg, exp.Sum)) and args:
            ref = self.type_of(args[0])
            if ref is not None and ref.name in ("vector", "halfvec"):
                overload = pgvector_sql.FUNCTIONS.get((name, (ref.name,)))
                if overload is not None:
                    call = pgvector_sql.build_call(overload, args)
                    call.meta["pg_name"] = name
                    return self._typed(call, ref)
            if isinstance(node, exp.Sum) and ref is not None and ref.name in INTEGER_TYPES:
                return self._typed(node, TypeRef("int8" if ref.name != "int8" else "numeric"))
            return self._typed(node, TypeRef("float8" if ref and ref.name in ("float4", "float8") else "numeric"))
        if isinstance(node, exp.Count):
            return self._typed(node, TypeRef("int8"))
        if isinstance(node, exp.ArrayAgg) and args:
            value = args[0].this if isinstance(args[0], exp.Order) else args[0]  # array_agg(x ORDER BY y)
            element = registry.by_name(self.type_of(value).name) if self.type_of(value) else None
            array = registry.array_type(element) if element is not None else None
            return self._typed(node, TypeRef(array.name) if array is not None else None)
        if isinstance(node, (exp.Max, exp.Min, exp.Coalesce, exp.Greatest, exp.Least)) and args:
            return self._typed(node, self.type_of(args[0]))
        fixed = _FUNCTION_RESULTS.get(name)
        if fixed is not None:
            return self._typed(node, TypeRef(fixed))
        return node

    # SELECT-level ----------------------------------------------------------------------------
    def _array(self, node: exp.Array) -> exp.Expression:
        """ARRAY[...]: the element type is the first typed element's; untyped ones take it."""
        items = list(node.expressions)
        known = next((self.type_of(i) for i in items if self.type_of(i) and not self.type_of(i).is_unknown), None)
        if known is None:
            return node
        node.set("expressions", [self.coerce(i, known) for i in items])
        element = registry.by_name(known.name)
        array = registry.array_type(element) if element is not None else None
        return self._typed(node, TypeRef(array.name, known.typmod) if array else None)

    def _limit(self, node: exp.Expression) -> exp.Expression:
        value = node.expression
        if isinstance(value, exp.Expression) and self.type_of(value) and self.type_of(value).is_unknown:
            node.set("expression", self.coerce(value, TypeRef("int8")))
        return node


def _is_special(ref: TypeRef | None) -> bool:
    return ref is not None and _base_name(ref) in SPECIAL_TYPES


TEXT_TYPES = ("text", "varchar", "bpchar", "name", "unknown")
# pgvector's aggregate state functions, which take a one-dimensional float8[] state.
STATE_FUNCTIONS = {"vector_avg", "vector_accum", "vector_combine", "halfvec_avg", "halfvec_accum",
                   "halfvec_combine"}
_SOURCE_ORDER = {"with_": 0, "with": 0, "from_": 1, "from": 1, "joins": 2}

# Built-in functions that pgvector or bit strings overload: with only untyped arguments,
# PostgreSQL picks the built-in (text) version.
BUILTIN_NAMESAKES = {"length", "octet_length", "bit_length", "bit_count", "get_bit", "set_bit",
                     "substring", "substr", "overlay", "position", "avg", "sum"}


def _has_codec(ref: TypeRef) -> bool:
    pgtype = registry.by_name(ref.name)
    if pgtype is None:
        return False
    try:
        codec_for(pgtype.oid)
    except KeyError:
        return False
    return True


def _name_function_columns(tree: exp.Expression) -> None:
    """``FROM unnest(...) v``: PostgreSQL names the single column of a scalar function in
    FROM after its alias, so ``v`` is also the column. DuckDB needs that said: v(v)."""
    for node in list(tree.find_all(exp.Unnest, exp.Table)):
        alias = node.args.get("alias")
        if not isinstance(alias, exp.TableAlias) or alias.columns or not alias.this:
            continue
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            continue
        if not isinstance(node.parent, (exp.From, exp.Join)) and not isinstance(node, exp.Unnest):
            continue
        alias.set("columns", [exp.to_identifier(alias.name)])


def index_key_query(catalog: Catalog, table: Table, index: Index) -> KeyQuery:
    """The query exec runs over a segment's rows for an index's key and predicate."""
    key = index.expressions[0] if index.expressions and index.expressions[0] else f'"{index.columns[0]}"'
    sql = f'SELECT ({key}), ({index.predicate or "TRUE"}) FROM "{table.schema}"."{table.name}"'
    query = Translator(PlanContext(catalog=catalog, settings=lambda name: None)).query(
        sqlglot.parse_one(sql, dialect=DIALECT), name_columns=False)
    return KeyQuery(sql=query.sql, constants=tuple(query.constants), relation=duck_name_of_table(table))


def _ann_relation(scan: ann_search.AnnScan, ref: RelationRef) -> RelationRef:
    return RelationRef(kind="table", table=ref.table, schema=ref.schema, name=ref.name,
                       with_rowid=ref.with_rowid, ann=scan)


def _mark_key_lookup(tree: exp.Expression, relations: dict[str, RelationRef]) -> None:
    """``SELECT ... FROM t WHERE key = $1 [AND ...]`` (t read nowhere else, no join): note
    on t's relation that only the row with that key can qualify. The WHERE still runs."""
    from_ = tree.args.get("from_") if isinstance(tree, exp.Select) else None
    source = from_.this if from_ is not None else None
    where = tree.args.get("where") if isinstance(tree, exp.Select) else None
    if not isinstance(source, exp.Table) or tree.args.get("joins") or where is None:
        return
    ref = relations.get(source.name)
    if ref is None or ref.kind != "table":
        return
    if sum(1 for t in tree.find_all(exp.Table) if t.name == source.name) != 1:
        return
    terms = list(where.this.flatten()) if isinstance(where.this, exp.And) else [where.this]
    for term in terms:
        if not isinstance(term, exp.EQ):
            continue
        column, value = (term.this, term.expression) if isinstance(term.this, exp.Column) else \
            (term.expression, term.this)
        if not isinstance(column, exp.Column) or column.table not in ("", source.alias_or_name):
            continue
        bound = _lookup_value(value)
        for k, key in enumerate(ref.table.unique_keys()):
            if bound is not None and key.columns == [column.name]:
                ref.key_lookup = (k, *bound)
                return


def _lookup_value(node: exp.Expression) -> tuple[str, object] | None:
    """The value a key is compared with, when it is known before the query runs."""
    if isinstance(node, exp.Cast):
        node = node.this
    if isinstance(node, exp.Parameter) and isinstance(node.this, exp.Literal):
        return "param", int(node.this.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return "value", node.this
        if node.this.isdigit():
            return "value", int(node.this)
    return None


def _is_nested_list(value: object) -> bool:
    return isinstance(value, list) and any(isinstance(v, list) for v in value)


def _typname_ref(typname: str) -> TypeRef | None:
    """A pg_type name ("char" is the one-byte type, not character) with "[]" for arrays."""
    if typname.endswith("[]"):
        element = registry.TYPES.get(typname[:-2])
        array = registry.array_type(element) if element is not None else None
        return TypeRef(array.name) if array is not None else None
    pgtype = registry.TYPES.get(typname)
    return TypeRef(pgtype.name) if pgtype is not None else None


def _base_name(ref: TypeRef | None) -> str:
    if ref is None:
        return "unknown"
    return ref.name


def _display(ref: TypeRef | None) -> str:
    if ref is None or ref.is_unknown:
        return "unknown"
    pgtype = registry.by_name(ref.name)
    return pgtype.display_name if pgtype else ref.name


def _wider_int(a: TypeRef, b: TypeRef) -> TypeRef:
    order = {"int2": 0, "int4": 1, "int8": 2}
    return TypeRef(max(a.name, b.name, key=lambda n: order.get(n, 1)))


_IMPLICIT = {
    ("int2", "int4"), ("int2", "int8"), ("int4", "int8"), ("int2", "float8"), ("int4", "float8"),
    ("int8", "float8"), ("float4", "float8"), ("numeric", "float8"), ("int4", "numeric"),
    ("varchar", "text"), ("bpchar", "text"), ("bit", "varbit"), ("varbit", "bit"),
}


def _implicit(ref: TypeRef, wanted: str) -> bool:
    """Whether PostgreSQL casts ``ref`` to ``wanted`` implicitly (arrays element-wise)."""
    if ref.name.startswith("_") and wanted.startswith("_"):
        return (ref.name[1:], wanted[1:]) in _IMPLICIT
    return (ref.name, wanted) in _IMPLICIT


def _with_args(overload: pgvector_sql.Overload, arg_types: tuple[str, ...]) -> pgvector_sql.Overload:
    """The overload with its parameter types, which the resolution tables key it by."""
    return overload if overload.arg_types else replace(overload, arg_types=arg_types)


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    return node.sql_name().lower()


def _func_args(node: exp.Func) -> list[exp.Expression]:
    return [v for k, v in node.args.items() if isinstance(v, exp.Expression) and k in node.arg_types]


_BINARY_OPS: dict[type, str] = {
    exp.Add: "+",
    exp.Sub: "-",
    exp.Mul: "*",
    exp.DPipe: "||",
    exp.EQ: "=",
    exp.NEQ: "<>",
    exp.LT: "<",
    exp.LTE: "<=",
    exp.GT: ">",
    exp.GTE: ">=",
}
_COMPARISONS = {"=", "<>", "<", "<=", ">", ">="}

_FUNCTION_RESULTS = {
    "length": "int4",
    "char_length": "int4",
    "lower": "text",
    "upper": "text",
    "concat": "text",
    "array_length": "int4",
    "cardinality": "int4",
}


def _make_handlers() -> dict[type, Callable[[Translator, exp.Expression], exp.Expression]]:
    handlers: dict[type, Callable] = {
        exp.Literal: Translator._literal,
        exp.Boolean: Translator._boolean,
        exp.Parameter: Translator._parameter,
        exp.Placeholder: Translator._parameter,
        exp.BitString: Translator._bit_string,
        exp.HexString: Translator._bit_string,
        exp.Column: Translator._column,
        exp.Cast: Translator._cast,
        exp.Limit: Translator._limit,
        exp.Array: Translator._array,
        exp.CTE: Translator._derived,
        exp.Unnest: Translator._unnest,
        exp.Table: Translator._table_function,
        exp.Case: Translator._case,
        exp.Paren: Translator._paren,
        exp.Subquery: Translator._derived,
        exp.Offset: Translator._limit,
    }
    for cls in list(DISTANCE_OPERATORS) + list(_BINARY_OPS) + [exp.Div, exp.Mod, exp.And, exp.Or, exp.Like,
                                                              exp.ILike, exp.Is]:
        handlers[cls] = Translator._operator if cls in DISTANCE_OPERATORS or cls in _BINARY_OPS \
            else Translator._plain_binary_node
    handlers[exp.Func] = Translator._function
    return handlers

_HANDLERS = _make_handlers()
