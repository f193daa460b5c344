"""Sequences as SQL functions: nextval, currval, setval over the store's durable counters."""

from __future__ import annotations

from typing import Callable

import duckdb
import pyarrow as pa

from pgvecdb.catalog.model import Catalog, Sequence
from pgvecdb.errors import ObjectNotInPrerequisiteState, PgError, udf_error
from pgvecdb.storage.api import Store


class SequenceFunctions:
    """Registers pgv_nextval/pgv_currval/pgv_setval on a DuckDB instance for one database.

    The planner resolves ``nextval('name')`` to ``pgv_nextval(<session id>, <sequence oid>)``:
    currval is per session, and DuckDB may run a UDF on any of its threads, so the session
    travels as an argument.
    """

    def __init__(self, store: Store, catalog: Callable[[], Catalog]) -> None:
        self.store = store
        self.catalog = catalog
        self._last: dict[tuple[int, int], int] = {}

    def _sequence(self, oid: int) -> Sequence:
        for seq in self.catalog().sequences.values():
            if seq.oid == oid:
                return seq
        raise udf_error(PgError(f"could not open relation with OID {oid}", sqlstate="XX000"))

    def nextval(self, sessions: pa.Array, oids: pa.Array) -> pa.Array:
        out = []
        for session, oid in zip(sessions.to_pylist(), oids.to_pylist()):
            seq = self._sequence(oid)
            value = self.store.sequence_next(seq.oid, seq.start, seq.increment)
            if value > seq.max_value:
                raise udf_error(PgError(f'nextval: reached maximum value of sequence "{seq.name}" ({seq.max_value})',
                                        sqlstate="2200H"))
            self._last[(session, oid)] = value
            out.append(value)
        return pa.array(out, pa.int64())

    def currval(self, sessions: pa.Array, oids: pa.Array) -> pa.Array:
        out = []
        for session, oid in zip(sessions.to_pylist(), oids.to_pylist()):
            key = (session, oid)
            if key not in self._last:
                seq = self._sequence(oid)
                raise udf_error(ObjectNotInPrerequisiteState(
                    f'currval of sequence "{seq.name}" is not yet defined in this session'))
            out.append(self._last[key])
        return pa.array(out, pa.int64())

    def setval(self, sessions: pa.Array, oids: pa.Array, values: pa.Array) -> pa.Array:
        for session, oid, value in zip(sessions.to_pylist(), oids.to_pylist(), values.to_pylist()):
            self._sequence(oid)
            self.store.sequence_set(oid, value)
            self._last[(session, oid)] = value
        return values

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        con.create_function("pgv_nextval", self.nextval, ["BIGINT", "BIGINT"], "BIGINT", type="arrow",
                            side_effects=True)
        con.create_function("pgv_currval", self.currval, ["BIGINT", "BIGINT"], "BIGINT", type="arrow",
                            side_effects=True)
        con.create_function("pgv_setval", self.setval, ["BIGINT", "BIGINT", "BIGINT"], "BIGINT", type="arrow",
                            side_effects=True)
