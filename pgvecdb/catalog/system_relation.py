"""How a system relation (pg_class, information_schema.columns ...) is declared and built.

A system relation is declared once, with its columns as PostgreSQL types, and filled on
demand from a ``SystemContext``: the session's view of the catalog. Its rows become an
Arrow table in the DuckDB representation of those types (``types.registry``), which the
planner puts in place of the relation's name in a query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterable

import pyarrow as pa

from pgvecdb.catalog.model import Catalog
from pgvecdb.types.registry import TYPES, PgType

Row = dict[str, Any]


@dataclass
class SystemContext:
    """What the system relations of one session are computed from."""

    catalog: Catalog
    settings: dict[str, str]  # the session's GUCs by name, as SHOW prints them
    user: str
    database: str
    relation_size: Callable[[int], int]  # table OID -> bytes on disk
    backend_pid: int = 0
    # index OID -> bytes on disk of its files; None while indexes keep no files of their own
    index_size: Callable[[int], int] | None = None


RowSource = Callable[[SystemContext], Iterable[Row]]


def no_rows(ctx: SystemContext) -> list[Row]:
    """The rows of a relation whose PostgreSQL feature pgvecdb does not have."""
    return []


@dataclass(frozen=True)
class Column:
    name: str
    type_name: str  # pg_type.typname, "[]" appended for arrays: oid, name, text[] ...

    @property
    def default(self) -> Any:
        """The value of a column a row leaves out: 0 / false for numbers and booleans."""
        if self.type_name == "regproc":
            return "-"  # how PostgreSQL shows "no function"
        arrow = arrow_type(self.type_name)
        if pa.types.is_boolean(arrow):
            return False
        if pa.types.is_integer(arrow) or pa.types.is_floating(arrow):
            return 0
        return None


@dataclass(frozen=True)
class SystemRelation:
    """A relation of pg_catalog or information_schema: its columns and where its rows come from.

    ``rows`` returns dicts keyed by column name; a column a row leaves out takes its
    ``Column.default``.
    """

    schema: str
    name: str
    oid: int
    columns: tuple[Column, ...]
    rows: RowSource = field(compare=False)
    kind: str = "r"  # pg_class.relkind: 'r' catalog table, 'v' view
    # Rows that never change (the catalog describing itself), converted to Arrow once.
    static_rows: Callable[[], list[Row]] | None = field(default=None, compare=False)

    def build(self, ctx: SystemContext) -> pa.Table:
        table = to_arrow(self.columns, list(self.rows(ctx)))
        if self.static_rows is None:
            return table
        return pa.concat_tables([table, self._static_table])

    @cached_property
    def _static_table(self) -> pa.Table:
        return to_arrow(self.columns, self.static_rows())


def columns(spec: str) -> tuple[Column, ...]:
    """Columns from ``"oid oid, relname name, relacl aclitem[]"``."""
    parsed = []
    for item in spec.replace("\n", " ").split(","):
        name, type_name = item.split()
        pg_type(type_name)  # fails early on a misspelt type
        parsed.append(Column(name, type_name))
    return tuple(parsed)


def to_arrow(cols: tuple[Column, ...], rows: list[Row]) -> pa.Table:
    arrays = {}
    for col in cols:
        default = col.default
        values = [row.get(col.name, default) for row in rows]
        arrays[col.name] = pa.array(values, type=arrow_type(col.type_name))
    return pa.table(arrays)


_ARROW_OF_DUCK: dict[str, pa.DataType] = {
    "BOOLEAN": pa.bool_(),
    "SMALLINT": pa.int16(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "FLOAT": pa.float32(),
    "DOUBLE": pa.float64(),
    "VARCHAR": pa.string(),
    "BLOB": pa.binary(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    "INTERVAL": pa.month_day_nano_interval(),
}


def pg_type(type_name: str) -> PgType:
    """The type a system column is declared with: a pg_type name, "[]" appended for arrays."""
    return TYPES["_" + type_name[:-2]] if type_name.endswith("[]") else TYPES[type_name]


def arrow_type(type_name: str) -> pa.DataType:
    """The Arrow type DuckDB uses for a system column of type ``type_name``."""
    return _arrow_of_duck(pg_type(type_name).duck)


def _arrow_of_duck(duck: str) -> pa.DataType:
    if duck.endswith("[]"):
        return pa.list_(_arrow_of_duck(duck[:-2]))
    return _ARROW_OF_DUCK[duck]
