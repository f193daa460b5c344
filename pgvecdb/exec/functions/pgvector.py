"""pgvector's SQL surface on DuckDB, and the tables the planner resolves it with.

``register(con)`` installs, on a DuckDB connection, the functions below: vectorised Arrow
UDFs (kernels in ``dense``, ``sparse`` and ``bitstring``) and SQL macros, all named
``pgv_*``. They work on DuckDB's representation of the types (``types.registry``).

How the planner uses the tables
-------------------------------
Types are named by ``pg_type.typname``: 'vector', 'halfvec', 'sparsevec', 'bit', 'varbit',
'_float4' (real[]), '_float8', '_int4', '_numeric', 'text', 'varchar', 'int4', 'float8',
'bool'. Each entry is an ``Overload``: the DuckDB function to call and the PostgreSQL type
of its result.

* ``OPERATORS[(op, left_type, right_type)]``: ``l op r`` becomes ``duck_name(l, r)``.
  ``op`` is one of ``<-> <#> <=> <+> <~> <%> + - * || = <> < <= > >=``. An untyped literal
  beside a typed operand is first made a value of the other operand's type (through the
  type's codec, by the planner).
* ``FUNCTIONS[(name, arg_types)]``: ``name(args)`` becomes ``build_call(overload, args)``
  once each argument is coerced to ``overload.arg_types``. ``overload.aggregate`` marks
  avg/sum of vector and halfvec, which DuckDB computes over ``list()`` of the group:
  ``build_call`` gives ``duck_name(list(arg))`` (as a window function the planner writes
  ``duck_name(list(arg) OVER (...))``); a group without rows gives NULL, as PostgreSQL.
* ``CASTS[(source, target)]``: ``x::target(n)`` becomes ``duck_name(x, n)`` (n = -1 without
  a typmod). ``overload.context`` is pg_cast's castcontext: 'i' the cast also applies
  implicitly (to function and operator arguments), 'a' also in assignments (INSERT,
  UPDATE), 'e' only when written. One function serves all three contexts, except for bit
  strings: the function is the explicit cast, which pads or truncates to bit(n), while
  an assignment checks the length, which the storage codec's ``from_duck`` does.
* ``SORT_KEYS[type]``: ORDER BY (and min/max, window ORDER BY) of a sparsevec must sort by
  ``SORT_KEYS['sparsevec'](x)``: its DuckDB struct order is not pgvector's. Equality is
  native (a sparsevec is stored in one canonical form), so GROUP BY and DISTINCT need no
  key. vector, halfvec, bit and varbit order natively in DuckDB exactly as in PostgreSQL
  (element by element, then the shorter first; -0 equals 0), so they need no key either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Sequence

import duckdb
from sqlglot import exp

from pgvecdb.exec.functions import bitstring, dense, sparse
from pgvecdb.exec.functions.arrow_udf import Kernel, Macro, Udf, install, install_macro
from pgvecdb.types import registry
from pgvecdb.types.halfvec import HALFVEC
from pgvecdb.types.vector import VECTOR, DenseKind


@dataclass(frozen=True)
class Overload:
    """One PostgreSQL operator, function, aggregate or cast, as a DuckDB function."""

    duck_name: str
    result_type: str
    arg_types: tuple[str, ...] = ()
    aggregate: bool = False  # call over list() of the argument (see build_call)
    context: str = "i"  # casts: pg_cast.castcontext


def build_call(overload: Overload, args: Sequence[exp.Expression]) -> exp.Expression:
    """The DuckDB call of a resolved function or aggregate."""
    if overload.aggregate:
        return exp.Anonymous(this=overload.duck_name, expressions=[exp.Anonymous(this="list", expressions=list(args))])
    return exp.Anonymous(this=overload.duck_name, expressions=list(args))


COMPARISONS = {"=": "eq", "<>": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
ARRAY_SOURCES = ("_int4", "_float4", "_float8", "_numeric")
TEXT_TYPES = ("text", "varchar")

# The DuckDB types of the UDFs' arguments and results, by PostgreSQL type name. '_vector'
# and '_halfvec' are also what DuckDB's list() of a group of vectors gives.
DUCK_TYPES = {
    **{name: registry.TYPES[name].duck for name in ("vector", "halfvec", "sparsevec", "bit", "varbit",
                                                     "_vector", "_halfvec")},
    "_float8": "DOUBLE[]",
    "int4": "INTEGER",
    "float8": "DOUBLE",
    "text": "VARCHAR",
    "sparsevec sort key": "STRUCT(s FLOAT, k INTEGER, v FLOAT)[]",
}


@dataclass
class Library:
    """What ``register`` installs and what the planner resolves, built up by type."""

    udfs: list[Udf] = field(default_factory=list)
    macros: list[Macro] = field(default_factory=list)
    operators: dict[tuple[str, str, str], Overload] = field(default_factory=dict)
    functions: dict[tuple[str, tuple[str, ...]], Overload] = field(default_factory=dict)
    casts: dict[tuple[str, str], Overload] = field(default_factory=dict)
    sort_keys: dict[str, str] = field(default_factory=dict)

    def udf(self, name: str, kernel: Kernel, params: tuple[str, ...], returns: str, nulls: bool = False) -> str:
        """A UDF over PostgreSQL-typed arguments; returns its DuckDB name. ``nulls``: the
        kernel sees NULL arguments and may return NULL (see ``Udf``)."""
        self.udfs.append(Udf(name, kernel, tuple(DUCK_TYPES[p] for p in params), DUCK_TYPES[returns], nulls))
        return name

    def macro(self, name: str, args: tuple[str, ...], body: str) -> str:
        if all(m.name != name for m in self.macros):
            self.macros.append(Macro(name, args, body))
        return name

    def function(self, pg_name: str, arg_types: tuple[str, ...], duck_name: str, result: str,
                 aggregate: bool = False) -> None:
        self.functions[(pg_name, arg_types)] = Overload(duck_name, result, arg_types, aggregate)

    def operator(self, op: str, left: str, right: str, duck_name: str, result: str) -> None:
        self.operators[(op, left, right)] = Overload(duck_name, result, (left, right))

    def cast(self, source: str, target: str, duck_name: str, context: str, pg_function: str | None = None) -> None:
        """A cast; ``pg_function`` is the SQL function pgvector implements it with, which
        is also callable by name with (value, typmod, explicit)."""
        self.casts[(source, target)] = Overload(duck_name, target, (source, "int4"), context=context)
        if pg_function:
            wrapper = self.macro(f"{duck_name}_fn", ("v", "typmod", "explicit"), f"{duck_name}(v, typmod)")
            self.function(pg_function, (source, "int4", "bool"), wrapper, target)


def _define_native_comparisons(lib: Library) -> None:
    """Macros comparing with DuckDB's own order, shared by the types it orders right."""
    for op, word in COMPARISONS.items():
        duck_op = "!=" if op == "<>" else op
        lib.macro(f"pgv_native_{word}", ("a", "b"), f"a {duck_op} b")
    lib.macro("pgv_native_cmp", ("a", "b"), "CASE WHEN a < b THEN -1 WHEN a > b THEN 1 ELSE 0 END")


