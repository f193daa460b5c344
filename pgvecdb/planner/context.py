"""What the planner needs to know about the session it plans for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from pgvecdb.catalog.model import Catalog


@dataclass
class PlanContext:
    catalog: Catalog
    settings: Callable[[str], str | None]  # current value of a setting, None when unknown
    user: str = "postgres"
    database: str = "postgres"
    param_oids: list[int] = field(default_factory=list)  # types the client declared (0 = infer)
    statement_offset: int = 0  # where the statement starts in the query string
    session_id: int = 0  # for functions bound to the session (set_config, currval); such plans are per session
