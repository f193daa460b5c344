"""PostgreSQL types by name and OID, with how each is represented in Arrow and DuckDB.

Three representations meet here:

* storage keeps a column as its Arrow *storage type* (``vector(3)`` is
  ``fixed_size_list<float32>[3]``, ``halfvec`` float16, ``bit(n)`` packed bytes);
* DuckDB, the relational executor, sees each type as a *DuckDB type*. pgvector's types
  are tagged structs there (``STRUCT(__vector FLOAT[])``), so that the type of any
  expression — through CTEs, unions, subqueries — can be read back off the result schema;
* the wire sends the PostgreSQL text or binary format, by OID.

The OIDs of built-in types are PostgreSQL's; pgvector's types, which get OIDs at CREATE
EXTENSION time in PostgreSQL, have fixed ones here.
"""

from __future__ import annotations

from dataclasses import dataclass

# Below 16384, where initdb's objects live, so they never meet the OID of a user object.
VECTOR_OID = 14900
VECTOR_ARRAY_OID = 14901
HALFVEC_OID = 14902
HALFVEC_ARRAY_OID = 14903
SPARSEVEC_OID = 14904
SPARSEVEC_ARRAY_OID = 14905

# Struct field names that tag pgvector values inside DuckDB.
VECTOR_TAG = "__vector"
HALFVEC_TAG = "__halfvec"
SPARSEVEC_TAG = "__sparsevec"
BIT_TAG = "__bit"


@dataclass(frozen=True)
class PgType:
    name: str  # pg_type.typname
    oid: int
    array_oid: int  # 0 when the type has no array type
    typlen: int  # pg_type.typlen: bytes, -1 variable, -2 C string
    category: str  # pg_type.typcategory: N numeric, S string, A array, U user, B boolean ...
    duck: str  # DuckDB type
    elem_oid: int = 0  # for array types: the element type
    sql_name: str = ""  # what format_type prints ("integer", "character varying"...)
    namespace: str = "pg_catalog"
    preferred: bool = False

    @property
    def is_array(self) -> bool:
        return self.elem_oid != 0

    @property
    def display_name(self) -> str:
        return self.sql_name or self.name


_BASE: list[PgType] = [
    PgType("bool", 16, 1000, 1, "B", "BOOLEAN", sql_name="boolean", preferred=True),
    PgType("bytea", 17, 1001, -1, "U", "BLOB"),
    PgType("char", 18, 1002, 1, "Z", "VARCHAR", sql_name='"char"'),
    PgType("name", 19, 1003, 64, "S", "VARCHAR"),
    PgType("int8", 20, 1016, 8, "N", "BIGINT", sql_name="bigint"),
    PgType("int2", 21, 1005, 2, "N", "SMALLINT", sql_name="smallint"),
    PgType("int2vector", 22, 1006, -1, "A", "SMALLINT[]"),
    PgType("int4", 23, 1007, 4, "N", "INTEGER", sql_name="integer"),
    PgType("regproc", 24, 1008, 4, "N", "VARCHAR"),
    PgType("text", 25, 1009, -1, "S", "VARCHAR", preferred=True),
    PgType("oid", 26, 1028, 4, "N", "BIGINT", preferred=True),
    PgType("tid", 27, 1010, 6, "U", "VARCHAR"),
    PgType("xid", 28, 1011, 4, "U", "BIGINT"),
    PgType("cid", 29, 1012, 4, "U", "BIGINT"),
    PgType("oidvector", 30, 1013, -1, "A", "BIGINT[]"),
    PgType("json", 114, 199, -1, "U", "JSON"),
    PgType("xml", 142, 143, -1, "U", "VARCHAR"),
    PgType("pg_node_tree", 194, 0, -1, "Z", "VARCHAR"),
    PgType("float4", 700, 1021, 4, "N", "FLOAT", sql_name="real"),
    PgType("float8", 701, 1022, 8, "N", "DOUBLE", sql_name="double precision", preferred=True),
    PgType("unknown", 705, 0, -2, "X", "VARCHAR"),
    PgType("money", 790, 791, 8, "N", "DOUBLE"),
    PgType("inet", 869, 1041, -1, "I", "VARCHAR"),
    PgType("aclitem", 1033, 1034, 16, "U", "VARCHAR"),
    PgType("bpchar", 1042, 1014, -1, "S", "VARCHAR", sql_name="character"),
    PgType("varchar", 1043, 1015, -1, "S", "VARCHAR", sql_name="character varying"),
    PgType("date", 1082, 1182, 4, "D", "DATE"),
    PgType("time", 1083, 1183, 8, "D", "TIME", sql_name="time without time zone"),
    PgType("timestamp", 1114, 1115, 8, "D", "TIMESTAMP", sql_name="timestamp without time zone"),
    PgType("timestamptz", 1184, 1185, 8, "D", "TIMESTAMPTZ", sql_name="timestamp with time zone", preferred=True),
    PgType("interval", 1186, 1187, 16, "T", "INTERVAL", preferred=True),
    PgType("timetz", 1266, 1270, 12, "D", "TIMETZ", sql_name="time with time zone"),
    PgType("bit", 1560, 1561, -1, "V", f"STRUCT({BIT_TAG} VARCHAR)"),
    PgType("varbit", 1562, 1563, -1, "V", f"STRUCT({BIT_TAG} VARCHAR)", sql_name="bit varying", preferred=True),
    PgType("numeric", 1700, 1231, -1, "N", "DOUBLE"),
    PgType("refcursor", 1790, 2201, -1, "U", "VARCHAR"),
    PgType("regprocedure", 2202, 2207, 4, "N", "BIGINT"),
    PgType("regoper", 2203, 2208, 4, "N", "BIGINT"),
    PgType("regclass", 2205, 2210, 4, "N", "BIGINT"),
    PgType("regtype", 2206, 2211, 4, "N", "BIGINT"),
    PgType("record", 2249, 2287, -1, "P", "VARCHAR"),
    PgType("cstring", 2275, 1263, -2, "P", "VARCHAR"),
    PgType("void", 2278, 0, 4, "P", "VARCHAR"),
    PgType("uuid", 2950, 2951, 16, "U", "UUID"),
    PgType("jsonb", 3802, 3807, -1, "U", "JSON"),
    PgType("regnamespace", 4089, 4090, 4, "N", "BIGINT"),
    PgType("regrole", 4096, 4097, 4, "N", "BIGINT"),
    PgType("vector", VECTOR_OID, VECTOR_ARRAY_OID, -1, "U", f"STRUCT({VECTOR_TAG} FLOAT[])", namespace="public"),
    PgType("halfvec", HALFVEC_OID, HALFVEC_ARRAY_OID, -1, "U", f"STRUCT({HALFVEC_TAG} FLOAT[])", namespace="public"),
    PgType(
        "sparsevec",
        SPARSEVEC_OID,
        SPARSEVEC_ARRAY_OID,
        -1,
        "U",
        f'STRUCT({SPARSEVEC_TAG} STRUCT(dim INTEGER, indices INTEGER[], "values" FLOAT[]))',
        namespace="public",
    ),
]


