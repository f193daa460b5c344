"""Sequences as SQL functions: nextval, currval, setval over the store's durable counters."""

from __future__ import annotations

import threading
from typing import Callable

import duckdb
import pyarrow as pa

from pgvecdb.catalog.model import Catalog, Sequence
from pgvecdb.errors import ObjectNotInPrerequisiteState, PgError, udf_error
from pgvecdb.storage.api import Store


class SequenceFunctions:
    """Registers pgv_nextval/pgv_currval/pgv_setval on a DuckDB instance for one database.

    The planner resolves ``nextval('name')`` to ``pgv_nextval(<sequence oid>)``. currval is
    per session: the session running a statement is recorded in a thread-local by
    ``running_as``.
    """

    def __init__(self, store: Store, catalog: Callable[[], Catalog]) -> None:
        self.store = store
        self.catalog = catalog
        self._local = threading.local()
        self._last: dict[tuple[int, int], int] = {}

    def running_as(self, session_id: int) -> None:
        self._local.session = session_id

    def _sequence(self, oid: int) -> Sequence:
        for seq in self.catalog().sequences.values():
            if seq.oid == oid:
                return seq
        raise udf_error(PgError(f"could not open relation with OID {oid}", sqlstate="XX000"))

    def nextval(self, oids: pa.Array) -> pa.Array:
        out = []
        for oid in oids.to_pylist():
            seq = self._sequence(oid)
            value = self.store.sequence_next(seq.oid, seq.start, seq.increment)
            if value > seq.max_value:
                raise udf_error(PgError(f'nextval: reached maximum value of sequence "{seq.name}" ({seq.max_value})',
                                        sqlstate="2200H"))
            self._last[(getattr(self._local, "session", 0), oid)] = value
            out.append(value)
        return pa.array(out, pa.int64())

    def currval(self, oids: pa.Array) -> pa.Array:
        out = []
        for oid in oids.to_pylist():
            key = (getattr(self._local, "session", 0), oid)
            if key not in self._last:
                seq = self._sequence(oid)
                raise udf_error(ObjectNotInPrerequisiteState(
                    f'currval of sequence "{seq.name}" is not yet defined in this session'))
            out.append(self._last[key])
        return pa.array(out, pa.int64())

    def setval(self, oids: pa.Array, values: pa.Array) -> pa.Array:
        for oid, value in zip(oids.to_pylist(), values.to_pylist()):
            self._sequence(oid)
            self.store.sequence_set(oid, value)
            self._last[(getattr(self._local, "session", 0), oid)] = value
        return values

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        con.create_function("pgv_nextval", self.nextval, ["BIGINT"], "BIGINT", type="arrow", side_effects=True)
        con.create_function("pgv_currval", self.currval, ["BIGINT"], "BIGINT", type="arrow", side_effects=True)
        con.create_function("pgv_setval", self.setval, ["BIGINT", "BIGINT"], "BIGINT", type="arrow",
                            side_effects=True)
