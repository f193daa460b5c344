"""A SQL session: settings, transaction state and statement execution for one client.

The wire server keeps one ``Session`` per connection and the embedded DB-API one per
``pgvecdb.connect()`` connection; both call the same methods:

* ``execute_simple(sql)`` — the simple query protocol: yields one outcome per statement,
  raising ``PgError`` at the first failing one;
* ``prepare(sql, param_oids)`` then ``execute`` — the extended protocol; a prepared
  statement is parsed and planned once.

Parameters reach ``execute`` already decoded (see ``types.codecs``): Python values in the
DuckDB representation, or ``str`` for text parameters whose type stayed unknown.
"""

from __future__ import annotations

import itertools
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

import pyarrow as pa

from pgvecdb.errors import (
    ActiveSqlTransaction,
    FeatureNotSupported,
    InFailedSqlTransaction,
    InvalidSavepointSpecification,
    NoActiveSqlTransaction,
    Notice,
    UndefinedObject,
    UndefinedTable,
    PgError,
    QueryCanceled,
    SyntaxError as PgSyntaxError,
)
from pgvecdb.catalog.model import Column
from pgvecdb.catalog.pg_catalog import SystemContext
from pgvecdb.engine import SearchParams
from pgvecdb.exec import ddl, executor
from pgvecdb.exec.copy import CopyToStdout, parse_copy_options
from pgvecdb.exec.copy_statement import copy_from_stdin, copy_target
from pgvecdb.exec.executor import ExecContext
from pgvecdb.exec.explain import explain
from pgvecdb.exec.ann_scan import search_params as ann_search_params
from pgvecdb.exec.result import EMPTY_QUERY_TAG, ColumnInfo, CopyIn, Outcome, Result
from pgvecdb.exec.rows import codec_of
from pgvecdb.exec.vector_indexes import is_searchable
from pgvecdb.planner.context import PlanContext
from pgvecdb.planner.dml import default_query
from pgvecdb.planner.plans import DDLPlan, ExplainPlan, Planned, QueryPlan, UtilityPlan
from pgvecdb.planner.rules.ann_direct import DirectSearch
from pgvecdb.sql import parser
from pgvecdb.sql.parser import Statement
from pgvecdb.sql.settings import Settings, canonical_name
from pgvecdb.sql.utility import (
    CopyStatement,
    ExtensionStatement,
    MaintenanceStatement,
    ResetStatement,
    SetStatement,
    ShowStatement,
    TransactionStatement,
)
from pgvecdb.types.codecs import FormatOptions
from pgvecdb.types.registry import by_name

if TYPE_CHECKING:
    from pgvecdb.database import Database

_session_ids = itertools.count(1)


@dataclass
class PreparedStatement:
    sql: str
    param_oids: list[int]
    columns: list[ColumnInfo] | None  # None: the statement returns no rows (NoData)
    statement: Statement | None = field(default=None, repr=False)
    planned: Planned | None = field(default=None, repr=False)

    def direct_search(self) -> DirectSearch | None:
        """The search the ANN operator answers without DuckDB, when executing it is one."""
        plan = self.planned.plan if self.planned is not None else None
        return plan.query.direct if isinstance(plan, QueryPlan) else None


