"""Kernels of pgvector's dense types, ``vector`` and ``halfvec``, over DuckDB's Arrow columns.

Each kernel takes its arguments as Arrow columns in DuckDB's representation (see
``types.registry``) and computes every row at once with numpy, as pgvector computes one:
element arithmetic in float4 (halfvec values widened to float4 and results rounded back
to half), distances accumulated in float4 and returned as float8, norms accumulated in
float8. The first argument ``kind`` (``types.vector.VECTOR`` or ``types.halfvec.HALFVEC``)
says which type.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pgvecdb.errors import InternalError, PgError, ProgramLimitExceeded
from pgvecdb.types.bit import BitChars
from pgvecdb.types.registry import SPARSEVEC_TAG
from pgvecdb.types.sparsevec import SparseColumn, check_sparse_dim
from pgvecdb.types.vector import (
    DenseKind,
    FloatLists,
    as_array,
    check_dim,
    check_expected_dim,
    check_finite,
    check_same_dims,
    concatenated_ranges,
    float4_texts,
    float_lists,
    list_array,
    offsets_from_lengths,
    overflow_error,
    parse_dense_column,
    tagged_struct,
    underflow_error,
    untagged,
)

NULL_VALUE_NOT_ALLOWED = "22004"

# --------------------------------------------------------------------------------------
# columns
# --------------------------------------------------------------------------------------


def rows(column: pa.Array | FloatLists) -> FloatLists:
    """A tagged dense column as compact float4 rows (null rows empty and not valid). Rows
    already in that form (a caller that holds them as numpy) are taken as they are."""
    if isinstance(column, FloatLists):
        return column
    child, valid = untagged(column)
    lists = float_lists(child)
    return FloatLists(lists.offsets, lists.values, lists.valid & valid).compacted()


def column(kind: DenseKind, lists: FloatLists) -> pa.Array:
    return tagged_struct(kind.tag, list_array(lists), lists.valid)


def pair(kind: DenseKind, a: pa.Array, b: pa.Array) -> tuple[FloatLists, FloatLists]:
    """Both arguments' rows, which must have the same dimensions row by row."""
    left, right = rows(a), rows(b)
    mismatch = left.lengths != right.lengths
    if mismatch.any():
        i = int(np.argmax(mismatch))
        check_same_dims(int(left.lengths[i]), int(right.lengths[i]), kind.name)
    return left, right


def row_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The sum of each row, accumulated in the values' own precision; 0 for empty rows."""
    starts = offsets[:-1]
    nonempty = offsets[1:] > starts
    sums = np.zeros(len(starts), dtype=values.dtype)
    if nonempty.any():
        sums[nonempty] = np.add.reduceat(values, starts[nonempty])
    return sums


def rounded(kind: DenseKind, values: np.ndarray) -> np.ndarray:
    """float4 values rounded to the kind's precision without a range check (pgvector's
    Float4ToHalfUnchecked for halfvec); values beyond the range become infinite."""
    with np.errstate(over="ignore"):
        return values.astype(kind.storage_value_type.to_pandas_dtype()).astype(np.float32)


def _float8(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.float64), type=pa.float64())


# --------------------------------------------------------------------------------------
# distances and norms
# --------------------------------------------------------------------------------------


def l2_squared_distance(kind: DenseKind, a: pa.Array, b: pa.Array) -> pa.Array:
    return _float8(_l2_squared(kind, a, b))


def _l2_squared(kind: DenseKind, a: pa.Array, b: pa.Array) -> np.ndarray:
    left, right = pair(kind, a, b)
    with np.errstate(over="ignore", invalid="ignore"):
        diff = left.values - right.values
        return row_sums(diff * diff, left.offsets)


def l2_distance(kind: DenseKind, a: pa.Array, b: pa.Array) -> pa.Array:
    return _float8(np.sqrt(_l2_squared(kind, a, b).astype(np.float64)))


def _dot(kind: DenseKind, a: pa.Array, b: pa.Array) -> np.ndarray:
    left, right = pair(kind, a, b)
    with np.errstate(over="ignore", invalid="ignore"):
        return row_sums(left.values * right.values, left.offsets)


def inner_product(kind: DenseKind, a: pa.Array, b: pa.Array) -> pa.Array:
    return _float8(_dot(kind, a, b))


