"""Codecs of the numeric types: int2/int4/int8, float4/float8, numeric, oid and reg* types.

Text output follows PostgreSQL 16: integers in decimal, floats as the shortest string
that reads back to the same value (``extra_float_digits`` > 0, the default since
PostgreSQL 12) with ``%e``-style exponents outside [1e-4, 1e15) (float8) or [1e-4, 1e6)
(float4), ``Infinity``/``-Infinity``/``NaN``; numeric never uses an exponent.
``float_text`` is the float formatter other codecs (vector, halfvec) share.
"""

from __future__ import annotations

import re
import struct
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pgvecdb.errors import (
    InvalidTextRepresentation,
    NumericValueOutOfRange,
)
from pgvecdb.types.codecs import (
    DEFAULT_OPTIONS,
    VARHDRSZ,
    Codec,
    FormatOptions,
    SameArrowTypeCodec,
    check_binary_length,
    fixed_width_values,
    is_text_type,
    packed_fixed_width,
    register,
    utf8_values,
)
from pgvecdb.types.registry import TYPES

# --- float text ------------------------------------------------------------------------

_SHORTEST = re.compile(r"(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?")
FLOAT4_DIGITS = 6  # FLT_DIG
FLOAT8_DIGITS = 15  # DBL_DIG


def _digits_and_exponent(shortest: str) -> tuple[str, str, int]:
    """Split '1.25e-7' / '0.00125' into (sign, significant digits, decimal exponent)."""
    match = _SHORTEST.fullmatch(shortest)
    if match is None:
        raise ValueError(shortest)
    sign, whole, frac, exp = match.groups()
    frac = frac or ""
    digits = (whole + frac).lstrip("0")
    if not digits:
        return sign, "0", 0
    leading_zeros = len(whole + frac) - len(digits)
    exponent = len(whole) - 1 - leading_zeros + int(exp or 0)
    return sign, digits.rstrip("0"), exponent


def positional(digits: str, exponent: int) -> str:
    """Digits d1d2... times 10**exponent (of d1) written without an exponent."""
    if exponent >= 0:
        if len(digits) <= exponent + 1:
            return digits + "0" * (exponent + 1 - len(digits))
        return digits[: exponent + 1] + "." + digits[exponent + 1:]
    return "0." + "0" * (-exponent - 1) + digits


def _pg_shortest(shortest: str, max_exponent: int) -> str:
    """Rewrite a shortest round-trip string in PostgreSQL's notation (float_to_shortest_decimal)."""
    sign, digits, exponent = _digits_and_exponent(shortest)
    if digits == "0" or -4 <= exponent < max_exponent:
        return sign + positional(digits, exponent)
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _special_float(value: float) -> str:
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def float_text(column: pa.Array, *, extra_float_digits: int = 1) -> pa.Array:
    """PostgreSQL's text output of a float32 or float64 array, as a string array.

    Arrow writes the shortest round-trip digits for the column's precision; only values
    where its notation differs from PostgreSQL's (exponent thresholds and width,
    infinities, NaN) are rewritten in Python.
    """
    single = column.type == pa.float32()
    if extra_float_digits <= 0:
        return _float_text_fixed_precision(column, single, extra_float_digits)
    max_exponent = FLOAT4_DIGITS if single else FLOAT8_DIGITS
    shortest = column.cast(pa.string())
    values = column.fill_null(0).to_numpy(zero_copy_only=False)
    magnitude = np.abs(values.astype(np.float64))
    with np.errstate(invalid="ignore"):
        differs = ((magnitude > 0) & (magnitude < 1.01e-4)) | (magnitude >= 0.99 * 10.0 ** min(max_exponent, 10))
        differs &= magnitude < 1.01e15
        differs |= ~np.isfinite(magnitude)
    if not differs.any():
        return shortest
    positions = np.flatnonzero(differs)
    texts = shortest.take(pa.array(positions)).to_pylist()
    fixed = [
        _special_float(float(values[i])) if not np.isfinite(values[i]) else _pg_shortest(text, max_exponent)
        for i, text in zip(positions, texts)
    ]
    mask = np.zeros(len(column), dtype=bool)
    mask[positions] = True
    if column.null_count:
        mask &= column.is_valid().to_numpy(zero_copy_only=False)
        fixed = [f for f, i in zip(fixed, positions) if mask[i]]
    return pc.replace_with_mask(shortest, pa.array(mask), pa.array(fixed, pa.string()))


# Between these magnitudes (and at zero) the shortest round-trip digits are written in
# plain notation by PostgreSQL, Arrow and Python's repr alike (see float_text).
_PLAIN_FLOAT8 = (1.01e-4, 0.99e10)


