"""The objects every pgvecdb database has, as PostgreSQL's initdb creates them.

Schemas, roles, the database itself, tablespaces, collations, languages and the plpgsql
extension. The connected user plays the bootstrap superuser (OID 10), the one role that
owns everything, as the user who ran initdb does on PostgreSQL.
"""

from __future__ import annotations

from pgvecdb.catalog import vector_objects
from pgvecdb.catalog.model import (
    BOOTSTRAP_SUPERUSER_OID,
    DATABASE_OID,
    INFORMATION_SCHEMA_NAMESPACE_OID,
    PG_CATALOG_NAMESPACE_OID,
    PUBLIC_NAMESPACE_OID,
)
from pgvecdb.catalog.pg_types import C_COLLATION_OID, DEFAULT_COLLATION_OID, extension_namespace
from pgvecdb.catalog.system_relation import Row, SystemContext
from pgvecdb.catalog.vector_objects import AccessMethod, OperatorClass
from pgvecdb.types.registry import TYPES, lookup

PG_TOAST_NAMESPACE_OID = 99
DATABASE_OWNER_ROLE_OID = 6171  # pg_database_owner, which owns the public schema
DEFAULT_TABLESPACE_OID = 1663
GLOBAL_TABLESPACE_OID = 1664
UTF8_ENCODING = 6
PLPGSQL_EXTENSION_OID = 12771
PLPGSQL_LANGUAGE_OID = 12775

# pg_class OIDs of the catalogs that pg_description and pg_depend rows point into.
PG_CLASS_OID = 1259
PG_NAMESPACE_OID = 2615
PG_EXTENSION_OID = 3079

_SYSTEM_SCHEMAS = {
    "pg_catalog": PG_CATALOG_NAMESPACE_OID,
    "pg_toast": PG_TOAST_NAMESPACE_OID,
    "information_schema": INFORMATION_SCHEMA_NAMESPACE_OID,
}
SYSTEM_NAMESPACE_OIDS = tuple(_SYSTEM_SCHEMAS.values())
_SCHEMA_COMMENTS = {
    PG_CATALOG_NAMESPACE_OID: "system catalog schema",
    PG_TOAST_NAMESPACE_OID: "reserved schema for TOAST tables",
    PUBLIC_NAMESPACE_OID: "standard public schema",
}


def namespace_oids(ctx: SystemContext) -> dict[str, int]:
    """Every schema by name: the system ones and the database's own."""
    return {**_SYSTEM_SCHEMAS, **ctx.catalog.schemas}


def namespace_rows(ctx: SystemContext) -> list[Row]:
    rows = []
    for name, oid in namespace_oids(ctx).items():
        owner = DATABASE_OWNER_ROLE_OID if oid == PUBLIC_NAMESPACE_OID else BOOTSTRAP_SUPERUSER_OID
        rows.append({"oid": oid, "nspname": name, "nspowner": owner})
    return rows


def authid_rows(ctx: SystemContext) -> list[Row]:
    return [
        {
            "oid": BOOTSTRAP_SUPERUSER_OID, "rolname": ctx.user, "rolsuper": True, "rolinherit": True,
            "rolcreaterole": True, "rolcreatedb": True, "rolcanlogin": True, "rolreplication": True,
            "rolbypassrls": True, "rolconnlimit": -1,
        },
        {"oid": DATABASE_OWNER_ROLE_OID, "rolname": "pg_database_owner", "rolinherit": True, "rolconnlimit": -1},
    ]


def roles_rows(ctx: SystemContext) -> list[Row]:
    """pg_roles: pg_authid with the password hidden, as PostgreSQL's view shows it."""
    return [{**row, "rolpassword": "********"} for row in authid_rows(ctx)]


def user_rows(ctx: SystemContext) -> list[Row]:
    return [
        {
            "usename": row["rolname"], "usesysid": row["oid"], "usecreatedb": row["rolcreatedb"],
            "usesuper": row["rolsuper"], "userepl": row["rolreplication"], "usebypassrls": row["rolbypassrls"],
            "passwd": "********",
        }
        for row in authid_rows(ctx)
        if row.get("rolcanlogin")
    ]


def database_rows(ctx: SystemContext) -> list[Row]:
    return [{
        "oid": DATABASE_OID, "datname": ctx.database, "datdba": BOOTSTRAP_SUPERUSER_OID,
        "encoding": UTF8_ENCODING, "datlocprovider": "c", "datallowconn": True, "datconnlimit": -1,
        "dattablespace": DEFAULT_TABLESPACE_OID, "datcollate": "C", "datctype": "C",
    }]


def tablespace_rows(ctx: SystemContext) -> list[Row]:
    return [
        {"oid": DEFAULT_TABLESPACE_OID, "spcname": "pg_default", "spcowner": BOOTSTRAP_SUPERUSER_OID},
        {"oid": GLOBAL_TABLESPACE_OID, "spcname": "pg_global", "spcowner": BOOTSTRAP_SUPERUSER_OID},
    ]


