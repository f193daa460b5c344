"""PostgreSQL's bit strings, ``bit(n)`` and ``bit varying(n)`` (pgvector's binary vectors).

A bit string value is a Python ``str`` of '0'/'1' characters, first bit first.

Representations:

* storage: ``bit(n)`` is ``fixed_size_binary[(n + 7) // 8]``, the bits packed first bit in
  the high-order bit of the first byte, as PostgreSQL and faiss's binary indexes lay them
  out, unused trailing bits zero (the length is the typmod). ``varbit``, ``varbit(n)`` and a
  ``bit`` without typmod are ``struct<length: int32, data: binary>``, packed the same way;
* DuckDB: ``STRUCT(__bit VARCHAR)`` holding the '0'/'1' text, so that DuckDB's own string
  comparison orders bit strings exactly as PostgreSQL's bitcmp does;
* wire: text '0101'; binary as varbit_send, int32 bit length then the packed bytes.
"""

from __future__ import annotations

import struct
from typing import Sequence

import numpy as np
import pyarrow as pa

from pgvecdb.errors import (
    InvalidBinaryRepresentation,
    InvalidTextRepresentation,
    PgError,
    ProgramLimitExceeded,
    StringDataRightTruncation,
)
from pgvecdb.types import registry
from pgvecdb.types.codecs import DEFAULT_OPTIONS, Codec, FormatOptions, register
from pgvecdb.types.vector import as_array, concatenated_ranges, null_mask, offsets_from_lengths, validity

VARBIT_MAX_LEN = 2**31 - 1 - 8 + 1  # PostgreSQL's VARBITMAXLEN
STRING_DATA_LENGTH_MISMATCH = "22026"
_ZERO, _ONE = ord("0"), ord("1")


# --------------------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------------------


def parse_bit(text: str, typmod: int = -1, varying: bool = False) -> str:
    """bit_in / varbit_in: '0101', 'B0101' or 'X1F' -> '0'/'1' text, checked against the typmod
    (``bit(n)``: exactly n bits; ``varbit(n)``: at most n)."""
    if text[:1] in ("x", "X"):
        bits = _hex_bits(text[1:])
    else:
        bits = text[1:] if text[:1] in ("b", "B") else text
        if not set(bits) <= {"0", "1"}:
            first = next(ch for ch in bits if ch not in "01")
            raise InvalidTextRepresentation(f'"{first}" is not a valid binary digit')
    check_bit_length(len(bits), typmod, varying)
    return bits


def _hex_bits(digits: str) -> str:
    if len(digits) > VARBIT_MAX_LEN // 4:
        raise ProgramLimitExceeded(f"bit string length exceeds the maximum allowed ({VARBIT_MAX_LEN})")
    for ch in digits:
        if ch not in "0123456789abcdefABCDEF":
            raise InvalidTextRepresentation(f'"{ch}" is not a valid hexadecimal digit')
    return "".join(format(int(ch, 16), "04b") for ch in digits)


def check_bit_length(length: int, typmod: int, varying: bool) -> None:
    """A value of ``length`` bits stored as ``bit(typmod)`` / ``varbit(typmod)``."""
    if typmod <= 0:
        return
    if varying and length > typmod:
        raise StringDataRightTruncation(f"bit string too long for type bit varying({typmod})")
    if not varying and length != typmod:
        raise PgError(f"bit string length {length} does not match type bit({typmod})",
                      sqlstate=STRING_DATA_LENGTH_MISMATCH)


def cast_bit(bits: str, typmod: int, varying: bool, explicit: bool) -> str:
    """PostgreSQL's bit(bit, int, bool) / varbit(varbit, int, bool) length coercion: an
    explicit cast pads with zeros or truncates, an implicit one only checks."""
    if typmod <= 0 or (len(bits) == typmod) or (varying and len(bits) <= typmod):
        return bits
    if not explicit:
        check_bit_length(len(bits), typmod, varying)
    return bits[:typmod].ljust(typmod, "0") if not varying else bits[:typmod]


# --------------------------------------------------------------------------------------
# packing
# --------------------------------------------------------------------------------------


def pack_bits(bits: str) -> bytes:
    """'0101' -> b'\\x50' (first bit high, trailing bits zero)."""
    return np.packbits(np.frombuffer(bits.encode(), dtype=np.uint8) - _ZERO).tobytes()


def unpack_bits(data: bytes, length: int) -> str:
    return (np.unpackbits(np.frombuffer(data, dtype=np.uint8), count=length) + _ZERO).tobytes().decode()


def bits_from_binary(data: bytes, typmod: int = -1, varying: bool = False) -> str:
    """bit_recv / varbit_recv."""
    if len(data) < 4:
        raise InvalidBinaryRepresentation("insufficient data left in message")
    (length,) = struct.unpack_from(">i", data)
    if length < 0 or length > VARBIT_MAX_LEN:
        raise InvalidBinaryRepresentation("invalid length in external bit string")
    if len(data) != 4 + (length + 7) // 8:
        raise InvalidBinaryRepresentation("incorrect binary data format")
    check_bit_length(length, typmod, varying)
    return unpack_bits(data[4:], length)


