"""Codecs of bool, uuid, json, jsonb, money, inet, tid and the catalog's text-like types.

uuid, json and jsonb are stored as Arrow's canonical extension types (``arrow.uuid``,
``arrow.json``), which DuckDB reads as its UUID and JSON types; DuckDB returns both as
strings. jsonb is kept and printed normalised as PostgreSQL prints it (keys unique and
ordered by length then bytes, ``", "`` and ``": "`` separators).
"""

from __future__ import annotations

import ipaddress
import json
import re
import struct
import uuid
from decimal import Decimal, InvalidOperation
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pgvecdb.errors import (
    FeatureNotSupported,
    InvalidBinaryRepresentation,
    InvalidTextRepresentation,
    NumericValueOutOfRange,
)
from pgvecdb.types.codecs import (
    DEFAULT_OPTIONS,
    Codec,
    FormatOptions,
    SameArrowTypeCodec,
    check_binary_length,
    fixed_width_values,
    packed_fixed_width,
    register,
    utf8_values,
)
from pgvecdb.types.registry import TYPES
from pgvecdb.types.text import TextCodec, as_strings

# --- bool -------------------------------------------------------------------------------------

_TRUE_WORDS = ("true", "yes", "on", "1")
_FALSE_WORDS = ("false", "no", "off", "0")


def parse_bool_text(text: str) -> bool:
    """boolin: true/false, yes/no, on/off, 1/0 and unambiguous prefixes, any case."""
    word = text.strip().lower()
    if word:
        minimum = 2 if word[0] == "o" else 1  # 'o' alone is ambiguous between on and off
        if len(word) >= minimum:
            if any(w.startswith(word) for w in _TRUE_WORDS):
                return True
            if any(w.startswith(word) for w in _FALSE_WORDS):
                return False
    raise InvalidTextRepresentation(f'invalid input syntax for type boolean: "{text}"')


class BoolCodec(SameArrowTypeCodec):
    def __init__(self) -> None:
        super().__init__(TYPES["bool"], pa.bool_())

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        return pc.if_else(column.cast(pa.bool_()), pa.scalar(b"t"), pa.scalar(b"f")).to_pylist()

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        return pc.if_else(column.cast(pa.bool_()), pa.scalar(b"\x01"), pa.scalar(b"\x00")).to_pylist()

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> bool:
        return parse_bool_text(text)

    def decode_binary(self, data: bytes, typmod: int = -1) -> bool:
        check_binary_length(data, 1)
        return data != b"\x00"

    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        return pa.array([None if v is None else parse_bool_text(v) for v in values], pa.bool_())

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        matrix, nulls = packed_fixed_width(values, 1)
        return pa.array(matrix.ravel() != 0, pa.bool_(), mask=nulls)

    def parse_binary_fixed(self, fields: np.ndarray, typmod: int = -1) -> pa.Array:
        if fields.shape[1] != 1:
            check_binary_length(bytes(fields.shape[1]), 1)
        return pa.array(fields.ravel() != 0, pa.bool_())


# --- uuid -------------------------------------------------------------------------------------

_UUID = re.compile(r"(\{?)([0-9a-fA-F]{4}(?:-?[0-9a-fA-F]{4}){7})(\}?)")


def parse_uuid_text(text: str) -> uuid.UUID:
    """uuid_in: 32 hex digits, an optional hyphen after any group of four, optional braces."""
    match = _UUID.fullmatch(text)
    if match is None or bool(match.group(1)) != bool(match.group(3)):
        raise InvalidTextRepresentation(f'invalid input syntax for type uuid: "{text}"')
    return uuid.UUID(hex=match.group(2).replace("-", ""))


class UuidCodec(Codec):
    def __init__(self) -> None:
        super().__init__(TYPES["uuid"])

    def storage_type(self, typmod: int = -1) -> pa.DataType:
        return pa.uuid()

    def duck_arrow_type(self) -> pa.DataType:
        return pa.string()

    def from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        if column.type == pa.uuid():
            return column
        texts = as_strings(column).to_pylist()
        raw = pa.array([None if t is None else parse_uuid_text(t).bytes for t in texts], pa.binary(16))
        return pa.ExtensionArray.from_storage(pa.uuid(), raw)

    def _canonical_strings(self, column: pa.Array) -> pa.Array:
        if column.type == pa.uuid():
            return pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())
        return as_strings(column)

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        return utf8_values(self._canonical_strings(column))

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        if column.type == pa.uuid():
            return column.storage.to_pylist()
        hexes = pc.replace_substring(as_strings(column), "-", "").to_pylist()
        return [None if h is None else bytes.fromhex(h) for h in hexes]

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> uuid.UUID:
        return parse_uuid_text(text)

    def decode_binary(self, data: bytes, typmod: int = -1) -> uuid.UUID:
        check_binary_length(data, 16)
        return uuid.UUID(bytes=bytes(data))

    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        raw = pa.array([None if v is None else parse_uuid_text(v).bytes for v in values], pa.binary(16))
        return pa.ExtensionArray.from_storage(pa.uuid(), raw)

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        matrix, nulls = packed_fixed_width(values, 16)
        return self._from_matrix(matrix, nulls)

    def parse_binary_fixed(self, fields: np.ndarray, typmod: int = -1) -> pa.Array:
        if fields.shape[1] != 16:
            check_binary_length(bytes(fields.shape[1]), 16)
        return self._from_matrix(fields, None)

    @staticmethod
    def _from_matrix(matrix: np.ndarray, nulls: np.ndarray | None) -> pa.Array:
        buffers = [None, pa.py_buffer(np.ascontiguousarray(matrix))]
        raw = pa.Array.from_buffers(pa.binary(16), len(matrix), buffers)
        if nulls is not None:
            raw = pc.if_else(pa.array(~nulls), raw, pa.scalar(None, pa.binary(16)))
        return pa.ExtensionArray.from_storage(pa.uuid(), raw)


