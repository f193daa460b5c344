"""Planning INSERT, UPDATE and DELETE.

Each becomes a DuckDB query that computes the rows to write (or the row ids to delete),
with every value already converted to its column's type; exec/ then writes them through
storage. RETURNING is a second query over the rows written, registered under the table's
name so that ``RETURNING t.id`` and ``RETURNING *`` resolve as in PostgreSQL.
"""

from __future__ import annotations

from sqlglot import exp

from pgvecdb.catalog.model import Column, Table
from pgvecdb.errors import (
    InvalidColumnReference,
    SyntaxError as PgSyntaxError,
    UndefinedColumn,
    UndefinedTable,
    PgError,
)
from pgvecdb.planner.context import PlanContext
from pgvecdb.planner.plans import ConflictClause, DeletePlan, InsertPlan, UpdatePlan
from pgvecdb.planner.translate import DuckQuery, RelationRef, Translator
from pgvecdb.sql.dialect import DIALECT
from pgvecdb.storage.api import ROWID
from pgvecdb.types.typeref import TypeRef, duck_type

RETURNING_RELATION = "pgv_returning"
CONFLICT_RELATION = "pgv_conflict"
EXCLUDED_RELATION = "pgv_excluded"
POSITION = "__pgv_pos"


def column_ref(column: Column) -> TypeRef:
    return TypeRef(column.type_name, column.typmod)


def _target_table(node: exp.Expression, ctx: PlanContext) -> tuple[Table, str]:
    table_node = node.this if isinstance(node, exp.Schema) else node
    schema = table_node.db or "public"
    table = ctx.catalog.table(table_node.name, schema)
    if table is None:
        shown = f"{table_node.db}.{table_node.name}" if table_node.db else table_node.name
        start = table_node.this.meta.get("start") if isinstance(table_node.this, exp.Identifier) else None
        raise UndefinedTable(f'relation "{shown}" does not exist',
                             position=None if start is None else ctx.statement_offset + start + 1)
    return table, table_node.alias or table.name


def convert(tr: Translator, node: exp.Expression, target: TypeRef) -> exp.Expression:
    """``node`` converted to the DuckDB type of ``target`` (typmods are checked by storage codecs)."""
    node = tr.coerce(node, target)
    current = tr.type_of(node)
    if current is not None and current.name == target.name:
        return node
    return tr.cast_to(node, target)


def default_expression(tr: Translator, column: Column) -> exp.Expression:
    """The DEFAULT of ``column`` (or NULL), translated."""
    if column.default is None:
        return exp.Cast(this=exp.Null(), to=exp.DataType.build(duck_type(column_ref(column)), dialect="duckdb"))
    tree = DIALECT.parse(f"SELECT {column.default}")[0]
    value = tree.expressions[0]
    value = tr.rewrite(value)
    return convert(tr, value, column_ref(column))


def default_query(column: Column, ctx: PlanContext) -> DuckQuery:
    """A query of one row holding ``column``'s DEFAULT, converted to the column's type."""
    tr = Translator(ctx)
    return tr.finish(exp.select(default_expression(tr, column)))


# --------------------------------------------------------------------------- INSERT
def plan_insert(tree: exp.Insert, ctx: PlanContext) -> tuple[InsertPlan, Translator]:
    table, alias = _target_table(tree.this, ctx)
    targets = _insert_columns(tree, table, ctx)
    tr = Translator(ctx)
    source = tree.expression
    if isinstance(source, exp.Values):
        body = _insert_values(tr, source, table, targets)
    elif source is None:
        body = exp.select(*[default_expression(tr, c) for c in table.columns])
    else:
        body = _insert_select(tr, source, table, targets)
    plan = InsertPlan(table=table, source=tr.finish(body))
    if tree.args.get("conflict"):
        plan.conflict = _conflict(tree.args["conflict"], table, alias, ctx, plan)
    if tree.args.get("returning"):
        plan.returning = plan_returning(tree.args["returning"], table, alias, ctx, tr)
    plan.source.params = _merge_params(plan)
    return plan, tr


def _merge_params(plan) -> list[TypeRef]:
    """Parameters may appear in VALUES, ON CONFLICT and RETURNING: one list for all."""
    merged = list(plan.source.params)
    extra = [plan.returning] if getattr(plan, "returning", None) else []
    if getattr(plan, "conflict", None) is not None and plan.conflict.update is not None:
        extra.append(plan.conflict.update)
    for query in extra:
        for i, ref in enumerate(query.params):
            if i >= len(merged):
                merged.append(ref)
            elif merged[i].name in ("text", "unknown") and ref.name not in ("text", "unknown"):
                merged[i] = ref
    return merged


