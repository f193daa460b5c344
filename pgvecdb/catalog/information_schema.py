"""information_schema: the SQL-standard views over the catalog, as PostgreSQL 16 fills them.

They describe the user's schemas, tables, columns, sequences and constraints (the system
catalogs themselves are left out). PostgreSQL's domains (sql_identifier, cardinal_number,
character_data, yes_or_no) appear as their base types: name, int4 and varchar.
"""

from __future__ import annotations

from pgvecdb.catalog import pg_relations
from pgvecdb.catalog.builtin_objects import namespace_oids
from pgvecdb.catalog.model import Column, Table
from pgvecdb.catalog.pg_types import format_type
from pgvecdb.catalog.system_relation import Row, RowSource, SystemContext, SystemRelation, columns, no_rows
from pgvecdb.types.registry import TYPES

_CONSTRAINT_TYPES = {"p": "PRIMARY KEY", "u": "UNIQUE", "c": "CHECK", "f": "FOREIGN KEY"}
_BINARY_PRECISION = {"int2": 16, "int4": 32, "int8": 64, "float4": 24, "float8": 53}
_DATETIME = {"date", "time", "timetz", "timestamp", "timestamptz", "interval"}
_MAX_OCTETS = 1073741824
_MAX_BYTES_PER_CHAR = 4  # UTF8


def _tables(ctx: SystemContext) -> list[Table]:
    return list(ctx.catalog.tables.values())


def tables_rows(ctx: SystemContext) -> list[Row]:
    return [
        {"table_catalog": ctx.database, "table_schema": t.schema, "table_name": t.name,
         "table_type": "BASE TABLE", "is_insertable_into": "YES", "is_typed": "NO"}
        for t in _tables(ctx)
    ]


def columns_rows(ctx: SystemContext) -> list[Row]:
    return [_column_row(ctx, table, column) for table in _tables(ctx) for column in table.columns]


def _column_row(ctx: SystemContext, table: Table, column: Column) -> Row:
    t = pg_relations.column_type(column)
    builtin = t.namespace == "pg_catalog"
    row = {
        "table_catalog": ctx.database, "table_schema": table.schema, "table_name": table.name,
        "column_name": column.name, "ordinal_position": column.attnum, "column_default": column.default,
        "is_nullable": "NO" if column.not_null else "YES",
        "data_type": "ARRAY" if t.is_array else format_type(t.oid, None) if builtin else "USER-DEFINED",
        "udt_catalog": ctx.database, "udt_schema": t.namespace, "udt_name": t.name,
        "dtd_identifier": str(column.attnum), "is_self_referencing": "NO",
        "is_identity": "YES" if column.identity else "NO",
        "identity_generation": {"a": "ALWAYS", "d": "BY DEFAULT"}.get(column.identity),
        "identity_cycle": "NO" if column.identity else None,
        "is_generated": "NEVER", "is_updatable": "YES",
    }
    if not t.is_array:
        row.update(_type_details(t.name, column.typmod))
    return row


def _type_details(type_name: str, typmod: int) -> Row:
    """The length, precision and scale columns of information_schema.columns."""
    if type_name in ("varchar", "bpchar", "text"):
        length = typmod - 4 if typmod >= 4 else None
        octets = length * _MAX_BYTES_PER_CHAR if length is not None else _MAX_OCTETS
        return {"character_maximum_length": length, "character_octet_length": octets}
    if type_name in ("bit", "varbit"):
        return {"character_maximum_length": typmod if typmod >= 0 else None}
    if type_name in _BINARY_PRECISION:
        scale = 0 if type_name.startswith("int") else None
        return {"numeric_precision": _BINARY_PRECISION[type_name], "numeric_precision_radix": 2,
                "numeric_scale": scale}
    if type_name == "numeric":
        if typmod < 4:
            return {"numeric_precision_radix": 10}
        value = typmod - 4
        return {"numeric_precision": (value >> 16) & 0xFFFF, "numeric_precision_radix": 10,
                "numeric_scale": value & 0xFFFF}
    if type_name in _DATETIME:
        precision = 0 if type_name == "date" else (typmod & 0xFFFF if type_name == "interval" else typmod)
        if type_name != "date" and (typmod < 0 or precision == 0xFFFF):
            precision = 6
        return {"datetime_precision": precision}
    return {}


