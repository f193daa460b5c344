"""Kernels over bit strings (DuckDB's ``STRUCT(__bit VARCHAR)``): pgvector's binary
distances and PostgreSQL's length-coercing casts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pgvecdb.errors import DataException
from pgvecdb.exec.functions.dense import row_sums
from pgvecdb.types.bit import BitChars, cast_bit, parse_bit

_ONE = ord("1")


def _pair(a: pa.Array, b: pa.Array) -> tuple[BitChars, BitChars]:
    left, right = BitChars.from_duck(a), BitChars.from_duck(b)
    mismatch = left.lengths != right.lengths
    if mismatch.any():
        i = int(np.argmax(mismatch))
        raise DataException(f"different bit lengths {left.lengths[i]} and {right.lengths[i]}")
    return left, right


def hamming_distance(a: pa.Array, b: pa.Array) -> pa.Array:
    left, right = _pair(a, b)
    differing = (left.chars != right.chars).astype(np.int64)
    return pa.array(row_sums(differing, left.offsets).astype(np.float64), type=pa.float64())


def jaccard_distance(a: pa.Array, b: pa.Array) -> pa.Array:
    """1 - |a ∩ b| / |a ∪ b|, and 1 when the strings share no set bit."""
    left, right = _pair(a, b)
    ones_a, ones_b = left.chars == _ONE, right.chars == _ONE
    both = row_sums((ones_a & ones_b).astype(np.int64), left.offsets).astype(np.float64)
    count_a = row_sums(ones_a.astype(np.int64), left.offsets)
    count_b = row_sums(ones_b.astype(np.int64), left.offsets)
    union = np.maximum(count_a + count_b - both, 1.0)
    return pa.array(np.where(both == 0, 1.0, 1.0 - both / union), type=pa.float64())


def _strings(column: pa.Array) -> list[str]:
    return column.field(0).to_pylist()


def _bit_column(bit_strings: list[str]) -> pa.Array:
    return BitChars.from_strings(bit_strings).to_duck()


def to_bit(b: pa.Array, typmod: pa.Array) -> pa.Array:
    """An explicit cast to bit(n): zero-padded or truncated to n bits."""
    return _bit_column([cast_bit(s, int(m), varying=False, explicit=True)
                        for s, m in zip(_strings(b), typmod.to_numpy(zero_copy_only=False))])


def to_varbit(b: pa.Array, typmod: pa.Array) -> pa.Array:
    """An explicit cast to bit varying(n): truncated to at most n bits."""
    return _bit_column([cast_bit(s, int(m), varying=True, explicit=True)
                        for s, m in zip(_strings(b), typmod.to_numpy(zero_copy_only=False))])


def bit_from_text(text: pa.Array, typmod: pa.Array) -> pa.Array:
    return _bit_column([cast_bit(parse_bit(t), int(m), varying=False, explicit=True)
                        for t, m in zip(text.to_pylist(), typmod.to_numpy(zero_copy_only=False))])


def varbit_from_text(text: pa.Array, typmod: pa.Array) -> pa.Array:
    return _bit_column([cast_bit(parse_bit(t), int(m), varying=True, explicit=True)
                        for t, m in zip(text.to_pylist(), typmod.to_numpy(zero_copy_only=False))])
