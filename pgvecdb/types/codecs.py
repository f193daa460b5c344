"""One codec per PostgreSQL type, registered by OID (the psycopg dumper/loader idea).

A codec converts between the representations of its type (see ``types.registry``):

* storage Arrow  <->  DuckDB Arrow      (``to_duck`` / ``from_duck``; ``from_duck`` also
  coerces and enforces the typmod, e.g. vector(3) dimensions, varchar(n) length);
* DuckDB Arrow    ->  wire bytes         (``encode_text`` / ``encode_binary``, a column at a time);
* wire bytes      ->  DuckDB value       (``decode_text`` / ``decode_binary``, for parameters;
  the value is what DuckDB accepts as a parameter of the type's DuckDB representation);
* COPY input      ->  storage Arrow      (``parse_text_column`` / ``parse_binary_column``, and
  ``parse_binary_fixed`` for binary COPY fields of one fixed width, as a numpy matrix).

Output that depends on session settings (DateStyle, TimeZone, IntervalStyle, bytea_output,
extra_float_digits) takes a keyword-only ``options: FormatOptions``.

Type family modules (``types/numeric.py``, ``types/vector.py`` ...) define codecs and call
``register``. ``codec_for(oid)`` finds one; array types get an ``ArrayCodec`` over their
element codec. ``encode_table_for_wire`` encodes a result table for DataRow messages and
``pg_type_for_duck`` names the PostgreSQL type of a DuckDB result column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pyarrow as pa

from pgvecdb.errors import InvalidBinaryRepresentation, ProtocolViolation
from pgvecdb.types.registry import (
    BIT_TAG,
    HALFVEC_OID,
    HALFVEC_TAG,
    SPARSEVEC_OID,
    SPARSEVEC_TAG,
    VECTOR_OID,
    VECTOR_TAG,
    PgType,
    by_oid,
)

TEXT_FORMAT = 0
BINARY_FORMAT = 1


@dataclass(frozen=True)
class FormatOptions:
    """The session settings that change how values are written and read as text."""

    timezone: str = "UTC"
    datestyle: str = "ISO, MDY"
    intervalstyle: str = "postgres"
    bytea_output: str = "hex"
    extra_float_digits: int = 1

    @classmethod
    def from_settings(cls, settings: Mapping[str, object]) -> "FormatOptions":
        """Options from session settings keyed by GUC name (any case), defaults for the rest."""
        lowered = {name.lower(): value for name, value in settings.items()}
        defaults = cls()
        return cls(
            timezone=str(lowered.get("timezone", defaults.timezone)),
            datestyle=str(lowered.get("datestyle", defaults.datestyle)),
            intervalstyle=str(lowered.get("intervalstyle", defaults.intervalstyle)),
            bytea_output=str(lowered.get("bytea_output", defaults.bytea_output)),
            extra_float_digits=int(str(lowered.get("extra_float_digits", defaults.extra_float_digits))),
        )

    @property
    def date_output(self) -> str:
        """The output half of DateStyle: 'ISO', 'Postgres', 'SQL' or 'German'."""
        for part in _datestyle_parts(self.datestyle):
            if part in ("ISO", "POSTGRES", "SQL", "GERMAN"):
                return {"ISO": "ISO", "POSTGRES": "Postgres", "SQL": "SQL", "GERMAN": "German"}[part]
        return "ISO"

    @property
    def date_order(self) -> str:
        """The field order half of DateStyle: 'MDY', 'DMY' or 'YMD'."""
        for part in _datestyle_parts(self.datestyle):
            if part in ("MDY", "DMY", "YMD"):
                return part
            if part in ("EURO", "EUROPEAN"):
                return "DMY"
            if part in ("US", "NONEURO", "NONEUROPEAN"):
                return "MDY"
        return "MDY"


def _datestyle_parts(datestyle: str) -> list[str]:
    return [p.strip().upper() for p in re.split(r"[,\s]+", datestyle) if p.strip()]


DEFAULT_OPTIONS = FormatOptions()


class Codec:
    """Base codec: subclasses override what differs for their type."""

    pgtype: PgType

    def __init__(self, pgtype: PgType) -> None:
        self.pgtype = pgtype

    # storage <-> DuckDB -------------------------------------------------------------
    def storage_type(self, typmod: int = -1) -> pa.DataType:
        raise NotImplementedError

    def to_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        return column

    def from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        return column.cast(self.storage_type(typmod))

    def duck_arrow_type(self) -> pa.DataType:
        """The Arrow type DuckDB uses for this type's DuckDB representation."""
        raise NotImplementedError

    # DuckDB -> wire -------------------------------------------------------------------
    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        raise NotImplementedError

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        raise NotImplementedError

    # wire -> DuckDB parameter value ---------------------------------------------------
    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> object:
        raise NotImplementedError

    def decode_binary(self, data: bytes, typmod: int = -1) -> object:
        raise NotImplementedError

    # COPY input -> storage --------------------------------------------------------------
    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        """Default: decode each value, then coerce the column. Override to vectorise."""
        duck = pa.array(
            [None if v is None else self.decode_text(v, typmod, options=options) for v in values],
            type=self.duck_arrow_type(),
        )
        return self.from_duck(duck, typmod)

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        duck = pa.array([None if v is None else self.decode_binary(v, typmod) for v in values],
                        type=self.duck_arrow_type())
        return self.from_duck(duck, typmod)

    def parse_binary_fixed(self, fields: np.ndarray, typmod: int = -1) -> pa.Array:
        """Parse non-null binary fields that all have the same length.

        ``fields`` is a uint8 matrix, one row per value (often a strided view into a binary
        COPY buffer). Override with a numpy implementation; the default goes per value.
        """
        return self.parse_binary_column([row.tobytes() for row in fields], typmod)


