"""Data definition: tables, columns, constraints, indexes, schemas and extensions.

Every change updates the catalog, the store's tables and the catalog document the store
keeps durable, in that order; names and messages follow PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pyarrow as pa
from sqlglot import exp

from pgvecdb.catalog.vector_objects import PGVECTOR_VERSION
from pgvecdb.catalog.model import Catalog, Column, Constraint, Extension, Index, Sequence, Table
from pgvecdb.errors import (
    DuplicateColumn,
    DuplicateObject,
    DuplicateTable,
    FeatureNotSupported,
    InvalidSchemaName,
    InvalidTableDefinition,
    Notice,
    PgError,
    UndefinedColumn,
    UndefinedObject,
    UndefinedTable,
)
from pgvecdb.exec.result import Result
from pgvecdb.exec.rows import codec_of, storage_schema
from pgvecdb.exec.vector_index_ddl import VECTOR_METHODS, validate_vector_index
from pgvecdb.exec.vector_indexes import VectorIndexes, is_searchable
from pgvecdb.planner.datatypes import typeref_from_datatype
from pgvecdb.sql.utility import ExtensionStatement
from pgvecdb.storage.api import ROWID, Store, Transaction
from pgvecdb.types import registry
from pgvecdb.types.typeref import TypeRef, format_type, split_type_text

AVAILABLE_EXTENSIONS = {"vector": PGVECTOR_VERSION, "plpgsql": "1.0"}
INDEX_METHODS = ("btree", "hash", "gist", "gin", "brin", *VECTOR_METHODS)


@dataclass
class DDLContext:
    catalog: Catalog
    store: Store
    notices: list[Notice]
    default_value: Callable[[Column], pa.Scalar | None]  # a column's DEFAULT, evaluated (storage type)
    offset: int = 0  # of the statement in the query string, for error positions
    block: Transaction | None = None  # the transaction of an open BEGIN block, if any
    vector_indexes: VectorIndexes | None = None  # builds and drops the engine's indexes

    def save(self) -> None:
        self.catalog.changed()
        self.store.save_catalog(self.catalog.to_dict())


def run_ddl(tree: exp.Expression, ctx: DDLContext) -> Result:
    handler = _dispatch(tree)
    if handler is None:
        raise FeatureNotSupported(f"statement not supported: {tree.sql(dialect='postgres')[:60]}")
    return handler(tree, ctx)


def _dispatch(tree: exp.Expression) -> Callable[[exp.Expression, DDLContext], Result] | None:
    if isinstance(tree, exp.Create):
        kind = (tree.args.get("kind") or "").upper()
        return {"TABLE": create_table, "INDEX": create_index, "SCHEMA": create_schema}.get(kind)
    if isinstance(tree, exp.Drop):
        kind = (tree.args.get("kind") or "").upper()
        return {"TABLE": drop_table, "INDEX": drop_index, "SCHEMA": drop_schema}.get(kind)
    if isinstance(tree, exp.Alter):
        return alter_table
    if isinstance(tree, exp.TruncateTable):
        return truncate_table
    return None


def _schema_of(node: exp.Table, catalog: Catalog) -> str:
    schema = node.db or "public"
    if schema not in catalog.schemas and schema != "pg_catalog":
        raise InvalidSchemaName(f'schema "{schema}" does not exist')
    return schema


def _position(ctx: DDLContext, node: exp.Expression | None) -> int | None:
    start = node.meta.get("start") if isinstance(node, exp.Identifier) else None
    return None if start is None else ctx.offset + start + 1


# --------------------------------------------------------------------------- CREATE TABLE
def create_table(tree: exp.Create, ctx: DDLContext) -> Result:
    if tree.args.get("expression") is not None:
        raise FeatureNotSupported("CREATE TABLE ... AS is not supported yet")
    schema_node = tree.this
    table_node = schema_node.this if isinstance(schema_node, exp.Schema) else schema_node
    schema = _schema_of(table_node, ctx.catalog)
    name = table_node.name
    if name in ctx.catalog.relation_names(schema):
        if tree.args.get("exists"):
            ctx.notices.append(Notice(f'relation "{name}" already exists, skipping', sqlstate="42P07"))
            return Result(tag="CREATE TABLE")
        raise DuplicateTable(f'relation "{name}" already exists')
    table = Table(oid=ctx.catalog.allocate_oid(), name=name, schema=schema, type_oid=ctx.catalog.allocate_oid())
    items = schema_node.expressions if isinstance(schema_node, exp.Schema) else []
    for item in items:
        if isinstance(item, exp.ColumnDef):
            _add_column_def(table, item, ctx)
    for item in items:
        if not isinstance(item, exp.ColumnDef):
            _add_table_constraint(table, item, ctx)
    if not table.columns and not items:
        pass  # PostgreSQL allows tables without columns
    ctx.catalog.tables[(schema, name)] = table
    ctx.store.create_table(table.oid, storage_schema(table))
    _sync_unique_keys(table, ctx)
    ctx.save()
    return Result(tag="CREATE TABLE")


def _add_column_def(table: Table, item: exp.ColumnDef, ctx: DDLContext) -> Column:
    name = item.name
    if table.column(name) is not None:
        raise DuplicateColumn(f'column "{name}" specified more than once')
    kind = item.args.get("kind")
    if kind is None:
        raise PgError(f'column "{name}" has no type', sqlstate="42601")
    type_text = kind.sql(dialect="postgres")
    base, _, _ = split_type_text(type_text)
    try:
        ref = typeref_from_datatype(kind)
    except PgError as err:
        raise err.with_position(_position(ctx, item.this))
    column = Column(name=name, type_name=ref.name, typmod=ref.typmod, attnum=table.next_attnum)
    table.next_attnum += 1
    if base in registry.SERIAL_TYPES:
        seq = _owned_sequence(table, column, ctx)
        column.default = f"nextval('{seq.name}'::regclass)"
        column.not_null = True
    for constraint in item.constraints:
        _apply_column_constraint(table, column, constraint.kind, ctx, constraint.args.get("this"))
    table.columns.append(column)
    return column


def default_text(value: exp.Expression, column: Column) -> str:
    """A DEFAULT as PostgreSQL stores and prints it: a string literal carries its cast to
    the column's type ('x'::character varying)."""
    text = value.sql(dialect="postgres")
    if isinstance(value, exp.Literal) and value.is_string:
        return f"{text}::{format_type(TypeRef(column.type_name))}"
    return text


