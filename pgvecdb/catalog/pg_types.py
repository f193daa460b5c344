"""pg_type's rows, and type names as ``format_type`` prints them.

Built-in and pgvector types come from ``types.registry``; every table adds its row type
(typtype 'c'). The columns PostgreSQL derives from a type's storage (alignment, storage,
I/O functions) follow PostgreSQL's own conventions, so drivers that read them (asyncpg's
introspection, psycopg's TypeInfo) see what they would see on PostgreSQL.
"""

from __future__ import annotations

import re

from pgvecdb.catalog.model import BOOTSTRAP_SUPERUSER_OID, PG_CATALOG_NAMESPACE_OID, Catalog, Table
from pgvecdb.catalog.system_relation import Row, SystemContext
from pgvecdb.types.registry import TYPES, TYPES_BY_OID, PgType, lookup

DEFAULT_COLLATION_OID = 100
C_COLLATION_OID = 950

# Types whose I/O functions are spelt without an underscore: int4in, textout, boolrecv ...
_OLD_STYLE_IO = {
    "bool", "bytea", "char", "name", "int8", "int2", "int2vector", "int4", "regproc", "text", "oid",
    "tid", "xid", "cid", "oidvector", "float4", "float8", "unknown", "aclitem", "bpchar", "varchar",
    "regprocedure", "regoper", "regclass", "regtype", "regnamespace", "regrole",
}
_IO_PREFIX = {"money": "cash", "refcursor": "text"}
_NO_BINARY_IO = {"aclitem"}
_TYPMOD_IO = {
    "bpchar": "bpchartypmod", "varchar": "varchartypmod", "time": "timetypmod",
    "timestamp": "timestamptypmod", "timestamptz": "timestamptztypmod", "interval": "intervaltypmod",
    "timetz": "timetztypmod", "bit": "bittypmod", "varbit": "varbittypmod", "numeric": "numerictypmod",
}
_PGVECTOR_TYPES = {"vector", "halfvec", "sparsevec"}
_COLLATABLE = {"text": DEFAULT_COLLATION_OID, "varchar": DEFAULT_COLLATION_OID,
               "bpchar": DEFAULT_COLLATION_OID, "name": C_COLLATION_OID}
# Element types of the array-like built-ins that are not "_" arrays.
_VECTOR_LIKE_ELEMENTS = {"name": 18, "int2vector": 21, "oidvector": 26}
_ALIGN_BY_LENGTH = {1: "c", 2: "s", 4: "i", 8: "d", -2: "c"}
_ALIGN = {"interval": "d", "timetz": "d", "tid": "s", "uuid": "c", "aclitem": "d", "name": "c", "record": "d"}
_STORAGE = {"numeric": "m", "inet": "m", "vector": "e", "halfvec": "e", "sparsevec": "e"}


def type_collation(t: PgType) -> int:
    base = TYPES_BY_OID[t.elem_oid] if t.is_array else t
    return _COLLATABLE.get(base.name, 0)


def type_rows(ctx: SystemContext) -> list[Row]:
    catalog = ctx.catalog
    pgvector_namespace = extension_namespace(catalog, "vector")
    rows = [_builtin_type_row(t, pgvector_namespace) for t in TYPES_BY_OID.values()]
    rows += [_row_type_row(table, catalog) for table in catalog.tables.values() if table.type_oid]
    return rows


def extension_namespace(catalog: Catalog, name: str) -> int:
    """The namespace an extension's objects live in (public until it is created elsewhere)."""
    ext = catalog.extensions.get(name)
    schema = ext.schema if ext is not None else "public"
    return catalog.schemas.get(schema, catalog.schemas.get("public", 2200))


def _builtin_type_row(t: PgType, pgvector_namespace: int) -> Row:
    base = TYPES_BY_OID[t.elem_oid] if t.is_array else t
    namespace = PG_CATALOG_NAMESPACE_OID if t.namespace == "pg_catalog" else pgvector_namespace
    io = _io_functions(t)
    return {
        "oid": t.oid,
        "typname": t.name,
        "typnamespace": namespace,
        "typowner": BOOTSTRAP_SUPERUSER_OID,
        "typlen": t.typlen,
        "typbyval": t.typlen in (1, 2, 4, 8),
        "typtype": "p" if t.category in ("P", "X") else "b",
        "typcategory": t.category,
        "typispreferred": t.preferred,
        "typisdefined": True,
        "typdelim": ",",
        "typsubscript": _subscript_handler(t),
        "typelem": t.elem_oid or _VECTOR_LIKE_ELEMENTS.get(t.name, 0),
        "typarray": t.array_oid,
        **io,
        "typanalyze": "array_typanalyze" if t.is_array else "-",
        "typalign": type_alignment(t),
        "typstorage": type_storage(t),
        "typtypmod": -1,
        "typcollation": _COLLATABLE.get(base.name, 0),
    }


def _io_functions(t: PgType) -> Row:
    base = TYPES_BY_OID[t.elem_oid] if t.is_array else t
    if t.is_array:
        prefix, sep = "array", "_"
    else:
        prefix = _IO_PREFIX.get(t.name, t.name)
        sep = "" if prefix in _OLD_STYLE_IO else "_"
    binary = t.name not in _NO_BINARY_IO
    if base.name in _PGVECTOR_TYPES:
        typmodin, typmodout = f"{base.name}_typmod_in", "-"
    elif base.name in _TYPMOD_IO:
        typmodin, typmodout = _TYPMOD_IO[base.name] + "in", _TYPMOD_IO[base.name] + "out"
    else:
        typmodin = typmodout = "-"
    return {
        "typinput": f"{prefix}{sep}in",
        "typoutput": f"{prefix}{sep}out",
        "typreceive": f"{prefix}{sep}recv" if binary else "-",
        "typsend": f"{prefix}{sep}send" if binary else "-",
        "typmodin": typmodin,
        "typmodout": typmodout,
    }