# --- json and jsonb ----------------------------------------------------------------------------

JSONB_VERSION = 1


def _reject_constant(name: str) -> object:
    raise ValueError(name)


def parse_json_text(text: str, type_name: str) -> object:
    """Validate JSON as PostgreSQL does (no NaN/Infinity), returning the parsed document."""
    try:
        return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise InvalidTextRepresentation(f"invalid input syntax for type {type_name}") from None


def jsonb_text(document: object) -> str:
    """A parsed JSON document as jsonb prints it."""
    if isinstance(document, dict):
        keys = sorted(document, key=lambda k: (len(k.encode("utf-8")), k.encode("utf-8")))
        return "{" + ", ".join(f"{_json_string(k)}: {jsonb_text(document[k])}" for k in keys) + "}"
    if isinstance(document, list):
        return "[" + ", ".join(jsonb_text(item) for item in document) + "]"
    if isinstance(document, str):
        return _json_string(document)
    if document is True:
        return "true"
    if document is False:
        return "false"
    if document is None:
        return "null"
    return format(document, "f") if isinstance(document, Decimal) else str(document)


def _json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


class JsonCodec(Codec):
    """json keeps its text verbatim; jsonb normalises it and prefixes a version byte in binary."""

    def __init__(self, type_name: str) -> None:
        super().__init__(TYPES[type_name])
        self.binary_json = type_name == "jsonb"

    def storage_type(self, typmod: int = -1) -> pa.DataType:
        return pa.json_(pa.string())

    def duck_arrow_type(self) -> pa.DataType:
        return pa.string()

    def _normalise(self, texts: Sequence[str | None]) -> list[str | None]:
        name = self.pgtype.name
        if self.binary_json:
            return [None if t is None else jsonb_text(parse_json_text(t, name)) for t in texts]
        for text in texts:
            if text is not None:
                parse_json_text(text, name)
        return list(texts)

    def from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        texts = as_strings(column.storage if isinstance(column, pa.ExtensionArray) else column)
        return pa.ExtensionArray.from_storage(pa.json_(pa.string()), pa.array(self._normalise(texts.to_pylist()),
                                                                               pa.string()))

    def _output_text(self, column: pa.Array) -> list[bytes | None]:
        strings = as_strings(column.storage if isinstance(column, pa.ExtensionArray) else column)
        if not self.binary_json:
            return utf8_values(strings)
        return [None if t is None else t.encode("utf-8") for t in self._normalise(strings.to_pylist())]

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        return self._output_text(column)

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        texts = self._output_text(column)
        if not self.binary_json:
            return texts
        prefix = bytes([JSONB_VERSION])
        return [None if t is None else prefix + t for t in texts]

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> str:
        return self._normalise([text])[0]  # type: ignore[return-value]

    def decode_binary(self, data: bytes, typmod: int = -1) -> str:
        if self.binary_json:
            if not data or data[0] != JSONB_VERSION:
                raise InvalidBinaryRepresentation(f"unsupported jsonb version number {data[0] if data else 0}")
            data = data[1:]
        return self.decode_text(data.decode("utf-8"))

    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        return self.from_duck(pa.array(values, pa.string()))


# --- money ------------------------------------------------------------------------------------

_MONEY = re.compile(r"\s*(-?)\s*\$?\s*(-?)([0-9][0-9,]*)(?:\.([0-9]*))?\s*")