def _insert_columns(tree: exp.Insert, table: Table, ctx: PlanContext) -> list[Column]:
    if not isinstance(tree.this, exp.Schema):
        return list(table.columns)
    columns = []
    for ident in tree.this.expressions:
        name = ident.name
        column = table.column(name)
        if column is None:
            start = ident.meta.get("start")
            raise UndefinedColumn(f'column "{name}" of relation "{table.name}" does not exist',
                                  position=None if start is None else ctx.statement_offset + start + 1)
        if column in columns:
            raise PgError(f'column "{name}" specified more than once', sqlstate="42701")
        columns.append(column)
    return columns


def _insert_values(tr: Translator, values: exp.Values, table: Table, targets: list[Column]) -> exp.Expression:
    tr.prepare_in_place(values)
    rows = []
    for row in values.expressions:
        items = list(row.expressions) if isinstance(row, exp.Tuple) else [row]
        if len(items) > len(targets):
            raise PgSyntaxError("INSERT has more expressions than target columns",
                                position=tr.position_of(items[len(targets)]))
        if len(items) < len(targets) and isinstance(values.parent, exp.Insert) and \
                isinstance(values.parent.this, exp.Schema):
            raise PgSyntaxError("INSERT has more target columns than expressions",
                                position=tr.position_of(values.parent.this.expressions[len(items)]))
        given = dict(zip((c.name for c in targets), items))
        out = []
        for column in table.columns:
            item = given.get(column.name)
            if item is None or _is_default(item):
                out.append(default_expression(tr, column))
            else:
                out.append(convert(tr, tr.rewrite(item), column_ref(column)))
        rows.append(exp.Tuple(expressions=out))
    return exp.Values(expressions=rows)


def _is_default(node: exp.Expression) -> bool:
    return isinstance(node, exp.Var) and node.name.upper() == "DEFAULT"


def _insert_select(tr: Translator, source: exp.Expression, table: Table, targets: list[Column]) -> exp.Expression:
    inner = tr.prepare_in_place(source)
    inner = tr.rewrite(inner)
    select = inner
    while isinstance(select, (exp.Union, exp.Except, exp.Intersect)):
        select = select.this
    outputs = list(select.expressions) if isinstance(select, exp.Select) else []
    has_star = any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
                   for e in outputs)
    width = len(targets) if has_star or not outputs else len(outputs)
    if not has_star and outputs and len(outputs) > len(targets):
        raise PgSyntaxError("INSERT has more expressions than target columns")
    names = [f"c{i}" for i in range(width)]
    given: dict[str, exp.Expression] = {}
    for i, column in enumerate(targets[:width]):
        ref = exp.column(names[i], "s")
        inner_type = tr.type_of(outputs[i].unalias()) if outputs and not has_star else None
        tr.types[id(ref)] = inner_type if inner_type is not None else None
        if inner_type is None:
            tr.types.pop(id(ref), None)
        given[column.name] = convert(tr, ref, column_ref(column))
    exprs = [given.get(c.name) or default_expression(tr, c) for c in table.columns]
    subquery = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("s"),
                                                               columns=[exp.to_identifier(n) for n in names]))
    return exp.select(*exprs).from_(subquery)


def _conflict(node: exp.OnConflict, table: Table, alias: str, ctx: PlanContext, plan: InsertPlan) -> ConflictClause:
    keys = [k.this.name if isinstance(k, exp.Ordered) else k.name for k in node.args.get("conflict_keys") or []]
    key_index = None
    unique = table.unique_keys()
    if keys:
        matches = [i for i, c in enumerate(unique) if sorted(c.columns) == sorted(keys)]
        if not matches:
            raise InvalidColumnReference(
                "there is no unique or exclusion constraint matching the ON CONFLICT specification")
        key_index = matches[0]
    elif node.args.get("constraint"):
        name = node.args["constraint"].name
        matches = [i for i, c in enumerate(unique) if c.name == name]
        if not matches:
            raise PgError(f'constraint "{name}" for table "{table.name}" does not exist', sqlstate="42704")
        key_index = matches[0]
    action = str(node.args.get("action") or "").upper()
    if "NOTHING" in action:
        return ConflictClause(key_index, "nothing")
    if key_index is None:
        raise PgSyntaxError("ON CONFLICT DO UPDATE requires inference specification or constraint name",
                            hint="For example, ON CONFLICT (column_name).")
    update = _conflict_update(node, table, alias, ctx)
    return ConflictClause(key_index, "update", update=update, where=node.args.get("where") is not None)


def _conflict_update(node: exp.OnConflict, table: Table, alias: str, ctx: PlanContext):
    tr = Translator(ctx)
    assignments = {name: tr.prepare_in_place(value)
                   for name, value in _assignments(node.expressions, table, ctx).items()}
    existing = _supplied_relation(CONFLICT_RELATION, alias)
    excluded = _supplied_relation(EXCLUDED_RELATION, "excluded")
    tr.scope[alias] = table
    tr.scope["excluded"] = table
    tr.relations[CONFLICT_RELATION] = RelationRef("rows", table=table, name=CONFLICT_RELATION)
    tr.relations[EXCLUDED_RELATION] = RelationRef("rows", table=table, name=EXCLUDED_RELATION)
    values = _updated_columns(tr, table, alias, assignments)
    query = exp.select(exp.column(ROWID, alias), *values).from_(existing).join(
        excluded, on=exp.EQ(this=exp.column(POSITION, alias), expression=exp.column(POSITION, "excluded")))
    where = node.args.get("where")
    if where is not None:
        query = query.where(tr.rewrite(tr.prepare_in_place(where.this)))
    return tr.finish(query)


