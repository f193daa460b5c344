"""Prepared statements and portals of the extended query protocol, as one connection keeps them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from pgvecdb.errors import InvalidCursorName, InvalidSqlStatementName
from pgvecdb.exec.result import ColumnInfo, Outcome, Result
from pgvecdb.wire.rows import expand_formats

if TYPE_CHECKING:
    from pgvecdb.sql.session import PreparedStatement


@dataclass
class Portal:
    """A bound statement; its rows are fetched by one or more Execute messages."""

    name: str
    statement: "PreparedStatement"
    params: list[object | None]
    result_formats: list[int]
    outcome: Outcome | None = None
    position: int = 0  # rows already sent
    done: bool = False  # all rows sent

    @property
    def columns(self) -> list[ColumnInfo] | None:
        if isinstance(self.outcome, Result):
            return self.outcome.columns
        return self.statement.columns

    def formats(self) -> list[int]:
        """One format code per result column."""
        return expand_formats(self.result_formats, len(self.columns or ()))

    def take_rows(self, max_rows: int) -> pa.Table:
        """The next ``max_rows`` rows (all remaining when 0); marks the portal done as
        PostgreSQL does: when fewer rows than asked for were left."""
        table = self.outcome.table
        remaining = table.num_rows - self.position
        count = remaining if max_rows <= 0 else min(max_rows, remaining)
        rows = table.slice(self.position, count)
        self.position += count
        self.done = max_rows <= 0 or count < max_rows
        return rows


@dataclass
class PortalRegistry:
    """Named and unnamed statements and portals; the name "" is the unnamed one."""

    statements: dict[str, "PreparedStatement"] = field(default_factory=dict)
    portals: dict[str, Portal] = field(default_factory=dict)

    def statement(self, name: str) -> "PreparedStatement":
        statement = self.statements.get(name)
        if statement is None:
            if name:
                raise InvalidSqlStatementName(f'prepared statement "{name}" does not exist')
            raise InvalidSqlStatementName("unnamed prepared statement does not exist")
        return statement

    def portal(self, name: str) -> Portal:
        portal = self.portals.get(name)
        if portal is None:
            raise InvalidCursorName(f'portal "{name}" does not exist')
        return portal

    def close_statement(self, name: str) -> None:
        self.statements.pop(name, None)

    def close_portal(self, name: str) -> None:
        self.portals.pop(name, None)

    def end_transaction(self) -> None:
        """Portals live until the end of the transaction that created them."""
        self.portals.clear()