def collation_rows(ctx: SystemContext) -> list[Row]:
    common = {"collnamespace": PG_CATALOG_NAMESPACE_OID, "collowner": BOOTSTRAP_SUPERUSER_OID,
              "collisdeterministic": True, "collencoding": -1}
    return [
        {**common, "oid": DEFAULT_COLLATION_OID, "collname": "default", "collprovider": "d"},
        {**common, "oid": C_COLLATION_OID, "collname": "C", "collprovider": "c", "collcollate": "C", "collctype": "C"},
        {**common, "oid": 951, "collname": "POSIX", "collprovider": "c", "collcollate": "POSIX", "collctype": "POSIX"},
    ]


def language_rows(ctx: SystemContext) -> list[Row]:
    common = {"lanowner": BOOTSTRAP_SUPERUSER_OID}
    return [
        {**common, "oid": 12, "lanname": "internal"},
        {**common, "oid": 13, "lanname": "c"},
        {**common, "oid": 14, "lanname": "sql", "lanpltrusted": True},
        {**common, "oid": PLPGSQL_LANGUAGE_OID, "lanname": "plpgsql", "lanispl": True, "lanpltrusted": True},
    ]


def extension_rows(ctx: SystemContext) -> list[Row]:
    rows = [{
        "oid": PLPGSQL_EXTENSION_OID, "extname": "plpgsql", "extowner": BOOTSTRAP_SUPERUSER_OID,
        "extnamespace": PG_CATALOG_NAMESPACE_OID, "extversion": "1.0",
    }]
    schemas = namespace_oids(ctx)
    for ext in ctx.catalog.extensions.values():
        rows.append({
            "oid": ext.oid, "extname": ext.name, "extowner": BOOTSTRAP_SUPERUSER_OID,
            "extnamespace": schemas.get(ext.schema, PUBLIC_NAMESPACE_OID),
            "extrelocatable": ext.name == "vector", "extversion": ext.version,
        })
    return rows


_AVAILABLE_EXTENSIONS = {
    "plpgsql": ("1.0", "PL/pgSQL procedural language"),
    "vector": (vector_objects.PGVECTOR_VERSION, vector_objects.PGVECTOR_COMMENT),
}


def available_extension_rows(ctx: SystemContext) -> list[Row]:
    installed = {row["extname"]: row["extversion"] for row in extension_rows(ctx)}
    return [
        {"name": name, "default_version": version, "installed_version": installed.get(name), "comment": comment}
        for name, (version, comment) in _AVAILABLE_EXTENSIONS.items()
    ]


def description_rows(ctx: SystemContext) -> list[Row]:
    """Comments PostgreSQL ships: on the standard schemas and on the installed extensions."""
    rows = [
        {"objoid": oid, "classoid": PG_NAMESPACE_OID, "objsubid": 0, "description": text}
        for oid, text in _SCHEMA_COMMENTS.items()
    ]
    for ext in extension_rows(ctx):
        comment = _AVAILABLE_EXTENSIONS.get(ext["extname"], (None, None))[1]
        if comment:
            rows.append({"objoid": ext["oid"], "classoid": PG_EXTENSION_OID, "objsubid": 0, "description": comment})
    return rows


# Access methods and operator classes ------------------------------------------------------

BUILTIN_ACCESS_METHODS = (
    AccessMethod(2, "heap", "heap_tableam_handler", "t"),
    AccessMethod(403, "btree", "bthandler"),
    AccessMethod(405, "hash", "hashhandler"),
    AccessMethod(783, "gist", "gisthandler"),
    AccessMethod(2742, "gin", "ginhandler"),
    AccessMethod(4000, "spgist", "spghandler"),
    AccessMethod(3580, "brin", "brinhandler"),
)
ACCESS_METHODS = BUILTIN_ACCESS_METHODS + vector_objects.VECTOR_ACCESS_METHODS
HEAP_ACCESS_METHOD_OID = 2