def _few_float8_texts(values: list[float | None]) -> list[bytes | None] | None:
    """float_text of a few float8 values through Python's repr (the same shortest digits,
    without Arrow's fixed cost); None when a value needs PostgreSQL's exponent notation or
    is not finite."""
    low, high = _PLAIN_FLOAT8
    texts: list[bytes | None] = []
    for value in values:
        if value is None:
            texts.append(None)
            continue
        magnitude = abs(value)
        if not (magnitude == 0 or low <= magnitude < high):  # NaN fails both
            return None
        text = repr(value)
        texts.append((text[:-2] if text.endswith(".0") else text).encode())
    return texts


def _float_text_fixed_precision(column: pa.Array, single: bool, extra_float_digits: int) -> pa.Array:
    """The '%.*g' output PostgreSQL uses when extra_float_digits <= 0."""
    precision = max(1, (FLOAT4_DIGITS if single else FLOAT8_DIGITS) + extra_float_digits)
    return pa.array(
        [
            None if v is None else (f"{v:.{precision}g}" if np.isfinite(v) else _special_float(v))
            for v in column.to_pylist()
        ],
        pa.string(),
    )


def numeric_text_of_floats(column: pa.Array) -> pa.Array:
    """PostgreSQL numeric output of float-held numerics: shortest digits, never an exponent."""
    shortest = column.cast(pa.string())
    values = column.fill_null(0).to_numpy(zero_copy_only=False)
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        differs = ((magnitude > 0) & (magnitude < 1.01e-6)) | (magnitude >= 0.99e10) | ~np.isfinite(magnitude)
    if column.null_count:
        differs &= column.is_valid().to_numpy(zero_copy_only=False)
    if not differs.any():
        return shortest
    positions = np.flatnonzero(differs)
    texts = shortest.take(pa.array(positions)).to_pylist()
    fixed = [
        _special_float(float(values[i])) if not np.isfinite(values[i]) else _shortest_positional(text)
        for i, text in zip(positions, texts)
    ]
    return pc.replace_with_mask(shortest, pa.array(differs), pa.array(fixed, pa.string()))


def _shortest_positional(shortest: str) -> str:
    sign, digits, exponent = _digits_and_exponent(shortest)
    return sign + positional(digits, exponent)


# --- text input --------------------------------------------------------------------------

_INTEGER = re.compile(
    r"\s*([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[0-9](?:_?[0-9])*)\s*"
)
_FLOAT = re.compile(
    r"\s*[+-]?(?:(?:[0-9]+(?:_[0-9]+)*\.?(?:[0-9]+(?:_[0-9]+)*)?|\.[0-9]+(?:_[0-9]+)*)(?:[eE][+-]?[0-9]+)?"
    r"|(?:inf|infinity|nan))\s*",
    re.IGNORECASE,
)


def parse_integer_text(text: str, type_name: str) -> int:
    """An integer literal as PostgreSQL 16 reads it (underscores, 0x/0o/0b prefixes)."""
    match = _INTEGER.fullmatch(text)
    if match is None:
        raise InvalidTextRepresentation(f'invalid input syntax for type {type_name}: "{text}"')
    sign, body = match.groups()
    base = {"x": 16, "o": 8, "b": 2}.get(body[1:2].lower(), 10) if body[:1] == "0" and len(body) > 1 else 10
    digits = body[2:] if base != 10 else body
    value = int(digits.replace("_", ""), base)
    return -value if sign == "-" else value


def parse_float_text(text: str, type_name: str) -> float:
    """A float literal as PostgreSQL reads it ('1e5', ' .5 ', 'Infinity', 'NaN')."""
    if _FLOAT.fullmatch(text) is None:
        raise InvalidTextRepresentation(f'invalid input syntax for type {type_name}: "{text}"')
    stripped = text.strip().replace("_", "")
    value = float(stripped)
    literal_zero = not any(c in "123456789" for c in stripped.lower().split("e")[0])
    if np.isinf(value) and "inf" not in stripped.lower() or value == 0.0 and not literal_zero:
        raise NumericValueOutOfRange(f'"{text.strip()}" is out of range for type {type_name}')
    return value


def _out_of_range(type_name: str) -> NumericValueOutOfRange:
    return NumericValueOutOfRange(f"{type_name} out of range")


# --- integers -----------------------------------------------------------------------------