def _owned_sequence(table: Table, column: Column, ctx: DDLContext) -> Sequence:
    name = _unique_relation_name(ctx.catalog, table.schema, f"{table.name}_{column.name}_seq")
    seq = Sequence(oid=ctx.catalog.allocate_oid(), name=name, schema=table.schema,
                   type_name=column.type_name, owned_by=(table.name, column.name),
                   max_value={"int2": 32767, "int4": 2147483647}.get(column.type_name, 2**63 - 1))
    ctx.catalog.sequences[(table.schema, name)] = seq
    return seq


def _apply_column_constraint(table: Table, column: Column, kind: exp.Expression, ctx: DDLContext,
                             name: exp.Expression | None) -> None:
    if isinstance(kind, exp.NotNullColumnConstraint):
        column.not_null = not kind.args.get("allow_null")
    elif isinstance(kind, exp.DefaultColumnConstraint):
        column.default = default_text(kind.this, column)
    elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
        _add_key(table, "p", [column.name], ctx, None)
        column.not_null = True
    elif isinstance(kind, exp.UniqueColumnConstraint):
        _add_key(table, "u", [column.name], ctx, None)
    elif isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
        seq = _owned_sequence(table, column, ctx)
        column.identity = "a" if kind.this else "d"
        column.default = f"nextval('{seq.name}'::regclass)"
        column.not_null = True
    elif isinstance(kind, exp.CheckColumnConstraint):
        table.constraints.append(Constraint(oid=ctx.catalog.allocate_oid(),
                                            name=f"{table.name}_{column.name}_check", kind="c",
                                            columns=[column.name], expression=kind.this.sql(dialect="postgres")))
    elif isinstance(kind, (exp.CollateColumnConstraint, exp.Reference)):
        return
    else:
        raise FeatureNotSupported(f"column constraint not supported: {kind.sql(dialect='postgres')}")


def _add_table_constraint(table: Table, item: exp.Expression, ctx: DDLContext) -> None:
    name = None
    if isinstance(item, exp.Constraint):
        name = item.name
        parts = item.expressions
    else:
        parts = [item]
    for part in parts:
        if isinstance(part, exp.PrimaryKey):
            columns = [e.name for e in part.expressions]
            _check_columns(table, columns)
            _add_key(table, "p", columns, ctx, name)
            for c in columns:
                table.column(c).not_null = True
        elif isinstance(part, (exp.UniqueColumnConstraint,)):
            schema = part.this
            columns = [e.name for e in schema.expressions] if isinstance(schema, exp.Schema) else []
            _check_columns(table, columns)
            _add_key(table, "u", columns, ctx, name)
        elif isinstance(part, exp.CheckColumnConstraint):
            table.constraints.append(Constraint(oid=ctx.catalog.allocate_oid(), name=name or f"{table.name}_check",
                                                kind="c", expression=part.this.sql(dialect="postgres")))
        elif isinstance(part, exp.ForeignKey):
            continue
        else:
            raise FeatureNotSupported(f"table constraint not supported: {part.sql(dialect='postgres')}")


