"""pgvector's ``vector`` type, and what its dense and sparse siblings share with it.

Shared here (``halfvec`` and ``sparsevec`` import it):

* float4 text I/O exactly as pgvector does it: ``strtof`` parsing (correctly rounded, with
  its range errors) and PostgreSQL's shortest-decimal output (``float_to_shortest_decimal``);
* pgvector's value checks and their messages (dimensions, NaN/infinity, typmods);
* numpy views of Arrow float lists (``FloatLists``), used by the codecs and by the DuckDB
  functions in ``exec/functions``;
* ``DenseVectorCodec``, the codec of ``vector`` and ``halfvec``.

Representations of ``vector``: storage ``fixed_size_list<float32>[n]`` for ``vector(n)`` and
``list<float32>`` without a typmod; DuckDB ``STRUCT(__vector FLOAT[])``; wire text
``[1,2,3]``; wire binary int16 dim, int16 unused (0), dim float32 big-endian.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Sequence

import numpy as np
import pyarrow as pa

from pgvecdb.errors import (
    DataException,
    InvalidBinaryRepresentation,
    InvalidTextRepresentation,
    NumericValueOutOfRange,
    PgError,
    ProgramLimitExceeded,
)
from pgvecdb.types import registry
from pgvecdb.types.codecs import DEFAULT_OPTIONS, Codec, FormatOptions, register
from pgvecdb.types.numeric import float_text

VECTOR_MAX_DIM = 16000

# --------------------------------------------------------------------------------------
# pgvector's checks and messages
# --------------------------------------------------------------------------------------


def invalid_syntax(type_name: str, literal: str, detail: str | None = None) -> PgError:
    return InvalidTextRepresentation(
        f'invalid input syntax for type {type_name}: "{literal}"', detail=detail
    )


def check_dim(dim: int, type_name: str = "vector", max_dim: int = VECTOR_MAX_DIM) -> None:
    """pgvector's CheckDim: at least 1 and at most ``max_dim`` dimensions."""
    if dim < 1:
        raise DataException(f"{type_name} must have at least 1 dimension")
    if dim > max_dim:
        raise ProgramLimitExceeded(f"{type_name} cannot have more than {max_dim} dimensions")


def check_expected_dim(typmod: int, dim: int) -> None:
    """pgvector's CheckExpectedDim: a value of ``dim`` dimensions for a type with ``typmod``."""
    if typmod != -1 and typmod != dim:
        raise DataException(f"expected {typmod} dimensions, not {dim}")


def check_same_dims(a: int, b: int, type_name: str = "vector") -> None:
    if a != b:
        raise DataException(f"different {type_name} dimensions {a} and {b}")


def check_finite(values: np.ndarray, type_name: str = "vector") -> None:
    """pgvector's CheckElement over many values: no NaN, no infinity."""
    finite = np.isfinite(values)
    if not finite.all():
        if np.isnan(values[np.argmin(finite)]):
            raise DataException(f"NaN not allowed in {type_name}")
        raise DataException(f"infinite value not allowed in {type_name}")


def overflow_error() -> PgError:
    return NumericValueOutOfRange("value out of range: overflow")


def underflow_error() -> PgError:
    return NumericValueOutOfRange("value out of range: underflow")


# --------------------------------------------------------------------------------------
# float4 text input: C's strtof
# --------------------------------------------------------------------------------------

# What strtof accepts as a number, longest match first (hex floats, decimals, inf, nan).
FLOAT_TOKEN = re.compile(
    r"""[+-]?(?:
        0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?
      | (?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?
      | [iI][nN][fF](?:[iI][nN][iI][tT][yY])?
      | [nN][aA][nN](?:\([0-9A-Za-z_]*\))?
    )""",
    re.X,
)
_NONZERO_DIGIT = re.compile(r"[1-9a-fA-F]")
_SPACE = " \t\n\r\v\f"


@dataclass(frozen=True)
class Float4Token:
    """A number as strtof read it: its float4 value and whether strtof set ERANGE."""

    value: np.float32
    overflow: bool  # ERANGE with an infinite result
    underflow: bool  # ERANGE with a zero result


def read_float4(text: str, pos: int) -> tuple[Float4Token, int] | None:
    """strtof at ``text[pos:]``: the token and where it ends, or None when there is no number."""
    match = FLOAT_TOKEN.match(text, pos)
    if match is None:
        return None
    return float4_from_token(match.group()), match.end()