DISTANCES = (  # (pgvector name, kernel name, operator)
    ("l2_distance", "l2_distance", "<->"),
    ("inner_product", "inner_product", None),
    ("negative_inner_product", "negative_inner_product", "<#>"),
    ("cosine_distance", "cosine_distance", "<=>"),
    ("l1_distance", "l1_distance", "<+>"),
    ("l2_squared_distance", "l2_squared_distance", None),
)
# Distance functions pgvector names with the type in front.
TYPE_PREFIXED = ("negative_inner_product", "l2_squared_distance")


def _define_distances(lib: Library, type_name: str, kernel_of) -> None:
    pair = (type_name, type_name)
    for pg_name, kernel_name, op in DISTANCES:
        duck = lib.udf(f"pgv_{type_name}_{pg_name}", kernel_of(kernel_name), pair, "float8")
        lib.function(f"{type_name}_{pg_name}" if pg_name in TYPE_PREFIXED else pg_name, pair, duck, "float8")
        if op:
            lib.operator(op, type_name, type_name, duck, "float8")


def _define_dense(lib: Library, kind: DenseKind) -> None:
    t, tag = kind.name, kind.tag
    one, pair = (t,), (t, t)
    _define_distances(lib, t, lambda name: partial(getattr(dense, name), kind))

    for word, kernel, op in (("add", dense.add, "+"), ("sub", dense.subtract, "-"),
                             ("mul", dense.multiply, "*"), ("concat", dense.concat, "||")):
        duck = lib.udf(f"pgv_{t}_{word}", partial(kernel, kind), pair, t)
        lib.function(f"{t}_{word}", pair, duck, t)
        lib.operator(op, t, t, duck, t)
    _define_comparisons_natively(lib, t, t, named=True)

    lib.function("vector_dims", one, lib.macro(f"pgv_{t}_dims", ("v",), f"CAST(len(v.{tag}) AS INTEGER)"), "int4")
    lib.function("vector_norm" if kind is VECTOR else "l2_norm", one,
                 lib.udf(f"pgv_{t}_norm", partial(dense.norm, kind), one, "float8"), "float8")
    lib.function("l2_normalize", one, lib.udf(f"pgv_{t}_l2_normalize", partial(dense.l2_normalize, kind), one, t), t)
    lib.function("binary_quantize", one,
                 lib.udf(f"pgv_{t}_binary_quantize", partial(dense.binary_quantize, kind), one, "bit"), "bit")
    lib.function("subvector", (t, "int4", "int4"),
                 lib.udf(f"pgv_{t}_subvector", partial(dense.subvector, kind), (t, "int4", "int4"), t), t)

    lib.function("avg", one, lib.udf(f"pgv_{t}_avg", partial(dense.average, kind), (f"_{t}",), t, nulls=True),
                 t, aggregate=True)
    lib.function("sum", one, lib.udf(f"pgv_{t}_sum", partial(dense.total, kind), (f"_{t}",), t, nulls=True),
                 t, aggregate=True)
    state = "_float8"
    lib.function(f"{t}_accum", (state, t),
                 lib.udf(f"pgv_{t}_accum", partial(dense.accumulate, kind), (state, t), state), state)
    lib.function(f"{t}_avg", (state,),
                 lib.udf(f"pgv_{t}_avg_of_state", partial(dense.average_of_state, kind), (state,), t, nulls=True), t)
    if kind is VECTOR:
        lib.function("vector_combine", (state, state),
                     lib.udf("pgv_vector_combine", partial(dense.combine, kind), (state, state), state), state)

    lib.cast(t, t, lib.udf(f"pgv_{t}", partial(dense.with_typmod, kind), (t, "int4"), t), "i", pg_function=t)
    array_cast = lib.udf(f"pgv_array_to_{t}", partial(dense.from_array, kind), ("_float8", "int4"), t)
    for source in ARRAY_SOURCES:
        lib.cast(source, t, array_cast, "a", pg_function=f"array_to_{t}")
    to_real_array = lib.macro(f"pgv_{t}_to_float4", ("v", "typmod"), f"v.{tag}")
    lib.cast(t, "_float4", to_real_array, "i" if kind is VECTOR else "a", pg_function=f"{t}_to_float4")
    lib.cast(t, "sparsevec", lib.udf(f"pgv_{t}_to_sparsevec", partial(dense.to_sparse, kind), (t, "int4"), "sparsevec"),
             "i", pg_function=f"{t}_to_sparsevec")
    _define_text_casts(lib, t, partial(dense.from_text, kind), partial(dense.to_text, kind))