def _check_columns(table: Table, columns: list[str]) -> None:
    for c in columns:
        if table.column(c) is None:
            raise UndefinedColumn(f'column "{c}" named in key does not exist')


def _add_key(table: Table, kind: str, columns: list[str], ctx: DDLContext, name: str | None) -> None:
    if kind == "p" and table.primary_key is not None:
        raise InvalidTableDefinition(f'multiple primary keys for table "{table.name}" are not allowed')
    suffix = "pkey" if kind == "p" else "_".join(columns) + "_key"
    base = f"{table.name}_{suffix}" if kind == "p" else f"{table.name}_{suffix}"
    name = name or _unique_relation_name(ctx.catalog, table.schema, base, extra=_names_in(table))
    index = Index(oid=ctx.catalog.allocate_oid(), name=name, table_oid=table.oid, method="btree",
                  columns=list(columns), expressions=[None] * len(columns), opclasses=[None] * len(columns),
                  unique=True, primary=kind == "p")
    index.definition = _index_definition(table, index)
    table.indexes.append(index)
    table.constraints.append(Constraint(oid=ctx.catalog.allocate_oid(), name=name, kind=kind,
                                        columns=list(columns), index_oid=index.oid))


def _names_in(table: Table) -> set[str]:
    return {i.name for i in table.indexes} | {c.name for c in table.constraints}


def _unique_relation_name(catalog: Catalog, schema: str, base: str, extra: set[str] | None = None) -> str:
    taken = catalog.relation_names(schema) | (extra or set())
    base = base[:63]
    if base not in taken:
        return base
    n = 1
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


def _sync_unique_keys(table: Table, ctx: DDLContext) -> None:
    ctx.store.set_unique_keys(table.oid, [list(k.columns) for k in table.unique_keys()])


# --------------------------------------------------------------------------- DROP / TRUNCATE
def _lookup_table(catalog: Catalog, node: exp.Table) -> Table | None:
    return catalog.table(node.name, node.db or "public")


def drop_table(tree: exp.Drop, ctx: DDLContext) -> Result:
    targets = tree.args.get("tables") or [tree.this]
    tables = []
    for node in targets:
        table = _lookup_table(ctx.catalog, node)
        if table is None:
            if tree.args.get("exists"):
                ctx.notices.append(Notice(f'table "{node.name}" does not exist, skipping'))
                continue
            raise UndefinedTable(f'table "{node.name}" does not exist')
        tables.append(table)
    for table in tables:
        del ctx.catalog.tables[(table.schema, table.name)]
        for key, seq in list(ctx.catalog.sequences.items()):
            if seq.owned_by and seq.owned_by[0] == table.name and seq.schema == table.schema:
                del ctx.catalog.sequences[key]
        if ctx.vector_indexes is not None:
            ctx.vector_indexes.forget_table(table)
        ctx.store.drop_table(table.oid)
    ctx.save()
    return Result(tag="DROP TABLE")


def truncate_table(tree: exp.TruncateTable, ctx: DDLContext) -> Result:
    tables = []
    for node in tree.expressions:
        table = _lookup_table(ctx.catalog, node)
        if table is None:
            raise UndefinedTable(f'relation "{node.name}" does not exist')
        tables.append(table)
    for table in tables:
        if ctx.block is not None:  # inside BEGIN ... COMMIT: undone by ROLLBACK, seen by others at COMMIT
            ctx.block.delete(table.oid, ctx.block.scan(table.oid, []).column(ROWID).to_numpy())
        else:
            ctx.store.truncate_table(table.oid)
        if ctx.vector_indexes is not None:
            ctx.vector_indexes.forget_table(table)
        if any(i.method in ("ivfflat", "ivf_flat") for i in table.indexes):
            ctx.notices.append(little_data_notice())  # PostgreSQL rebuilds the index empty
    return Result(tag="TRUNCATE TABLE")