def _array_of(t: PgType) -> PgType:
    return PgType(
        "_" + t.name,
        t.array_oid,
        0,
        -1,
        "A",
        t.duck + "[]",
        elem_oid=t.oid,
        sql_name=t.display_name + "[]",
        namespace=t.namespace,
    )


TYPES: dict[str, PgType] = {}
TYPES_BY_OID: dict[int, PgType] = {}
for _t in _BASE:
    for _u in ([_t, _array_of(_t)] if _t.array_oid else [_t]):
        TYPES[_u.name] = _u
        TYPES_BY_OID[_u.oid] = _u

# SQL spellings that name the same type (as PostgreSQL's grammar resolves them).
ALIASES: dict[str, str] = {
    "boolean": "bool",
    "smallint": "int2",
    "integer": "int4",
    "int": "int4",
    "bigint": "int8",
    "real": "float4",
    "float": "float8",
    "double precision": "float8",
    "double": "float8",
    "decimal": "numeric",
    "character varying": "varchar",
    "character": "bpchar",
    "char": "bpchar",
    "bit varying": "varbit",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "time without time zone": "time",
    "time with time zone": "timetz",
    "serial": "int4",
    "serial4": "int4",
    "smallserial": "int2",
    "serial2": "int2",
    "bigserial": "int8",
    "serial8": "int8",
    "string": "text",
}

SERIAL_TYPES = {"serial": "int4", "serial4": "int4", "smallserial": "int2", "serial2": "int2",
                "bigserial": "int8", "serial8": "int8"}


def lookup(name: str) -> PgType | None:
    """The type an SQL type name means (``integer``, ``char`` = character, ``vector``);
    for a pg_type.typname use ``by_name``."""
    key = name.lower().strip()
    if key.startswith("pg_catalog."):
        key = key[len("pg_catalog."):]
    if key.startswith("public."):
        key = key[len("public."):]
    if key.endswith("[]"):
        elem = lookup(key[:-2])
        return TYPES_BY_OID.get(elem.array_oid) if elem and elem.array_oid else None
    return TYPES.get(ALIASES.get(key, key))


def by_name(typname: str) -> PgType | None:
    """The type whose pg_type.typname is ``typname`` (``char`` is "char", not character)."""
    return TYPES.get(typname)


def by_oid(oid: int) -> PgType | None:
    return TYPES_BY_OID.get(oid)


def array_type(t: PgType) -> PgType | None:
    return TYPES_BY_OID.get(t.array_oid) if t.array_oid else None


def element_type(t: PgType) -> PgType | None:
    return TYPES_BY_OID.get(t.elem_oid) if t.elem_oid else None
