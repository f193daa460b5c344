"""Plan nodes: what exec/ runs for each kind of statement."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from pgvecdb.catalog.model import Table
from pgvecdb.planner.translate import DuckQuery
from pgvecdb.sql.utility import Utility
from pgvecdb.types.typeref import TypeRef


@dataclass
class QueryPlan:
    """A SELECT (or VALUES, set operation) run by DuckDB."""

    query: DuckQuery


@dataclass
class InsertPlan:
    table: Table
    source: DuckQuery  # yields every column of the table, in table order, in DuckDB types
    conflict: "ConflictClause | None" = None
    returning: DuckQuery | None = None  # evaluated over the written rows


@dataclass
class ConflictClause:
    key_index: int | None  # which unique key of the table; None = any
    action: str  # 'nothing' | 'update'
    update: DuckQuery | None = None  # over relations "t" (existing) and "excluded"; yields all columns
    where: bool = False


@dataclass
class UpdatePlan:
    table: Table
    source: DuckQuery  # yields __rowid then every column of the table with new values
    returning: DuckQuery | None = None


@dataclass
class DeletePlan:
    table: Table
    source: DuckQuery  # yields __rowid of the rows to delete
    returning: DuckQuery | None = None  # evaluated over the deleted rows


@dataclass
class DDLPlan:
    tree: exp.Expression


@dataclass
class UtilityPlan:
    statement: Utility


@dataclass
class ExplainPlan:
    inner: "Plan"
    analyze: bool = False
    verbose: bool = False


Plan = QueryPlan | InsertPlan | UpdatePlan | DeletePlan | DDLPlan | UtilityPlan | ExplainPlan


@dataclass
class Planned:
    """A planned statement with what Describe reports about it."""

    plan: Plan
    param_types: list[TypeRef] = field(default_factory=list)
    catalog_version: int = 0
