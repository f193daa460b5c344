"""pgvector's ``sparsevec`` type: values, text format and codec.

A sparse vector is its dimension count and its non-zero elements, by index. Indices are
0-based everywhere inside pgvecdb (as in pgvector's memory and binary format); only the
text format, ``{1:1.5,3:2}/5``, counts from 1.

Representations: storage ``struct<dim: int32, indices: list<int32>, values: list<float32>>``
(the typmod does not change it); DuckDB ``STRUCT(__sparsevec STRUCT(dim INTEGER,
indices INTEGER[], "values" FLOAT[]))``, the same struct under the tag; wire binary int32 dim,
int32 nnz, int32 unused (0), nnz int32 indices (0-based), nnz float32 values, big-endian.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pyarrow as pa

from pgvecdb.errors import (
    DataException,
    InvalidBinaryRepresentation,
    NumericValueOutOfRange,
    ProgramLimitExceeded,
)
from pgvecdb.types import registry
from pgvecdb.types.codecs import DEFAULT_OPTIONS, Codec, FormatOptions, register
from pgvecdb.types.vector import (
    as_array,
    check_expected_dim,
    check_finite,
    float4_texts,
    float_lists,
    invalid_syntax,
    null_mask,
    offsets_from_lengths,
    read_float4,
    validity,
)

SPARSEVEC_MAX_DIM = 1_000_000_000
SPARSEVEC_MAX_NNZ = 16000
TYPE_NAME = "sparsevec"


@dataclass(frozen=True)
class SparseVector:
    """A sparsevec value: ``indices`` (int32, 0-based, ascending) of the non-zero ``values``."""

    dim: int
    indices: np.ndarray
    values: np.ndarray

    @classmethod
    def from_dense(cls, dense: np.ndarray) -> "SparseVector":
        dense = np.asarray(dense, dtype=np.float32)
        indices = np.flatnonzero(dense).astype(np.int32)
        return cls(len(dense), indices, dense[indices])

    def to_dense(self) -> np.ndarray:
        dense = np.zeros(self.dim, dtype=np.float32)
        dense[self.indices] = self.values
        return dense

    @property
    def nnz(self) -> int:
        return len(self.indices)

    def as_duck(self) -> dict:
        """The value inside DuckDB's ``__sparsevec`` tag."""
        return {"dim": self.dim, "indices": self.indices, "values": self.values}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SparseVector):
            return NotImplemented
        return (self.dim == other.dim and np.array_equal(self.indices, other.indices)
                and np.array_equal(self.values, other.values))

    __hash__ = None  # type: ignore[assignment]


# --------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------


def check_sparse_dim(dim: int) -> None:
    if dim < 1:
        raise DataException("sparsevec must have at least 1 dimension")
    if dim > SPARSEVEC_MAX_DIM:
        raise ProgramLimitExceeded(f"sparsevec cannot have more than {SPARSEVEC_MAX_DIM} dimensions")


def check_nnz(nnz: int, dim: int) -> None:
    if nnz < 0:
        raise DataException("sparsevec cannot have negative number of elements")
    if nnz > SPARSEVEC_MAX_NNZ:
        raise ProgramLimitExceeded(f"sparsevec cannot have more than {SPARSEVEC_MAX_NNZ} non-zero elements")
    if nnz > dim:
        raise ProgramLimitExceeded("sparsevec cannot have more elements than dimensions")


def check_indices(indices: np.ndarray, dim: int) -> None:
    """0-based indices: in bounds and strictly ascending, with pgvector's messages."""
    if indices.size == 0:
        return
    steps = np.diff(indices.astype(np.int64))
    out_of_bounds = (indices < 0) | (indices >= dim)
    first_bad_step = int(np.argmax(steps <= 0)) if (steps <= 0).any() else indices.size
    if out_of_bounds[:first_bad_step + 1].any():
        raise DataException("sparsevec index out of bounds")
    if first_bad_step < indices.size:
        if steps[first_bad_step] < 0:
            raise DataException("sparsevec indices must be in ascending order")
        raise DataException("sparsevec indices must not contain duplicates")