def _define_comparisons_natively(lib: Library, t: str, other: str, named: bool = False) -> None:
    """Comparison operators of ``t`` and ``other``; ``named`` adds pgvector's functions
    (vector_lt ... vector_cmp)."""
    for op, word in COMPARISONS.items():
        lib.operator(op, t, other, f"pgv_native_{word}", "bool")
        if named:
            lib.function(f"{t}_{word}", (t, t), f"pgv_native_{word}", "bool")
    if named:
        lib.function(f"{t}_cmp", (t, t), "pgv_native_cmp", "int4")


def _define_text_casts(lib: Library, t: str, from_text: Kernel, to_text: Kernel) -> None:
    parse = lib.udf(f"pgv_text_to_{t}", from_text, ("text", "int4"), t)
    show = lib.udf(f"pgv_{t}_to_text", to_text, (t, "int4"), "text")
    for text_type in TEXT_TYPES:
        lib.cast(text_type, t, parse, "e")
        lib.cast(t, text_type, show, "a")


def _define_dense_conversions(lib: Library) -> None:
    lib.cast("vector", "halfvec", lib.udf("pgv_vector_to_halfvec", partial(dense.to_dense, VECTOR, HALFVEC),
                                          ("vector", "int4"), "halfvec"), "i", pg_function="vector_to_halfvec")
    lib.cast("halfvec", "vector", lib.udf("pgv_halfvec_to_vector", partial(dense.to_dense, HALFVEC, VECTOR),
                                          ("halfvec", "int4"), "vector"), "a", pg_function="halfvec_to_vector")