# --------------------------------------------------------------------------- ALTER TABLE
def alter_table(tree: exp.Alter, ctx: DDLContext) -> Result:
    if (tree.args.get("kind") or "TABLE").upper() != "TABLE":
        raise FeatureNotSupported(f"ALTER {tree.args.get('kind')} is not supported")
    table = _lookup_table(ctx.catalog, tree.this)
    if table is None:
        if tree.args.get("exists"):
            ctx.notices.append(Notice(f'relation "{tree.this.name}" does not exist, skipping'))
            return Result(tag="ALTER TABLE")
        raise UndefinedTable(f'relation "{tree.this.name}" does not exist')
    for action in tree.args.get("actions") or []:
        _alter_action(table, action, ctx)
    _sync_unique_keys(table, ctx)
    ctx.save()
    return Result(tag="ALTER TABLE")


def _alter_action(table: Table, action: exp.Expression, ctx: DDLContext) -> None:
    if isinstance(action, exp.ColumnDef):
        _add_column(table, action, ctx)
    elif isinstance(action, exp.Drop) and (action.args.get("kind") or "").upper() == "COLUMN":
        for node in action.args.get("tables") or []:
            _drop_column(table, node.name, bool(action.args.get("exists")), ctx)
    elif isinstance(action, exp.RenameColumn):
        _rename_column(table, action.this.name, action.args["to"].name, ctx)
    elif isinstance(action, exp.AlterRename):
        _rename_table(table, action.this.name, ctx)
    elif isinstance(action, exp.AlterColumn):
        _alter_column(table, action, ctx)
    elif isinstance(action, exp.AddConstraint):
        for part in action.expressions:
            _add_table_constraint(table, part, ctx)
    else:
        raise FeatureNotSupported(f"ALTER TABLE action not supported: {action.sql(dialect='postgres')}")


def _add_column(table: Table, definition: exp.ColumnDef, ctx: DDLContext) -> None:
    if table.column(definition.name) is not None:
        if definition.args.get("exists"):
            ctx.notices.append(Notice(f'column "{definition.name}" of relation "{table.name}" already exists, skipping'))
            return
        raise DuplicateColumn(f'column "{definition.name}" of relation "{table.name}" already exists')
    column = _add_column_def(table, definition, ctx)
    codec = codec_of(column)
    if column.default is not None and "nextval" in column.default:
        raise FeatureNotSupported("ADD COLUMN with a sequence default on a table is not supported yet")
    fill = ctx.default_value(column) if column.default is not None else None
    field = pa.field(column.name, codec.storage_type(column.typmod))
    ctx.store.add_column(table.oid, field, fill)


def _drop_column(table: Table, name: str, if_exists: bool, ctx: DDLContext) -> None:
    column = table.column(name)
    if column is None:
        if if_exists:
            ctx.notices.append(Notice(f'column "{name}" of relation "{table.name}" does not exist, skipping'))
            return
        raise UndefinedColumn(f'column "{name}" of relation "{table.name}" does not exist')
    table.columns.remove(column)
    table.constraints = [c for c in table.constraints if name not in c.columns]
    table.indexes = [i for i in table.indexes if name not in i.columns]
    ctx.store.drop_column(table.oid, name)


def _rename_column(table: Table, old: str, new: str, ctx: DDLContext) -> None:
    column = table.column(old)
    if column is None:
        raise UndefinedColumn(f'column "{old}" does not exist')
    if table.column(new) is not None:
        raise DuplicateColumn(f'column "{new}" of relation "{table.name}" already exists')
    column.name = new
    for item in [*table.constraints, *table.indexes]:
        item.columns = [new if c == old else c for c in item.columns]
    for index in table.indexes:
        index.definition = _index_definition(table, index)
    ctx.store.rename_column(table.oid, old, new)


def _rename_table(table: Table, new: str, ctx: DDLContext) -> None:
    if new in ctx.catalog.relation_names(table.schema):
        raise DuplicateTable(f'relation "{new}" already exists')
    del ctx.catalog.tables[(table.schema, table.name)]
    table.name = new
    ctx.catalog.tables[(table.schema, new)] = table
    for index in table.indexes:
        index.definition = _index_definition(table, index)


def _alter_column(table: Table, action: exp.AlterColumn, ctx: DDLContext) -> None:
    column = table.column(action.this.name)
    if column is None:
        raise UndefinedColumn(f'column "{action.this.name}" of relation "{table.name}" does not exist')
    if action.args.get("dtype") is not None:
        raise FeatureNotSupported("ALTER COLUMN ... TYPE is not supported yet")
    if "default" in action.args and action.args["default"] is not None:
        column.default = default_text(action.args["default"], column)
    elif action.args.get("drop") and action.args.get("allow_null"):
        column.not_null = False
    elif action.args.get("drop"):
        column.default = None
    elif action.args.get("allow_null") is False:
        column.not_null = True


