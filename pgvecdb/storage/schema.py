"""A table's columns as storage knows them: fields with stable ids.

Stored data names its columns by field id (``Chunk.field_ids``), not by name, so that
ALTER TABLE never rewrites data: RENAME COLUMN changes a name here, DROP COLUMN forgets a
field (its data is skipped by scans and dropped by compaction), and ADD COLUMN records the
value that rows stored before it read (``fill``, PostgreSQL's ``attmissingval``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace

import pyarrow as pa

from pgvecdb.errors import DuplicateColumn, UndefinedColumn


@dataclass(frozen=True)
class FieldMeta:
    id: int
    field: pa.Field
    fill: pa.Scalar | None = None  # what rows stored before this field existed hold

    @property
    def name(self) -> str:
        return self.field.name

    def __hash__(self) -> int:  # cheaper than hashing the Arrow field; equal fields agree on it
        return hash((self.id, self.field.name))

    def fill_column(self, num_rows: int) -> pa.Array:
        """The column of ``num_rows`` rows stored before this field was added."""
        if self.fill is None or not self.fill.is_valid:
            return pa.nulls(num_rows, self.field.type)
        return pa.repeat(self.fill, num_rows)


@dataclass(frozen=True)
class TableMeta:
    table_id: int
    fields: tuple[FieldMeta, ...]
    next_field_id: int
    unique_keys: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def create(cls, table_id: int, schema: pa.Schema) -> "TableMeta":
        fields = tuple(FieldMeta(i + 1, f) for i, f in enumerate(schema))
        return cls(table_id, fields, len(fields) + 1)

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([f.field for f in self.fields])

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> FieldMeta:
        for f in self.fields:
            if f.name == name:
                return f
        raise UndefinedColumn(f'column "{name}" does not exist')

    def select(self, names: list[str] | None) -> list[FieldMeta]:
        """The fields called ``names`` (all fields for None), in that order."""
        return list(self.fields) if names is None else [self.field(n) for n in names]

    def with_field_added(self, field: pa.Field, fill: pa.Scalar | None) -> "TableMeta":
        if field.name in self.names:
            raise DuplicateColumn(f'column "{field.name}" already exists')
        fill = None if fill is None else fill.cast(field.type)
        added = FieldMeta(self.next_field_id, field, fill)
        return replace(self, fields=self.fields + (added,), next_field_id=self.next_field_id + 1)

    def with_field_dropped(self, name: str) -> "TableMeta":
        dropped = self.field(name)
        keys = tuple(k for k in self.unique_keys if name not in k)
        return replace(self, fields=tuple(f for f in self.fields if f is not dropped), unique_keys=keys)

    def with_field_renamed(self, old: str, new: str) -> "TableMeta":
        renamed = self.field(old)
        if new in self.names:
            raise DuplicateColumn(f'column "{new}" already exists')
        fields = tuple(replace(f, field=f.field.with_name(new)) if f is renamed else f for f in self.fields)
        keys = tuple(tuple(new if c == old else c for c in key) for key in self.unique_keys)
        return replace(self, fields=fields, unique_keys=keys)

    def with_unique_keys(self, keys: list[list[str]]) -> "TableMeta":
        for key in keys:
            for name in key:
                self.field(name)
        return replace(self, unique_keys=tuple(tuple(k) for k in keys))

    def to_json(self) -> dict:
        return {
            "fields": [_field_to_json(f) for f in self.fields],
            "next_field_id": self.next_field_id,
            "unique_keys": [list(k) for k in self.unique_keys],
        }

    @classmethod
    def from_json(cls, table_id: int, doc: dict) -> "TableMeta":
        return cls(
            table_id,
            tuple(_field_from_json(f) for f in doc["fields"]),
            doc["next_field_id"],
            tuple(tuple(k) for k in doc["unique_keys"]),
        )


def _field_to_json(meta: FieldMeta) -> dict:
    doc = {
        "id": meta.id,
        "name": meta.name,
        "type": str(meta.field.type),
        "arrow": _encode_schema(pa.schema([meta.field])),
    }
    if meta.fill is not None:
        doc["fill"] = _encode_schema_and_value(meta.field, meta.fill)
    return doc


def _field_from_json(doc: dict) -> FieldMeta:
    field = _decode_schema(doc["arrow"]).field(0)
    fill = _decode_value(doc["fill"]) if "fill" in doc else None
    return FieldMeta(doc["id"], field, fill)


def _encode_schema(schema: pa.Schema) -> str:
    return base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")


def _decode_schema(text: str) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))


def _encode_schema_and_value(field: pa.Field, value: pa.Scalar) -> str:
    table = pa.table([pa.repeat(value, 1)], schema=pa.schema([field]))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")


def _decode_value(text: str) -> pa.Scalar:
    table = pa.ipc.open_stream(pa.py_buffer(base64.b64decode(text))).read_all()
    return table.column(0)[0]
