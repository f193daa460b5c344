"""One client connection's protocol state machine, independent of sockets and threads.

``ConnectionHandler.handle`` takes the messages that arrived, in order, runs them against
the connection's session and writes the replies to an ``Output``. It keeps everything the
protocol remembers between messages: the session, prepared statements and portals, an
unfinished ``COPY FROM STDIN`` (with the rest of its simple query), and whether an error
means skipping to the next Sync. It is synchronous and not thread-safe: the server calls
it for one batch of messages at a time, on whatever thread it chooses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, Protocol

import pyarrow as pa

from pgvecdb.errors import (
    AdminShutdown,
    DuplicateCursor,
    DuplicatePreparedStatement,
    FeatureNotSupported,
    InternalError,
    Notice,
    ObjectNotInPrerequisiteState,
    PgError,
    ProtocolViolation,
    QueryCanceled,
)
from pgvecdb.exec.result import EMPTY_QUERY_TAG, CopyIn, CopyOut, Outcome, Result
from pgvecdb.wire import backend, frontend
from pgvecdb.wire.params import decode_parameters
from pgvecdb.wire.portal import Portal, PortalRegistry
from pgvecdb.wire.protocol import RawMessage
from pgvecdb.wire.rows import data_rows, describe_rows, expand_formats
from pgvecdb.wire.search_cycle import search_cycle
from pgvecdb.wire.startup import StartupMessage, fatal

if TYPE_CHECKING:
    from pgvecdb.sql.session import Session

log = logging.getLogger(__name__)

PROTOCOL_MINOR_VERSION = 0
# Messages a COPY FROM STDIN accepts; Flush and Sync are ignored during it, as PostgreSQL
# does for clients that send them without noticing the statement was a COPY.
_COPY_MESSAGES = (frontend.CopyData, frontend.CopyDone, frontend.CopyFail)
_IGNORED_DURING_COPY = (frontend.Flush, frontend.Sync)


class Output(Protocol):
    """Where replies go: ``write`` may buffer, ``flush`` sends what was written."""

    def write(self, data: bytes) -> None: ...

    def flush(self) -> None: ...


def admin_shutdown() -> PgError:
    """The error a connection ends with when the server stops."""
    return fatal(AdminShutdown("terminating connection due to administrator command"))


Item = StartupMessage | RawMessage | PgError
"""What the server hands over: the startup message, a framed message, or a framing error."""


@dataclass
class _CopyInProgress:
    copy: CopyIn
    extended: bool
    rest_of_query: Iterator[Outcome] | None  # the simple query's remaining statements


class ConnectionHandler:
    def __init__(self, open_session: Callable[[StartupMessage], "Session"], output: Output,
                 backend_key: tuple[int, int]) -> None:
        self._open_session = open_session
        self._out = output
        self._backend_key = backend_key
        self.session: "Session | None" = None
        self.closed = False
        self._registry = PortalRegistry()
        self._copy: _CopyInProgress | None = None
        self._skipping_to_sync = False
        self._extended = False  # the message being handled belongs to the extended protocol
        self._shutting_down = False

    # --- entry points -------------------------------------------------------------------

    def handle(self, items: list[Item]) -> None:
        """Handle messages in order, then flush the replies."""
        if not self._answered_as_search(items):
            for item in items:
                if self.closed:
                    break
                self._handle_item(item)
        self._out.flush()

    def runs_quickly(self, items: list[Item]) -> bool:
        """Whether ``items`` only bind and run prepared statements the ANN operator answers
        by itself (a sub-millisecond search, cheaper to run inline than to hand to a thread)."""
        if self.session is None or self._copy is not None or self._skipping_to_sync:
            return False
        binds = 0
        for item in items:
            if not isinstance(item, RawMessage) or item.kind not in _QUICK_KINDS:
                return False
            if item.kind == b"B":
                binds += 1
                try:
                    statement = self._registry.statements.get(frontend.bound_statement(item))
                except PgError:  # a malformed Bind: the handler reports it
                    return False
                if statement is None or not self.session.is_quick(statement):
                    return False
        return binds > 0

    def _answered_as_search(self, items: list[Item]) -> bool:
        """Whether ``items`` were a prepared search's cycle, now answered (``search_cycle``)."""
        if self.session is None or not self.session.idle or self._copy is not None or self._skipping_to_sync:
            return False
        try:
            cycle = search_cycle(items, self._registry.statements)
            replies = cycle.replies(self.session) if cycle is not None else None
        except Exception:  # the general path runs the messages again and reports the error
            return False
        if replies is None:
            return False
        for reply in replies:
            self._out.write(reply)
        self._ready_for_query()
        return True

    def cancel(self) -> None:
        """Cancel the running statement; safe to call from another thread."""
        session = self.session
        if session is not None:
            session.cancel()

    def shut_down(self) -> None:
        """The server is stopping: cancel the running statement and end with admin_shutdown().

        Safe to call from another thread."""
        self._shutting_down = True
        self.cancel()

    def close(self) -> None:
        """Release the session (rolling back an open transaction); the connection is gone."""
        self.closed = True
        if self._copy is not None:
            self._abort_copy("connection closed")
        session, self.session = self.session, None
        if session is not None:
            session.close()

    # --- dispatch -----------------------------------------------------------------------

    def _handle_item(self, item: Item) -> None:
        try:
            if isinstance(item, PgError):
                raise item
            if isinstance(item, StartupMessage):
                self._start(item)
            else:
                self._handle_message(item)
        except PgError as err:
            self._report_failure(err)
        except Exception as exc:
            log.exception("unexpected error while handling a client message")
            self._report_failure(InternalError(f"internal error: {type(exc).__name__}: {exc}"))

    def _handle_message(self, raw: RawMessage) -> None:
        if self._copy is not None:
            self._extended = self._copy.extended
        else:
            self._extended = raw.kind[0] in frontend.EXTENDED_KINDS
        if self._skipping_to_sync and raw.kind not in (b"S", b"X"):
            return
        message = frontend.decode_message(raw)
        if self._copy is not None:
            self._handle_during_copy(message, raw.kind)
            return
        handler = self._HANDLERS.get(type(message))
        if handler is not None:
            handler(self, message)

    def _handle_during_copy(self, message: frontend.FrontendMessage, kind: bytes) -> None:
        if isinstance(message, _IGNORED_DURING_COPY):
            return
        if isinstance(message, frontend.Terminate):
            self._terminate(message)
            return
        if not isinstance(message, _COPY_MESSAGES):
            raise ProtocolViolation(f"unexpected message type 0x{kind[0]:02X} during COPY from stdin")
        if isinstance(message, frontend.CopyData):
            self._copy.copy.write(message.data)
        elif isinstance(message, frontend.CopyDone):
            self._finish_copy()
        else:
            self._abort_copy(message.message)
            raise QueryCanceled(f"COPY from stdin failed: {message.message}")

    def _report_failure(self, err: PgError) -> None:
        """Send the error, then resynchronise: ReadyForQuery, or skip to Sync, or close."""
        if self._shutting_down and err.sqlstate == QueryCanceled.sqlstate:
            err = admin_shutdown()
        self._out.write(backend.error_response(err))
        if err.severity in ("FATAL", "PANIC"):
            self.closed = True
            return
        if self._copy is not None:
            self._abort_copy(err.message)
        if self._extended:
            self._skipping_to_sync = True
        elif self.session is not None:
            self._ready_for_query()

    # --- startup ------------------------------------------------------------------------

    def _start(self, message: StartupMessage) -> None:
        if message.minor_version > PROTOCOL_MINOR_VERSION or message.protocol_options:
            self._out.write(backend.negotiate_protocol_version(PROTOCOL_MINOR_VERSION,
                                                               message.protocol_options))
        try:
            self.session = self._open_session(message)
        except PgError as err:
            raise fatal(err) from None
        log.debug("session for user %r, database %r", message.user, message.database)
        self._out.write(backend.AUTHENTICATION_OK)
        for name, value in self.session.parameter_status().items():
            self._out.write(backend.parameter_status(name, value))
        self._out.write(backend.backend_key_data(*self._backend_key))
        self._out.write(backend.ready_for_query(self.session.transaction_status))

    def _ready_for_query(self) -> None:
        for name, value in self.session.take_changed_parameters().items():
            self._out.write(backend.parameter_status(name, value))
        status = self.session.transaction_status
        if status == "I":
            self._registry.end_transaction()
        self._out.write(backend.ready_for_query(status))
        self._out.flush()

    # --- simple query -------------------------------------------------------------------

    def _query(self, message: frontend.Query) -> None:
        self._registry.close_portal("")
        self._run_statements(iter(self.session.execute_simple(message.sql)), produced=False)

    def _run_statements(self, outcomes: Iterator[Outcome], produced: bool) -> None:
        """Send each statement's outcome; a COPY FROM STDIN pauses until the data is in."""
        for outcome in outcomes:
            produced = True
            if isinstance(outcome, CopyIn):
                self._begin_copy(outcome, extended=False, rest_of_query=outcomes)
                return
            self._send_outcome(outcome, with_description=True)
        if not produced:
            self._out.write(backend.EMPTY_QUERY_RESPONSE)
        self._ready_for_query()

    def _send_outcome(self, outcome: Outcome, *, with_description: bool) -> None:
        if isinstance(outcome, CopyOut):
            self._send_copy_out(outcome)
            return
        self._send_notices(outcome.notices)
        if outcome.columns is not None:
            formats = [0] * len(outcome.columns)
            if with_description:
                self._out.write(describe_rows(outcome.columns, formats))
            self._send_rows(outcome, outcome.table, formats)
        self._out.write(backend.command_complete(outcome.tag))

    def _send_rows(self, result: Result, table: pa.Table, formats: list[int]) -> None:
        for chunk in data_rows(table, result.columns, formats, self.session.format_options()):
            self._out.write(chunk)

    def _send_notices(self, notices: list[Notice]) -> None:
        for notice in notices:
            self._out.write(backend.notice_response(notice))

    # --- COPY ---------------------------------------------------------------------------

    def _send_copy_out(self, copy: CopyOut) -> None:
        self._out.write(backend.copy_response(b"H", copy.format == "binary", len(copy.columns)))
        for chunk in copy.chunks():
            self._out.write(backend.copy_data(chunk))
        self._out.write(backend.COPY_DONE)
        self._out.write(backend.command_complete(copy.tag))

    def _begin_copy(self, copy: CopyIn, *, extended: bool,
                    rest_of_query: Iterator[Outcome] | None) -> None:
        self._copy = _CopyInProgress(copy, extended, rest_of_query)
        self._out.write(backend.copy_response(b"G", copy.format == "binary", len(copy.columns)))
        self._out.flush()

    def _finish_copy(self) -> None:
        progress, self._copy = self._copy, None
        result = progress.copy.finish()
        self._send_outcome(result, with_description=False)
        if progress.rest_of_query is not None:
            self._run_statements(progress.rest_of_query, produced=True)

    def _abort_copy(self, reason: str) -> None:
        progress, self._copy = self._copy, None
        try:
            progress.copy.abort(reason)
        except Exception:
            log.exception("aborting COPY FROM STDIN failed")

    # --- extended query -----------------------------------------------------------------

    def _parse(self, message: frontend.Parse) -> None:
        if message.statement and message.statement in self._registry.statements:
            raise DuplicatePreparedStatement(
                f'prepared statement "{message.statement}" already exists')
        statement = self.session.prepare(message.sql, list(message.param_oids))
        self._registry.statements[message.statement] = statement
        self._out.write(backend.PARSE_COMPLETE)

    def _bind(self, message: frontend.Bind) -> None:
        if not message.portal:
            self._registry.close_portal("")
        statement = self._registry.statement(message.statement)
        if message.portal in self._registry.portals:
            raise DuplicateCursor(f'cursor "{message.portal}" already exists')
        params = decode_parameters(message.statement, statement.param_oids, message.param_formats,
                                   message.params, self.session.format_options())
        if statement.columns is not None:
            expand_formats(message.result_formats, len(statement.columns))
        self._registry.portals[message.portal] = Portal(
            message.portal, statement, params, list(message.result_formats))
        self._out.write(backend.BIND_COMPLETE)

    def _describe(self, message: frontend.Describe) -> None:
        if message.kind == "S":
            statement = self._registry.statement(message.name)
            self._out.write(backend.parameter_description(statement.param_oids))
            columns, formats = statement.columns, [0] * len(statement.columns or ())
        else:
            portal = self._registry.portal(message.name)
            columns, formats = portal.columns, portal.formats()
        if columns is None:
            self._out.write(backend.NO_DATA)
        else:
            self._out.write(describe_rows(columns, formats))

    def _execute(self, message: frontend.Execute) -> None:
        portal = self._registry.portal(message.portal)
        if portal.outcome is None:
            portal.outcome = self.session.execute(portal.statement, portal.params)
            if isinstance(portal.outcome, CopyIn):
                self._begin_copy(portal.outcome, extended=True, rest_of_query=None)
                return
            if isinstance(portal.outcome, Result):
                self._send_notices(portal.outcome.notices)
        elif not _returns_rows(portal.outcome):  # statements without rows run once
            raise ObjectNotInPrerequisiteState(f'portal "{portal.name}" cannot be run')
        self._continue_portal(portal, message.max_rows)

    def _continue_portal(self, portal: Portal, max_rows: int) -> None:
        outcome = portal.outcome
        if isinstance(outcome, CopyOut):
            self._send_copy_out(outcome)
            return
        if outcome.columns is None:
            if outcome.tag == EMPTY_QUERY_TAG:
                self._out.write(backend.EMPTY_QUERY_RESPONSE)
            else:
                self._out.write(backend.command_complete(outcome.tag))
            return
        rows = portal.take_rows(max_rows)
        self._send_rows(outcome, rows, portal.formats())
        if not portal.done:
            self._out.write(backend.PORTAL_SUSPENDED)
        elif max_rows > 0 and outcome.tag.startswith("SELECT"):
            self._out.write(backend.command_complete(f"SELECT {rows.num_rows}"))
        else:
            self._out.write(backend.command_complete(outcome.tag))

    def _close(self, message: frontend.Close) -> None:
        if message.kind == "S":
            self._registry.close_statement(message.name)
        else:
            self._registry.close_portal(message.name)
        self._out.write(backend.CLOSE_COMPLETE)

    def _sync(self, message: frontend.Sync) -> None:
        self._skipping_to_sync = False
        try:
            self.session.sync()  # commits the implicit transaction since the last Sync
        except PgError as err:
            self._out.write(backend.error_response(err))
        self._ready_for_query()

    def _flush(self, message: frontend.Flush) -> None:
        self._out.flush()

    def _terminate(self, message: frontend.Terminate) -> None:
        self.closed = True

    def _function_call(self, message: frontend.FunctionCall) -> None:
        raise FeatureNotSupported("the function call protocol message is not supported")

    def _stray_copy_message(self, message: frontend.FrontendMessage) -> None:
        """CopyData/CopyDone/CopyFail outside COPY: left over from a failed COPY, ignored."""

    _HANDLERS: dict[type, Callable[["ConnectionHandler", object], None]] = {
        frontend.Query: _query,
        frontend.Parse: _parse,
        frontend.Bind: _bind,
        frontend.Describe: _describe,
        frontend.Execute: _execute,
        frontend.Close: _close,
        frontend.Sync: _sync,
        frontend.Flush: _flush,
        frontend.Terminate: _terminate,
        frontend.FunctionCall: _function_call,
        frontend.CopyData: _stray_copy_message,
        frontend.CopyDone: _stray_copy_message,
        frontend.CopyFail: _stray_copy_message,
    }


_QUICK_KINDS = frozenset((b"B", b"D", b"E", b"S", b"H"))


def _returns_rows(outcome: Outcome) -> bool:
    return isinstance(outcome, Result) and outcome.columns is not None