def float4_from_token(token: str) -> Float4Token:
    body = token.lstrip("+-")
    head = body[:1].lower()
    if head in ("i", "n"):
        value = float("nan") if head == "n" else float("inf")
        return Float4Token(np.float32(-value if token.startswith("-") else value), False, False)
    hexadecimal = body[:2].lower() == "0x"
    double = float.fromhex(token) if hexadecimal else float(token)
    single = _round_to_float4(double, None if hexadecimal else token)
    mantissa = re.split("[pP]" if hexadecimal else "[eE]", body)[0]
    significant = _NONZERO_DIGIT.search(mantissa[2:] if hexadecimal else mantissa) is not None
    return Float4Token(
        single,
        overflow=bool(np.isinf(single)),
        underflow=bool(single == 0 and significant),
    )


def _round_to_float4(double: float, decimal_text: str | None) -> np.float32:
    """Round to float4 as strtof does, correcting the rare double-rounding error.

    Rounding the decimal to a double and then to a float is only wrong when the double
    lands exactly on the midpoint of two floats; then the exact decimal decides.
    """
    with np.errstate(over="ignore"):
        single = np.float32(double)
    if decimal_text is None or not np.isfinite(double) or float(single) == double:
        return single
    toward = np.float32(np.inf if double > float(single) else -np.inf)
    neighbour = np.nextafter(single, toward)
    if not np.isfinite(neighbour):
        return single
    midpoint = (float(single) + float(neighbour)) / 2
    if double != midpoint:
        return single
    exact = Decimal(decimal_text)
    if exact == Decimal(midpoint):
        return single
    above = exact > Decimal(midpoint)
    return neighbour if above == (float(neighbour) > float(single)) else single


