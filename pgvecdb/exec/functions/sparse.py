"""Kernels of pgvector's ``sparsevec`` over DuckDB's Arrow columns.

Two sparse vectors are compared over the union of their indices, where a missing element
is 0: a - 0 and 0 * b are exact in float4, so pgvector's merge loops reduce to dense
arithmetic over that union, accumulated in index order as pgvector does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pgvecdb.errors import ProgramLimitExceeded
from pgvecdb.exec.functions.dense import (
    check_typmods,
    column as dense_column,
    cosine_from_sums,
    float8_rows,
    row_sums,
)
from pgvecdb.types.registry import SPARSEVEC_TAG
from pgvecdb.types.sparsevec import (
    SPARSEVEC_MAX_NNZ,
    SparseColumn,
    check_sparse_dim,
    format_sparsevec,
    parse_sparsevec,
    sparse_column,
)
from pgvecdb.types.vector import (
    DenseKind,
    FloatLists,
    as_array,
    check_dim,
    check_finite,
    check_same_dims,
    concatenated_ranges,
    offsets_from_lengths,
    overflow_error,
    tagged_struct,
    validity,
)

TYPE_NAME = "sparsevec"


def sparse_rows(column: pa.Array) -> SparseColumn:
    column = as_array(column)
    sparse = sparse_column(column.field(0))
    sparse.valid &= validity(column)
    return sparse


def sparse_result(sparse: SparseColumn) -> pa.Array:
    return tagged_struct(SPARSEVEC_TAG, sparse.to_struct(), sparse.valid)


@dataclass
class Union:
    """Two sparse columns over the union of each row's indices, in (row, index) order:
    ``a`` and ``b`` hold each side's value there, 0 where that side has none."""

    offsets: np.ndarray  # per row, into a and b
    a: np.ndarray
    b: np.ndarray


def union(a: pa.Array, b: pa.Array) -> Union:
    left, right = sparse_rows(a), sparse_rows(b)
    mismatch = left.dims != right.dims
    if mismatch.any():
        i = int(np.argmax(mismatch))
        check_same_dims(int(left.dims[i]), int(right.dims[i]), TYPE_NAME)
    keys_a, keys_b = _keys(left), _keys(right)
    keys, inverse = np.unique(np.concatenate([keys_a, keys_b]), return_inverse=True)
    values_a = np.zeros(keys.size, dtype=np.float32)
    values_b = np.zeros(keys.size, dtype=np.float32)
    values_a[inverse[:keys_a.size]] = left.values
    values_b[inverse[keys_a.size:]] = right.values
    per_row = np.bincount(keys >> 32, minlength=len(left))
    return Union(offsets_from_lengths(per_row), values_a, values_b)


def _keys(sparse: SparseColumn) -> np.ndarray:
    owner = np.repeat(np.arange(len(sparse), dtype=np.int64), np.diff(sparse.offsets))
    return (owner << 32) | sparse.indices.astype(np.int64)


def _float8(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.float64), type=pa.float64())


def l2_squared_distance(a: pa.Array, b: pa.Array) -> pa.Array:
    return _float8(_l2_squared(a, b))


def _l2_squared(a: pa.Array, b: pa.Array) -> np.ndarray:
    u = union(a, b)
    with np.errstate(over="ignore", invalid="ignore"):
        diff = u.a - u.b
        return row_sums(diff * diff, u.offsets)


def l2_distance(a: pa.Array, b: pa.Array) -> pa.Array:
    return _float8(np.sqrt(_l2_squared(a, b).astype(np.float64)))


def _dot(a: pa.Array, b: pa.Array) -> np.ndarray:
    u = union(a, b)
    with np.errstate(over="ignore", invalid="ignore"):
        return row_sums(u.a * u.b, u.offsets)


def inner_product(a: pa.Array, b: pa.Array) -> pa.Array:
    return _float8(_dot(a, b))


def negative_inner_product(a: pa.Array, b: pa.Array) -> pa.Array:
    return _float8(-_dot(a, b).astype(np.float64))


def cosine_distance(a: pa.Array, b: pa.Array) -> pa.Array:
    u = union(a, b)
    with np.errstate(over="ignore", invalid="ignore"):
        dot = row_sums(u.a * u.b, u.offsets).astype(np.float64)
        norm_a = row_sums(u.a * u.a, u.offsets).astype(np.float64)
        norm_b = row_sums(u.b * u.b, u.offsets).astype(np.float64)
    return _float8(cosine_from_sums(dot, norm_a, norm_b))


def l1_distance(a: pa.Array, b: pa.Array) -> pa.Array:
    u = union(a, b)
    with np.errstate(over="ignore", invalid="ignore"):
        return _float8(row_sums(np.abs(u.a - u.b), u.offsets))


def _norms(sparse: SparseColumn) -> np.ndarray:
    values = sparse.values.astype(np.float64)
    return np.sqrt(row_sums(values * values, sparse.offsets))


def norm(s: pa.Array) -> pa.Array:
    """l2_norm(sparsevec), accumulated in float8."""
    return _float8(_norms(sparse_rows(s)))


