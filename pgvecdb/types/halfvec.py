"""pgvector's ``halfvec`` type: half-precision values, their text format and codec.

Representations: storage ``fixed_size_list<float16>[n]`` (``list<float16>`` without a
typmod); DuckDB ``STRUCT(__halfvec FLOAT[])`` holding float4 values already rounded to half
precision; wire text as for vector (each half printed as the float4 it widens to, so
``[1.23456]`` reads back as ``[1.234375]``); wire binary int16 dim, int16 unused, dim
float16 big-endian.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pgvecdb.errors import NumericValueOutOfRange
from pgvecdb.types import registry
from pgvecdb.types.codecs import register
from pgvecdb.types.vector import (
    DenseKind,
    DenseVectorCodec,
    format_float4,
    format_dense,
)

HALFVEC_MAX_DIM = 16000


def to_half(values: np.ndarray) -> np.ndarray:
    """float4 values rounded to half precision (returned as float32), as pgvector's
    Float4ToHalf: a finite value beyond the half range is an error."""
    values = np.asarray(values, dtype=np.float32)
    with np.errstate(over="ignore"):
        halves = values.astype(np.float16)
    overflow = np.isinf(halves) & np.isfinite(values)
    if overflow.any():
        text = format_float4(values[overflow][0])
        raise NumericValueOutOfRange(f'"{text}" is out of range for type halfvec')
    return halves.astype(np.float32)


HALFVEC = DenseKind("halfvec", registry.HALFVEC_TAG, pa.float16(), ">f2", to_half, HALFVEC_MAX_DIM)


def parse_halfvec(text: str, typmod: int = -1) -> np.ndarray:
    """A halfvec literal -> float32 array of half-precision values (halfvec_in)."""
    return HALFVEC.parse(text, typmod)


def format_halfvec(values: np.ndarray) -> str:
    """A halfvec as halfvec_out prints it."""
    return format_dense(np.asarray(values).astype(np.float32))


register(DenseVectorCodec(registry.TYPES["halfvec"], HALFVEC))