def negative_inner_product(kind: DenseKind, a: pa.Array, b: pa.Array) -> pa.Array:
    return _float8(-_dot(kind, a, b).astype(np.float64))


def cosine_distance(kind: DenseKind, a: pa.Array, b: pa.Array) -> pa.Array:
    left, right = pair(kind, a, b)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        dot = row_sums(left.values * right.values, left.offsets).astype(np.float64)
        norm_a = row_sums(left.values * left.values, left.offsets).astype(np.float64)
        norm_b = row_sums(right.values * right.values, left.offsets).astype(np.float64)
        return _float8(cosine_from_sums(dot, norm_a, norm_b))


def cosine_from_sums(dot: np.ndarray, norm_a: np.ndarray, norm_b: np.ndarray) -> np.ndarray:
    """pgvector's 1 - dot / sqrt(|a|² |b|²), the similarity kept within [-1, 1]; NaN stays."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        similarity = dot / np.sqrt(norm_a * norm_b)
    return 1.0 - np.clip(similarity, -1.0, 1.0)


def l1_distance(kind: DenseKind, a: pa.Array, b: pa.Array) -> pa.Array:
    left, right = pair(kind, a, b)
    with np.errstate(over="ignore", invalid="ignore"):
        return _float8(row_sums(np.abs(left.values - right.values), left.offsets))


def norm(kind: DenseKind, v: pa.Array) -> pa.Array:
    """vector_norm / l2_norm: accumulated in float8."""
    lists = rows(v)
    values = lists.values.astype(np.float64)
    return _float8(np.sqrt(row_sums(values * values, lists.offsets)))


# --------------------------------------------------------------------------------------
# element-wise arithmetic and reshaping
# --------------------------------------------------------------------------------------


def add(kind: DenseKind, a: pa.Array, b: pa.Array) -> pa.Array:
    left, right = pair(kind, a, b)
    with np.errstate(over="ignore", invalid="ignore"):
        return column(kind, _checked_result(kind, left, left.values + right.values))


def subtract(kind: DenseKind, a: pa.Array, b: pa.Array) -> pa.Array:
    left, right = pair(kind, a, b)
    with np.errstate(over="ignore", invalid="ignore"):
        return column(kind, _checked_result(kind, left, left.values - right.values))


def multiply(kind: DenseKind, a: pa.Array, b: pa.Array) -> pa.Array:
    left, right = pair(kind, a, b)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        result = _checked_result(kind, left, left.values * right.values)
    if ((result.values == 0) & (left.values != 0) & (right.values != 0)).any():
        raise underflow_error()
    return column(kind, result)


def _checked_result(kind: DenseKind, shape: FloatLists, values: np.ndarray) -> FloatLists:
    values = rounded(kind, values)
    if not np.isfinite(values).all():
        raise overflow_error()
    return FloatLists(shape.offsets, values, shape.valid)


def concat(kind: DenseKind, a: pa.Array, b: pa.Array) -> pa.Array:
    left, right = rows(a), rows(b)
    lengths = left.lengths + right.lengths
    if lengths.size:
        check_dim(int(lengths.max()), kind.name, kind.max_dim)
    offsets = offsets_from_lengths(lengths)
    values = np.empty(int(offsets[-1]), dtype=np.float32)
    values[concatenated_ranges(offsets[:-1], left.lengths)] = left.values
    values[concatenated_ranges(offsets[:-1] + left.lengths, right.lengths)] = right.values
    return column(kind, FloatLists(offsets, values, left.valid & right.valid))


def l2_normalize(kind: DenseKind, v: pa.Array) -> pa.Array:
    """Each row divided by its float8 norm; a zero vector stays zero."""
    lists = rows(v)
    values = lists.values.astype(np.float64)
    norms = np.repeat(np.sqrt(row_sums(values * values, lists.offsets)), lists.lengths)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        scaled = np.where(norms > 0, values / np.where(norms > 0, norms, 1.0), 0.0).astype(np.float32)
    return column(kind, _checked_result(kind, lists, scaled))


def binary_quantize(kind: DenseKind, v: pa.Array) -> pa.Array:
    """One bit per dimension: 1 where the value is positive."""
    lists = rows(v)
    chars = (lists.values > 0).astype(np.uint8) + ord("0")
    return BitChars(chars, lists.offsets, lists.valid).to_duck()


def subvector(kind: DenseKind, v: pa.Array, start: pa.Array, count: pa.Array) -> pa.Array:
    """``count`` dimensions from ``start`` (1-based, like substring), clipped to the vector."""
    lists = rows(v)
    first = start.to_numpy(zero_copy_only=False).astype(np.int64)
    end = np.minimum(first + count.to_numpy(zero_copy_only=False).astype(np.int64), lists.lengths + 1)
    first = np.maximum(first, 1)
    lengths = end - first
    if lengths.size and lengths.min() < 1:
        check_dim(int(lengths.min()), kind.name, kind.max_dim)
    values = lists.values[concatenated_ranges(lists.offsets[:-1] + first - 1, lengths)]
    return column(kind, FloatLists(offsets_from_lengths(lengths), values, lists.valid))


# --------------------------------------------------------------------------------------
# casts
# --------------------------------------------------------------------------------------


def check_typmods(typmod: pa.Array, dims: np.ndarray) -> None:
    """pgvector's CheckExpectedDim for each row."""
    wanted = typmod.to_numpy(zero_copy_only=False).astype(np.int64)
    wrong = (wanted != -1) & (wanted != dims)
    if wrong.any():
        i = int(np.argmax(wrong))
        check_expected_dim(int(wanted[i]), int(dims[i]))