# --------------------------------------------------------------------------------------
# text format
# --------------------------------------------------------------------------------------

_SPACE = " \t\n\r\v\f"
_INTEGER = re.compile(r"[+-]?[0-9]+")
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def parse_sparsevec(literal: str, typmod: int = -1) -> SparseVector:
    """A sparsevec literal ``{1:1.5,3:2}/5`` -> SparseVector, with pgvector's errors."""
    if literal.count(",") + 1 > SPARSEVEC_MAX_NNZ:
        raise ProgramLimitExceeded(f"sparsevec cannot have more than {SPARSEVEC_MAX_NNZ} non-zero elements")
    pos = _skip_space(literal, 0)
    if not literal.startswith("{", pos):
        raise invalid_syntax(TYPE_NAME, literal, 'Vector contents must start with "{".')
    pos = _skip_space(literal, pos + 1)
    elements: list[tuple[int, np.float32]] = []
    if literal.startswith("}", pos):
        pos += 1
    else:
        pos = _parse_elements(literal, pos, elements)
    pos = _skip_space(literal, pos)
    if not literal.startswith("/", pos):
        raise invalid_syntax(TYPE_NAME, literal, "Unexpected end of input.")
    dim, pos = _read_integer(literal, _skip_space(literal, pos + 1))
    if _skip_space(literal, pos) != len(literal):
        raise invalid_syntax(TYPE_NAME, literal, "Junk after closing.")
    check_sparse_dim(dim)
    check_expected_dim(typmod, dim)
    elements.sort(key=lambda element: element[0])
    indices = np.array([index - 1 for index, _ in elements], dtype=np.int64)
    check_indices(indices, dim)
    values = np.array([value for _, value in elements], dtype=np.float32)
    return SparseVector(dim, indices.astype(np.int32), values)


def _parse_elements(literal: str, pos: int, elements: list[tuple[int, np.float32]]) -> int:
    """The ``index:value`` pairs up to the closing brace; returns the position after it."""
    while True:
        pos = _skip_space(literal, pos)
        index, pos = _read_integer(literal, pos)
        index = min(max(index, _INT_MIN), _INT_MAX)  # strtol's range, for the bounds check
        pos = _skip_space(literal, pos)
        if not literal.startswith(":", pos):
            raise invalid_syntax(TYPE_NAME, literal)
        pos = _skip_space(literal, pos + 1)
        read = read_float4(literal, pos)
        if read is None:
            raise invalid_syntax(TYPE_NAME, literal)
        token, end = read
        if token.underflow or token.overflow:
            raise NumericValueOutOfRange(f'"{literal[pos:end]}" is out of range for type sparsevec')
        check_finite(np.array([token.value]), TYPE_NAME)
        if token.value != 0:
            elements.append((index, token.value))
        pos = _skip_space(literal, end)
        if literal.startswith(",", pos):
            pos += 1
        elif literal.startswith("}", pos):
            return pos + 1
        else:
            raise invalid_syntax(TYPE_NAME, literal)


def _read_integer(literal: str, pos: int) -> tuple[int, int]:
    match = _INTEGER.match(literal, pos)
    if match is None:
        raise invalid_syntax(TYPE_NAME, literal)
    return int(match.group()), match.end()


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SPACE:
        pos += 1
    return pos


def format_sparsevec(vector: SparseVector) -> str:
    """As sparsevec_out prints it: ``{1:1.5,3:2}/5``."""
    return _format(vector.indices.tolist(), float4_texts(vector.values), vector.dim)


def _format(indices: list[int], value_texts: list[str], dim: int) -> str:
    pairs = [f"{i + 1}:{t}" for i, t in zip(indices, value_texts)]
    return "{" + ",".join(pairs) + "}/" + str(dim) if pairs else "{}/" + str(dim)


# --------------------------------------------------------------------------------------
# binary format
# --------------------------------------------------------------------------------------

_HEADER = struct.Struct(">iii")