# The default btree operator classes of the built-in types, with PostgreSQL's OIDs:
# (class OID, class name, input type, family OID, family name).
BUILTIN_OPCLASSES = tuple(
    OperatorClass(oid, "btree", name, type_name, True, family_oid, family_name)
    for oid, name, type_name, family_oid, family_name in [
        (1978, "int4_ops", "int4", 1976, "integer_ops"), (1979, "int2_ops", "int2", 1976, "integer_ops"),
        (3124, "int8_ops", "int8", 1976, "integer_ops"), (1981, "oid_ops", "oid", 1989, "oid_ops"),
        (3122, "date_ops", "date", 434, "datetime_ops"), (3127, "timestamptz_ops", "timestamptz", 434, "datetime_ops"),
        (3128, "timestamp_ops", "timestamp", 434, "datetime_ops"), (3123, "float8_ops", "float8", 1970, "float_ops"),
        (10012, "float4_ops", "float4", 1970, "float_ops"), (3125, "numeric_ops", "numeric", 1988, "numeric_ops"),
        (3126, "text_ops", "text", 1994, "text_ops"), (10028, "name_ops", "name", 1994, "text_ops"),
        (10002, "bit_ops", "bit", 423, "bit_ops"), (10003, "bool_ops", "bool", 424, "bool_ops"),
        (10004, "bpchar_ops", "bpchar", 426, "bpchar_ops"), (10006, "bytea_ops", "bytea", 428, "bytea_ops"),
        (10007, "char_ops", "char", 429, "char_ops"), (10022, "interval_ops", "interval", 1982, "interval_ops"),
        (10038, "time_ops", "time", 1996, "time_ops"), (10041, "timetz_ops", "timetz", 2000, "timetz_ops"),
        (10043, "varbit_ops", "varbit", 2002, "varbit_ops"), (10065, "uuid_ops", "uuid", 2968, "uuid_ops"),
        (10088, "jsonb_ops", "jsonb", 4033, "jsonb_ops"),
    ]
)
OPCLASSES = BUILTIN_OPCLASSES + vector_objects.VECTOR_OPCLASSES
_OPCLASS_BY_KEY = {(c.method, c.name): c for c in OPCLASSES}
_DEFAULT_OPCLASS = {(c.method, c.input_type): c for c in OPCLASSES if c.default}


def opclass(method: str, name: str | None, column_type: str) -> OperatorClass | None:
    """The operator class an index key uses: the one named, else the type's default."""
    if name:
        return _OPCLASS_BY_KEY.get((method, name))
    if method == "btree" and column_type == "varchar":
        column_type = "text"  # varchar shares text's operator class, as in PostgreSQL
    return _DEFAULT_OPCLASS.get((method, column_type))


def access_method_oid(name: str) -> int:
    return next((am.oid for am in ACCESS_METHODS if am.name == name), 0)


def am_rows(ctx: SystemContext) -> list[Row]:
    return [{"oid": am.oid, "amname": am.name, "amhandler": am.handler, "amtype": am.kind} for am in ACCESS_METHODS]


def _opclass_namespace(c: OperatorClass, ctx: SystemContext) -> int:
    if c in BUILTIN_OPCLASSES:
        return PG_CATALOG_NAMESPACE_OID
    return extension_namespace(ctx.catalog, "vector")


def opclass_rows(ctx: SystemContext) -> list[Row]:
    return [
        {
            "oid": c.oid, "opcmethod": access_method_oid(c.method), "opcname": c.name,
            "opcnamespace": _opclass_namespace(c, ctx), "opcowner": BOOTSTRAP_SUPERUSER_OID,
            "opcfamily": c.family_oid, "opcintype": TYPES[c.input_type].oid, "opcdefault": c.default,
        }
        for c in OPCLASSES
    ]


def opfamily_rows(ctx: SystemContext) -> list[Row]:
    families: dict[int, Row] = {}
    for c in OPCLASSES:
        families.setdefault(c.family_oid, {
            "oid": c.family_oid, "opfmethod": access_method_oid(c.method), "opfname": c.family_name,
            "opfnamespace": _opclass_namespace(c, ctx), "opfowner": BOOTSTRAP_SUPERUSER_OID,
        })
    return list(families.values())


def proc_rows(ctx: SystemContext) -> list[Row]:
    """pg_proc: pgvector's SQL-callable functions and aggregates."""
    namespace = extension_namespace(ctx.catalog, "vector")
    rows = []
    for f in vector_objects.FUNCTIONS:
        arg_oids = [lookup(a).oid for a in f.arg_types]
        rows.append({
            "oid": f.oid, "proname": f.name, "pronamespace": namespace, "proowner": BOOTSTRAP_SUPERUSER_OID,
            "prolang": 13, "procost": 1.0, "prokind": "a" if f.aggregate else "f", "proisstrict": not f.aggregate,
            "provolatile": "i", "proparallel": "s", "pronargs": len(arg_oids), "prorettype": lookup(f.return_type).oid,
            "proargtypes": arg_oids, "prosrc": "aggregate_dummy" if f.aggregate else f.name, "probin": "$libdir/vector",
        })
    return rows


def operator_rows(ctx: SystemContext) -> list[Row]:
    """pg_operator: pgvector's operators."""
    namespace = extension_namespace(ctx.catalog, "vector")
    return [
        {
            "oid": op.oid, "oprname": op.name, "oprnamespace": namespace, "oprowner": BOOTSTRAP_SUPERUSER_OID,
            "oprkind": "b", "oprcanmerge": False, "oprcanhash": op.name == "=", "oprleft": TYPES[op.left].oid,
            "oprright": TYPES[op.right].oid, "oprresult": TYPES[op.result].oid, "oprcode": op.function,
        }
        for op in vector_objects.OPERATORS
    ]