def with_typmod(kind: DenseKind, v: pa.Array, typmod: pa.Array) -> pa.Array:
    """vector(vector, typmod): the value, once its dimensions match the typmod."""
    check_typmods(typmod, rows(v).lengths)
    return v


def to_dense(source: DenseKind, target: DenseKind, v: pa.Array, typmod: pa.Array) -> pa.Array:
    """vector -> halfvec (checked rounding) or halfvec -> vector."""
    lists = rows(v)
    _check_dims(target, lists.lengths, typmod)
    return column(target, FloatLists(lists.offsets, target.coerce(lists.values), lists.valid))


def _check_dims(kind: DenseKind, dims: np.ndarray, typmod: pa.Array) -> None:
    if dims.size:
        check_dim(int(dims.min()), kind.name, kind.max_dim)
        check_dim(int(dims.max()), kind.name, kind.max_dim)
    check_typmods(typmod, dims)


def to_sparse(kind: DenseKind, v: pa.Array, typmod: pa.Array) -> pa.Array:
    """vector / halfvec -> sparsevec: the non-zero values and their 0-based indices."""
    lists = rows(v)
    dims = lists.lengths
    if dims.size:
        check_sparse_dim(int(dims.min()))
    check_typmods(typmod, dims)
    nonzero = lists.values != 0
    owner = np.repeat(np.arange(len(lists)), dims)
    positions = np.arange(lists.values.size) - np.repeat(lists.offsets[:-1], dims)
    sparse = SparseColumn(
        dims=dims,
        offsets=offsets_from_lengths(np.bincount(owner[nonzero], minlength=len(lists))),
        indices=positions[nonzero].astype(np.int32),
        values=lists.values[nonzero],
        valid=lists.valid,
    )
    return tagged_struct(SPARSEVEC_TAG, sparse.to_struct(), lists.valid)


def from_text(kind: DenseKind, text: pa.Array, typmod: pa.Array) -> pa.Array:
    """text -> vector / halfvec, through the type's input function."""
    offsets, values = parse_dense_column(text.to_pylist(), kind.name, kind.max_dim)
    values = kind.coerce(values)
    check_typmods(typmod, np.diff(offsets))
    return column(kind, FloatLists(offsets, values, np.ones(len(text), dtype=bool)))


def to_text(kind: DenseKind, v: pa.Array, _typmod: pa.Array) -> pa.Array:
    """vector / halfvec -> text (the typmod of the text is not applied)."""
    lists = rows(v)
    texts = float4_texts(lists.values)
    bounds = lists.offsets.tolist()
    return pa.array(
        ["[" + ",".join(texts[bounds[i]:bounds[i + 1]]) + "]" for i in range(len(lists))],
        type=pa.string(),
    )


def from_array(kind: DenseKind, array: pa.Array, typmod: pa.Array) -> pa.Array:
    """real[] / double precision[] / integer[] / numeric[] -> vector / halfvec
    (DuckDB hands every one of them over as DOUBLE[])."""
    lists = float8_rows(array)
    dims = lists.lengths
    _check_dims(kind, dims, typmod)
    with np.errstate(over="ignore"):
        values = kind.coerce(lists.values.astype(np.float32))
    check_finite(values, kind.name)
    return column(kind, FloatLists(lists.offsets, values, lists.valid))