def sparsevec_from_binary(data: bytes, typmod: int = -1) -> SparseVector:
    """pgvector's sparsevec_recv."""
    if len(data) < _HEADER.size:
        raise InvalidBinaryRepresentation("insufficient data left in message")
    dim, nnz, unused = _HEADER.unpack_from(data)
    check_sparse_dim(dim)
    check_nnz(nnz, dim)
    check_expected_dim(typmod, dim)
    if unused != 0:
        raise DataException(f"expected unused to be 0, not {unused}")
    if len(data) != _HEADER.size + 8 * nnz:
        raise InvalidBinaryRepresentation("incorrect binary data format")
    indices = np.frombuffer(data, dtype=">i4", count=nnz, offset=_HEADER.size).astype(np.int32)
    check_indices(indices, dim)
    values = np.frombuffer(data, dtype=">f4", count=nnz, offset=_HEADER.size + 4 * nnz).astype(np.float32)
    check_finite(values, TYPE_NAME)
    if (values == 0).any():
        raise DataException("binary representation of sparsevec cannot contain zero values")
    return SparseVector(dim, indices, values)


def sparsevec_to_binary(vector: SparseVector) -> bytes:
    return (_HEADER.pack(vector.dim, vector.nnz, 0) + vector.indices.astype(">i4").tobytes()
            + vector.values.astype(">f4").tobytes())


# --------------------------------------------------------------------------------------
# columns
# --------------------------------------------------------------------------------------

SPARSE_STRUCT = pa.struct([
    ("dim", pa.int32()),
    ("indices", pa.list_(pa.int32())),
    ("values", pa.list_(pa.float32())),
])


@dataclass
class SparseColumn:
    """A column of sparse vectors as numpy: row ``i`` has ``dims[i]`` dimensions and the
    elements ``indices[offsets[i]:offsets[i+1]]`` / ``values[...]``."""

    dims: np.ndarray  # int64
    offsets: np.ndarray  # int64
    indices: np.ndarray  # int32, 0-based
    values: np.ndarray  # float32
    valid: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.valid)

    def row(self, i: int) -> SparseVector:
        start, end = self.offsets[i], self.offsets[i + 1]
        return SparseVector(int(self.dims[i]), self.indices[start:end], self.values[start:end])

    @classmethod
    def from_vectors(cls, vectors: Sequence[SparseVector | None]) -> "SparseColumn":
        valid = np.array([v is not None for v in vectors], dtype=bool)
        present = [v for v in vectors if v is not None]
        lengths = np.zeros(len(vectors), dtype=np.int64)
        lengths[valid] = [v.nnz for v in present]
        offsets = offsets_from_lengths(lengths)
        dims = np.zeros(len(vectors), dtype=np.int64)
        dims[valid] = [v.dim for v in present]
        indices = np.concatenate([v.indices for v in present]).astype(np.int32) if present else np.zeros(0, np.int32)
        values = np.concatenate([v.values for v in present]).astype(np.float32) if present else np.zeros(0, np.float32)
        return cls(dims, offsets, indices, values, valid)

    def to_struct(self) -> pa.StructArray:
        """The ``struct<dim, indices, values>`` column (storage, and DuckDB's tagged value)."""
        offsets = pa.array(offsets_from_lengths(np.where(self.valid, np.diff(self.offsets), 0)).astype(np.int32))
        keep = np.repeat(self.valid, np.diff(self.offsets))
        return pa.StructArray.from_arrays(
            [
                pa.array(self.dims.astype(np.int32)),
                pa.ListArray.from_arrays(offsets, pa.array(self.indices[keep], type=pa.int32())),
                pa.ListArray.from_arrays(offsets, pa.array(self.values[keep], type=pa.float32())),
            ],
            fields=list(SPARSE_STRUCT),
            mask=null_mask(self.valid),
        )


def sparse_column(column: pa.Array | pa.ChunkedArray) -> SparseColumn:
    """A ``struct<dim, indices, values>`` Arrow column as numpy."""
    column = as_array(column)
    valid = validity(column)
    dims = column.field("dim").fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    indices = float_lists(column.field("indices"))
    values = float_lists(column.field("values"))
    valid = valid & indices.valid & values.valid
    return SparseColumn(dims, values.offsets, indices.values.astype(np.int32), values.values.astype(np.float32), valid)