class MoneyCodec(SameArrowTypeCodec):
    """money in the C locale: '$1,234.56'; binary is the amount in cents as int8."""

    def __init__(self) -> None:
        super().__init__(TYPES["money"], pa.float64())

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        return [None if v is None else _money_text(round(v * 100)).encode() for v in column.to_pylist()]

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        cents = np.round(column.cast(pa.float64()).fill_null(0).to_numpy(zero_copy_only=False) * 100)
        return fixed_width_values(column, cents.astype(">i8"))

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> float:
        match = _MONEY.fullmatch(text)
        if match is None or (match.group(1) and match.group(2)):
            raise InvalidTextRepresentation(f'invalid input syntax for type money: "{text}"')
        sign, inner_sign, whole, frac = match.groups()
        try:
            amount = Decimal(whole.replace(",", "") + "." + (frac or "0"))
        except InvalidOperation:
            raise InvalidTextRepresentation(f'invalid input syntax for type money: "{text}"') from None
        cents = int(amount.quantize(Decimal("0.01")) * 100)
        if cents >= 2**63:
            raise NumericValueOutOfRange(f'value "{text}" is out of range for type money')
        return (-cents if sign or inner_sign else cents) / 100

    def decode_binary(self, data: bytes, typmod: int = -1) -> float:
        check_binary_length(data, 8)
        return int.from_bytes(data, "big", signed=True) / 100


def _money_text(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{frac:02d}"


# --- inet and tid -------------------------------------------------------------------------------

PGSQL_AF_INET = 2
PGSQL_AF_INET6 = 3


def parse_inet_text(text: str) -> str:
    """inet_in, returned in PostgreSQL's output form (the /prefix only when not a host)."""
    try:
        interface = ipaddress.ip_interface(text.strip())
    except ValueError:
        raise InvalidTextRepresentation(f'invalid input syntax for type inet: "{text}"') from None
    return _inet_text(interface)


def _inet_text(interface: ipaddress.IPv4Interface | ipaddress.IPv6Interface) -> str:
    if interface.network.prefixlen == interface.max_prefixlen:
        return str(interface.ip)
    return f"{interface.ip}/{interface.network.prefixlen}"


class InetCodec(TextCodec):
    """inet: text in DuckDB; binary is family, bits, is_cidr, length and the address bytes."""

    def __init__(self) -> None:
        super().__init__(TYPES["inet"])

    def from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        return pa.array([None if v is None else parse_inet_text(v) for v in as_strings(column).to_pylist()],
                        pa.string())

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        return [None if v is None else _inet_send(v) for v in as_strings(column).to_pylist()]

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> str:
        return parse_inet_text(text)

    def decode_binary(self, data: bytes, typmod: int = -1) -> str:
        if len(data) < 4 or len(data) != 4 + data[3] or data[0] not in (PGSQL_AF_INET, PGSQL_AF_INET6):
            raise InvalidBinaryRepresentation('invalid length in external "inet" value')
        address = ipaddress.ip_address(data[4:])
        return _inet_text(ipaddress.ip_interface(f"{address}/{data[1]}"))

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        return pa.array([None if v is None else self.decode_binary(v) for v in values], pa.string())


def _inet_send(text: str) -> bytes:
    interface = ipaddress.ip_interface(text)
    family = PGSQL_AF_INET if interface.version == 4 else PGSQL_AF_INET6
    packed = interface.ip.packed
    return bytes([family, interface.network.prefixlen, 0, len(packed)]) + packed


_TID = re.compile(r"\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*")


class TidCodec(TextCodec):
    """tid: '(block,offset)'; binary is uint32 block and uint16 offset."""

    def __init__(self) -> None:
        super().__init__(TYPES["tid"])

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> str:
        match = _TID.fullmatch(text)
        if match is None:
            raise InvalidTextRepresentation(f'invalid input syntax for type tid: "{text}"')
        return f"({int(match.group(1))},{int(match.group(2))})"

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        out: list[bytes | None] = []
        for value in as_strings(column).to_pylist():
            match = None if value is None else _TID.fullmatch(value)
            out.append(None if match is None else struct.pack(">IH", int(match.group(1)), int(match.group(2))))
        return out

    def decode_binary(self, data: bytes, typmod: int = -1) -> str:
        check_binary_length(data, 6)
        block, offset = struct.unpack(">IH", data)
        return f"({block},{offset})"

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        return pa.array([None if v is None else self.decode_binary(v) for v in values], pa.string())


class RecordCodec(TextCodec):
    """record: rows as DuckDB prints them; the binary composite format needs field types we lack."""

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        raise FeatureNotSupported("binary output of type record is not supported")

    def decode_binary(self, data: bytes, typmod: int = -1) -> str:
        raise FeatureNotSupported("binary input of type record is not supported")


class VoidCodec(TextCodec):
    """void: what a function returning nothing gives, an empty value in both formats."""

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        return [b""] * len(column)

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        return [b""] * len(column)


register(BoolCodec())
register(UuidCodec())
register(JsonCodec("json"))
register(JsonCodec("jsonb"))
register(MoneyCodec())
register(InetCodec())
register(TidCodec())
register(RecordCodec(TYPES["record"]))
register(VoidCodec(TYPES["void"]))
for _name in ("xml", "pg_node_tree", "aclitem", "refcursor", "cstring"):
    register(TextCodec(TYPES[_name]))
