"""Build and search parameters, validated up front with PostgreSQL's and pgvector's messages.

Build options arrive as they are written in ``CREATE INDEX ... WITH (m = 16, ...)`` — a
mapping of names to integers or their text — and ``validate_build`` turns them into an
``IndexParams`` with every default filled in, or raises ``InvalidParameterValue`` with the
message PostgreSQL gives for the same reloption (``value 1 out of bounds for option "m"``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping

from pgvecdb.engine.index_types import CAPABILITIES, IndexType, OptionSpec, max_dimensions
from pgvecdb.engine.metrics import Metric
from pgvecdb.errors import InvalidParameterValue

DEFAULT_EF_SEARCH = 40  # pgvector's hnsw.ef_search
DEFAULT_NPROBE = 1  # pgvector's ivfflat.probes


@dataclass(frozen=True)
class IndexParams:
    """Build options of one index. ``m`` is the graph degree for HNSW and the number of
    sub-quantizers for IVF_PQ; an option an index type does not take stays None."""

    m: int | None = None
    ef_construction: int | None = None
    lists: int | None = None
    nbits: int | None = None

    def as_options(self) -> dict[str, int]:
        """The options that are set, as ``validate_build`` accepts them back."""
        return {name: value for name, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class SearchParams:
    """Search-time knobs: ``ef_search`` (pgvector's ``hnsw.ef_search``), ``nprobe``
    (``ivfflat.probes``) and ``exact_selectivity``: when a filter keeps less than this
    fraction of the rows, search them exactly; None lets a cost model decide.

    ``max_budget`` caps the budget for good (pgvector's ``ivfflat.max_probes``): the search
    stays an index search, never grows past the cap and may then return fewer rows than
    asked. Without it every search returns ``min(k, rows not excluded)`` rows."""

    ef_search: int = DEFAULT_EF_SEARCH
    nprobe: int = DEFAULT_NPROBE
    exact_selectivity: float | None = None
    max_budget: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.ef_search, int) or self.ef_search < 1:
            raise InvalidParameterValue(f"ef_search must be a positive integer, not {self.ef_search!r}")
        if not isinstance(self.nprobe, int) or self.nprobe < 1:
            raise InvalidParameterValue(f"nprobe must be a positive integer, not {self.nprobe!r}")
        if self.max_budget is not None and (not isinstance(self.max_budget, int) or self.max_budget < 1):
            raise InvalidParameterValue(f"max_budget must be a positive integer, not {self.max_budget!r}")
        if self.exact_selectivity is not None and not 0.0 <= self.exact_selectivity <= 1.0:
            raise InvalidParameterValue(
                f"exact_selectivity must be between 0 and 1, not {self.exact_selectivity!r}")


def validate_build(index_type: IndexType, metric: Metric, dim: int,
                   options: Mapping[str, object] | IndexParams | None = None) -> IndexParams:
    """Check that ``index_type`` can index ``dim``-dimensional vectors under ``metric`` with
    ``options``, and return the options with their defaults."""
    capabilities = CAPABILITIES[index_type]
    if metric not in capabilities.metrics:
        raise InvalidParameterValue(f"index type {index_type.value} does not support the {metric.value} metric")
    check_dimensions(dim, max_dimensions(metric), capabilities.access_method)
    if isinstance(options, IndexParams):
        options = options.as_options()
    values = {spec.name: spec.default for spec in capabilities.options}
    for name, raw in (options or {}).items():
        spec = capabilities.option(name.lower())
        if spec is None:
            raise InvalidParameterValue(f'unrecognized parameter "{name}"')
        values[spec.name] = _bounded_integer(spec, raw)
    params = IndexParams(**values)
    cross_check = _CROSS_CHECKS.get(index_type)
    if cross_check is not None:
        cross_check(params, dim)
    if index_type is IndexType.IVF_PQ and params.m is None:
        params = IndexParams(lists=params.lists, nbits=params.nbits, m=default_subquantizers(dim))
    return params


def default_subquantizers(dim: int) -> int:
    """The largest divisor of ``dim`` that leaves at least four dimensions per sub-quantizer."""
    return max(d for d in range(1, max(1, dim // 4) + 1) if dim % d == 0)


def check_dimensions(dim: int, maximum: int, access_method: str) -> None:
    """pgvector's dimension check; the SQL layer applies pgvector's own limits (2,000 for
    vector in hnsw/ivfflat) with it where compatibility asks for them."""
    if not isinstance(dim, int) or dim < 1:
        raise InvalidParameterValue(f"vectors must have at least 1 dimension, not {dim!r}")
    if dim > maximum:
        raise InvalidParameterValue(f"column cannot have more than {maximum} dimensions for {access_method} index")


def _bounded_integer(spec: OptionSpec, raw: object) -> int:
    value = _integer(spec.name, raw)
    if not spec.minimum <= value <= spec.maximum:
        raise InvalidParameterValue(
            f'value {value} out of bounds for option "{spec.name}"',
            detail=f'Valid values are between "{spec.minimum}" and "{spec.maximum}".')
    return value


def _integer(name: str, raw: object) -> int:
    if isinstance(raw, bool):
        raise InvalidParameterValue(f'invalid value for integer option "{name}": {raw}')
    if isinstance(raw, int):
        return raw
    text = str(raw).strip()
    try:
        return int(text)
    except ValueError:
        raise InvalidParameterValue(f'invalid value for integer option "{name}": {raw}') from None


def _check_hnsw(params: IndexParams, dim: int) -> None:
    if params.ef_construction < 2 * params.m:
        raise InvalidParameterValue("ef_construction must be greater than or equal to 2 * m")


def _check_ivf_pq(params: IndexParams, dim: int) -> None:
    if params.m is not None and dim % params.m:
        raise InvalidParameterValue(
            f'value {params.m} for option "m" does not divide the {dim} dimensions',
            hint="IVF_PQ splits each vector into m equal parts.")


_CROSS_CHECKS = {IndexType.HNSW: _check_hnsw, IndexType.IVF_PQ: _check_ivf_pq}