def _define_sparse(lib: Library) -> None:
    t, one = "sparsevec", ("sparsevec",)
    _define_distances(lib, t, lambda name: getattr(sparse, name))
    lib.function("l2_norm", one, lib.udf("pgv_sparsevec_norm", sparse.norm, one, "float8"), "float8")
    lib.function("l2_normalize", one, lib.udf("pgv_sparsevec_l2_normalize", sparse.l2_normalize, one, t), t)

    key = lib.udf("pgv_sparsevec_sort_key", sparse.sort_key, one, "sparsevec sort key")
    lib.sort_keys[t] = key
    for op, word in COMPARISONS.items():
        duck_op = "!=" if op == "<>" else op
        duck = lib.macro(f"pgv_sparsevec_{word}", ("a", "b"), f"{key}(a) {duck_op} {key}(b)")
        lib.operator(op, t, t, duck, "bool")
        lib.function(f"sparsevec_{word}", (t, t), duck, "bool")
    lib.function("sparsevec_cmp", (t, t), lib.macro("pgv_sparsevec_cmp", ("a", "b"), f"pgv_native_cmp({key}(a), {key}(b))"),
                 "int4")

    lib.cast(t, t, lib.udf("pgv_sparsevec", sparse.with_typmod, (t, "int4"), t), "i", pg_function=t)
    array_cast = lib.udf("pgv_array_to_sparsevec", sparse.from_array, ("_float8", "int4"), t)
    for source in ARRAY_SOURCES:
        lib.cast(source, t, array_cast, "a", pg_function="array_to_sparsevec")
    for kind in (VECTOR, HALFVEC):
        duck = lib.udf(f"pgv_sparsevec_to_{kind.name}", partial(sparse.to_dense, kind), (t, "int4"), kind.name)
        lib.cast(t, kind.name, duck, "a", pg_function=f"sparsevec_to_{kind.name}")
    _define_text_casts(lib, t, sparse.from_text, sparse.to_text)


def _define_bit(lib: Library) -> None:
    pair = ("bit", "bit")
    for pg_name, kernel, op in (("hamming_distance", bitstring.hamming_distance, "<~>"),
                                ("jaccard_distance", bitstring.jaccard_distance, "<%>")):
        duck = lib.udf(f"pgv_bit_{pg_name}", kernel, pair, "float8")
        lib.function(pg_name, pair, duck, "float8")
        lib.operator(op, "bit", "bit", duck, "float8")
    to_bit = lib.udf("pgv_bit_to_bit", bitstring.to_bit, ("bit", "int4"), "bit")
    to_varbit = lib.udf("pgv_bit_to_varbit", bitstring.to_varbit, ("bit", "int4"), "varbit")
    to_text = lib.macro("pgv_bit_to_text", ("b", "typmod"), "b.__bit")
    concat = lib.macro("pgv_bit_concat", ("a", "b"), "struct_pack(__bit := a.__bit || b.__bit)")
    length = lib.macro("pgv_bit_length", ("b",), "CAST(length(b.__bit) AS INTEGER)")
    octets = lib.macro("pgv_bit_octet_length", ("b",), "CAST((length(b.__bit) + 7) // 8 AS INTEGER)")
    for t in ("bit", "varbit"):
        for other in ("bit", "varbit"):
            _define_comparisons_natively(lib, t, other)
            lib.operator("||", t, other, concat, "varbit")
        lib.cast(t, "bit", to_bit, "i")
        lib.cast(t, "varbit", to_varbit, "i")
        for name, duck in (("length", length), ("bit_length", length), ("octet_length", octets)):
            lib.function(name, (t,), duck, "int4")
        for text_type in TEXT_TYPES:
            lib.cast(t, text_type, to_text, "a")
    from_text = lib.udf("pgv_text_to_bit", bitstring.bit_from_text, ("text", "int4"), "bit")
    from_text_varying = lib.udf("pgv_text_to_varbit", bitstring.varbit_from_text, ("text", "int4"), "varbit")
    for text_type in TEXT_TYPES:
        lib.cast(text_type, "bit", from_text, "e")
        lib.cast(text_type, "varbit", from_text_varying, "e")


def _library() -> Library:
    lib = Library()
    _define_native_comparisons(lib)
    _define_dense(lib, VECTOR)
    _define_dense(lib, HALFVEC)
    _define_dense_conversions(lib)
    _define_sparse(lib)
    _define_bit(lib)
    return lib


LIBRARY = _library()
OPERATORS = LIBRARY.operators
FUNCTIONS = LIBRARY.functions
CASTS = LIBRARY.casts
SORT_KEYS = LIBRARY.sort_keys


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Install every function of the tables on ``con`` (its cursors see them too)."""
    for udf in LIBRARY.udfs:
        install(con, udf)
    for macro in LIBRARY.macros:
        install_macro(con, macro)
