"""CREATE INDEX ... USING hnsw / ivfflat / ivf_sq8 / ivf_pq / flat: what pgvector checks
before building (operator class, dimensions, options), against the engine's validator.

The index is recorded in the catalog; exec/vector_indexes builds it per sealed segment
and planner/rules/ann_search searches it.
"""

from __future__ import annotations

import re

from pgvecdb.catalog.model import Table
from pgvecdb.engine import IndexType, Metric, check_dimensions, validate_build
from pgvecdb.errors import PgError, UndefinedObject

VECTOR_METHODS = ("hnsw", "ivfflat", "ivf_flat", "ivf_sq8", "ivf_pq", "flat")

# operator class -> (type it indexes, metric)
OPCLASSES: dict[str, tuple[str, Metric]] = {
    **{f"{t}_{name}_ops": (t, metric) for t in ("vector", "halfvec", "sparsevec")
       for name, metric in (("l2", Metric.L2), ("ip", Metric.IP), ("cosine", Metric.COSINE), ("l1", Metric.L1))},
    "bit_hamming_ops": ("bit", Metric.HAMMING),
    "bit_jaccard_ops": ("bit", Metric.JACCARD),
}

# pgvector's own limits on what its index methods (hnsw, ivfflat) take; pgvecdb's own
# methods (flat, ivf_flat, ivf_sq8, ivf_pq) take what the engine does.
_MAX_DIMENSIONS = {"vector": 2000, "halfvec": 4000, "bit": 64000, "sparsevec": 1_000_000_000}
PGVECTOR_METHODS = ("hnsw", "ivfflat")

_TYPMOD_IN_EXPRESSION = re.compile(r"(?:::|\bAS)\s*(vector|halfvec|sparsevec|bit)\s*\(\s*(\d+)\s*\)", re.IGNORECASE)


def index_type_for(method: str, value_type: str) -> IndexType:
    binary = value_type == "bit"
    if method in ("ivfflat", "ivf_flat"):
        return IndexType.BIN_IVF_FLAT if binary else IndexType.IVF_FLAT
    if method == "flat":
        return IndexType.BIN_FLAT if binary else IndexType.FLAT
    return {"hnsw": IndexType.HNSW, "ivf_sq8": IndexType.IVF_SQ8, "ivf_pq": IndexType.IVF_PQ}[method]


def validate_vector_index(table: Table, method: str, column: str, expression: str | None,
                          opclass: str | None, options: dict[str, object]) -> None:
    """Raise pgvector's error for an index it would refuse; return quietly otherwise."""
    value_type, dim = indexed_type(table, column, expression)
    if not expression and table.column(column).type_name == "varbit":
        raise PgError(f"type not supported for {method} index", sqlstate="XX000")
    if value_type not in _MAX_DIMENSIONS:
        raise PgError(f'data type {value_type} has no default operator class for access method "{method}"',
                      sqlstate="42704", hint="You must specify an operator class for the index or define a "
                                             "default operator class for the data type.")
    if opclass is None:
        opclass = f"{value_type}_l2_ops" if value_type != "bit" else "bit_hamming_ops"
    if opclass not in OPCLASSES:
        raise UndefinedObject(f'operator class "{opclass}" does not exist for access method "{method}"')
    wanted, metric = OPCLASSES[opclass]
    if wanted != value_type:
        raise PgError(f'operator class "{opclass}" does not accept data type {value_type}', sqlstate="42804")
    if dim is None:
        raise PgError("column does not have dimensions", sqlstate="22000")
    if method in PGVECTOR_METHODS or value_type == "sparsevec":
        check_dimensions(dim, _MAX_DIMENSIONS[value_type], method)
    index_type = index_type_for(method, value_type)
    if value_type != "sparsevec":
        validate_build(index_type, metric, dim, options)


def indexed_type(table: Table, column: str, expression: str | None) -> tuple[str, int | None]:
    """The pgvector type an index key holds and its dimensions (None when not fixed)."""
    if expression:
        match = _TYPMOD_IN_EXPRESSION.search(expression)
        if match:
            return match.group(1).lower(), int(match.group(2))
        raise PgError("column does not have dimensions", sqlstate="22000")
    definition = table.column(column)
    base = "bit" if definition.type_name == "varbit" else definition.type_name
    return base, definition.typmod if definition.typmod >= 0 else None