def float8_rows(array: pa.Array) -> FloatLists:
    """A DOUBLE[] column as rows, refusing NULL elements as pgvector does."""
    array = as_array(array)
    if pc.list_flatten(array).null_count:
        raise PgError("array must not contain nulls", sqlstate=NULL_VALUE_NOT_ALLOWED)
    lists = float_lists(array)
    return FloatLists(lists.offsets, lists.values, lists.valid).compacted()


# --------------------------------------------------------------------------------------
# aggregates: avg and sum over DuckDB's list(x) of a group
# --------------------------------------------------------------------------------------


def average(kind: DenseKind, groups: pa.Array) -> pa.Array:
    """avg(vector): float8 sums of each group's non-null rows, divided by their count."""
    members, group_of, first_dims = _group_members(kind, groups, sum_message=False)
    sums, counts = _group_sums(members, group_of, len(first_dims), np.float64)
    with np.errstate(over="ignore"):
        means = (sums / np.repeat(np.maximum(counts, 1), first_dims)).astype(np.float32)
    values = kind.coerce(means)
    check_finite(values, kind.name)
    return column(kind, FloatLists(offsets_from_lengths(first_dims), values, counts > 0))


def total(kind: DenseKind, groups: pa.Array) -> pa.Array:
    """sum(vector): the rows added one after another in the type's precision, as
    pgvector's vector_add / halfvec_add do, with their overflow error."""
    members, group_of, first_dims = _group_members(kind, groups, sum_message=True)
    precision = kind.storage_value_type.to_pandas_dtype()
    sums, counts = _group_sums(members, group_of, len(first_dims), precision)
    if not np.isfinite(sums).all():
        raise overflow_error()
    return column(kind, FloatLists(offsets_from_lengths(first_dims), sums.astype(np.float32), counts > 0))


def _group_members(kind: DenseKind, groups: pa.Array, sum_message: bool) -> tuple[FloatLists, np.ndarray, np.ndarray]:
    """The non-null rows of all groups, the group of each, and each group's dimensions
    (0 for a group without rows). All rows of a group must have the same dimensions."""
    groups = as_array(groups)
    group_offsets = groups.offsets.to_numpy().astype(np.int64)
    start, end = int(group_offsets[0]), int(group_offsets[-1])
    members = rows(groups.values.slice(start, end - start))
    group_of = np.repeat(np.arange(len(groups)), np.diff(group_offsets))
    keep = members.valid
    group_of = group_of[keep]
    lengths = members.lengths[keep]
    first_dims = np.zeros(len(groups), dtype=np.int64)
    first_rows = np.unique(group_of, return_index=True)
    first_dims[first_rows[0]] = lengths[first_rows[1]]
    wrong = lengths != first_dims[group_of]
    if wrong.any():
        i = int(np.argmax(wrong))
        expected, got = int(first_dims[group_of[i]]), int(lengths[i])
        if sum_message:
            check_same_dims(expected, got, kind.name)
        check_expected_dim(expected, got)
    kept = FloatLists(offsets_from_lengths(lengths), members.values, np.ones(len(lengths), dtype=bool))
    return kept, group_of, first_dims