class SameArrowTypeCodec(Codec):
    """A codec whose storage and DuckDB representations are one Arrow type.

    ``from_duck`` reads a text column (a value DuckDB produced as a string) with the type's
    own input function, ``parse_text_column``, and hands any other column to
    ``cast_from_duck``, which subclasses override to convert more than Arrow's cast does.
    """

    def __init__(self, pgtype: PgType, arrow_type: pa.DataType) -> None:
        super().__init__(pgtype)
        self.arrow_type = arrow_type

    def storage_type(self, typmod: int = -1) -> pa.DataType:
        return self.arrow_type

    def duck_arrow_type(self) -> pa.DataType:
        return self.arrow_type

    def from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        if is_text_type(column.type):
            return self.parse_text_column(column.to_pylist(), typmod)
        return self.cast_from_duck(column, typmod)

    def cast_from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        """A DuckDB column of another, non-text type as this type (default: Arrow's cast)."""
        return column.cast(self.arrow_type)


# --- helpers shared by the codecs -------------------------------------------------------


def is_text_type(data_type: pa.DataType) -> bool:
    """Whether an Arrow type is a string type (DuckDB's VARCHAR, in either offset width)."""
    return pa.types.is_string(data_type) or pa.types.is_large_string(data_type)


def utf8_values(strings: pa.Array) -> list[bytes | None]:
    """The UTF-8 bytes of each value of a string array (None for nulls), without a Python loop."""
    return strings.cast(pa.binary()).to_pylist()


def fixed_width_values(column: pa.Array, data: np.ndarray) -> list[bytes | None]:
    """Split ``data``, the packed big-endian values of ``column``, into one bytes per row.

    ``data`` holds ``len(column)`` values of one width (rows of null values included, with
    any content); the result is None where ``column`` is null.
    """
    raw = np.ascontiguousarray(data).tobytes()
    width = len(raw) // len(column) if len(column) else 1
    values: list[bytes | None] = [raw[i: i + width] for i in range(0, len(raw), width)]
    if column.null_count:
        for index in np.flatnonzero(~column.is_valid().to_numpy(zero_copy_only=False)).tolist():
            values[index] = None
    return values


def check_binary_length(data: bytes, width: int) -> None:
    """Raise PostgreSQL's error for a binary value that is not exactly ``width`` bytes."""
    if len(data) < width:
        raise ProtocolViolation("insufficient data left in message")
    if len(data) > width:
        raise InvalidBinaryRepresentation("incorrect binary data format")


