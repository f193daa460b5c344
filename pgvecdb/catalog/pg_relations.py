"""The catalog rows of the user's relations: tables, their columns, indexes and sequences.

pg_class, pg_attribute, pg_index, pg_constraint, pg_attrdef, pg_depend, pg_sequence and
the views over them (pg_tables, pg_indexes), all read off ``catalog.model``. Expressions
(defaults, index expressions and predicates) are stored as SQL text in the columns where
PostgreSQL keeps a node tree (adbin, indexprs, indpred), so ``pg_get_expr`` returns them
as they are.
"""

from __future__ import annotations

from typing import Iterator

from pgvecdb.catalog.builtin_objects import (
    BOOTSTRAP_SUPERUSER_OID,
    HEAP_ACCESS_METHOD_OID,
    PG_CLASS_OID,
    access_method_oid,
    opclass,
)
from pgvecdb.catalog.identifiers import qualified, quote_ident
from pgvecdb.catalog.model import Catalog, Column, Constraint, Index, Sequence, Table
from pgvecdb.catalog.pg_types import type_alignment, type_collation, type_storage
from pgvecdb.catalog.system_relation import Row, SystemContext
from pgvecdb.types.registry import TYPES, PgType

# Sequences have these three columns in PostgreSQL.
_SEQUENCE_COLUMNS = (("last_value", "int8"), ("log_cnt", "int8"), ("is_called", "bool"))


def column_type(column: Column) -> PgType:
    return TYPES[column.type_name]


def _tables(catalog: Catalog) -> list[Table]:
    return list(catalog.tables.values())


def _indexes(catalog: Catalog) -> Iterator[tuple[Table, Index]]:
    for table in _tables(catalog):
        for index in table.indexes:
            yield table, index


# pg_class ------------------------------------------------------------------------------------


def class_rows(ctx: SystemContext) -> list[Row]:
    catalog = ctx.catalog
    rows = [_table_class_row(t, catalog) for t in _tables(catalog)]
    rows += [_index_class_row(t, i, catalog) for t, i in _indexes(catalog)]
    rows += [_sequence_class_row(s, catalog) for s in catalog.sequences.values()]
    return rows


def _class_row(oid: int, name: str, schema: str, catalog: Catalog) -> Row:
    return {
        "oid": oid, "relname": name, "relnamespace": catalog.schemas.get(schema, 0),
        "relowner": BOOTSTRAP_SUPERUSER_OID, "relfilenode": oid, "reltuples": -1.0,
        "relpersistence": "p", "relispopulated": True, "relreplident": "n",
    }


def _table_class_row(table: Table, catalog: Catalog) -> Row:
    return {
        **_class_row(table.oid, table.name, table.schema, catalog),
        "reltype": table.type_oid, "relam": HEAP_ACCESS_METHOD_OID, "relkind": "r",
        "relhasindex": bool(table.indexes), "relnatts": len(table.columns),
        "relchecks": sum(1 for c in table.constraints if c.kind == "c"), "relreplident": "d",
    }


def _index_class_row(table: Table, index: Index, catalog: Catalog) -> Row:
    return {
        **_class_row(index.oid, index.name, table.schema, catalog),
        "relam": access_method_oid(index.method), "relkind": "i", "relnatts": len(index.columns),
        "reloptions": [f"{k}={v}" for k, v in index.options.items()] or None,
    }


def _sequence_class_row(seq: Sequence, catalog: Catalog) -> Row:
    return {**_class_row(seq.oid, seq.name, seq.schema, catalog), "relkind": "S", "relnatts": 3}


# pg_attribute ------------------------------------------------------------------------------------


def attribute_rows(ctx: SystemContext) -> list[Row]:
    catalog = ctx.catalog
    rows = []
    for table in _tables(catalog):
        rows += [_table_attribute_row(table, column) for column in table.columns]
    for table, index in _indexes(catalog):
        rows += _index_attribute_rows(table, index)
    for seq in catalog.sequences.values():
        rows += [
            attribute_row(seq.oid, name, TYPES[type_name], attnum, -1)
            for attnum, (name, type_name) in enumerate(_SEQUENCE_COLUMNS, start=1)
        ]
    return rows


def attribute_row(relid: int, name: str, t: PgType | None, attnum: int, typmod: int) -> Row:
    """A pg_attribute row of column ``name`` of type ``t`` (None: an untyped index expression)."""
    if t is None:
        return {"attrelid": relid, "attname": name, "attnum": attnum, "atttypmod": typmod,
                "attstattarget": -1, "attislocal": True}
    return {
        "attrelid": relid, "attname": name, "atttypid": t.oid, "attlen": t.typlen, "attnum": attnum,
        "atttypmod": typmod, "attndims": 1 if t.is_array else 0, "attbyval": t.typlen in (1, 2, 4, 8),
        "attalign": type_alignment(t), "attstorage": type_storage(t),
        "attcompression": "", "attidentity": "", "attgenerated": "", "attislocal": True,
        "attstattarget": -1, "attcollation": type_collation(t),
    }