class SparsevecCodec(Codec):
    """Codec of ``sparsevec``."""

    tag = registry.SPARSEVEC_TAG

    def storage_type(self, typmod: int = -1) -> pa.DataType:
        return SPARSE_STRUCT

    def duck_arrow_type(self) -> pa.DataType:
        return pa.struct([(self.tag, SPARSE_STRUCT)])

    def to_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        column = as_array(column)
        return pa.StructArray.from_arrays([column], names=[self.tag], mask=null_mask(validity(column)))

    def from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        return self.storage_from_column(self._untag(column), typmod)

    def storage_from_column(self, sparse: SparseColumn, typmod: int) -> pa.Array:
        """Check sparse rows against the type and typmod, and build the storage column."""
        dims = sparse.dims[sparse.valid]
        if dims.size:
            check_sparse_dim(int(dims.min()))
            check_sparse_dim(int(dims.max()))
            if typmod > 0 and (dims != typmod).any():
                check_expected_dim(typmod, int(dims[dims != typmod][0]))
        _check_rows(sparse)
        return sparse.to_struct()

    def _untag(self, column: pa.Array | pa.ChunkedArray) -> SparseColumn:
        column = as_array(column)
        sparse = sparse_column(column.field(0))
        sparse.valid &= validity(column)
        return sparse

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        sparse = self._untag(column)
        texts = float4_texts(sparse.values)
        indices = sparse.indices.tolist()
        offsets = sparse.offsets.tolist()
        dims = sparse.dims.tolist()
        return [
            _format(indices[offsets[i]:offsets[i + 1]], texts[offsets[i]:offsets[i + 1]], dims[i]).encode()
            if ok else None
            for i, ok in enumerate(sparse.valid.tolist())
        ]

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        sparse = self._untag(column)
        return [sparsevec_to_binary(sparse.row(i)) if ok else None for i, ok in enumerate(sparse.valid.tolist())]

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> object:
        return {self.tag: parse_sparsevec(text, typmod).as_duck()}

    def decode_binary(self, data: bytes, typmod: int = -1) -> object:
        return {self.tag: sparsevec_from_binary(data, typmod).as_duck()}

    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        vectors = [None if v is None else parse_sparsevec(v, typmod) for v in values]
        return SparseColumn.from_vectors(vectors).to_struct()

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        vectors = [None if v is None else sparsevec_from_binary(v, typmod) for v in values]
        return SparseColumn.from_vectors(vectors).to_struct()


def _check_rows(sparse: SparseColumn) -> None:
    """Every valid row: nnz within limits, indices in bounds and ascending, values finite and
    non-zero (a sparse vector never stores a zero)."""
    lengths = np.diff(sparse.offsets)
    rows = np.nonzero(sparse.valid)[0]
    if rows.size == 0:
        return
    if lengths[rows].max() > SPARSEVEC_MAX_NNZ or (lengths[rows] > sparse.dims[rows]).any():
        bad = rows[(lengths[rows] > SPARSEVEC_MAX_NNZ) | (lengths[rows] > sparse.dims[rows])][0]
        check_nnz(int(lengths[bad]), int(sparse.dims[bad]))
    keep = np.repeat(sparse.valid, lengths)
    owner = np.repeat(np.arange(len(sparse)), lengths)[keep]
    indices = sparse.indices[keep].astype(np.int64)
    values = sparse.values[keep]
    check_finite(values, TYPE_NAME)
    if (values == 0).any():
        raise DataException("sparsevec cannot contain zero values")
    in_bounds = (indices >= 0) & (indices < sparse.dims[owner])
    same_row = owner[1:] == owner[:-1]
    ascending = ~same_row | (indices[1:] > indices[:-1])
    if not in_bounds.all() or not ascending.all():
        bad = int(owner[np.argmin(in_bounds)] if not in_bounds.all() else owner[1:][np.argmin(ascending)])
        check_indices(sparse.row(bad).indices, int(sparse.dims[bad]))


register(SparsevecCodec(registry.TYPES["sparsevec"]))