class Session:
    def __init__(self, database: "Database", *, user: str = "postgres", dbname: str = "postgres",
                 options: dict[str, str] | None = None, backend_pid: int | None = None) -> None:
        self.db = database
        self.id = next(_session_ids)
        self.backend_pid = backend_pid if backend_pid is not None else self.id
        self.user = user
        self.dbname = dbname
        self.settings = Settings()
        self.settings.set_internal("session_authorization", user)
        for name, value in (options or {}).items():
            self._startup_setting(name, value)
        self.settings.take_changed_reported()
        self.cursor = database.duck.cursor()
        self.txn = None  # the storage transaction of an open block
        self.in_block = False
        self.failed = False
        self.implicit = False  # an extended-protocol transaction waiting for Sync
        self._cancel = threading.Event()
        self._running = False
        self._format_options: tuple[int, FormatOptions] | None = None
        self._search_params: tuple[int, SearchParams] | None = None
        self._notices: list[Notice] = []

    def _startup_setting(self, name: str, value: str) -> None:
        """A setting from the startup packet: a bad value is refused (the connection fails,
        as in PostgreSQL); a name pgvecdb does not know is kept as given."""
        try:
            self.settings.set(name, [value])
        except UndefinedObject:
            self.settings.set_internal(name, value)

    # ------------------------------------------------------------------ reporting
    def parameter_status(self) -> dict[str, str]:
        return self.settings.reported()

    def take_changed_parameters(self) -> dict[str, str]:
        return self.settings.take_changed_reported()

    @property
    def idle(self) -> bool:
        """No transaction is open: no block, no implicit one waiting for Sync."""
        return not (self.in_block or self.implicit)

    @property
    def transaction_status(self) -> str:
        if self.failed:
            return "E"
        return "T" if self.in_block else "I"

    def search_params(self) -> SearchParams:
        """The vector engine's search parameters under the current settings."""
        if self._search_params is None or self._search_params[0] != self.settings.version:
            self._search_params = (self.settings.version, ann_search_params(self.settings.get_or_none))
        return self._search_params[1]

    def is_quick(self, stmt: PreparedStatement) -> bool:
        """Whether executing ``stmt`` is a sub-millisecond search: the ANN operator alone,
        over a table whose sealed segments all have their index."""
        direct = stmt.direct_search()
        return direct is not None and self.db.vector_indexes.complete(direct.scan.table.oid)

    def format_options(self) -> FormatOptions:
        if self._format_options is None or self._format_options[0] != self.settings.version:
            self._format_options = (self.settings.version, FormatOptions.from_settings(self.settings.all()))
        return self._format_options[1]

    # ------------------------------------------------------------------ entry points
    def execute_simple(self, sql: str) -> Iterator[Outcome]:
        self.sync()  # a Query after extended-protocol messages without a Sync
        with self._cancellable():
            for statement in parser.parse(sql):
                if not statement.is_empty:
                    yield self._execute_statement(statement, [], None)

    def prepare(self, sql: str, param_oids: list[int]) -> PreparedStatement:
        statements = [s for s in parser.parse(sql) if not s.is_empty]
        if len(statements) > 1:
            raise PgSyntaxError("cannot insert multiple commands into a prepared statement")
        if not statements:
            return PreparedStatement(sql=sql, param_oids=list(param_oids), columns=None)
        statement = statements[0]
        self._refuse_if_failed(statement)
        planned = self._plan(statement, param_oids)
        oids = [_oid_of(ref.name) for ref in planned.param_types]
        for i, oid in enumerate(param_oids):
            if oid and i < len(oids):
                oids[i] = oid
        columns = self._describe(planned)
        return PreparedStatement(sql=sql, param_oids=oids, columns=columns, statement=statement, planned=planned)

    def execute(self, stmt: PreparedStatement, params: list[object | None]) -> Outcome:
        if stmt.statement is None:
            return Result(tag=EMPTY_QUERY_TAG)
        planned = stmt.planned
        if planned is not None and planned.catalog_version != self.db.catalog.version:
            planned = None
        if not self.in_block and not self.implicit:
            self.txn = self.db.store.begin()
            self.implicit = True
        with self._cancellable():
            return self._execute_statement(stmt.statement, params, planned, stmt.param_oids)

    def run_search(self, stmt: PreparedStatement, params: list[object | None]) -> Result | None:
        """A prepared direct search as its own read-only transaction: what Bind, Execute
        and Sync do outside a transaction block, without their general machinery. None,
        having done nothing, when the session is not idle or the plan is stale; errors
        are raised as ``execute`` would raise them."""
        planned = stmt.planned
        if (not self.idle or self._notices or planned is None
                or planned.catalog_version != self.db.catalog.version or stmt.direct_search() is None):
            return None
        self.txn = txn = self.db.store.begin()
        try:
            with txn.statement():
                return self._with_notices(executor.run(planned.plan, params, self.exec_context()))
        finally:
            self.txn = None
            txn.rollback()  # it wrote nothing

    def sync(self) -> None:
        """The extended protocol's Sync: what ran since the last one, outside a transaction
        block, was one implicit transaction; it commits now (an error already ended it)."""
        if not self.implicit:
            return
        self.implicit = False
        self.settings.end_transaction()
        self._commit()

    @contextmanager
    def _cancellable(self) -> Iterator[None]:
        """While a client's request runs, a cancel request applies to it (even when it
        arrives before the first statement has started)."""
        self._cancel.clear()
        self._running = True
        try:
            yield
        finally:
            self._running = False

    def cancel(self) -> None:
        """Cancel the running request (safe from another thread)."""
        if self._running:
            self._cancel.set()
            try:
                self.cursor.interrupt()
            except Exception:  # the statement may have finished in between
                pass

    def close(self) -> None:
        if self.txn is not None:
            self.txn.rollback()
            self.txn = None
        self.in_block = self.failed = self.implicit = False
        try:
            self.cursor.close()
        except Exception:
            pass

    def set_setting(self, name: str, value: str, *, local: bool) -> str:
        """set_config(): SET, or SET LOCAL inside a transaction block; returns the new value."""
        self.settings.set(name, [value], local=local and self.in_block)
        return self.settings.get(name)

    # ------------------------------------------------------------------ execution
    def _refuse_if_failed(self, statement: Statement) -> None:
        if not self.failed:
            return
        utility = statement.utility
        if isinstance(utility, TransactionStatement) and utility.action in ("rollback", "rollback_to", "commit"):
            return
        raise InFailedSqlTransaction("current transaction is aborted, commands ignored until end of transaction block")

    def _plan(self, statement: Statement, param_oids: list[int]) -> Planned:
        ctx = PlanContext(
            catalog=self.db.catalog,
            settings=self.settings.get_or_none,
            user=self.user,
            database=self.dbname,
            param_oids=list(param_oids),
            statement_offset=statement.offset,
            session_id=self.id,
        )
        return self.db.plan_cache.get(statement, ctx)

    def _execute_statement(self, statement: Statement, params: list[object], planned: Planned | None,
                           param_oids: list[int] | None = None) -> Outcome:
        self._refuse_if_failed(statement)
        utility = statement.utility
        if isinstance(utility, TransactionStatement):
            return self._transaction(utility)
        if isinstance(utility, (SetStatement, ShowStatement, ResetStatement)):
            return self._settings_statement(utility)
        if self._cancel.is_set():
            self._abort(ends_transaction=not self.in_block)
            raise QueryCanceled("canceling statement due to user request")
        autocommit = not self.in_block and not self.implicit
        ends_on_error = autocommit or self.implicit  # else the block stays, failed, until ROLLBACK
        if autocommit:
            self.txn = self.db.store.begin()
        try:
            if planned is None:
                planned = self._plan(statement, param_oids or [])
            with self.txn.statement():  # one snapshot for every scan of the statement
                outcome = self._run(planned, params, statement)
            if isinstance(outcome, CopyIn):
                return self._deferred_commit(outcome, autocommit, ends_on_error)
            if autocommit:
                self._commit()
            return self._with_notices(outcome)
        except PgError as err:
            self._abort(ends_on_error)
            if self._cancel.is_set() and not isinstance(err, QueryCanceled):
                raise QueryCanceled("canceling statement due to user request") from None
            raise err.with_position(_locate_name(err, statement))
        except BaseException:
            self._abort(ends_on_error)
            raise

    def _with_notices(self, outcome: Outcome) -> Outcome:
        if isinstance(outcome, Result) and self._notices:
            outcome.notices = self._notices + outcome.notices
            self._notices = []
        return outcome

    def _abort(self, ends_transaction: bool) -> None:
        """A statement failed: its transaction rolls back, or a block is marked failed."""
        if ends_transaction:
            if self.txn is not None:
                self.txn.rollback()
            self.txn = None
            self.implicit = False
        else:
            self.failed = True

    def _commit(self) -> None:
        txn, self.txn = self.txn, None
        if txn is not None:
            txn.commit(sync=self.settings.get("synchronous_commit") != "off")

    def _deferred_commit(self, copy_in: CopyIn, autocommit: bool, ends_on_error: bool) -> CopyIn:
        """COPY FROM STDIN finishes after the client's data: commit or abort then."""
        session = self
        finish, abort = copy_in.finish, copy_in.abort

        def finish_and_commit() -> Result:
            try:
                result = finish()
            except BaseException:
                session._abort(ends_on_error)
                raise
            if autocommit:
                session._commit()
            return result

        def abort_and_rollback(message: str) -> None:
            try:
                abort(message)
            finally:
                session._abort(ends_on_error)

        copy_in.finish = finish_and_commit  # type: ignore[method-assign]
        copy_in.abort = abort_and_rollback  # type: ignore[method-assign]
        return copy_in

    def exec_context(self) -> ExecContext:
        return ExecContext(store=self.db.store, catalog=self.db.catalog, cursor=self.cursor, txn=self.txn,
                           system_context=self._system_context, notices=self._notices,
                           setting=self.settings.get_or_none, vector_indexes=self.db.vector_indexes,
                           search_params=self.search_params)

    def _default_value(self, column: Column) -> pa.Scalar | None:
        """A column's DEFAULT evaluated once, in its storage type (ALTER TABLE ADD COLUMN, COPY)."""
        query = default_query(column, PlanContext(catalog=self.db.catalog, settings=self.settings.get_or_none,
                                                  session_id=self.id))
        table, _ = executor.run_duck(query, [], self.exec_context())
        return codec_of(column).from_duck(table.column(0).combine_chunks(), column.typmod)[0]

    def _system_context(self) -> SystemContext:
        return self.db.system_context(self)

    def _run(self, planned: Planned, params: list[object], statement: Statement) -> Outcome:
        plan = planned.plan
        if isinstance(plan, UtilityPlan):
            return self._utility(plan.statement, statement)
        if isinstance(plan, DDLPlan):
            with self.db.ddl_lock:
                ctx = ddl.DDLContext(self.db.catalog, self.db.store, self._notices, self._default_value,
                                     statement.offset, block=self.txn if self.in_block else None,
                                     vector_indexes=self.db.vector_indexes)
                return ddl.run_ddl(plan.tree, ctx)
        if isinstance(plan, ExplainPlan):
            return explain(plan, params, self.exec_context())
        return executor.run(plan, params, self.exec_context())

    # ------------------------------------------------------------------ describe
    def _describe(self, planned: Planned) -> list[ColumnInfo] | None:
        plan = planned.plan
        if isinstance(plan, (DDLPlan,)):
            return None
        if isinstance(plan, UtilityPlan):
            return self._describe_utility(plan.statement)
        txn = self.txn or self.db.store.begin()
        try:
            ctx = ExecContext(store=self.db.store, catalog=self.db.catalog, cursor=self.cursor, txn=txn,
                              system_context=self._system_context, notices=[])
            return executor.describe(plan, ctx)
        finally:
            if txn is not self.txn:
                txn.rollback()

    def _describe_utility(self, utility) -> list[ColumnInfo] | None:
        if isinstance(utility, ShowStatement):
            return [ColumnInfo(name=self._show_name(utility.name), type_oid=25)] if utility.name != "all" else \
                [ColumnInfo("name", 25), ColumnInfo("setting", 25), ColumnInfo("description", 25)]
        return None

    # ------------------------------------------------------------------ utility statements
    def _transaction(self, stmt: TransactionStatement) -> Result:
        action = stmt.action
        if self.implicit and action in ("begin", "commit", "rollback"):
            return self._end_implicit_by(action)
        if action == "begin":
            if self.in_block:
                return Result(tag="BEGIN", notices=[Notice("there is already a transaction in progress",
                                                           severity="WARNING", sqlstate="25001")])
            self.txn = self.db.store.begin()
            self.in_block = True
            return Result(tag="BEGIN")
        if action in ("commit", "rollback"):
            if not self.in_block:
                return Result(tag=action.upper(), notices=[Notice("there is no transaction in progress",
                                                                  severity="WARNING", sqlstate="25P01")])
            tag = "ROLLBACK" if self.failed or action == "rollback" else "COMMIT"
            try:
                if tag == "COMMIT":
                    self._commit()
                elif self.txn is not None:
                    self.txn.rollback()
            finally:
                self.txn = None
                self.in_block = self.failed = False
                self.settings.end_transaction()
            if stmt.chain:
                self.txn = self.db.store.begin()
                self.in_block = True
            return Result(tag=tag)
        if not self.in_block:
            word = {"savepoint": "SAVEPOINT", "release": "RELEASE SAVEPOINT", "rollback_to": "ROLLBACK TO SAVEPOINT"}
            raise NoActiveSqlTransaction(f"{word[action]} can only be used in transaction blocks")
        try:
            if action == "savepoint":
                self.txn.savepoint(stmt.savepoint)
                return Result(tag="SAVEPOINT")
            if action == "release":
                self.txn.release(stmt.savepoint)
                return Result(tag="RELEASE")
            self.txn.rollback_to(stmt.savepoint)
            self.failed = False
            return Result(tag="ROLLBACK")
        except KeyError:
            self.failed = True
            raise InvalidSavepointSpecification(f'savepoint "{stmt.savepoint}" does not exist') from None

    def _end_implicit_by(self, action: str) -> Result:
        """BEGIN turns the implicit transaction into a block; COMMIT/ROLLBACK end it."""
        self.implicit = False
        if action == "begin":
            self.in_block = True
        elif action == "commit":
            self._commit()
        else:
            self.txn.rollback()
            self.txn = None
        return Result(tag=action.upper())

    def _settings_statement(self, stmt) -> Result:
        try:
            if isinstance(stmt, SetStatement):
                if stmt.name in ("transaction", "session characteristics"):
                    return Result(tag="SET")
                self.settings.set(stmt.name, stmt.values, local=stmt.local and self.in_block)
                notices = []
                if stmt.local and not self.in_block:
                    notices.append(Notice("SET LOCAL can only be used in transaction blocks", severity="WARNING",
                                          sqlstate="25P01"))
                return Result(tag="SET", notices=notices)
            if isinstance(stmt, ResetStatement):
                self.settings.reset(stmt.name)
                return Result(tag="RESET")
            return self._show(stmt)
        except PgError:
            if self.in_block:
                self.failed = True
            raise

    def _show_name(self, name: str) -> str:
        return canonical_name(name) if name not in ("all",) else name

    def _show(self, stmt: ShowStatement) -> Result:
        if stmt.name == "all":
            from pgvecdb.sql.settings import SETTINGS

            values = self.settings.all()
            names = sorted(values, key=str.lower)
            descriptions = [SETTINGS[n.lower()].description if n.lower() in SETTINGS else "" for n in names]
            table = pa.table({"name": names, "setting": [values[n] for n in names], "description": descriptions})
            columns = [ColumnInfo("name", 25), ColumnInfo("setting", 25), ColumnInfo("description", 25)]
            return Result(tag="SHOW", columns=columns, table=table)
        name = self._show_name(stmt.name)
        value = self.settings.get(stmt.name)
        return Result(tag="SHOW", columns=[ColumnInfo(name=name, type_oid=25)], table=pa.table({name: [value]}))

    def _utility(self, utility, statement: Statement) -> Outcome:
        if isinstance(utility, ExtensionStatement):
            with self.db.ddl_lock:
                return ddl.run_extension(utility, ddl.DDLContext(self.db.catalog, self.db.store, self._notices,
                                                                 self._default_value))
        if isinstance(utility, CopyStatement):
            return self._copy(utility, statement)
        if isinstance(utility, MaintenanceStatement):
            return self._maintenance(utility)
        raise FeatureNotSupported(f"statement not supported: {statement.text[:40]}")

    def _copy(self, stmt: CopyStatement, statement: Statement) -> Outcome:
        if stmt.target not in ("stdin", "stdout"):
            raise PgError("COPY to or from a file is not supported; use psql's \\copy or COPY ... STDIN/STDOUT",
                          sqlstate="42501",
                          hint="Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone.")
        ctx = self.exec_context()
        if stmt.direction == "from":
            if stmt.query is not None:
                raise PgSyntaxError("COPY FROM does not support a query")
            return copy_from_stdin(stmt, ctx, self.format_options(), self._default_value)
        return self._copy_to_stdout(stmt, statement, ctx)

    def _copy_to_stdout(self, stmt: CopyStatement, statement: Statement, ctx: ExecContext) -> CopyToStdout:
        """COPY table|(query) TO STDOUT: run the query, then stream it in the COPY format."""
        if stmt.query is not None:
            text, offset = stmt.query, statement.offset + statement.text.find(stmt.query)
        else:
            table, columns = copy_target(stmt, ctx)
            names = ", ".join(_quote_ident(c.name) for c in columns)
            text, offset = f"SELECT {names} FROM {_quote_ident(table.schema)}.{_quote_ident(table.name)}", 0
        inner = parser.parse_one(text, offset)
        result = executor.run(self._plan(inner, []).plan, [], ctx)
        options = parse_copy_options(stmt.options, is_from=False,
                                     column_names=[c.name for c in result.columns])
        return CopyToStdout(result.table, result.columns, options, format_options=self.format_options())

    def _maintenance(self, stmt: MaintenanceStatement) -> Result:
        action = stmt.action
        if action == "checkpoint":
            self.db.store.checkpoint()
            return Result(tag="CHECKPOINT")
        if action == "vacuum":
            if self.in_block:
                raise ActiveSqlTransaction("VACUUM cannot run inside a transaction block")
            table = self.db.catalog.table(stmt.target) if stmt.target else None
            self.db.store.vacuum(table.oid if table else None, full=stmt.full)
            return Result(tag="VACUUM")
        if action == "analyze":
            return Result(tag="ANALYZE")
        if action == "discard":
            self.settings.reset("all")
            return Result(tag=f"DISCARD {(stmt.target or 'all').upper()}")
        if action == "deallocate":
            return Result(tag="DEALLOCATE ALL" if not stmt.target or stmt.target == "all" else "DEALLOCATE")
        if action == "reindex":
            self._reindex(stmt)
            return Result(tag="REINDEX")
        return Result(tag=action.upper())


    def _reindex(self, stmt: MaintenanceStatement) -> None:
        """REINDEX rebuilds the vector indexes named (unique keys are always current)."""
        catalog = self.db.catalog
        if stmt.kind == "INDEX":
            found = catalog.index(stmt.target)
            if found is None:
                raise UndefinedObject(f'index "{stmt.target}" does not exist')
            targets = [found]
        elif stmt.kind == "TABLE":
            table = catalog.table(stmt.target)
            if table is None:
                raise UndefinedTable(f'relation "{stmt.target}" does not exist')
            targets = [(table, index) for index in table.indexes]
        else:
            targets = [(table, index) for table in catalog.tables.values() for index in table.indexes]
        with self.db.ddl_lock:
            for table, index in targets:
                if is_searchable(table, index):
                    self.db.vector_indexes.build_table(table, index)


_NAMED_ERRORS = {"42703", "42P01", "42883"}


def _locate_name(err: PgError, statement: Statement) -> int | None:
    """Where the object an error names first appears in the statement (1-based), as
    PostgreSQL reports for unknown columns, relations and functions."""
    if err.position is not None or err.sqlstate not in _NAMED_ERRORS:
        return None
    match = re.search(r'"([^"]+)"|function (\w+)', err.message)
    if not match:
        return None
    name = (match.group(1) or match.group(2)).split(".")[-1]
    found = re.search(r'(?<![\w"])' + re.escape(name) + r'(?![\w"])', statement.text, re.IGNORECASE)
    return statement.offset + found.start() + 1 if found else None


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _oid_of(type_name: str) -> int:
    pgtype = by_name(type_name)
    return pgtype.oid if pgtype is not None else 25