def bits_to_binary(bits: str) -> bytes:
    return struct.pack(">i", len(bits)) + pack_bits(bits)


# --------------------------------------------------------------------------------------
# columns
# --------------------------------------------------------------------------------------

VARBIT_STRUCT = pa.struct([("length", pa.int32()), ("data", pa.binary())])


class BitChars:
    """A column of bit strings as their '0'/'1' characters (uint8), row ``i`` being
    ``chars[offsets[i]:offsets[i+1]]``; null rows are empty and not ``valid``."""

    def __init__(self, chars: np.ndarray, offsets: np.ndarray, valid: np.ndarray) -> None:
        self.chars = chars
        self.offsets = offsets
        self.valid = valid

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def row(self, i: int) -> str:
        return self.chars[self.offsets[i]:self.offsets[i + 1]].tobytes().decode()

    @classmethod
    def from_strings(cls, bit_strings: Sequence[str | None]) -> "BitChars":
        valid = np.array([b is not None for b in bit_strings], dtype=bool)
        present = [b for b in bit_strings if b is not None]
        lengths = np.zeros(len(bit_strings), dtype=np.int64)
        lengths[valid] = [len(b) for b in present]
        chars = np.frombuffer("".join(present).encode(), dtype=np.uint8)
        return cls(chars, offsets_from_lengths(lengths), valid)

    @classmethod
    def from_storage(cls, column: pa.Array | pa.ChunkedArray, typmod: int) -> "BitChars":
        """Storage bit strings: bit(typmod) fixed-size binary, or the varbit struct."""
        column = as_array(column)
        valid = validity(column)
        if pa.types.is_fixed_size_binary(column.type):
            width = column.type.byte_width
            lengths = np.where(valid, typmod, 0).astype(np.int64)
            offsets = np.arange(len(column) + 1, dtype=np.int64) * width
            return cls._unpack(_fixed_binary_bytes(column), offsets, lengths, valid)
        lengths = np.where(valid, column.field("length").fill_null(0).to_numpy(zero_copy_only=False), 0)
        data = column.field("data")
        byte_offsets = _string_offsets(data)
        raw = data.buffers()[2]
        raw = np.frombuffer(raw, dtype=np.uint8) if raw is not None else np.zeros(0, np.uint8)
        return cls._unpack(raw, byte_offsets, lengths.astype(np.int64), valid)

    @classmethod
    def _unpack(cls, raw: np.ndarray, byte_offsets: np.ndarray, lengths: np.ndarray, valid: np.ndarray) -> "BitChars":
        first, last = int(byte_offsets[0]), int(byte_offsets[-1])
        bits = np.unpackbits(raw[first:last])
        chars = bits[concatenated_ranges((byte_offsets[:-1] - first) * 8, lengths)] + _ZERO
        return cls(chars, offsets_from_lengths(lengths), valid)

    @classmethod
    def from_duck(cls, column: pa.Array | pa.ChunkedArray) -> "BitChars":
        """DuckDB's STRUCT(__bit VARCHAR) column."""
        column = as_array(column)
        strings = column.field(0)
        valid = validity(column) & validity(strings)
        offsets = _string_offsets(strings)
        raw = strings.buffers()[2]
        chars = np.frombuffer(raw, dtype=np.uint8) if raw is not None else np.zeros(0, np.uint8)
        lengths = np.where(valid, np.diff(offsets), 0)
        return cls(chars[concatenated_ranges(offsets[:-1], lengths)], offsets_from_lengths(lengths), valid)

    def to_duck(self) -> pa.StructArray:
        strings = pa.StringArray.from_buffers(
            len(self.valid), pa.py_buffer(self.offsets.astype(np.int32)), pa.py_buffer(self.chars)
        )
        return pa.StructArray.from_arrays([strings], names=[registry.BIT_TAG], mask=null_mask(self.valid))

    def check(self, typmod: int, varying: bool) -> None:
        """Only '0'/'1' characters, and lengths that fit the typmod."""
        wrong = (self.chars != _ZERO) & (self.chars != _ONE)
        if wrong.any():
            row = int(np.searchsorted(self.offsets, int(np.argmax(wrong)), side="right")) - 1
            parse_bit(self.row(row))
        present = self.lengths[self.valid]
        if typmod > 0 and present.size:
            misfit = (present > typmod) if varying else (present != typmod)
            if misfit.any():
                check_bit_length(int(present[misfit][0]), typmod, varying)

    def to_fixed_storage(self, typmod: int) -> pa.Array:
        """bit(typmod) storage: every valid row has ``typmod`` bits."""
        width = (typmod + 7) // 8
        matrix = np.zeros((len(self.valid), width * 8), dtype=np.uint8)
        matrix[self.valid, :typmod] = (self.chars - _ZERO).reshape(-1, typmod)
        packed = np.packbits(matrix, axis=1)
        return pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(width), len(self.valid), [_validity_buffer(self.valid), pa.py_buffer(packed)]
        )

    def to_varying_storage(self) -> pa.Array:
        """varbit storage: struct<length, data>."""
        lengths = self.lengths
        byte_lengths = (lengths + 7) // 8
        padded = np.zeros(int(byte_lengths.sum()) * 8, dtype=np.uint8)
        padded[concatenated_ranges(offsets_from_lengths(byte_lengths)[:-1] * 8, lengths)] = self.chars - _ZERO
        data = pa.BinaryArray.from_buffers(
            pa.binary(), len(self.valid),
            [None, pa.py_buffer(offsets_from_lengths(byte_lengths).astype(np.int32)), pa.py_buffer(np.packbits(padded))],
        )
        return pa.StructArray.from_arrays(
            [pa.array(lengths.astype(np.int32)), data], fields=list(VARBIT_STRUCT), mask=null_mask(self.valid)
        )