class FixedWidthNumberCodec(SameArrowTypeCodec):
    """A number held as one Arrow numeric type and sent as a big-endian binary value of one width."""

    def __init__(self, type_name: str, arrow_type: pa.DataType, wire_dtype: str, type_label: str) -> None:
        super().__init__(TYPES[type_name], arrow_type)
        self.big_endian = np.dtype(wire_dtype)
        self.width = self.big_endian.itemsize
        self.label = type_label  # as PostgreSQL's messages name the type

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        values = column.cast(self.arrow_type).fill_null(0).to_numpy(zero_copy_only=False)
        return fixed_width_values(column, values.astype(self.big_endian))

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        matrix, nulls = packed_fixed_width(values, self.width)
        return pa.array(matrix.view(self.big_endian).ravel().astype(self.arrow_type.to_pandas_dtype()),
                        self.arrow_type, mask=nulls)

    def parse_binary_fixed(self, fields: np.ndarray, typmod: int = -1) -> pa.Array:
        if fields.shape[1] != self.width:
            check_binary_length(bytes(fields.shape[1]), self.width)
        data = np.ascontiguousarray(fields).view(self.big_endian).ravel()
        return pa.array(data.astype(self.arrow_type.to_pandas_dtype()), self.arrow_type)


FEW_ROWS = 64