def _table_attribute_row(table: Table, column: Column) -> Row:
    row = attribute_row(table.oid, column.name, column_type(column), column.attnum, column.typmod)
    row.update(attnotnull=column.not_null, atthasdef=column.default is not None, attidentity=column.identity)
    return row


def _index_attribute_rows(table: Table, index: Index) -> list[Row]:
    rows = []
    for position, key in enumerate(index_keys(table, index), start=1):
        column, expression, opc = key
        if column is not None:
            rows.append(attribute_row(index.oid, column.name, column_type(column), position, column.typmod))
        else:
            t = TYPES[opc.input_type] if opc is not None else None
            rows.append(attribute_row(index.oid, "expr" if position == 1 else f"expr{position - 1}", t, position, -1))
    return rows


# Index keys: (column or None, expression or None, operator class or None) ---------------------


def index_keys(table: Table, index: Index) -> list[tuple[Column | None, str | None, object]]:
    keys = []
    for position, name in enumerate(index.columns):
        expression = index.expressions[position] if position < len(index.expressions) else None
        named_opclass = index.opclasses[position] if position < len(index.opclasses) else None
        column = table.column(name) if name and expression is None else None
        type_name = column.type_name if column is not None else ""
        keys.append((column, expression, opclass(index.method, named_opclass, type_name)))
    return keys


def index_definition(table: Table, index: Index) -> str:
    """``pg_get_indexdef(index)``: the CREATE INDEX statement that makes ``index``."""
    if index.definition:
        return index.definition
    unique = "UNIQUE " if index.unique or index.primary else ""
    keys = ", ".join(index_key_definition(table, index, k, with_opclass=True) for k in range(len(index.columns)))
    text = f"CREATE {unique}INDEX {quote_ident(index.name)} ON {qualified(table.schema, table.name)} " \
           f"USING {index.method} ({keys})"
    if index.options:
        text += " WITH (" + ", ".join(f"{k}='{v}'" for k, v in index.options.items()) + ")"
    if index.predicate:
        text += f" WHERE ({index.predicate})"
    return text


def index_key_definition(table: Table, index: Index, position: int, with_opclass: bool = False) -> str:
    """One key of ``index`` (0-based ``position``) as pg_get_indexdef prints it."""
    column, expression, opc = index_keys(table, index)[position]
    text = quote_ident(column.name) if column is not None else f"({expression})"
    named = index.opclasses[position] if position < len(index.opclasses) else None
    if with_opclass and named and not (opc is not None and opc.default):
        text += f" {named}"
    return text


# pg_index ------------------------------------------------------------------------------------


def index_rows(ctx: SystemContext) -> list[Row]:
    rows = []
    for table, index in _indexes(ctx.catalog):
        keys = index_keys(table, index)
        expressions = [e for _, e, _ in keys if e is not None]
        rows.append({
            "indexrelid": index.oid, "indrelid": table.oid, "indnatts": len(keys), "indnkeyatts": len(keys),
            "indisunique": index.unique or index.primary, "indisprimary": index.primary,
            "indimmediate": True, "indisvalid": True, "indisready": True, "indislive": True,
            "indkey": [c.attnum if c is not None else 0 for c, _, _ in keys],
            "indcollation": [type_collation(TYPES[c.type_name]) if c is not None else 0 for c, _, _ in keys],
            "indclass": [o.oid if o is not None else 0 for _, _, o in keys],
            "indoption": [0] * len(keys),
            "indexprs": ", ".join(expressions) if expressions else None,
            "indpred": index.predicate,
        })
    return rows


def indexes_view_rows(ctx: SystemContext) -> list[Row]:
    return [
        {"schemaname": table.schema, "tablename": table.name, "indexname": index.name,
         "indexdef": index_definition(table, index)}
        for table, index in _indexes(ctx.catalog)
    ]


def tables_view_rows(ctx: SystemContext) -> list[Row]:
    return [
        {"schemaname": table.schema, "tablename": table.name, "tableowner": ctx.user,
         "hasindexes": bool(table.indexes)}
        for table in _tables(ctx.catalog)
    ]


# pg_constraint ------------------------------------------------------------------------------------


def constraint_rows(ctx: SystemContext) -> list[Row]:
    catalog = ctx.catalog
    rows = []
    for table in _tables(catalog):
        for constraint in table.constraints:
            rows.append({
                "oid": constraint.oid, "conname": constraint.name,
                "connamespace": catalog.schemas.get(table.schema, 0), "contype": constraint.kind,
                "convalidated": True, "conrelid": table.oid, "conindid": constraint.index_oid,
                "confupdtype": " ", "confdeltype": " ", "confmatchtype": " ", "conislocal": True,
                "connoinherit": constraint.kind == "p",
                "conkey": [_attnum(table, name) for name in constraint.columns] or None,
                "conbin": constraint.expression,
            })
    return rows