def schemata_rows(ctx: SystemContext) -> list[Row]:
    return [
        {"catalog_name": ctx.database, "schema_name": name,
         "schema_owner": "pg_database_owner" if name == "public" else ctx.user}
        for name in namespace_oids(ctx)
    ]


def _not_null_name(ctx: SystemContext, table: Table, column: Column) -> str:
    """PostgreSQL 16 names a NOT NULL column's implicit check constraint like this."""
    return f"{ctx.catalog.schemas.get(table.schema, 0)}_{table.oid}_{column.attnum}_not_null"


def table_constraints_rows(ctx: SystemContext) -> list[Row]:
    rows = []
    for table in _tables(ctx):
        common = {"constraint_catalog": ctx.database, "constraint_schema": table.schema,
                  "table_catalog": ctx.database, "table_schema": table.schema, "table_name": table.name,
                  "is_deferrable": "NO", "initially_deferred": "NO", "enforced": "YES"}
        for constraint in table.constraints:
            rows.append({**common, "constraint_name": constraint.name,
                         "constraint_type": _CONSTRAINT_TYPES.get(constraint.kind, "CHECK"),
                         "nulls_distinct": "YES" if constraint.kind == "u" else None})
        for column in table.columns:
            if column.not_null:
                rows.append({**common, "constraint_name": _not_null_name(ctx, table, column),
                             "constraint_type": "CHECK"})
    return rows


def key_column_usage_rows(ctx: SystemContext) -> list[Row]:
    return [
        {"constraint_catalog": ctx.database, "constraint_schema": table.schema, "constraint_name": c.name,
         "table_catalog": ctx.database, "table_schema": table.schema, "table_name": table.name,
         "column_name": name, "ordinal_position": position}
        for table in _tables(ctx)
        for c in table.constraints
        if c.kind in ("p", "u", "f")
        for position, name in enumerate(c.columns, start=1)
    ]


def constraint_column_usage_rows(ctx: SystemContext) -> list[Row]:
    rows = []
    for table in _tables(ctx):
        common = {"table_catalog": ctx.database, "table_schema": table.schema, "table_name": table.name,
                  "constraint_catalog": ctx.database, "constraint_schema": table.schema}
        for c in table.constraints:
            rows += [{**common, "column_name": name, "constraint_name": c.name} for name in c.columns]
        rows += [{**common, "column_name": col.name, "constraint_name": _not_null_name(ctx, table, col)}
                 for col in table.columns if col.not_null]
    return rows


def check_constraints_rows(ctx: SystemContext) -> list[Row]:
    rows = []
    for table in _tables(ctx):
        common = {"constraint_catalog": ctx.database, "constraint_schema": table.schema}
        rows += [{**common, "constraint_name": c.name, "check_clause": c.expression}
                 for c in table.constraints if c.kind == "c"]
        rows += [{**common, "constraint_name": _not_null_name(ctx, table, col),
                  "check_clause": f"{col.name} IS NOT NULL"}
                 for col in table.columns if col.not_null]
    return rows


def sequences_rows(ctx: SystemContext) -> list[Row]:
    rows = []
    for seq in ctx.catalog.sequences.values():
        t = TYPES[seq.type_name]
        rows.append({
            "sequence_catalog": ctx.database, "sequence_schema": seq.schema, "sequence_name": seq.name,
            "data_type": format_type(t.oid, None), "numeric_precision": _BINARY_PRECISION.get(t.name),
            "numeric_precision_radix": 2, "numeric_scale": 0, "start_value": str(seq.start),
            "minimum_value": str(seq.min_value), "maximum_value": str(seq.max_value),
            "increment": str(seq.increment), "cycle_option": "NO",
        })
    return rows


