"""Schema objects: what a database holds, with stable OIDs.

The catalog is plain data. It is persisted by storage (as the ``catalog`` document of the
manifest, see ``to_dict``/``from_dict``) and served to clients as ``pg_catalog`` by
``catalog.pg_catalog``. Column types are named by their PostgreSQL type name (``int4``,
``vector``, ``_int4`` for arrays) plus a typmod, exactly as ``pg_attribute`` stores them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# OIDs below this are PostgreSQL's built-in objects; user objects start here.
FIRST_USER_OID = 16384
PG_CATALOG_NAMESPACE_OID = 11
PUBLIC_NAMESPACE_OID = 2200
INFORMATION_SCHEMA_NAMESPACE_OID = 13000
BOOTSTRAP_SUPERUSER_OID = 10
DATABASE_OID = 5


@dataclass
class Column:
    name: str
    type_name: str  # pg_type.typname: int4, text, vector, _float4 ...
    typmod: int = -1  # -1 when none; vector(3) -> 3, varchar(10) -> 14 as PostgreSQL stores
    not_null: bool = False
    default: str | None = None  # SQL expression text, as pg_get_expr prints it
    identity: str = ""  # '' | 'a' (ALWAYS) | 'd' (BY DEFAULT), as pg_attribute.attidentity
    attnum: int = 0


@dataclass
class Constraint:
    oid: int
    name: str
    kind: str  # 'p' primary key, 'u' unique, 'c' check, 'f' foreign key (pg_constraint.contype)
    columns: list[str] = field(default_factory=list)
    index_oid: int = 0
    expression: str | None = None  # for checks


@dataclass
class Index:
    oid: int
    name: str
    table_oid: int
    method: str  # btree, hnsw, ivfflat, ...
    columns: list[str] = field(default_factory=list)  # column names, '' for expressions
    expressions: list[str | None] = field(default_factory=list)  # SQL per key, None for a plain column
    opclasses: list[str | None] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    unique: bool = False
    primary: bool = False
    predicate: str | None = None  # partial index WHERE, SQL text
    definition: str = ""  # CREATE INDEX text, as pg_get_indexdef prints it


@dataclass
class Sequence:
    oid: int
    name: str
    schema: str = "public"
    start: int = 1
    increment: int = 1
    min_value: int = 1
    max_value: int = 2**63 - 1
    type_name: str = "int8"
    owned_by: tuple[str, str] | None = None  # (table, column)


@dataclass
class Table:
    oid: int
    name: str
    schema: str = "public"
    columns: list[Column] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    type_oid: int = 0  # pg_class.reltype: the row type
    next_attnum: int = 1

    def column(self, name: str) -> Column | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None

    @property
    def primary_key(self) -> Constraint | None:
        return next((c for c in self.constraints if c.kind == "p"), None)

    def unique_keys(self) -> list[Constraint]:
        """Every key that must stay unique: PRIMARY KEY and UNIQUE constraints, and unique
        indexes over plain columns (which PostgreSQL enforces without a constraint)."""
        keys = [c for c in self.constraints if c.kind in ("p", "u")]
        backing = {c.index_oid for c in keys}
        for index in self.indexes:
            if index.unique and index.oid not in backing and all(index.columns) and not index.predicate:
                keys.append(Constraint(oid=index.oid, name=index.name, kind="u", columns=list(index.columns),
                                       index_oid=index.oid))
        return keys


@dataclass
class Extension:
    oid: int
    name: str
    version: str
    schema: str = "public"


@dataclass
class Catalog:
    """Every schema object of one database."""

    schemas: dict[str, int] = field(
        default_factory=lambda: {"public": PUBLIC_NAMESPACE_OID}
    )
    tables: dict[tuple[str, str], Table] = field(default_factory=dict)
    sequences: dict[tuple[str, str], Sequence] = field(default_factory=dict)
    extensions: dict[str, Extension] = field(default_factory=dict)
    next_oid: int = FIRST_USER_OID
    version: int = 0  # bumped on every change; plan caches key on it

    def allocate_oid(self) -> int:
        oid = self.next_oid
        self.next_oid += 1
        return oid

    def table(self, name: str, schema: str = "public") -> Table | None:
        return self.tables.get((schema, name))

    def table_by_oid(self, oid: int) -> Table | None:
        return next((t for t in self.tables.values() if t.oid == oid), None)

    def index(self, name: str, schema: str = "public") -> tuple[Table, Index] | None:
        for table in self.tables.values():
            if table.schema != schema:
                continue
            for index in table.indexes:
                if index.name == name:
                    return table, index
        return None

    def relation_names(self, schema: str = "public") -> set[str]:
        """Names taken in a schema by tables, indexes and sequences (one namespace in PG)."""
        names = {name for (s, name) in self.tables if s == schema}
        names |= {name for (s, name) in self.sequences if s == schema}
        for table in self.tables.values():
            if table.schema == schema:
                names |= {index.name for index in table.indexes}
        return names

    def changed(self) -> None:
        self.version += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "schemas": dict(self.schemas),
            "tables": [asdict(t) for t in self.tables.values()],
            "sequences": [asdict(s) for s in self.sequences.values()],
            "extensions": [asdict(e) for e in self.extensions.values()],
            "next_oid": self.next_oid,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Catalog":
        catalog = cls(schemas=dict(data.get("schemas", {"public": PUBLIC_NAMESPACE_OID})))
        for t in data.get("tables", []):
            table = Table(
                oid=t["oid"],
                name=t["name"],
                schema=t["schema"],
                columns=[Column(**c) for c in t["columns"]],
                constraints=[Constraint(**c) for c in t["constraints"]],
                indexes=[Index(**i) for i in t["indexes"]],
                type_oid=t.get("type_oid", 0),
                next_attnum=t.get("next_attnum", len(t["columns"]) + 1),
            )
            catalog.tables[(table.schema, table.name)] = table
        for s in data.get("sequences", []):
            seq = Sequence(**{**s, "owned_by": tuple(s["owned_by"]) if s.get("owned_by") else None})
            catalog.sequences[(seq.schema, seq.name)] = seq
        for e in data.get("extensions", []):
            ext = Extension(**e)
            catalog.extensions[ext.name] = ext
        catalog.next_oid = data.get("next_oid", FIRST_USER_OID)
        return catalog
