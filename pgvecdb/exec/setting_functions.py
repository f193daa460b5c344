"""set_config() as an SQL function: it changes the settings of the session running it.

DuckDB may run a UDF on any of its threads, so the planner passes the session's id as the
first argument (such plans are per session and never shared).
"""

from __future__ import annotations

from typing import Callable, Protocol

import duckdb
import pyarrow as pa

from pgvecdb.errors import PgError, udf_error


class SessionSettings(Protocol):
    in_block: bool

    def set_setting(self, name: str, value: str, *, local: bool) -> str: ...


class SettingFunctions:
    def __init__(self, session: Callable[[int], SessionSettings]) -> None:
        self.session = session

    def set_config(self, session_ids: pa.Array, names: pa.Array, values: pa.Array, is_local: pa.Array) -> pa.Array:
        out = []
        for session_id, name, value, local in zip(session_ids.to_pylist(), names.to_pylist(), values.to_pylist(),
                                                  is_local.to_pylist()):
            try:
                out.append(self.session(session_id).set_setting(name, value or "", local=bool(local)))
            except PgError as err:
                raise udf_error(err) from None
        return pa.array(out, pa.string())

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        con.create_function("pgv_set_config", self.set_config, ["BIGINT", "VARCHAR", "VARCHAR", "BOOLEAN"],
                            "VARCHAR", type="arrow", side_effects=True)
