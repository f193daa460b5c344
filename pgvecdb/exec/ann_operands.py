"""The values an ANN search takes from the statement at run time: its query vector,
LIMIT, OFFSET and radius (bound parameters, planned constants or scalar subqueries)."""

from __future__ import annotations

import numpy as np

from pgvecdb.errors import DataException, PgError
from pgvecdb.exec.vector_keys import KeySpec
from pgvecdb.planner.rules.ann_search import AnnScan, Operand


def operand_value(operand: Operand | None, bound: list[object], ctx) -> object:
    if operand is None:
        return None
    if operand.position is not None:
        return bound[operand.position - 1] if operand.position <= len(bound) else None
    if operand.query is not None:
        from pgvecdb.exec.executor import run_subquery  # the executor materialises ANN relations

        result = run_subquery(operand.query, bound, ctx)
        return result.column(0)[0].as_py() if result.num_rows else None
    return operand.value


def offset_of(scan: AnnScan, bound: list[object], ctx) -> int:
    return integer_value(scan.offset, bound, ctx, "OFFSET") or 0


def integer_value(operand: Operand | None, bound: list[object], ctx, clause: str = "LIMIT") -> int | None:
    """A LIMIT or OFFSET value: None for none (or NULL); negative ones are PostgreSQL's errors."""
    value = operand_value(operand, bound, ctx)
    if value is None:
        return None
    if int(value) < 0:
        raise PgError(f"{clause} must not be negative", sqlstate="2201W" if clause == "LIMIT" else "2201X")
    return int(value)


def query_vector(scan: AnnScan, spec: KeySpec, bound: list[object], ctx) -> np.ndarray | None:
    """The query as the engine takes it (a float row or packed bits); None for NULL."""
    value = operand_value(scan.query, bound, ctx)
    inner = next(iter(value.values())) if isinstance(value, dict) and len(value) == 1 else value
    if inner is None:
        return None
    if not isinstance(inner, str if spec.binary else (list, tuple, np.ndarray)):
        raise DataException(f"cannot search {spec.value_type} values with a value of type {type(inner).__name__}")
    if spec.binary:
        bits = np.frombuffer(inner.encode("ascii"), dtype=np.uint8) - ord("0")
        if len(bits) != spec.dim:
            raise DataException(f"different bit lengths {spec.dim} and {len(bits)}")
        return np.packbits(bits)[None, :]
    query = np.asarray(inner, dtype=np.float32)
    if len(query) != spec.dim:
        raise DataException(f"different {spec.value_type} dimensions {spec.dim} and {len(query)}")
    return query[None, :]