class IntegerCodec(FixedWidthNumberCodec):
    """int2, int4, int8: Arrow integers of the same width everywhere."""

    def __init__(self, type_name: str, arrow_type: pa.DataType, type_label: str, wire_dtype: str | None = None) -> None:
        width = arrow_type.bit_width // 8
        super().__init__(type_name, arrow_type, wire_dtype or f">i{width}", type_label)
        info = np.iinfo(np.dtype(f"i{width}"))
        self.min, self.max = int(info.min), int(info.max)

    def cast_from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        if column.type == self.arrow_type:
            return column
        if pa.types.is_floating(column.type):
            column = pc.round(column, round_mode="half_to_even")
            if not np.isfinite(column.fill_null(0).to_numpy(zero_copy_only=False)).all():
                raise _out_of_range(self.label)
        elif pa.types.is_decimal(column.type):
            column = pc.round(column, round_mode="half_towards_infinity")
        try:
            return column.cast(self.arrow_type)
        except (pa.ArrowInvalid, OverflowError):
            raise _out_of_range(self.label) from None

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        if len(column) <= FEW_ROWS:  # a handful of rows: cheaper in Python than one Arrow cast
            return [None if v is None else str(v).encode() for v in column.to_pylist()]
        return utf8_values(column.cast(pa.string()))

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> int:
        value = parse_integer_text(text, self.label)
        if not self.min <= value <= self.max:
            raise NumericValueOutOfRange(f'value "{text}" is out of range for type {self.label}')
        return value

    def decode_binary(self, data: bytes, typmod: int = -1) -> int:
        check_binary_length(data, self.width)
        return int.from_bytes(data, "big", signed=self.big_endian.kind == "i")

    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        try:
            return pa.array(values, pa.string()).cast(self.arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.array([None if v is None else self.decode_text(v) for v in values], self.arrow_type)


class OidCodec(IntegerCodec):
    """oid, xid, cid and the reg* types: unsigned 32-bit numbers, held as BIGINT in DuckDB.

    On the wire they are unsigned 4-byte values (a negative BIGINT is sent modulo 2**32).
    The reg* types print as numbers here; resolving them to names is the catalog's work.
    """

    def __init__(self, type_name: str) -> None:
        super().__init__(type_name, pa.int64(), type_name, wire_dtype=">u4")
        self.min, self.max = -(2**31), 2**32 - 1

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> int:
        return super().decode_text(text, typmod) & 0xFFFFFFFF

    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        return pa.array([None if v is None else self.decode_text(v) for v in values], pa.int64())


# --- floats -------------------------------------------------------------------------------


class FloatCodec(FixedWidthNumberCodec):
    """float4 and float8 (IEEE 754, big-endian on the wire)."""

    def __init__(self, type_name: str, arrow_type: pa.DataType, type_label: str) -> None:
        super().__init__(type_name, arrow_type, f">f{arrow_type.bit_width // 8}", type_label)

    def cast_from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        if column.type == self.arrow_type:
            return column
        wide = column.cast(pa.float64())
        if self.width == 4:
            self._check_float4_range(wide.fill_null(0).to_numpy(zero_copy_only=False))
        return wide.cast(self.arrow_type)

    @staticmethod
    def _check_float4_range(values: np.ndarray) -> None:
        with np.errstate(over="ignore", invalid="ignore"):
            narrowed = values.astype(np.float32)
        if (np.isinf(narrowed) & np.isfinite(values)).any():
            raise NumericValueOutOfRange("value out of range: overflow")
        if ((narrowed == 0) & (values != 0)).any():
            raise NumericValueOutOfRange("value out of range: underflow")

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        if self.width == 8 and len(column) <= FEW_ROWS and options.extra_float_digits > 0:
            found = _few_float8_texts(column.cast(pa.float64()).to_pylist())
            if found is not None:
                return found
        return utf8_values(float_text(column.cast(self.arrow_type), extra_float_digits=options.extra_float_digits))

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> float:
        value = parse_float_text(text, self.label)
        if self.width == 4 and np.isfinite(value):
            with np.errstate(over="ignore"):
                narrowed = np.float32(value)
            if np.isinf(narrowed) or (narrowed == 0 and value != 0):
                raise NumericValueOutOfRange(f'"{text.strip()}" is out of range for type {self.label}')
            return float(narrowed)
        return value

    def decode_binary(self, data: bytes, typmod: int = -1) -> float:
        check_binary_length(data, self.width)
        return struct.unpack(">f" if self.width == 4 else ">d", data)[0]

    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        return pa.array([None if v is None else self.decode_text(v) for v in values], self.arrow_type)


# --- numeric --------------------------------------------------------------------------------

NUMERIC_POS = 0x0000
NUMERIC_NEG = 0x4000
NUMERIC_NAN = 0xC000
NUMERIC_PINF = 0xD000
NUMERIC_NINF = 0xF000
NBASE_DIGITS = 4
DUCK_MAX_DECIMAL_PRECISION = 38


def numeric_precision_scale(typmod: int) -> tuple[int, int] | None:
    """(precision, scale) of a numeric typmod, None for unconstrained numeric."""
    if typmod < VARHDRSZ:
        return None
    value = typmod - VARHDRSZ
    scale = value & 0x7FF
    if scale & 0x400:  # negative scales (PostgreSQL 15+) are stored in 11 bits
        scale -= 0x800
    return value >> 16, scale


def numeric_send(value: Decimal) -> bytes:
    """PostgreSQL's binary numeric: ndigits, weight, sign, dscale, base-10000 digits."""
    if value.is_nan():
        return struct.pack(">hhHh", 0, 0, NUMERIC_NAN, 0)
    if value.is_infinite():
        return struct.pack(">hhHh", 0, 0, NUMERIC_NINF if value < 0 else NUMERIC_PINF, 0)
    sign, digit_tuple, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    dscale = max(0, -exponent)
    digits = "".join(map(str, digit_tuple))
    if exponent > 0:
        digits += "0" * exponent
    integer_length = len(digits) - dscale
    if integer_length < 0:
        digits = "0" * -integer_length + digits
        integer_length = 0
    pad_left = -integer_length % NBASE_DIGITS
    digits = "0" * pad_left + digits + "0" * (-len(digits[integer_length:]) % NBASE_DIGITS)
    groups = [int(digits[i: i + NBASE_DIGITS]) for i in range(0, len(digits), NBASE_DIGITS)]
    weight = (integer_length + pad_left) // NBASE_DIGITS - 1
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    header = struct.pack(">hhHh", len(groups), weight, NUMERIC_NEG if sign else NUMERIC_POS, dscale)
    return header + struct.pack(f">{len(groups)}H", *groups)


def numeric_recv(data: bytes) -> Decimal:
    """The value of a binary numeric."""
    check_binary_length(data[:8], 8)
    ndigits, weight, sign, dscale = struct.unpack(">hhHh", data[:8])
    check_binary_length(data, 8 + 2 * ndigits)
    if sign == NUMERIC_NAN:
        return Decimal("NaN")
    if sign in (NUMERIC_PINF, NUMERIC_NINF):
        return Decimal("-Infinity" if sign == NUMERIC_NINF else "Infinity")
    groups = struct.unpack(f">{ndigits}H", data[8:])
    digits = "".join(f"{g:04d}" for g in groups) or "0"
    with localcontext() as ctx:
        ctx.prec = len(digits) + max(dscale, 0) + 8
        value = Decimal(int(digits)).scaleb(NBASE_DIGITS * (weight - ndigits + 1))
        value = value.quantize(Decimal(1).scaleb(-dscale))
    return -value if sign == NUMERIC_NEG else value


_NUMERIC_SPECIALS = {"nan": "NaN", "infinity": "Infinity", "+infinity": "Infinity", "-infinity": "-Infinity",
                     "inf": "Infinity", "+inf": "Infinity", "-inf": "-Infinity"}


def parse_numeric_text(text: str) -> Decimal:
    """numeric_in: decimal digits with optional exponent and underscores, NaN and infinities."""
    stripped = text.strip()
    special = _NUMERIC_SPECIALS.get(stripped.lower())
    if special is not None:
        return Decimal(special)
    if _FLOAT.fullmatch(text) is None:
        raise InvalidTextRepresentation(f'invalid input syntax for type numeric: "{text}"')
    try:
        return Decimal(stripped.replace("_", ""))
    except InvalidOperation:
        raise InvalidTextRepresentation(f'invalid input syntax for type numeric: "{text}"') from None


class NumericCodec(Codec):
    """numeric: DOUBLE in DuckDB when unconstrained, DECIMAL(p,s) for numeric(p,s) with p <= 38."""

    def __init__(self) -> None:
        super().__init__(TYPES["numeric"])

    def storage_type(self, typmod: int = -1) -> pa.DataType:
        constraint = numeric_precision_scale(typmod)
        if constraint is None or not 0 <= constraint[1] <= constraint[0] <= DUCK_MAX_DECIMAL_PRECISION:
            return pa.float64()
        return pa.decimal128(*constraint)

    def duck_arrow_type(self) -> pa.DataType:
        return pa.float64()

    def from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        target = self.storage_type(typmod)
        constraint = numeric_precision_scale(typmod)
        if column.type == target and constraint is None:
            return column
        if is_text_type(column.type):
            values = [None if v is None else parse_numeric_text(v) for v in column.to_pylist()]
        elif constraint is None:
            return column.cast(pa.float64())
        else:
            values = [None if v is None else Decimal(repr(v)) if isinstance(v, float) else Decimal(v)
                      for v in column.to_pylist()]
        if constraint is not None:
            values = [None if v is None else _apply_typmod(v, *constraint) for v in values]
        if pa.types.is_floating(target):
            return pa.array([None if v is None else float(v) for v in values], target)
        return pa.array(values, target)

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        if pa.types.is_floating(column.type):
            return utf8_values(numeric_text_of_floats(column.cast(pa.float64())))
        return utf8_values(column.cast(pa.string()))

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        if pa.types.is_floating(column.type):
            texts = numeric_text_of_floats(column.cast(pa.float64())).to_pylist()
        else:
            texts = column.cast(pa.string()).to_pylist()
        return [None if t is None else numeric_send(_decimal_of_text(t)) for t in texts]

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> object:
        value = parse_numeric_text(text)
        return _duck_parameter(value)

    def decode_binary(self, data: bytes, typmod: int = -1) -> object:
        return _duck_parameter(numeric_recv(data))

    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        return self.from_duck(pa.array(values, pa.string()), typmod)

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        decimals = [None if v is None else numeric_recv(v) for v in values]
        return self.from_duck(pa.array([None if d is None else str(d) for d in decimals], pa.string()), typmod)


def _decimal_of_text(text: str) -> Decimal:
    return Decimal({"Infinity": "Infinity", "-Infinity": "-Infinity", "NaN": "NaN"}.get(text, text))


def _duck_parameter(value: Decimal) -> object:
    """Decimals DuckDB cannot bind (NaN, infinities) travel as floats."""
    return float(value) if not value.is_finite() else value


def _apply_typmod(value: Decimal, precision: int, scale: int) -> Decimal:
    """Round to the scale and check the precision, as numeric's typmod coercion does."""
    if not value.is_finite():
        if value.is_nan():
            return value
        raise NumericValueOutOfRange(
            "numeric field overflow",
            detail=f"A field with precision {precision}, scale {scale} cannot hold an infinite value.",
        )
    with localcontext() as ctx:
        ctx.prec = max(precision, len(value.as_tuple().digits)) + abs(scale) + 8
        rounded = value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
        if rounded != 0 and rounded.adjusted() >= precision - scale:
            raise NumericValueOutOfRange(
                "numeric field overflow",
                detail=(
                    f"A field with precision {precision}, scale {scale} must round to an absolute "
                    f"value less than {'1' if precision == scale else f'10^{precision - scale}'}."
                ),
            )
    return rounded


for _name, _arrow, _label in (("int2", pa.int16(), "smallint"), ("int4", pa.int32(), "integer"),
                              ("int8", pa.int64(), "bigint")):
    register(IntegerCodec(_name, _arrow, _label))
register(FloatCodec("float4", pa.float32(), "real"))
register(FloatCodec("float8", pa.float64(), "double precision"))
register(NumericCodec())
for _name in ("oid", "xid", "cid", "regproc", "regprocedure", "regoper", "regclass", "regtype",
              "regnamespace", "regrole"):
    register(OidCodec(_name))