def _subscript_handler(t: PgType) -> str:
    if t.is_array or t.name in ("int2vector", "oidvector"):
        return "array_subscript_handler"
    return {"name": "raw_array_subscript_handler", "jsonb": "jsonb_subscript_handler"}.get(t.name, "-")


def type_alignment(t: PgType) -> str:
    """pg_type.typalign: c, s, i or d (1, 2, 4 or 8 bytes)."""
    if t.is_array:
        element = type_alignment(TYPES_BY_OID[t.elem_oid])
        return "d" if element == "d" else "i"
    return _ALIGN.get(t.name, _ALIGN_BY_LENGTH.get(t.typlen, "i"))


def type_storage(t: PgType) -> str:
    """pg_type.typstorage: p plain, x extended, e external, m main."""
    if t.is_array:
        return "x"
    return _STORAGE.get(t.name, "p" if t.typlen != -1 else "x")


def _row_type_row(table: Table, catalog: Catalog) -> Row:
    return {
        "oid": table.type_oid,
        "typname": table.name,
        "typnamespace": catalog.schemas.get(table.schema, 0),
        "typowner": BOOTSTRAP_SUPERUSER_OID,
        "typlen": -1,
        "typtype": "c",
        "typcategory": "C",
        "typisdefined": True,
        "typdelim": ",",
        "typrelid": table.oid,
        "typsubscript": "-",
        "typinput": "record_in",
        "typoutput": "record_out",
        "typreceive": "record_recv",
        "typsend": "record_send",
        "typmodin": "-",
        "typmodout": "-",
        "typanalyze": "-",
        "typalign": "d",
        "typstorage": "x",
        "typtypmod": -1,
    }


# format_type -----------------------------------------------------------------------------

_INTERVAL_FULL_RANGE = 0x7FFF
_INTERVAL_FULL_PRECISION = 0xFFFF
_INTERVAL_FIELDS = {
    1 << 2: "year", 1 << 1: "month", 1 << 3: "day", 1 << 10: "hour", 1 << 11: "minute", 1 << 12: "second",
    (1 << 2) | (1 << 1): "year to month",
    (1 << 3) | (1 << 10): "day to hour",
    (1 << 3) | (1 << 10) | (1 << 11): "day to minute",
    (1 << 3) | (1 << 10) | (1 << 11) | (1 << 12): "day to second",
    (1 << 10) | (1 << 11): "hour to minute",
    (1 << 10) | (1 << 11) | (1 << 12): "hour to second",
    (1 << 11) | (1 << 12): "minute to second",
}
_WITH_ZONE = {"time": "without", "timetz": "with", "timestamp": "without", "timestamptz": "with"}


def format_type(oid: int | None, typmod: int | None) -> str | None:
    """PostgreSQL's ``format_type(oid, typmod)`` for the built-in and pgvector types.

    None for a NULL oid and for OIDs that are not in the registry (row types), which the
    caller resolves through pg_type.
    """
    if oid is None:
        return None
    if oid == 0:
        return "-"
    t = TYPES_BY_OID.get(oid)
    if t is None:
        return None
    if t.is_array and t.typlen == -1:
        return format_type(t.elem_oid, typmod) + "[]"
    return _format_scalar(t, typmod)


def _format_scalar(t: PgType, typmod: int | None) -> str:
    given = typmod is not None
    with_typmod = given and typmod >= 0
    name = t.name
    if name == "bit":
        return f"bit({typmod})" if with_typmod else '"bit"' if given else "bit"
    if name == "bpchar":
        return f"character({typmod - 4})" if with_typmod else "bpchar" if given else "character"
    if name == "varchar":
        return f"character varying({typmod - 4})" if with_typmod else "character varying"
    if name == "varbit":
        return f"bit varying({typmod})" if with_typmod else "bit varying"
    if name == "numeric":
        return "numeric" + (_numeric_typmod(typmod) if with_typmod else "")
    if name == "interval":
        return "interval" + (_interval_typmod(typmod) if with_typmod else "")
    if name in _WITH_ZONE:
        base = "time" if name.startswith("time") and not name.startswith("timestamp") else "timestamp"
        precision = f"({typmod})" if with_typmod else ""
        return f"{base}{precision} {_WITH_ZONE[name]} time zone"
    return t.display_name + (f"({typmod})" if with_typmod else "")


def _numeric_typmod(typmod: int) -> str:
    value = typmod - 4
    precision = (value >> 16) & 0xFFFF
    scale = ((value & 0x7FF) ^ 1024) - 1024
    return f"({precision},{scale})"


def _interval_typmod(typmod: int) -> str:
    fields = (typmod >> 16) & _INTERVAL_FULL_RANGE
    precision = typmod & 0xFFFF
    text = "" if fields == _INTERVAL_FULL_RANGE else " " + _INTERVAL_FIELDS.get(fields, "")
    if precision != _INTERVAL_FULL_PRECISION:
        text += f"({precision})"
    return text


def type_name_oid(name: str) -> int | None:
    """The OID of a type spelt as SQL does (``integer``, ``character varying(10)``, ``vector[]``)."""
    text = " ".join(name.split())
    if text.lower() in ('"char"', 'pg_catalog."char"'):
        return TYPES["char"].oid
    text = " ".join(re.sub(r"\([^)]*\)", " ", text).replace('"', "").split())
    t = lookup(text.replace(" []", "[]"))
    return t.oid if t is not None else None