def float4_values_from_doubles(doubles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Doubles parsed from decimals -> float4, and a mask of values whose double sat
    exactly on a float4 midpoint (these need the exact decimal: see ``_round_to_float4``)."""
    with np.errstate(over="ignore", invalid="ignore"):
        singles = doubles.astype(np.float32)
        inexact = singles.astype(np.float64) != doubles
        ambiguous = np.zeros(doubles.shape, dtype=bool)
        if inexact.any():
            where = np.nonzero(inexact & np.isfinite(singles))[0]
            toward = np.where(doubles[where] > singles[where], np.float32(np.inf), np.float32(-np.inf))
            neighbours = np.nextafter(singles[where], toward.astype(np.float32))
            midpoints = (singles[where].astype(np.float64) + neighbours.astype(np.float64)) / 2
            ambiguous[where] = midpoints == doubles[where]
    return singles, ambiguous


# --------------------------------------------------------------------------------------
# float4 text output: PostgreSQL's float_to_shortest_decimal
# --------------------------------------------------------------------------------------

def float4_texts(values: np.ndarray) -> list[str]:
    """PostgreSQL's shortest round-trip text of each float4 (float_to_shortest_decimal, as
    vector_out writes elements), through Arrow's vectorised shortest formatting: numpy's
    Dragon4 costs about 0.5 us a value."""
    return float_text(pa.array(np.asarray(values, dtype=np.float32), pa.float32()), extra_float_digits=1).to_pylist()


def format_float4(value: float) -> str:
    """One float4 as PostgreSQL prints it."""
    return float4_texts(np.array([value], dtype=np.float32))[0]


# --------------------------------------------------------------------------------------
# dense vector text: '[1,2,3]'
# --------------------------------------------------------------------------------------


def parse_dense(literal: str, type_name: str = "vector", max_dim: int = VECTOR_MAX_DIM) -> np.ndarray:
    """pgvector's vector_in / halfvec_in up to the element values (float4, unchecked range
    of the target type): syntax, dimension count, NaN/infinity and strtof range errors."""
    return parse_dense_column([literal], type_name, max_dim)[1]


def _parse_dense_exactly(literal: str, type_name: str, max_dim: int) -> np.ndarray:
    """``parse_dense`` one token at a time, as vector_in reads: slow, but it meets every
    error where pgvector does."""
    pos = _skip_space(literal, 0)
    if not literal.startswith("[", pos):
        raise invalid_syntax(type_name, literal, 'Vector contents must start with "[".')
    pos = _skip_space(literal, pos + 1)
    if literal.startswith("]", pos):
        raise DataException(f"{type_name} must have at least 1 dimension")
    values: list[np.float32] = []
    while True:
        if len(values) == max_dim:
            raise ProgramLimitExceeded(f"{type_name} cannot have more than {max_dim} dimensions")
        pos = _skip_space(literal, pos)
        read = read_float4(literal, pos) if pos < len(literal) else None
        if read is None:
            raise invalid_syntax(type_name, literal)
        token, end = read
        if token.overflow:
            raise NumericValueOutOfRange(f'"{literal[pos:end]}" is out of range for type {type_name}')
        check_finite(np.array([token.value]), type_name)
        values.append(token.value)
        pos = _skip_space(literal, end)
        if literal.startswith(",", pos):
            pos += 1
        elif literal.startswith("]", pos):
            pos += 1
            break
        else:
            raise invalid_syntax(type_name, literal)
    if _skip_space(literal, pos) != len(literal):
        raise invalid_syntax(type_name, literal, "Junk after closing right brace.")
    return np.array(values, dtype=np.float32)


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SPACE:
        pos += 1
    return pos


# One dense literal in the plain decimal form (what clients send), for the fast path.
_DECIMAL = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_PLAIN_DENSE = re.compile(rf"[{_SPACE}]*\[[{_SPACE}]*{_DECIMAL}(?:[{_SPACE}]*,[{_SPACE}]*{_DECIMAL})*[{_SPACE}]*\][{_SPACE}]*")


def parse_dense_column(
    literals: Sequence[str], type_name: str = "vector", max_dim: int = VECTOR_MAX_DIM
) -> tuple[np.ndarray, np.ndarray]:
    """Many dense literals at once: (offsets int64, float4 values), as vector_in reads them.

    Plain decimal literals are parsed in one numpy pass; anything else, and any value that
    needs a closer look (range, rounding), is read token by token for its exact error.
    """
    plain = [_PLAIN_DENSE.fullmatch(text) is not None for text in literals]
    counts = np.array([text.count(",") + 1 for text in literals], dtype=np.int64)
    offsets = offsets_from_lengths(counts)
    if not all(plain) or (len(literals) and counts.max() > max_dim):
        return _parse_dense_rows(literals, type_name, max_dim)
    joined = ",".join(text.strip(_SPACE)[1:-1] for text in literals)
    doubles = np.fromstring(joined, dtype=np.float64, sep=",") if literals else np.zeros(0)
    if doubles.size != offsets[-1]:
        return _parse_dense_rows(literals, type_name, max_dim)
    singles, ambiguous = float4_values_from_doubles(doubles)
    if ambiguous.any() or not np.isfinite(singles).all():
        return _parse_dense_rows(literals, type_name, max_dim)
    return offsets, singles


def _parse_dense_rows(literals: Sequence[str], type_name: str, max_dim: int) -> tuple[np.ndarray, np.ndarray]:
    rows = [_parse_dense_exactly(text, type_name, max_dim) for text in literals]
    offsets = offsets_from_lengths([len(r) for r in rows])
    values = np.concatenate(rows) if rows else np.zeros(0, dtype=np.float32)
    return offsets, values


def format_dense(values: np.ndarray) -> str:
    return "[" + ",".join(float4_texts(values)) + "]"


def parse_vector(text: str, typmod: int = -1) -> np.ndarray:
    """A vector literal -> float32 array, with pgvector's errors (vector_in)."""
    values = parse_dense(text, "vector")
    check_expected_dim(typmod, len(values))
    return values


def format_vector(values: np.ndarray) -> str:
    """A vector as vector_out prints it: '[1,2.5,1e+20]'."""
    return format_dense(values)


# --------------------------------------------------------------------------------------
# Arrow float lists as numpy
# --------------------------------------------------------------------------------------