def l2_normalize(s: pa.Array) -> pa.Array:
    """Values divided by the float8 norm; values that underflow to 0 are dropped."""
    sparse = sparse_rows(s)
    lengths = np.diff(sparse.offsets)
    norms = np.repeat(_norms(sparse), lengths)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        values = (sparse.values / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    if not np.isfinite(values).all():
        raise overflow_error()
    keep = values != 0
    owner = np.repeat(np.arange(len(sparse)), lengths)
    kept = np.bincount(owner[keep], minlength=len(sparse))
    return sparse_result(SparseColumn(sparse.dims, offsets_from_lengths(kept), sparse.indices[keep],
                                      values[keep], sparse.valid))


# --------------------------------------------------------------------------------------
# ordering
# --------------------------------------------------------------------------------------

SORT_KEY_TYPE = pa.list_(pa.struct([("s", pa.float32()), ("k", pa.int32()), ("v", pa.float32())]))


def sort_key(s: pa.Array) -> pa.Array:
    """A value whose DuckDB ordering is pgvector's sparsevec_cmp.

    sparsevec_cmp compares the elements pairwise in index order: at a shared index the
    values decide; where only one side has an element, its sign decides (a positive
    element makes its vector greater); an extra trailing element decides by its sign when
    its index is below the other vector's dimensions, else the dimensions decide. Each
    element becomes (sign, -index or +index, value) and each vector ends with
    (-1, dim, -inf), so that comparing the lists element by element gives exactly that.
    """
    sparse = sparse_rows(s)
    lengths = np.diff(sparse.offsets)
    signs = np.where(sparse.values > 0, 1.0, -1.0).astype(np.float32)
    ranks = np.where(sparse.values > 0, -sparse.indices, sparse.indices).astype(np.int32)
    key_offsets = offsets_from_lengths(lengths + 1)
    element_slots = concatenated_ranges(key_offsets[:-1], lengths)
    terminal_slots = key_offsets[1:] - 1
    size = int(key_offsets[-1])
    s_field = np.full(size, -1.0, dtype=np.float32)
    k_field = np.empty(size, dtype=np.int32)
    v_field = np.full(size, -np.inf, dtype=np.float32)
    s_field[element_slots], k_field[element_slots], v_field[element_slots] = signs, ranks, sparse.values
    k_field[terminal_slots] = sparse.dims.astype(np.int32)
    keys = pa.StructArray.from_arrays([pa.array(s_field), pa.array(k_field), pa.array(v_field)],
                                      fields=list(SORT_KEY_TYPE.value_type))
    return pa.ListArray.from_arrays(pa.array(key_offsets.astype(np.int32)), keys)


# --------------------------------------------------------------------------------------
# casts
# --------------------------------------------------------------------------------------


def with_typmod(s: pa.Array, typmod: pa.Array) -> pa.Array:
    check_typmods(typmod, sparse_rows(s).dims)
    return s


def to_dense(target: DenseKind, s: pa.Array, typmod: pa.Array) -> pa.Array:
    """sparsevec -> vector / halfvec."""
    sparse = sparse_rows(s)
    dims = np.where(sparse.valid, sparse.dims, 0)
    present = dims[sparse.valid]
    if present.size:
        check_dim(int(present.min()), target.name, target.max_dim)
        check_dim(int(present.max()), target.name, target.max_dim)
    check_typmods(typmod, dims)
    offsets = offsets_from_lengths(dims)
    values = np.zeros(int(offsets[-1]), dtype=np.float32)
    owner = np.repeat(np.arange(len(sparse)), np.diff(sparse.offsets))
    values[offsets[owner] + sparse.indices] = sparse.values
    return dense_column(target, FloatLists(offsets, target.coerce(values), sparse.valid))


def from_text(text: pa.Array, typmod: pa.Array) -> pa.Array:
    modifiers = typmod.to_numpy(zero_copy_only=False)
    vectors = [parse_sparsevec(t, int(m)) for t, m in zip(text.to_pylist(), modifiers)]
    return sparse_result(SparseColumn.from_vectors(vectors))


def to_text(s: pa.Array, _typmod: pa.Array) -> pa.Array:
    sparse = sparse_rows(s)
    return pa.array([format_sparsevec(sparse.row(i)) for i in range(len(sparse))], type=pa.string())


def from_array(array: pa.Array, typmod: pa.Array) -> pa.Array:
    """real[] / double precision[] / integer[] / numeric[] -> sparsevec."""
    lists = float8_rows(array)
    dims = lists.lengths
    if dims.size:
        check_sparse_dim(int(dims.min()))
        check_sparse_dim(int(dims.max()))
    check_typmods(typmod, dims)
    with np.errstate(over="ignore"):
        values = lists.values.astype(np.float32)
    check_finite(values, TYPE_NAME)
    keep = values != 0
    owner = np.repeat(np.arange(len(lists)), dims)
    nnz = np.bincount(owner[keep], minlength=len(lists))
    if nnz.size and nnz.max() > SPARSEVEC_MAX_NNZ:
        raise ProgramLimitExceeded(f"sparsevec cannot have more than {SPARSEVEC_MAX_NNZ} non-zero elements")
    positions = np.arange(values.size) - np.repeat(lists.offsets[:-1], dims)
    return sparse_result(SparseColumn(dims, offsets_from_lengths(nnz), positions[keep].astype(np.int32),
                                      values[keep], lists.valid))

