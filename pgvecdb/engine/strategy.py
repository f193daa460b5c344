"""How a search with a filter is carried out, so that it always fills its LIMIT.

A graph or IVF search explores a neighbourhood of fixed size (``ef_search`` candidates,
``nprobe`` lists); under a filter only a fraction of that neighbourhood passes, so a
selective filter starves it (faiss HNSW at 1% answers 2 or 3 of 10 rows at ef 40). The
engine therefore:

1. plans: when the rows that pass are few, searching them exhaustively costs less than
   an index search wide enough to find them — a cost model (or the caller's
   ``exact_selectivity`` threshold) picks one or the other;
2. widens the index search for the filter: the budget (ef / nprobe) grows with
   1 / selectivity so that the explored neighbourhood holds enough passing rows (the
   caller's ef_search / nprobe still scales it: a larger one buys recall);
3. completes: a query still short of ``min(k, matching rows)`` results is searched again
   with a budget four times larger, and finally exhaustively — unless the caller capped
   the budget (``SearchParams.max_budget``), which then bounds the work and the answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from pgvecdb.engine.params import SearchParams
from pgvecdb.engine.topk import Results

BUDGET_GROWTH = 4

SearchFn = Callable[[np.ndarray, int, int], Results]  # (queries, k, budget)
ExhaustiveFn = Callable[[np.ndarray, int], Results]  # (queries, k)


@dataclass(frozen=True)
class SearchPlan:
    """What one search will do: ``budget`` is the first index search's ef_search or
    nprobe (0 when exhaustive)."""

    exhaustive: bool
    matching: int
    rows: int
    budget: int

    @property
    def selectivity(self) -> float:
        return self.matching / self.rows if self.rows else 0.0

    def describe(self) -> str:
        share = f"{self.matching} of {self.rows} rows ({self.selectivity:.1%})"
        if self.exhaustive:
            return f"exhaustive search over {share}"
        return f"index search, budget {self.budget}, {share}"


@dataclass(frozen=True)
class Costs:
    """An index's answers to the planner, in units of one full vector distance."""

    budget: int  # ef / nprobe for this search, already widened for the filter
    index: float  # an index search with that budget
    exhaustive: float  # an exhaustive search over the matching rows


def plan_search(costs: Costs, params: SearchParams, matching: int, rows: int) -> SearchPlan:
    """Exhaustive or index search, by ``params.exact_selectivity`` when set, else by cost;
    always an index search within ``params.max_budget`` when that is set."""
    if params.max_budget is not None:
        return SearchPlan(False, matching, rows, min(costs.budget, params.max_budget))
    if params.exact_selectivity is not None:
        exhaustive = matching < params.exact_selectivity * rows
    else:
        exhaustive = costs.exhaustive <= costs.index
    return SearchPlan(exhaustive, matching, rows, 0 if exhaustive else costs.budget)


def widened_budget(budget: int, selectivity: float, factor: float, floor: float = 0.0) -> int:
    """``budget`` grown for a filter that keeps ``selectivity`` of the rows: to
    ``factor * budget / selectivity``, and at least ``floor / selectivity``."""
    if selectivity >= 1.0:
        return budget
    return max(budget, math.ceil(max(budget * factor, floor) / max(selectivity, 1e-9) - 1e-9))


def search_to_completion(plan: SearchPlan, queries: np.ndarray, k: int, max_budget: int,
                         search_index: SearchFn, search_exhaustive: ExhaustiveFn, *,
                         capped: bool = False) -> Results:
    """Run ``plan``: every query ends with ``min(k, plan.matching)`` results — or with what
    ``max_budget`` finds when the caller ``capped`` it."""
    if plan.exhaustive:
        return search_exhaustive(queries, k)
    distances, ids = search_index(queries, k, plan.budget)
    wanted = min(k, plan.matching)
    budget = plan.budget
    short = _short_of(ids, wanted)
    while short.size and budget < max_budget:
        budget = min(max_budget, budget * BUDGET_GROWTH)
        distances[short], ids[short] = search_index(queries[short], k, budget)
        short = short[_short_of(ids[short], wanted)]
    if short.size and not capped:
        distances[short], ids[short] = search_exhaustive(queries[short], k)
    return distances, ids


def _short_of(ids: np.ndarray, wanted: int) -> np.ndarray:
    """The rows of ``ids`` (ordered: found rows first, -1 pads) with fewer than ``wanted`` rows found."""
    if not wanted:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(ids[:, wanted - 1] < 0)
