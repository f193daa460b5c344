"""A prepared ANN search's round trip, answered in one pass.

Drivers run a prepared statement as Bind, Describe (portal), Execute, Sync (psycopg, JDBC)
or Bind, Execute, Sync (asyncpg). When the statement is a direct search (the ANN operator
alone, see ``Session.run_search``) and the session is idle, the replies of that cycle do
not need the portal machinery: the Bind is decoded, the search runs as its own
transaction and BindComplete, RowDescription, the DataRows and CommandComplete are
written at once. That is the hot path of a vector database (DESIGN.md, "The hot path").

Anything else (a named portal, a row limit, an open transaction block, an error) goes
message by message through ``ConnectionHandler``: a cycle writes nothing until it has
succeeded, so the general path can always take over, and reports any error as it would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

from pgvecdb.wire import backend, frontend
from pgvecdb.wire.params import decode_parameters
from pgvecdb.wire.protocol import RawMessage
from pgvecdb.wire.rows import data_rows, describe_rows, expand_formats

if TYPE_CHECKING:
    from pgvecdb.sql.session import PreparedStatement, Session

_UNNAMED_PORTAL = b"P\x00"  # Describe's body for the unnamed portal
_ALL_ROWS_OF_UNNAMED_PORTAL = b"\x00\x00\x00\x00\x00"  # Execute's: portal "", no row limit
_SHAPES = ((b"B", b"D", b"E", b"S"), (b"B", b"E", b"S"))


@dataclass(frozen=True)
class SearchCycle:
    statement: "PreparedStatement"
    bind: frontend.Bind
    describe: bool

    def replies(self, session: "Session") -> list[bytes] | None:
        """Every reply up to ReadyForQuery, or None when the session cannot take the
        shortcut (``Session.run_search``)."""
        bind, columns = self.bind, self.statement.columns
        options = session.format_options()
        params = decode_parameters(bind.statement, self.statement.param_oids, bind.param_formats, bind.params,
                                   options)
        formats = expand_formats(bind.result_formats, len(columns))
        result = session.run_search(self.statement, params)
        if result is None:
            return None
        replies = [backend.BIND_COMPLETE]
        if self.describe:
            replies.append(describe_rows(columns, formats))
        replies.extend(backend.notice_response(notice) for notice in result.notices)
        replies.extend(data_rows(result.table, result.columns, formats, options))
        replies.append(backend.command_complete(result.tag))
        return replies


def search_cycle(items: Sequence[object], statements: Mapping[str, "PreparedStatement"]) -> SearchCycle | None:
    """The cycle ``items`` are, when they bind a row-returning prepared statement to the
    unnamed portal and run it whole, ending with Sync."""
    kinds = tuple(item.kind if isinstance(item, RawMessage) else None for item in items)
    if kinds not in _SHAPES:
        return None
    describe = len(items) == 4
    if (describe and items[1].body != _UNNAMED_PORTAL) or items[-2].body != _ALL_ROWS_OF_UNNAMED_PORTAL \
            or items[-1].body:
        return None
    bind = frontend.decode_message(items[0])
    statement = statements.get(bind.statement)
    if bind.portal or statement is None or statement.columns is None:
        return None
    return SearchCycle(statement, bind, describe)