def _supplied_relation(name: str, alias: str) -> exp.Table:
    node = exp.Table(this=exp.to_identifier(name), alias=exp.TableAlias(this=exp.to_identifier(alias)))
    node.meta["pgv_bound"] = True
    return node


def _assignments(eqs: list[exp.Expression], table: Table, ctx: PlanContext) -> dict[str, exp.Expression]:
    out: dict[str, exp.Expression] = {}
    for eq in eqs:
        target = eq.this
        name = target.name
        if table.column(name) is None:
            start = target.this.meta.get("start") if isinstance(target.this, exp.Identifier) else None
            raise UndefinedColumn(f'column "{name}" of relation "{table.name}" does not exist',
                                  position=None if start is None else ctx.statement_offset + start + 1)
        if name in out:
            raise PgError(f'multiple assignments to same column "{name}"', sqlstate="42601")
        out[name] = eq.expression
    return out


def _updated_columns(tr: Translator, table: Table, alias: str,
                     assignments: dict[str, exp.Expression]) -> list[exp.Expression]:
    """Every column of ``table``: its assigned value (already prepared), else its current one."""
    values = []
    for column in table.columns:
        if column.name in assignments:
            value = assignments[column.name]
            if _is_default(value):
                values.append(default_expression(tr, column))
            else:
                values.append(convert(tr, tr.rewrite(value), column_ref(column)))
        else:
            values.append(tr.rewrite(exp.column(column.name, alias)))
    return values


# --------------------------------------------------------------------------- UPDATE / DELETE
def _prepared_target(tree: exp.Expression, ctx: PlanContext) -> tuple[Table, str, Translator, exp.Expression]:
    """UPDATE/DELETE: the target table, its alias, and the statement bound with the target
    read together with its row ids."""
    table, alias = _target_table(tree.this, ctx)
    tr = Translator(ctx)
    tree = tree.copy()
    tree.this.meta["pgv_rowid"] = True
    return table, alias, tr, tr.prepare(tree)


def plan_update(tree: exp.Update, ctx: PlanContext) -> UpdatePlan:
    table, alias, tr, tree = _prepared_target(tree, ctx)
    assignments = _assignments(tree.expressions, table, ctx)
    values = _updated_columns(tr, table, alias, assignments)
    query = exp.select(exp.column(ROWID, alias), *values).from_(tree.this)
    if tree.args.get("from_"):
        query = query.join(tree.args["from_"].this, join_type="cross")
        for join in tree.args.get("joins") or []:
            query = query.join(join)
    source, returning = _finish_target(query, tree, table, alias, ctx, tr)
    return UpdatePlan(table=table, source=source, returning=returning)


def plan_delete(tree: exp.Delete, ctx: PlanContext) -> DeletePlan:
    table, alias, tr, tree = _prepared_target(tree, ctx)
    query = exp.select(exp.column(ROWID, alias)).from_(tree.this)
    for using in tree.args.get("using") or []:
        query = query.join(using, join_type="cross")
    source, returning = _finish_target(query, tree, table, alias, ctx, tr)
    return DeletePlan(table=table, source=source, returning=returning)


def _finish_target(query: exp.Select, tree: exp.Expression, table: Table, alias: str, ctx: PlanContext,
                   tr: Translator) -> tuple[DuckQuery, DuckQuery | None]:
    """UPDATE/DELETE: the row-id query with the statement's WHERE, and its RETURNING."""
    if tree.args.get("where"):
        query = query.where(tr.rewrite(tree.args["where"].this))
    source = tr.finish(query)
    returning = tree.args.get("returning")
    return source, plan_returning(returning, table, alias, ctx, tr) if returning else None


# --------------------------------------------------------------------------- RETURNING
def plan_returning(node: exp.Returning, table: Table, alias: str, ctx: PlanContext, parent: Translator):
    tr = Translator(ctx)
    tr.params = parent.params
    tr._param_nodes = parent._param_nodes
    tr.scope[alias] = table
    tr.relations[RETURNING_RELATION] = RelationRef("rows", table=table, name=RETURNING_RELATION)
    exprs = []
    for e in node.expressions:
        if isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star)):
            exprs.extend(exp.column(c.name, alias) for c in table.columns)
        else:
            exprs.append(e.copy())
    select = exp.select(*exprs).from_(_supplied_relation(RETURNING_RELATION, alias))
    names = tr.name_columns_of(select)
    query = tr.finish(tr.rewrite(tr.prepare_in_place(select)), names)
    return query