def _group_sums(members: FloatLists, group_of: np.ndarray, group_count: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the element-wise sum of its rows in ``dtype``, added in row order; returns
    the sums of all groups concatenated (groups without rows contribute nothing) and the
    row count of each group."""
    counts = np.bincount(group_of, minlength=group_count)
    dims = np.zeros(group_count, dtype=np.int64)
    if group_of.size:
        dims[group_of] = members.lengths
    sums = np.zeros(int(dims.sum()), dtype=dtype)
    group_starts = offsets_from_lengths(dims)[:-1]
    for dim in np.unique(members.lengths):
        chosen = np.nonzero(members.lengths == dim)[0]
        values = members.values if chosen.size == len(members) else \
            members.values[concatenated_ranges(members.offsets[chosen], np.full(chosen.size, dim))]
        matrix = values.reshape(chosen.size, int(dim)).astype(dtype)
        their_groups = group_of[chosen]
        boundaries = np.nonzero(np.r_[True, their_groups[1:] != their_groups[:-1]])[0]
        with np.errstate(over="ignore", invalid="ignore"):
            group_sums = _sums_in_row_order(matrix, boundaries)
        target = group_starts[their_groups[boundaries]]
        sums[concatenated_ranges(target, np.full(target.size, dim))] = group_sums.reshape(-1)
    return sums, counts


def _sums_in_row_order(matrix: np.ndarray, boundaries: np.ndarray) -> np.ndarray:
    """Column sums of each run of rows starting at ``boundaries``, adding one row at a time
    in the matrix's precision. numpy reduces float16 in float32 and rounds once at the
    end, so for halves the rows are added step by step, rounding after each addition as
    pgvector's halfvec_add does."""
    if matrix.dtype != np.float16:
        return np.add.reduceat(matrix, boundaries, axis=0)
    sizes = np.diff(np.r_[boundaries, len(matrix)])
    sums = matrix[boundaries].copy()
    for step in range(1, int(sizes.max(initial=0))):
        active = sizes > step
        added = sums[active].astype(np.float32) + matrix[boundaries[active] + step].astype(np.float32)
        sums[active] = added.astype(np.float16)
    return sums


# --------------------------------------------------------------------------------------
# pgvector's aggregate state functions, callable from SQL
# --------------------------------------------------------------------------------------


def accumulate(kind: DenseKind, states: pa.Array, v: pa.Array) -> pa.Array:
    """vector_accum / halfvec_accum: {n, sums...} + one vector."""
    vectors = rows(v)
    out = []
    for i, state in enumerate(_states(kind, states, f"{kind.name}_accum")):
        x = vectors.row(i).astype(np.float64)
        dim = len(state) - 1
        if dim == 0:
            out.append([state[0] + 1.0, *x.tolist()])
            continue
        check_expected_dim(dim, len(x))
        sums = state[1:] + x
        if not np.isfinite(sums).all():
            raise overflow_error()
        out.append([state[0] + 1.0, *sums.tolist()])
    return pa.array(out, type=pa.list_(pa.float64()))


def combine(kind: DenseKind, first: pa.Array, second: pa.Array) -> pa.Array:
    """vector_combine: two partial states merged."""
    out = []
    name = f"{kind.name}_combine"
    for s1, s2 in zip(_states(kind, first, name), _states(kind, second, name)):
        if s1[0] == 0.0:
            out.append(s2.tolist())
        elif s2[0] == 0.0:
            out.append(s1.tolist())
        else:
            check_expected_dim(len(s1) - 1, len(s2) - 1)
            sums = s1[1:] + s2[1:]
            if not np.isfinite(sums).all():
                raise overflow_error()
            out.append([s1[0] + s2[0], *sums.tolist()])
    return pa.array(out, type=pa.list_(pa.float64()))


def average_of_state(kind: DenseKind, states: pa.Array) -> pa.Array:
    """vector_avg / halfvec_avg: the mean a state holds, NULL when it counted no rows."""
    results: list[np.ndarray | None] = []
    for state in _states(kind, states, f"{kind.name}_avg"):
        if state is None or state[0] == 0.0:
            results.append(None)
            continue
        check_dim(len(state) - 1, kind.name, kind.max_dim)
        with np.errstate(over="ignore"):
            values = kind.coerce((state[1:] / state[0]).astype(np.float32))
        check_finite(values, kind.name)
        results.append(values)
    valid = np.array([r is not None for r in results], dtype=bool)
    present = [r for r in results if r is not None]
    lengths = np.zeros(len(results), dtype=np.int64)
    lengths[valid] = [len(r) for r in present]
    values = np.concatenate(present) if present else np.zeros(0, dtype=np.float32)
    return column(kind, FloatLists(offsets_from_lengths(lengths), values, valid))


def _states(kind: DenseKind, states: pa.Array, caller: str) -> list[np.ndarray | None]:
    """pgvector's CheckStateArray: a non-empty float8 array without NULLs, for at most the
    type's dimensions (None for a NULL state, which only a kernel that sees NULLs gets)."""
    out: list[np.ndarray | None] = []
    for state in as_array(states).to_pylist():
        if state is None:
            out.append(None)
        elif not state or any(x is None for x in state):
            raise InternalError(f"{caller}: expected state array")
        else:
            if len(state) - 1 > kind.max_dim:
                raise ProgramLimitExceeded(f"{kind.name} cannot have more than {kind.max_dim} dimensions")
            out.append(np.array(state, dtype=np.float64))
    return out