def _string_offsets(strings: pa.Array) -> np.ndarray:
    """The offsets of a (large) string or binary array, as int64."""
    large = pa.types.is_large_string(strings.type) or pa.types.is_large_binary(strings.type)
    dtype = np.int64 if large else np.int32
    offsets = np.frombuffer(strings.buffers()[1], dtype=dtype)
    return offsets[strings.offset:strings.offset + len(strings) + 1].astype(np.int64)


def _fixed_binary_bytes(column: pa.Array) -> np.ndarray:
    width = column.type.byte_width
    raw = np.frombuffer(column.buffers()[1], dtype=np.uint8)
    return raw[column.offset * width:(column.offset + len(column)) * width]


def _validity_buffer(valid: np.ndarray) -> pa.Buffer | None:
    return None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))


class BitCodec(Codec):
    """Codec of ``bit`` (``varying=False``) and ``varbit``."""

    def __init__(self, pgtype: registry.PgType, varying: bool) -> None:
        super().__init__(pgtype)
        self.varying = varying

    def _fixed(self, typmod: int) -> bool:
        return typmod > 0 and not self.varying

    def storage_type(self, typmod: int = -1) -> pa.DataType:
        return pa.binary((typmod + 7) // 8) if self._fixed(typmod) else VARBIT_STRUCT

    def duck_arrow_type(self) -> pa.DataType:
        return pa.struct([(registry.BIT_TAG, pa.string())])

    def to_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        return BitChars.from_storage(column, typmod).to_duck()

    def from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        return self._storage(BitChars.from_duck(column), typmod)

    def _storage(self, bits: BitChars, typmod: int) -> pa.Array:
        bits.check(typmod, self.varying)
        return bits.to_fixed_storage(typmod) if self._fixed(typmod) else bits.to_varying_storage()

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        column = as_array(column)
        strings = column.field(0).to_pylist()
        return [s.encode() if s is not None and ok else None for s, ok in zip(strings, validity(column))]

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        column = as_array(column)
        strings = column.field(0).to_pylist()
        return [bits_to_binary(s) if s is not None and ok else None for s, ok in zip(strings, validity(column))]

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> object:
        return {registry.BIT_TAG: parse_bit(text, typmod, self.varying)}

    def decode_binary(self, data: bytes, typmod: int = -1) -> object:
        return {registry.BIT_TAG: bits_from_binary(data, typmod, self.varying)}

    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        bit_strings = [None if v is None else parse_bit(v, typmod, self.varying) for v in values]
        return self._storage(BitChars.from_strings(bit_strings), typmod)

    def parse_binary_fixed(self, fields: np.ndarray, typmod: int = -1) -> pa.Array:
        """Binary COPY fields of one width; for bit(n) their bytes are the storage as they are."""
        width = (typmod + 7) // 8
        if not self._fixed(typmod) or fields.shape[1] != 4 + width:
            return super().parse_binary_fixed(fields, typmod)
        lengths = np.ascontiguousarray(fields[:, :4]).view(">i4").reshape(-1)
        if (lengths != typmod).any():
            bits_from_binary(fields[int(np.argmax(lengths != typmod))].tobytes(), typmod, self.varying)
        data = np.ascontiguousarray(fields[:, 4:])
        data[:, -1] &= (0xFF << (-typmod % 8)) & 0xFF  # trailing pad bits are zero, as bit_recv makes them
        return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(data), [None, pa.py_buffer(data)])

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        bit_strings = [None if v is None else bits_from_binary(v, typmod, self.varying) for v in values]
        return self._storage(BitChars.from_strings(bit_strings), typmod)


register(BitCodec(registry.TYPES["bit"], varying=False))
register(BitCodec(registry.TYPES["varbit"], varying=True))