def _attnum(table: Table, name: str) -> int:
    column = table.column(name)
    return column.attnum if column is not None else 0


def constraint_definition(constraint: Constraint, pretty: bool = False) -> str:
    """``pg_get_constraintdef(constraint, pretty)``."""
    columns = ", ".join(quote_ident(c) for c in constraint.columns)
    if constraint.kind == "p":
        return f"PRIMARY KEY ({columns})"
    if constraint.kind == "u":
        return f"UNIQUE ({columns})"
    if constraint.kind == "c":
        expression = _unwrapped(constraint.expression or "")
        return f"CHECK ({expression})" if pretty else f"CHECK (({expression}))"
    return f"FOREIGN KEY ({columns})"


def _unwrapped(expression: str) -> str:
    """``(a > 0)`` -> ``a > 0``, when the outer parentheses enclose the whole expression."""
    text = expression.strip()
    while text.startswith("(") and text.endswith(")") and _closing_paren(text) == len(text) - 1:
        text = text[1:-1].strip()
    return text


def _closing_paren(text: str) -> int:
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0:
            return i
    return -1


def attrdef_rows(ctx: SystemContext) -> list[Row]:
    return [
        {"oid": attrdef_oid(table, column), "adrelid": table.oid, "adnum": column.attnum, "adbin": column.default}
        for table in _tables(ctx.catalog)
        for column in table.columns
        if column.default is not None
    ]


def attrdef_oid(table: Table, column: Column) -> int:
    """pg_attrdef.oid: the model keeps no OID for a default, so one is derived from its column.

    It lies above every allocated OID (2**31 and up) and is stable while the column exists.
    """
    return 2**31 + table.oid * 1600 + column.attnum


# pg_depend, pg_sequence ------------------------------------------------------------------------


def depend_rows(ctx: SystemContext) -> list[Row]:
    catalog = ctx.catalog
    rows = []
    for seq in catalog.sequences.values():
        if seq.owned_by is None:
            continue
        table = catalog.table(seq.owned_by[0], seq.schema)
        column = table.column(seq.owned_by[1]) if table is not None else None
        if column is None:
            continue
        rows.append({
            "classid": PG_CLASS_OID, "objid": seq.oid, "refclassid": PG_CLASS_OID, "refobjid": table.oid,
            "refobjsubid": column.attnum, "deptype": "i" if column.identity else "a",
        })
    for table, index in _indexes(catalog):
        for column, _, _ in index_keys(table, index):
            rows.append({
                "classid": PG_CLASS_OID, "objid": index.oid, "refclassid": PG_CLASS_OID, "refobjid": table.oid,
                "refobjsubid": column.attnum if column is not None else 0, "deptype": "a",
            })
    return rows


def sequence_rows(ctx: SystemContext) -> list[Row]:
    return [
        {
            "seqrelid": seq.oid, "seqtypid": TYPES[seq.type_name].oid, "seqstart": seq.start,
            "seqincrement": seq.increment, "seqmax": seq.max_value, "seqmin": seq.min_value, "seqcache": 1,
        }
        for seq in ctx.catalog.sequences.values()
    ]


# pgvecdb_objdef and pgvecdb_relation_size: what pg_get_*def and pg_*_size read -----------------


def objdef_rows(ctx: SystemContext) -> list[Row]:
    """The text of every index (subid 0, and each key by position) and constraint definition
    (subid 0, and 1 for the pretty form)."""
    rows = []
    for table in _tables(ctx.catalog):
        for index in table.indexes:
            rows.append({"oid": index.oid, "subid": 0, "definition": index_definition(table, index)})
            for position in range(len(index.columns)):
                rows.append({"oid": index.oid, "subid": position + 1,
                             "definition": index_key_definition(table, index, position)})
        for constraint in table.constraints:  # subid 1: the pretty form
            rows.append({"oid": constraint.oid, "subid": 0, "definition": constraint_definition(constraint)})
            rows.append({"oid": constraint.oid, "subid": 1, "definition": constraint_definition(constraint, True)})
    return rows


def relation_size_rows(ctx: SystemContext) -> list[Row]:
    """Bytes on disk of each table and index, with the table's indexes summed beside it."""
    rows = []
    for table in _tables(ctx.catalog):
        index_sizes = [ctx.index_size(index.oid) if ctx.index_size else 0 for index in table.indexes]
        rows.append({"oid": table.oid, "bytes": ctx.relation_size(table.oid), "index_bytes": sum(index_sizes)})
        rows += [{"oid": index.oid, "bytes": size, "index_bytes": 0}
                 for index, size in zip(table.indexes, index_sizes)]
    return rows