# --------------------------------------------------------------------------- INDEXES
def create_index(tree: exp.Create, ctx: DDLContext) -> Result:
    index_node = tree.this
    table_node = index_node.args.get("table")
    table = _lookup_table(ctx.catalog, table_node)
    if table is None:
        raise UndefinedTable(f'relation "{table_node.name}" does not exist')
    params = index_node.args.get("params")
    method = str(params.args.get("using") or "btree").lower() if params else "btree"
    if method not in INDEX_METHODS:
        raise UndefinedObject(f'access method "{method}" does not exist')
    columns, expressions, opclasses, labels = [], [], [], []
    for entry in params.args.get("columns") or []:
        key = entry.this if isinstance(entry, exp.Ordered) else entry
        opclass = None
        if isinstance(key, exp.Opclass):
            opclass = key.expression.name
            key = key.this
        if isinstance(key, exp.Column):
            if table.column(key.name) is None:
                raise UndefinedColumn(f'column "{key.name}" does not exist')
            columns.append(key.name)
            expressions.append(None)
            labels.append(key.name)
        else:
            inner = key.this if isinstance(key, exp.Paren) else key
            columns.append("")
            expressions.append(inner.sql(dialect="postgres"))
            labels.append(_expression_label(inner))
        opclasses.append(opclass)
    name = index_node.name
    if name and name in ctx.catalog.relation_names(table.schema):
        if tree.args.get("exists"):
            ctx.notices.append(Notice(f'relation "{name}" already exists, skipping', sqlstate="42P07"))
            return Result(tag="CREATE INDEX")
        raise DuplicateTable(f'relation "{name}" already exists')
    if not name:
        label = "_".join(labels)
        name = _unique_relation_name(ctx.catalog, table.schema, f"{table.name}_{label}_idx")
    options = {}
    for prop in params.args.get("with_storage") or []:
        options[prop.this.name.lower()] = prop.args["value"].name
    if method in VECTOR_METHODS:
        if len(columns) != 1:
            raise FeatureNotSupported(f"{method} indexes take one column")
        validate_vector_index(table, method, columns[0], expressions[0], opclasses[0], options)
    where = params.args.get("where")
    index = Index(oid=ctx.catalog.allocate_oid(), name=name, table_oid=table.oid, method=method, columns=columns,
                  expressions=expressions, opclasses=opclasses, options=options,
                  unique=bool(tree.args.get("unique")),
                  predicate=where.this.sql(dialect="postgres") if where is not None else None)
    index.definition = _index_definition(table, index)
    table.indexes.append(index)
    _sync_unique_keys(table, ctx)
    ctx.save()
    _build_vector_index(table, index, ctx)
    return Result(tag="CREATE INDEX")


def _build_vector_index(table: Table, index: Index, ctx: DDLContext) -> None:
    """Build the engine's index for every segment; an IVF index built over fewer rows
    than lists warns as pgvector's does."""
    if ctx.vector_indexes is None or not is_searchable(table, index):
        return
    try:
        indexed = ctx.vector_indexes.build_table(table, index)
    except BaseException:
        table.indexes.remove(index)
        ctx.save()
        raise
    lists = index.options.get("lists")
    if index.method in ("ivfflat", "ivf_flat") and indexed < int(lists if lists is not None else 100):
        ctx.notices.append(little_data_notice())


def little_data_notice() -> Notice:
    return Notice("ivfflat index created with little data", detail="This will cause low recall.",
                  hint="Drop the index until the table has more data.")


def _expression_label(expression: exp.Expression) -> str:
    """The name an expression key gives its index, as PostgreSQL's FigureIndexColname:
    a column's name through casts, a function's name, else "expr"."""
    while isinstance(expression, (exp.Cast, exp.Paren)):
        expression = expression.this
    if isinstance(expression, exp.Column):
        return expression.name
    if isinstance(expression, exp.Anonymous):
        return expression.name.lower()
    if isinstance(expression, exp.Func):
        return expression.sql_name().lower()
    return "expr"


