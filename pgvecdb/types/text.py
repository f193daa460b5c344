"""Codecs of the character types (text, varchar, bpchar, name, "char", unknown) and bytea.

All character types are Arrow strings in storage and VARCHAR in DuckDB; their text and
binary wire formats are both the UTF-8 bytes. Typmods are enforced as PostgreSQL does on
assignment: varchar(n) and char(n) reject longer values unless the excess is spaces, and
char(n) is padded with spaces to n.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pgvecdb.errors import InvalidTextRepresentation, StringDataRightTruncation
from pgvecdb.types.codecs import (
    DEFAULT_OPTIONS,
    VARHDRSZ,
    Codec,
    FormatOptions,
    SameArrowTypeCodec,
    register,
    utf8_values,
)
from pgvecdb.types.registry import TYPES

NAMEDATALEN = 64


def as_strings(column: pa.Array) -> pa.Array:
    """A column as Arrow strings: DuckDB values of other types in their own text form."""
    if pa.types.is_string(column.type):
        return column
    try:
        return column.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())


class TextCodec(Codec):
    """A character type whose values are text, sent as their UTF-8 bytes in both formats."""

    def storage_type(self, typmod: int = -1) -> pa.DataType:
        return pa.string()

    def duck_arrow_type(self) -> pa.DataType:
        return pa.string()

    def from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        return as_strings(column)

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        return utf8_values(as_strings(column))

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        return utf8_values(as_strings(column))

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> str:
        return text

    def decode_binary(self, data: bytes, typmod: int = -1) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _invalid_utf8(data, exc) from None

    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        return self.from_duck(pa.array(values, pa.string()), typmod)

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        try:
            strings = pa.array(values, pa.binary()).cast(pa.string())
        except pa.ArrowInvalid:
            strings = pa.array([None if v is None else self.decode_binary(v) for v in values], pa.string())
        return self.from_duck(strings, typmod)


def _invalid_utf8(data: bytes, exc: UnicodeDecodeError) -> Exception:
    from pgvecdb.errors import CharacterNotInRepertoire

    bad = data[exc.start: exc.start + 2]
    shown = " ".join(f"0x{b:02x}" for b in bad)
    return CharacterNotInRepertoire(f'invalid byte sequence for encoding "UTF8": {shown}')


class LengthLimitedCodec(TextCodec):
    """varchar(n) and bpchar(n): the typmod is n + 4, and n counts characters."""

    def __init__(self, type_name: str, pad: bool) -> None:
        super().__init__(TYPES[type_name])
        self.pad = pad

    def from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        strings = as_strings(column)
        if typmod < VARHDRSZ:
            return strings
        limit = typmod - VARHDRSZ
        strings = self._truncate_spaces(strings, limit)
        return pc.utf8_rpad(strings, width=limit, padding=" ") if self.pad else strings

    def _truncate_spaces(self, strings: pa.Array, limit: int) -> pa.Array:
        lengths = pc.utf8_length(strings).fill_null(0).to_numpy(zero_copy_only=False)
        if not (lengths > limit).any():
            return strings
        trimmed = pc.utf8_length(pc.utf8_rtrim(strings, characters=" ")).fill_null(0).to_numpy(zero_copy_only=False)
        if (trimmed > limit).any():
            raise StringDataRightTruncation(f"value too long for type {self.pgtype.display_name}({limit})")
        return pc.utf8_slice_codeunits(strings, start=0, stop=limit)


class NameCodec(TextCodec):
    """name: at most NAMEDATALEN-1 bytes; longer input is truncated, as PostgreSQL does."""

    def from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        strings = as_strings(column)
        lengths = pc.binary_length(strings).fill_null(0).to_numpy(zero_copy_only=False)
        if not (lengths >= NAMEDATALEN).any():
            return strings
        return pa.array([None if v is None else _truncate_utf8(v, NAMEDATALEN - 1) for v in strings.to_pylist()],
                        pa.string())


def _truncate_utf8(text: str, max_bytes: int) -> str:
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


class CharCodec(TextCodec):
    """The one-byte "char" type: only the first byte of the input is kept."""

    def from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        return pa.array([None if v is None else _truncate_utf8(v, 1) for v in as_strings(column).to_pylist()],
                        pa.string())

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> str:
        return _truncate_utf8(text, 1)


# --- bytea ----------------------------------------------------------------------------------

_HEX_BYTES = re.compile(r"(?:\s*[0-9a-fA-F]{2})*\s*")
_ESCAPE_PART = re.compile(r"\\\\|\\[0-3][0-7]{2}|\\|[^\\]+")


def bytea_hex(value: bytes) -> bytes:
    return b"\\x" + value.hex().encode("ascii")


def bytea_escape(value: bytes) -> bytes:
    """bytea_output = 'escape': printable ASCII as is, backslash doubled, the rest octal."""
    return b"".join(
        b"\\\\" if byte == 0x5C else bytes([byte]) if 0x20 <= byte < 0x7F else b"\\%03o" % byte for byte in value
    )


def parse_bytea_text(text: str) -> bytes:
    """bytea input: '\\x' followed by hex pairs, or the escape format."""
    if text.startswith("\\x"):
        body = text[2:]
        if _HEX_BYTES.fullmatch(body) is None:
            _raise_bad_hex(body)
        return bytes.fromhex("".join(body.split()))
    out = bytearray()
    for part in _ESCAPE_PART.findall(text):
        if part == "\\\\":
            out.append(0x5C)
        elif part == "\\":
            raise InvalidTextRepresentation('invalid input syntax for type bytea')
        elif part.startswith("\\"):
            out.append(int(part[1:], 8))
        else:
            out += part.encode("utf-8")
    return bytes(out)


def _raise_bad_hex(body: str) -> None:
    compact = "".join(body.split())
    for ch in compact:
        if ch not in "0123456789abcdefABCDEF":
            raise InvalidTextRepresentation(f'invalid hexadecimal digit: "{ch}"')
    raise InvalidTextRepresentation("invalid hexadecimal data: odd number of digits")


class ByteaCodec(SameArrowTypeCodec):
    """bytea: Arrow binary everywhere; text output per bytea_output."""

    def __init__(self) -> None:
        super().__init__(TYPES["bytea"], pa.binary())

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        binary = column.cast(pa.binary())
        if options.bytea_output.lower() == "escape":
            return [None if v is None else bytea_escape(v) for v in binary.to_pylist()]
        return _hex_column(binary)

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        return column.cast(pa.binary()).to_pylist()

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> bytes:
        return parse_bytea_text(text)

    def decode_binary(self, data: bytes, typmod: int = -1) -> bytes:
        return bytes(data)

    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        return pa.array([None if v is None else parse_bytea_text(v) for v in values], pa.binary())

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        return pa.array(values, pa.binary())


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex_column(column: pa.Array) -> list[bytes | None]:
    """Hex-format a whole binary column at once: one numpy pass over its data buffer."""
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[column.offset: column.offset + len(column) + 1]
    data = np.frombuffer(column.buffers()[2], dtype=np.uint8) if column.buffers()[2] else np.zeros(0, np.uint8)
    data = data[offsets[0]: offsets[-1]]
    doubled = np.empty(data.size * 2, dtype=np.uint8)
    doubled[0::2] = _HEX_DIGITS[data >> 4]
    doubled[1::2] = _HEX_DIGITS[data & 0x0F]
    new_offsets = (offsets - offsets[0]) * 2 + 2 * np.arange(len(column) + 1, dtype=np.int32)
    with_prefix = np.empty(doubled.size + 2 * len(column), dtype=np.uint8)
    starts = new_offsets[:-1]
    with_prefix[starts] = ord("\\")
    with_prefix[starts + 1] = ord("x")
    body_mask = np.ones(with_prefix.size, dtype=bool)
    body_mask[starts] = False
    body_mask[starts + 1] = False
    with_prefix[body_mask] = doubled
    hexed = pa.Array.from_buffers(pa.binary(), len(column),
                                  [None, pa.py_buffer(new_offsets.astype(np.int32)), pa.py_buffer(with_prefix)])
    if column.null_count:
        hexed = pc.if_else(column.is_valid(), hexed, pa.scalar(None, pa.binary()))
    return hexed.to_pylist()


for _name in ("text", "unknown", "regproc"):
    register(TextCodec(TYPES[_name]))
register(LengthLimitedCodec("varchar", pad=False))
register(LengthLimitedCodec("bpchar", pad=True))
register(NameCodec(TYPES["name"]))
register(CharCodec(TYPES["char"]))
register(ByteaCodec())
