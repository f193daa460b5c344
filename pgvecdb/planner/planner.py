"""From a parsed statement to a plan, with a cache so that each statement text is planned
once per catalog version (a prepared statement's Bind/Execute never re-plans)."""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlglot import exp

from pgvecdb.errors import FeatureNotSupported
from pgvecdb.planner.context import PlanContext
from pgvecdb.planner.dml import plan_delete, plan_insert, plan_update
from pgvecdb.planner.plans import DDLPlan, ExplainPlan, Planned, QueryPlan, UtilityPlan
from pgvecdb.planner.translate import Translator
from pgvecdb.sql import parser
from pgvecdb.sql.parser import Statement
from pgvecdb.sql.utility import ExplainStatement

QUERY_TYPES = (exp.Select, exp.Union, exp.Except, exp.Intersect, exp.Values, exp.Subquery)
DDL_TYPES = (exp.Create, exp.Drop, exp.Alter, exp.TruncateTable)


def plan_statement(statement: Statement, ctx: PlanContext) -> Planned:
    if statement.utility is not None:
        if isinstance(statement.utility, ExplainStatement):
            return _plan_explain(statement.utility, statement, ctx)
        return Planned(UtilityPlan(statement.utility), catalog_version=ctx.catalog.version)
    tree = statement.tree
    version = ctx.catalog.version
    if isinstance(tree, QUERY_TYPES):
        query = Translator(ctx).query(tree)
        return Planned(QueryPlan(query), param_types=query.params, catalog_version=version)
    if isinstance(tree, exp.Insert):
        plan, _ = plan_insert(tree, ctx)
        return Planned(plan, param_types=plan.source.params, catalog_version=version)
    if isinstance(tree, exp.Update):
        plan = plan_update(tree, ctx)
        return Planned(plan, param_types=_params(plan), catalog_version=version)
    if isinstance(tree, exp.Delete):
        plan = plan_delete(tree, ctx)
        return Planned(plan, param_types=_params(plan), catalog_version=version)
    if isinstance(tree, DDL_TYPES):
        return Planned(DDLPlan(tree), catalog_version=version)
    raise FeatureNotSupported(f"statement not supported: {statement.text.split()[0].upper()}")


def _params(plan) -> list:
    params = list(plan.source.params)
    if plan.returning is not None:
        for i, ref in enumerate(plan.returning.params):
            if i >= len(params):
                params.append(ref)
    return params


def _plan_explain(utility: ExplainStatement, statement: Statement, ctx: PlanContext) -> Planned:
    inner_statement = parser.parse_one(utility.body, statement.offset + utility.body_offset)
    inner = plan_statement(inner_statement, ctx)
    return Planned(ExplainPlan(inner.plan, analyze=utility.analyze, verbose=utility.verbose),
                   param_types=inner.param_types, catalog_version=inner.catalog_version)


def _per_session(plan) -> bool:
    queries = [getattr(plan, name, None) for name in ("query", "source", "returning")]
    conflict = getattr(plan, "conflict", None)
    if conflict is not None:
        queries.append(conflict.update)
    if isinstance(plan, ExplainPlan):
        return _per_session(plan.inner)
    return any(q is not None and q.per_session for q in queries)


class PlanCache:
    """Plans by (statement text, position, declared parameter types), dropped when the
    catalog changes."""

    def __init__(self, capacity: int = 2048) -> None:
        self.capacity = capacity
        self._plans: OrderedDict[tuple, Planned] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, statement: Statement, ctx: PlanContext) -> Planned:
        key = (statement.text, statement.offset, tuple(ctx.param_oids))
        with self._lock:
            planned = self._plans.get(key)
            if planned is not None and planned.catalog_version == ctx.catalog.version:
                self._plans.move_to_end(key)
                return planned
        planned = plan_statement(statement, ctx)
        if isinstance(planned.plan, DDLPlan) or _per_session(planned.plan):
            return planned
        with self._lock:
            self._plans[key] = planned
            while len(self._plans) > self.capacity:
                self._plans.popitem(last=False)
        return planned