def packed_fixed_width(values: Sequence[bytes | None], width: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Join fixed-width binary values into a (n, width) uint8 matrix and a null mask.

    Null rows are zero-filled; the mask is None when there are no nulls.
    """
    nulls = [v is None for v in values]
    for value in values:
        if value is not None:
            check_binary_length(value, width)
    if any(nulls):
        filler = bytes(width)
        joined = b"".join(filler if v is None else v for v in values)
        mask = np.array(nulls, dtype=bool)
    else:
        joined = b"".join(values)  # type: ignore[arg-type]
        mask = None
    return np.frombuffer(joined, dtype=np.uint8).reshape(len(values), width), mask


_CODECS: dict[int, Codec] = {}


def register(codec: Codec) -> Codec:
    _CODECS[codec.pgtype.oid] = codec
    return codec


def codec_for(oid: int) -> Codec:
    """The codec of type ``oid``; raises KeyError for a type without one."""
    _load_families()
    codec = _CODECS.get(oid)
    if codec is None:
        codec = _array_codec_for(oid)
    return codec


def _array_codec_for(oid: int) -> Codec:
    pgtype = by_oid(oid)
    if pgtype is None or not pgtype.is_array or pgtype.elem_oid not in _CODECS:
        raise KeyError(oid)
    from pgvecdb.types.array import ArrayCodec

    return register(ArrayCodec(pgtype, _CODECS[pgtype.elem_oid]))


_loaded = False


def _load_families() -> None:
    """Import the type family modules, which register their codecs."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib

    for module in ("numeric", "text", "datetime", "misc", "array", "vector", "halfvec", "sparsevec", "bit"):
        importlib.import_module(f"pgvecdb.types.{module}")


# --- results for the wire ---------------------------------------------------------------


def encode_table_for_wire(
    table: pa.Table | pa.RecordBatch,
    type_oids: Sequence[int],
    formats: Sequence[int],
    *,
    options: FormatOptions = DEFAULT_OPTIONS,
) -> list[list[bytes | None]]:
    """Encode every column of a result table as DataRow field values.

    ``table`` is in the DuckDB representation (``exec.result.Result.table``); ``type_oids``
    gives each column's PostgreSQL type (the RowDescription OIDs) and ``formats`` each
    column's result format code (0 text, 1 binary; the caller expands a single code to all
    columns). Returns one list per column holding the encoded value of each row, ``None``
    for SQL NULL; ``zip(*columns)`` gives the rows' fields in order.
    """
    if not (len(type_oids) == len(formats) == table.num_columns):
        raise ValueError("encode_table_for_wire needs one type OID and one format per column")
    return [
        encode_column(table.column(i), oid, fmt, options=options)
        for i, (oid, fmt) in enumerate(zip(type_oids, formats))
    ]


def encode_column(
    column: pa.Array | pa.ChunkedArray, type_oid: int, fmt: int, *, options: FormatOptions = DEFAULT_OPTIONS
) -> list[bytes | None]:
    """Encode one column in the text (0) or binary (1) format of ``type_oid``."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    codec = codec_for(type_oid)
    if fmt == BINARY_FORMAT:
        return codec.encode_binary(column, options=options)
    return codec.encode_text(column, options=options)


# --- DuckDB result types -> PostgreSQL types ----------------------------------------------

_DUCK_SCALARS: dict[str, int] = {
    "BOOLEAN": 16,
    "TINYINT": 21,
    "SMALLINT": 21,
    "UTINYINT": 21,
    "INTEGER": 23,
    "USMALLINT": 23,
    "BIGINT": 20,
    "UINTEGER": 20,
    "UBIGINT": 1700,
    "HUGEINT": 1700,
    "UHUGEINT": 1700,
    "FLOAT": 700,
    "DOUBLE": 701,
    "DECIMAL": 1700,
    "VARCHAR": 25,
    "BLOB": 17,
    "DATE": 1082,
    "TIME": 1083,
    "TIME_NS": 1083,
    "TIME WITH TIME ZONE": 1266,
    "TIMESTAMP": 1114,
    "TIMESTAMP_S": 1114,
    "TIMESTAMP_MS": 1114,
    "TIMESTAMP_NS": 1114,
    "TIMESTAMP WITH TIME ZONE": 1184,
    "INTERVAL": 1186,
    "UUID": 2950,
    "JSON": 3802,
    '"NULL"': 25,
    "NULL": 25,
}

_TAGGED_STRUCTS: dict[str, int] = {
    VECTOR_TAG: VECTOR_OID,
    HALFVEC_TAG: HALFVEC_OID,
    SPARSEVEC_TAG: SPARSEVEC_OID,
    BIT_TAG: 1560,
}

_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_TAG = re.compile(r'STRUCT\("?(__[a-z]+)"?\s')
_FIXED_ARRAY = re.compile(r"\[\d+\]$")

VARHDRSZ = 4


def numeric_typmod(precision: int, scale: int) -> int:
    """pg_attribute.atttypmod of numeric(precision, scale)."""
    return ((precision << 16) | (scale & 0x7FF)) + VARHDRSZ


def pg_type_for_duck(duck_type: str) -> tuple[int, int]:
    """The PostgreSQL (type OID, typmod) of a DuckDB result column type.

    ``duck_type`` is the text of a DuckDB type as ``con.sql(q).types`` prints it
    ('INTEGER', 'DECIMAL(10,2)', 'STRUCT(__vector FLOAT[])', 'VARCHAR[]'...). pgvector's
    tagged structs map to their types, lists and fixed-size arrays to array types, and
    anything without a PostgreSQL counterpart (maps, other structs, enums) to text.
    """
    text = duck_type.strip()
    if text.endswith("[]") or _FIXED_ARRAY.search(text):
        element = text[:-2] if text.endswith("[]") else _FIXED_ARRAY.sub("", text)
        while element.endswith("[]") or _FIXED_ARRAY.search(element):  # multidimensional
            element = element[:-2] if element.endswith("[]") else _FIXED_ARRAY.sub("", element)
        elem_oid, elem_typmod = pg_type_for_duck(element)
        elem = by_oid(elem_oid)
        if elem is None or not elem.array_oid:
            return 25, -1
        return elem.array_oid, elem_typmod
    upper = text.upper()
    decimal = _DECIMAL.fullmatch(upper)
    if decimal:
        return 1700, numeric_typmod(int(decimal.group(1)), int(decimal.group(2)))
    if upper.startswith("STRUCT("):
        tag = _TAG.match(text)
        if tag and tag.group(1) in _TAGGED_STRUCTS:
            return _TAGGED_STRUCTS[tag.group(1)], -1
        return 25, -1
    return _DUCK_SCALARS.get(upper, 25), -1