@dataclass
class FloatLists:
    """A column of float lists as numpy: row ``i`` is ``values[offsets[i]:offsets[i+1]]``.

    ``valid`` marks non-null rows; null rows have no values.
    """

    offsets: np.ndarray  # int64, len(rows) + 1
    values: np.ndarray  # float32 (or float16 for halfvec storage)
    valid: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.valid)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def row(self, i: int) -> np.ndarray:
        return self.values[self.offsets[i]:self.offsets[i + 1]]

    def common_length(self) -> int | None:
        """The length of every valid row when they all have the same one."""
        lengths = self.lengths[self.valid]
        if lengths.size == 0 or (lengths != lengths[0]).any():
            return None
        return int(lengths[0])

    def matrix(self, width: int) -> np.ndarray:
        """The rows as a (rows, width) matrix, null rows as zeros; every valid row must
        have ``width`` values."""
        if self.valid.all() and self.offsets[0] == 0 and self.offsets[-1] == self.values.size:
            return self.values.reshape(len(self), width)
        out = np.zeros((len(self), width), dtype=self.values.dtype)
        rows = np.nonzero(self.valid)[0]
        if rows.size:
            starts = self.offsets[rows]
            out[rows] = self.values[starts[:, None] + np.arange(width)]
        return out

    def compacted(self) -> "FloatLists":
        """The same rows with offsets from 0 and no values outside the rows."""
        lengths = np.where(self.valid, self.lengths, 0)
        offsets = offsets_from_lengths(lengths)
        if offsets[-1] == self.values.size and (self.offsets == offsets).all():
            return self
        index = concatenated_ranges(self.offsets[:-1], lengths)
        return FloatLists(offsets, self.values[index], self.valid)


def offsets_from_lengths(lengths: np.ndarray | list[int]) -> np.ndarray:
    """Row lengths -> int64 offsets (one more than rows, starting at 0)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def concatenated_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, start + length)`` for every pair, without a Python loop."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    row_starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts, lengths) + (np.arange(total) - row_starts)


def as_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def validity(column: pa.Array) -> np.ndarray:
    if column.null_count == 0:
        return np.ones(len(column), dtype=bool)
    return column.is_valid().to_numpy(zero_copy_only=False)


def null_mask(valid: np.ndarray) -> pa.Array | None:
    """The ``mask`` argument of Arrow's from_arrays for rows that are not ``valid``."""
    return None if valid.all() else pa.array(~valid)


def float_lists(column: pa.Array | pa.ChunkedArray) -> FloatLists:
    """A list / large_list / fixed_size_list Arrow column of floats as numpy."""
    column = as_array(column)
    valid = validity(column)
    if pa.types.is_fixed_size_list(column.type):
        width = column.type.list_size
        start = column.offset * width
        values = column.values.slice(start, len(column) * width)
        offsets = np.arange(len(column) + 1, dtype=np.int64) * width
        lists = FloatLists(offsets, _numpy_values(values), valid)
        return lists if valid.all() else _drop_null_values(lists)
    offsets = column.offsets.to_numpy().astype(np.int64)
    start, end = (int(offsets[0]), int(offsets[-1])) if len(offsets) else (0, 0)
    values = _numpy_values(column.values.slice(start, end - start))
    return FloatLists(offsets - start, values, valid)


def _drop_null_values(lists: FloatLists) -> FloatLists:
    lengths = np.where(lists.valid, lists.lengths, 0)
    offsets = offsets_from_lengths(lengths)
    return FloatLists(offsets, lists.values[concatenated_ranges(lists.offsets[:-1], lengths)], lists.valid)


def _numpy_values(values: pa.Array) -> np.ndarray:
    if values.null_count:
        values = values.fill_null(0)
    return values.to_numpy(zero_copy_only=False)


def list_array(lists: FloatLists, value_type: pa.DataType = pa.float32()) -> pa.Array:
    """A ``list<value_type>`` Arrow array of the rows (nulls where not valid)."""
    lists = lists.compacted()
    offsets = pa.array(lists.offsets.astype(np.int32))
    values = pa.array(lists.values, type=value_type)
    return pa.ListArray.from_arrays(offsets, values, mask=null_mask(lists.valid))


def fixed_size_list_array(lists: FloatLists, width: int, value_type: pa.DataType) -> pa.Array:
    """A ``fixed_size_list<value_type>[width]`` array; every valid row has ``width`` values."""
    matrix = lists.matrix(width)
    values = pa.array(matrix.reshape(-1), type=value_type)
    return pa.FixedSizeListArray.from_arrays(values, width, mask=null_mask(lists.valid))


def tagged_struct(tag: str, child: pa.Array, valid: np.ndarray) -> pa.StructArray:
    """The DuckDB representation: ``STRUCT(<tag> ...)`` around ``child``."""
    return pa.StructArray.from_arrays([child], names=[tag], mask=null_mask(valid))


