"""The index types of the engine and what each accepts.

Adding an index type is a short recipe: a member here, a row in ``CAPABILITIES`` (metrics,
vector kind, build options with their bounds), and a ``VectorIndex`` subclass registered
for it in ``engine.factory``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from pgvecdb.engine.metrics import Metric

MAX_FLOAT_DIM = 16_000
MAX_BINARY_DIM = 64_000


class IndexType(Enum):
    FLAT = "FLAT"
    IVF_FLAT = "IVF_FLAT"
    IVF_SQ8 = "IVF_SQ8"
    IVF_PQ = "IVF_PQ"
    HNSW = "HNSW"
    BIN_FLAT = "BIN_FLAT"
    BIN_IVF_FLAT = "BIN_IVF_FLAT"


@dataclass(frozen=True)
class OptionSpec:
    """One build option: its default and inclusive bounds (PostgreSQL's reloption checks)."""

    name: str
    default: int | None
    minimum: int
    maximum: int


@dataclass(frozen=True)
class Capabilities:
    metrics: frozenset[Metric]
    options: tuple[OptionSpec, ...]
    access_method: str  # the name in "... dimensions for <access_method> index"
    # Searches report the exact distance of every row they return (IVF_SQ8 and IVF_PQ report
    # their quantized estimate: recompute it where it is shown).
    exact_distances: bool

    def option(self, name: str) -> OptionSpec | None:
        return next((spec for spec in self.options if spec.name == name), None)


_FLOAT = frozenset({Metric.L2, Metric.IP, Metric.COSINE})
_FLOAT_ANY = _FLOAT | {Metric.L1}
_BITS = frozenset({Metric.HAMMING, Metric.JACCARD})
_LISTS = OptionSpec("lists", 100, 1, 32768)

CAPABILITIES: dict[IndexType, Capabilities] = {
    IndexType.FLAT: Capabilities(_FLOAT_ANY, (), "flat", exact_distances=True),
    IndexType.IVF_FLAT: Capabilities(_FLOAT, (_LISTS,), "ivfflat", exact_distances=True),
    IndexType.IVF_SQ8: Capabilities(_FLOAT, (_LISTS,), "ivf_sq8", exact_distances=False),
    # m: sub-quantizers (it must divide the dimensions; default: the largest divisor of dim
    # up to dim / 4), nbits: bits per sub-quantizer code.
    IndexType.IVF_PQ: Capabilities(
        _FLOAT, (_LISTS, OptionSpec("m", None, 1, MAX_FLOAT_DIM), OptionSpec("nbits", 8, 1, 16)),
        "ivf_pq", exact_distances=False),
    IndexType.HNSW: Capabilities(
        _FLOAT_ANY | _BITS,
        (OptionSpec("m", 16, 2, 100), OptionSpec("ef_construction", 64, 4, 1000)),
        "hnsw", exact_distances=True),
    IndexType.BIN_FLAT: Capabilities(_BITS, (), "flat", exact_distances=True),
    IndexType.BIN_IVF_FLAT: Capabilities(frozenset({Metric.HAMMING}), (_LISTS,), "ivfflat", exact_distances=True),
}


def max_dimensions(metric: Metric) -> int:
    return MAX_BINARY_DIM if metric.binary else MAX_FLOAT_DIM
