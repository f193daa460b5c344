"""A SQL session: settings, transaction state and statement execution for one client.

The wire server keeps one ``Session`` per connection and the embedded DB-API one per
``pgvecdb.connect()`` connection; both call the same three methods:

* ``execute_simple(sql)`` — the simple query protocol: yields one outcome per statement,
  raising ``PgError`` at the first failing one;
* ``prepare(sql, param_oids)`` then ``describe``/``execute`` — the extended protocol;
  a prepared statement is parsed and planned once.

Parameters reach ``execute`` already decoded (see ``types.codecs``): Python values, numpy
arrays for vectors, or ``str`` for text-format parameters the client left untyped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from pgvecdb.exec.result import ColumnInfo, Outcome


@dataclass
class PreparedStatement:
    sql: str
    param_oids: list[int]
    columns: list[ColumnInfo] | None  # None: the statement returns no rows (NoData)
    plan: object = field(default=None, repr=False)