def _index_definition(table: Table, index: Index) -> str:
    keys = []
    for column, expression, opclass in zip(index.columns, index.expressions, index.opclasses):
        key = column if column else f"({expression})"
        keys.append(f"{key} {opclass}" if opclass else key)
    unique = "UNIQUE " if index.unique else ""
    text = f"CREATE {unique}INDEX {index.name} ON {table.schema}.{table.name} USING {index.method} ({', '.join(keys)})"
    if index.options:
        text += " WITH (" + ", ".join(f"{k}='{v}'" for k, v in index.options.items()) + ")"
    if index.predicate:
        text += f" WHERE ({index.predicate})"
    return text


def drop_index(tree: exp.Drop, ctx: DDLContext) -> Result:
    for node in tree.args.get("tables") or [tree.this]:
        found = ctx.catalog.index(node.name, node.db or "public")
        if found is None:
            if tree.args.get("exists"):
                ctx.notices.append(Notice(f'index "{node.name}" does not exist, skipping'))
                continue
            raise UndefinedObject(f'index "{node.name}" does not exist')
        table, index = found
        if any(c.index_oid == index.oid for c in table.constraints):
            constraint = next(c for c in table.constraints if c.index_oid == index.oid)
            raise PgError(f"cannot drop index {index.name} because constraint {constraint.name} on table "
                          f"{table.name} requires it", sqlstate="2BP01",
                          hint=f"You can drop constraint {constraint.name} on table {table.name} instead.")
        table.indexes.remove(index)
        _sync_unique_keys(table, ctx)
        if ctx.vector_indexes is not None:
            ctx.vector_indexes.forget(table.oid, index)
    ctx.save()
    return Result(tag="DROP INDEX")


# --------------------------------------------------------------------------- SCHEMAS / EXTENSIONS
def create_schema(tree: exp.Create, ctx: DDLContext) -> Result:
    name = tree.this.db or tree.this.name
    if name in ctx.catalog.schemas or name in ("pg_catalog", "information_schema"):
        if tree.args.get("exists"):
            ctx.notices.append(Notice(f'schema "{name}" already exists, skipping', sqlstate="42P06"))
            return Result(tag="CREATE SCHEMA")
        raise PgError(f'schema "{name}" already exists', sqlstate="42P06")
    ctx.catalog.schemas[name] = ctx.catalog.allocate_oid()
    ctx.save()
    return Result(tag="CREATE SCHEMA")


def drop_schema(tree: exp.Drop, ctx: DDLContext) -> Result:
    for node in tree.args.get("tables") or [tree.this]:
        name = node.db or node.name
        if name not in ctx.catalog.schemas:
            if tree.args.get("exists"):
                ctx.notices.append(Notice(f'schema "{name}" does not exist, skipping'))
                continue
            raise InvalidSchemaName(f'schema "{name}" does not exist')
        owned = [t for t in ctx.catalog.tables.values() if t.schema == name]
        if owned and not tree.args.get("cascade"):
            raise PgError(f"cannot drop schema {name} because other objects depend on it", sqlstate="2BP01",
                          hint="Use DROP ... CASCADE to drop the dependent objects too.")
        for table in owned:
            del ctx.catalog.tables[(table.schema, table.name)]
            ctx.store.drop_table(table.oid)
        del ctx.catalog.schemas[name]
    ctx.save()
    return Result(tag="DROP SCHEMA")


def run_extension(statement: ExtensionStatement, ctx: DDLContext) -> Result:
    catalog = ctx.catalog
    if statement.action == "create":
        if statement.name not in AVAILABLE_EXTENSIONS:
            raise PgError(f'extension "{statement.name}" is not available', sqlstate="0A000",
                          hint="The extension must first be installed on the system where PostgreSQL is running.")
        if statement.name in catalog.extensions:
            if statement.if_exists:
                ctx.notices.append(Notice(f'extension "{statement.name}" already exists, skipping',
                                          sqlstate="42710"))
                return Result(tag="CREATE EXTENSION")
            raise DuplicateObject(f'extension "{statement.name}" already exists')
        catalog.extensions[statement.name] = Extension(oid=catalog.allocate_oid(), name=statement.name,
                                                       version=AVAILABLE_EXTENSIONS[statement.name])
        ctx.save()
        return Result(tag="CREATE EXTENSION")
    if statement.name not in catalog.extensions:
        if statement.if_exists:
            ctx.notices.append(Notice(f'extension "{statement.name}" does not exist, skipping'))
            return Result(tag="DROP EXTENSION")
        raise UndefinedObject(f'extension "{statement.name}" does not exist')
    del catalog.extensions[statement.name]
    ctx.save()
    return Result(tag="DROP EXTENSION")