def untagged(column: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """The child of a tagged struct column and the struct's validity."""
    column = as_array(column)
    return column.field(0), validity(column)


# --------------------------------------------------------------------------------------
# the codec of vector and halfvec
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DenseKind:
    """What differs between ``vector`` and ``halfvec``."""

    name: str
    tag: str  # the struct field that tags the type in DuckDB
    storage_value_type: pa.DataType
    wire_dtype: str  # binary element format: '>f4' or '>f2'
    # float4 values -> the type's element values (as float32), raising the type's errors
    coerce: Callable[[np.ndarray], np.ndarray]
    max_dim: int = VECTOR_MAX_DIM

    def parse(self, text: str, typmod: int = -1) -> np.ndarray:
        values = self.coerce(parse_dense(text, self.name, self.max_dim))
        check_expected_dim(typmod, len(values))
        return values


def _as_float4(values: np.ndarray) -> np.ndarray:
    return values


VECTOR = DenseKind("vector", registry.VECTOR_TAG, pa.float32(), ">f4", _as_float4)

_HEADER = struct.Struct(">hh")


class DenseVectorCodec(Codec):
    """Codec of a pgvector dense type (``vector``, ``halfvec``), column at a time."""

    def __init__(self, pgtype: registry.PgType, kind: DenseKind) -> None:
        super().__init__(pgtype)
        self.kind = kind

    # storage <-> DuckDB
    def storage_type(self, typmod: int = -1) -> pa.DataType:
        if typmod > 0:
            return pa.list_(self.kind.storage_value_type, typmod)
        return pa.list_(self.kind.storage_value_type)

    def duck_arrow_type(self) -> pa.DataType:
        return pa.struct([(self.kind.tag, pa.list_(pa.float32()))])

    def to_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        lists = float_lists(column)
        if lists.values.dtype != np.float32:
            lists = FloatLists(lists.offsets, lists.values.astype(np.float32), lists.valid)
        return tagged_struct(self.kind.tag, list_array(lists), lists.valid)

    def from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        child, valid = untagged(column)
        lists = float_lists(child)
        lists = FloatLists(lists.offsets, lists.values, lists.valid & valid)
        return self.storage_from_lists(lists, typmod)

    def storage_from_lists(self, lists: FloatLists, typmod: int) -> pa.Array:
        """Check float4 rows against the type and typmod, and build the storage column."""
        lengths = lists.lengths[lists.valid]
        if lengths.size:
            check_dim(int(lengths.min()), self.kind.name, self.kind.max_dim)
            check_dim(int(lengths.max()), self.kind.name, self.kind.max_dim)
            if typmod > 0 and (lengths != typmod).any():
                check_expected_dim(typmod, int(lengths[lengths != typmod][0]))
        lists = lists.compacted()
        values = self.kind.coerce(lists.values.astype(np.float32, copy=False))
        check_finite(values, self.kind.name)
        storage = np.asarray(values).astype(self.kind.storage_value_type.to_pandas_dtype(), copy=False)
        lists = FloatLists(lists.offsets, storage, lists.valid)
        if typmod > 0:
            return fixed_size_list_array(lists, typmod, self.kind.storage_value_type)
        return list_array(lists, self.kind.storage_value_type)

    # DuckDB -> wire
    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        child, valid = untagged(column)
        lists = float_lists(child)
        texts = float4_texts(lists.values)
        offsets = lists.offsets.tolist()
        return [
            ("[" + ",".join(texts[offsets[i]:offsets[i + 1]]) + "]").encode()
            if ok else None
            for i, ok in enumerate((lists.valid & valid).tolist())
        ]

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        child, valid = untagged(column)
        lists = float_lists(child)
        element = np.dtype(self.kind.wire_dtype)
        payload = lists.values.astype(element).tobytes()
        size = element.itemsize
        offsets = lists.offsets.tolist()
        return [
            _HEADER.pack(offsets[i + 1] - offsets[i], 0) + payload[offsets[i] * size:offsets[i + 1] * size]
            if ok else None
            for i, ok in enumerate((lists.valid & valid).tolist())
        ]

    # wire -> DuckDB parameter value
    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> object:
        return {self.kind.tag: self.kind.parse(text, typmod)}

    def decode_binary(self, data: bytes, typmod: int = -1) -> object:
        return {self.kind.tag: self.values_from_binary(data, typmod)}

    def values_from_binary(self, data: bytes, typmod: int = -1) -> np.ndarray:
        """pgvector's vector_recv / halfvec_recv -> float32 element values."""
        if len(data) < _HEADER.size:
            raise InvalidBinaryRepresentation("insufficient data left in message")
        dim, unused = _HEADER.unpack_from(data)
        check_dim(dim, self.kind.name, self.kind.max_dim)
        check_expected_dim(typmod, dim)
        if unused != 0:
            raise DataException(f"expected unused to be 0, not {unused}")
        element = np.dtype(self.kind.wire_dtype)
        if len(data) != _HEADER.size + dim * element.itemsize:
            raise InvalidBinaryRepresentation("incorrect binary data format")
        values = np.frombuffer(data, dtype=element, offset=_HEADER.size).astype(np.float32)
        check_finite(values, self.kind.name)
        return values

    # COPY input -> storage
    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        valid = np.array([v is not None for v in values], dtype=bool)
        present = [v for v in values if v is not None]
        offsets, floats = parse_dense_column(present, self.kind.name, self.kind.max_dim)
        return self.storage_from_lists(_spread(offsets, floats, valid), typmod)

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        valid = np.array([v is not None for v in values], dtype=bool)
        present = [v for v in values if v is not None]
        offsets, floats = self._binary_rows(present, typmod)
        return self.storage_from_lists(_spread(offsets, floats, valid), typmod)

    def parse_binary_fixed(self, fields: np.ndarray, typmod: int = -1) -> pa.Array:
        """Binary COPY fields of one width, as a uint8 matrix: decoded in one numpy pass."""
        offsets, values = self._binary_matrix_rows(fields, typmod)
        return self.storage_from_lists(FloatLists(offsets, values, np.ones(len(fields), dtype=bool)), typmod)

    def _binary_rows(self, rows: list[bytes], typmod: int) -> tuple[np.ndarray, np.ndarray]:
        sizes = {len(r) for r in rows}
        if len(sizes) != 1:
            return self._binary_rows_one_by_one(rows, typmod)
        matrix = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), sizes.pop())
        return self._binary_matrix_rows(matrix, typmod)

    def _binary_matrix_rows(self, fields: np.ndarray, typmod: int) -> tuple[np.ndarray, np.ndarray]:
        """Values of one width (a uint8 matrix, one row per value, rows maybe strided);
        a row that does not decode as the others is re-read alone for its exact error.
        The values are not checked yet: ``storage_from_lists`` does that."""
        element = np.dtype(self.kind.wire_dtype)
        width, remainder = divmod(fields.shape[1] - _HEADER.size, element.itemsize)
        if width < 1 or remainder:
            return self._binary_rows_one_by_one([row.tobytes() for row in fields], typmod)
        header = np.ascontiguousarray(fields[:, :_HEADER.size]).view(">i2")
        bad = (header[:, 0] != width) | (header[:, 1] != 0)
        if bad.any():
            self.values_from_binary(fields[int(np.argmax(bad))].tobytes(), typmod)
        check_dim(width, self.kind.name, self.kind.max_dim)
        check_expected_dim(typmod, width)
        values = fields[:, _HEADER.size:].view(element).astype(np.float32).reshape(-1)
        return np.arange(len(fields) + 1, dtype=np.int64) * width, values

    def _binary_rows_one_by_one(self, rows: list[bytes], typmod: int) -> tuple[np.ndarray, np.ndarray]:
        parsed = [self.values_from_binary(r, typmod) for r in rows]
        offsets = offsets_from_lengths([len(p) for p in parsed])
        return offsets, (np.concatenate(parsed) if parsed else np.zeros(0, dtype=np.float32))


def _spread(offsets: np.ndarray, values: np.ndarray, valid: np.ndarray) -> FloatLists:
    """Rows parsed from the non-null inputs -> FloatLists over all inputs (nulls empty)."""
    lengths = np.zeros(len(valid), dtype=np.int64)
    lengths[valid] = np.diff(offsets)
    return FloatLists(offsets_from_lengths(lengths), values, valid)


register(DenseVectorCodec(registry.TYPES["vector"], VECTOR))