_VIEW_OIDS = iter(range(13100, 13999))


def _view(name: str, spec: str, rows: RowSource = no_rows) -> SystemRelation:
    return SystemRelation("information_schema", name, next(_VIEW_OIDS), columns(spec), rows, "v")


RELATIONS = [
    _view("tables", """
        table_catalog name, table_schema name, table_name name, table_type varchar,
        self_referencing_column_name name, reference_generation varchar, user_defined_type_catalog name,
        user_defined_type_schema name, user_defined_type_name name, is_insertable_into varchar,
        is_typed varchar, commit_action varchar""", tables_rows),
    _view("columns", """
        table_catalog name, table_schema name, table_name name, column_name name, ordinal_position int4,
        column_default varchar, is_nullable varchar, data_type varchar, character_maximum_length int4,
        character_octet_length int4, numeric_precision int4, numeric_precision_radix int4,
        numeric_scale int4, datetime_precision int4, interval_type varchar, interval_precision int4,
        character_set_catalog name, character_set_schema name, character_set_name name,
        collation_catalog name, collation_schema name, collation_name name, domain_catalog name,
        domain_schema name, domain_name name, udt_catalog name, udt_schema name, udt_name name,
        scope_catalog name, scope_schema name, scope_name name, maximum_cardinality int4,
        dtd_identifier name, is_self_referencing varchar, is_identity varchar,
        identity_generation varchar, identity_start varchar, identity_increment varchar,
        identity_maximum varchar, identity_minimum varchar, identity_cycle varchar,
        is_generated varchar, generation_expression varchar, is_updatable varchar""", columns_rows),
    _view("schemata", """
        catalog_name name, schema_name name, schema_owner name, default_character_set_catalog name,
        default_character_set_schema name, default_character_set_name name, sql_path varchar""",
          schemata_rows),
    _view("table_constraints", """
        constraint_catalog name, constraint_schema name, constraint_name name, table_catalog name,
        table_schema name, table_name name, constraint_type varchar, is_deferrable varchar,
        initially_deferred varchar, enforced varchar, nulls_distinct varchar""", table_constraints_rows),
    _view("key_column_usage", """
        constraint_catalog name, constraint_schema name, constraint_name name, table_catalog name,
        table_schema name, table_name name, column_name name, ordinal_position int4,
        position_in_unique_constraint int4""", key_column_usage_rows),
    _view("constraint_column_usage", """
        table_catalog name, table_schema name, table_name name, column_name name,
        constraint_catalog name, constraint_schema name, constraint_name name""",
          constraint_column_usage_rows),
    _view("check_constraints", """
        constraint_catalog name, constraint_schema name, constraint_name name, check_clause varchar""",
          check_constraints_rows),
    _view("referential_constraints", """
        constraint_catalog name, constraint_schema name, constraint_name name,
        unique_constraint_catalog name, unique_constraint_schema name, unique_constraint_name name,
        match_option varchar, update_rule varchar, delete_rule varchar"""),
    _view("sequences", """
        sequence_catalog name, sequence_schema name, sequence_name name, data_type varchar,
        numeric_precision int4, numeric_precision_radix int4, numeric_scale int4, start_value varchar,
        minimum_value varchar, maximum_value varchar, increment varchar, cycle_option varchar""",
          sequences_rows),
    _view("views", """
        table_catalog name, table_schema name, table_name name, view_definition varchar,
        check_option varchar, is_updatable varchar, is_insertable_into varchar,
        is_trigger_updatable varchar, is_trigger_deletable varchar, is_trigger_insertable_into varchar"""),
    _view("routines", """
        specific_catalog name, specific_schema name, specific_name name, routine_catalog name,
        routine_schema name, routine_name name, routine_type varchar, data_type varchar,
        routine_body varchar, routine_definition varchar, external_language varchar"""),
]
