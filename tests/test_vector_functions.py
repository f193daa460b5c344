"""pgvector's functions, operators, aggregates and casts on a real DuckDB connection,
against pgvector's own expected outputs (test/expected/*.out)."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from pgvecdb.errors import from_duckdb_message
from pgvecdb.exec.functions import pgvector
from pgvecdb.types.vector import format_vector


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    pgvector.register(connection)
    return connection


def value(type_name: str, text: str) -> str:
    """SQL for a literal of a pgvector type, made by the library's own text cast."""
    return f"{pgvector.CASTS[('text', type_name)].duck_name}('{text}', -1)"


def vec(text: str) -> str:
    return value("vector", text)


def half(text: str) -> str:
    return value("halfvec", text)


def sparse(text: str) -> str:
    return value("sparsevec", text)


def bits(text: str) -> str:
    return value("bit", text)


def as_text(type_name: str, sql: str) -> str:
    return f"{pgvector.CASTS[(type_name, 'text')].duck_name}({sql}, -1)"


def run(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    """The single value ``sql`` gives, or 'ERROR <sqlstate> <message>'."""
    try:
        return con.execute(f"SELECT {sql}").fetchall()[0][0]
    except duckdb.Error as exc:
        err = from_duckdb_message(str(exc))
        assert err is not None, str(exc)
        return f"ERROR {err.sqlstate} {err.message}"


def call(kind: str, pg_name: str, *args: str) -> str:
    key = (pg_name, tuple([kind] * len(args)))
    return f"{pgvector.FUNCTIONS[key].duck_name}({', '.join(args)})"


def op(symbol: str, kind: str, left: str, right: str) -> str:
    return f"{pgvector.OPERATORS[(symbol, kind, kind)].duck_name}({left}, {right})"


# ---------------------------------------------------------------------------------------
# the tables
# ---------------------------------------------------------------------------------------


def test_every_overload_names_an_installed_function(con: duckdb.DuckDBPyConnection) -> None:
    installed = {row[0] for row in con.execute("SELECT function_name FROM duckdb_functions()").fetchall()}
    overloads = [*pgvector.OPERATORS.values(), *pgvector.FUNCTIONS.values(), *pgvector.CASTS.values()]
    missing = {o.duck_name for o in overloads} - installed
    assert not missing
    assert set(pgvector.SORT_KEYS.values()) <= installed


def test_tables_cover_pgvector_surface() -> None:
    for kind in ("vector", "halfvec", "sparsevec"):
        for symbol in ("<->", "<#>", "<=>", "<+>", "=", "<>", "<", "<=", ">", ">="):
            assert (symbol, kind, kind) in pgvector.OPERATORS
        for name in ("l2_distance", "inner_product", "cosine_distance", "l1_distance", "l2_normalize"):
            assert any(key[0] == name and key[1][0] == kind for key in pgvector.FUNCTIONS)
    assert pgvector.FUNCTIONS[("avg", ("vector",))].aggregate
    assert pgvector.CASTS[("_float4", "vector")].context == "a"
    assert pgvector.CASTS[("vector", "halfvec")].context == "i"
    assert ("<~>", "bit", "bit") in pgvector.OPERATORS and ("<%>", "bit", "bit") in pgvector.OPERATORS


def test_build_call_wraps_aggregates_in_list() -> None:
    from sqlglot import exp

    avg = pgvector.FUNCTIONS[("avg", ("vector",))]
    call_sql = pgvector.build_call(avg, [exp.column("v")]).sql(dialect="duckdb")
    assert call_sql.lower() == f"{avg.duck_name}(list(v))"


# ---------------------------------------------------------------------------------------
# vector_type.out and halfvec.out
# ---------------------------------------------------------------------------------------

ARITHMETIC = [  # (type, operator, left, right, expected)
    ("vector", "+", "[1,2,3]", "[4,5,6]", "[5,7,9]"),
    ("vector", "+", "[3e38]", "[3e38]", "ERROR 22003 value out of range: overflow"),
    ("vector", "+", "[1,2]", "[3]", "ERROR 22000 different vector dimensions 2 and 1"),
    ("vector", "-", "[1,2,3]", "[4,5,6]", "[-3,-3,-3]"),
    ("vector", "-", "[-3e38]", "[3e38]", "ERROR 22003 value out of range: overflow"),
    ("vector", "*", "[1,2,3]", "[4,5,6]", "[4,10,18]"),
    ("vector", "*", "[1e37]", "[1e37]", "ERROR 22003 value out of range: overflow"),
    ("vector", "*", "[1e-37]", "[1e-37]", "ERROR 22003 value out of range: underflow"),
    ("vector", "||", "[1,2,3]", "[4,5]", "[1,2,3,4,5]"),
    ("halfvec", "+", "[65519]", "[65519]", "ERROR 22003 value out of range: overflow"),
    ("halfvec", "-", "[-65519]", "[65519]", "ERROR 22003 value out of range: overflow"),
    ("halfvec", "*", "[65519]", "[65519]", "ERROR 22003 value out of range: overflow"),
    ("halfvec", "*", "[1e-7]", "[1e-7]", "ERROR 22003 value out of range: underflow"),
    ("halfvec", "+", "[1,2]", "[3]", "ERROR 22000 different halfvec dimensions 2 and 1"),
    ("halfvec", "*", "[1,2,3]", "[4,5,6]", "[4,10,18]"),
]


@pytest.mark.parametrize("kind, symbol, left, right, expected", ARITHMETIC)
def test_arithmetic(con, kind: str, symbol: str, left: str, right: str, expected: str) -> None:
    assert run(con, as_text(kind, op(symbol, kind, value(kind, left), value(kind, right)))) == expected


def test_concat_dimension_limit(con) -> None:
    ones = "[" + ",".join(["0"] * 16000) + "]"
    assert run(con, op("||", "vector", vec(ones), vec("[1]"))) == \
        "ERROR 54000 vector cannot have more than 16000 dimensions"


@pytest.mark.parametrize("kind", ["vector", "halfvec"])
def test_comparisons_and_cmp(con, kind: str) -> None:
    a, shorter = value(kind, "[1,2,3]"), value(kind, "[1,2]")
    answers = [run(con, op(s, kind, a, a)) for s in ("<", "<=", "=", "<>", ">=", ">")]
    assert answers == [False, True, True, False, True, False]
    answers = [run(con, op(s, kind, a, shorter)) for s in ("<", "<=", "=", "<>", ">=", ">")]
    assert answers == [False, False, False, True, True, True]
    cases = [("[1,2,3]", "[0,0,0]", 1), ("[0,0,0]", "[1,2,3]", -1), ("[1,2]", "[1,2,3]", -1),
             ("[1,2]", "[2,3,4]", -1), ("[2,3]", "[1,2,3]", 1), ("[1,2,3]", "[1,2,3]", 0)]
    for left, right, expected in cases:
        assert run(con, call(kind, f"{kind}_cmp", value(kind, left), value(kind, right))) == expected


DISTANCES = [  # (type, function, left, right, expected)
    ("vector", "l2_distance", "[0,0]", "[3,4]", 5.0),
    ("vector", "l2_distance", "[3e38]", "[-3e38]", float("inf")),
    ("vector", "l2_distance", "[1,1,1,1,1,1,1,1,1]", "[1,1,1,1,1,1,1,4,5]", 5.0),
    ("vector", "l2_distance", "[1,2]", "[3]", "ERROR 22000 different vector dimensions 2 and 1"),
    ("vector", "inner_product", "[1,2]", "[3,4]", 11.0),
    ("vector", "inner_product", "[3e38]", "[3e38]", float("inf")),
    ("vector", "cosine_distance", "[1,2]", "[2,4]", 0.0),
    ("vector", "cosine_distance", "[1,1]", "[-1,-1]", 2.0),
    ("vector", "cosine_distance", "[1,1]", "[1.1,1.1]", 0.0),
    ("vector", "cosine_distance", "[1,1]", "[-1.1,-1.1]", 2.0),
    ("vector", "cosine_distance", "[1,2,3,4,5,6,7,8,9]", "[-1,-2,-3,-4,-5,-6,-7,-8,-9]", 2.0),
    ("vector", "l1_distance", "[1,2,3,4,5,6,7,8,9]", "[0,3,2,5,4,7,6,9,8]", 9.0),
    ("vector", "l1_distance", "[3e38]", "[-3e38]", float("inf")),
    ("halfvec", "inner_product", "[65504]", "[65504]", 4290774016.0),
    ("halfvec", "l2_distance", "[1,2]", "[3]", "ERROR 22000 different halfvec dimensions 2 and 1"),
    ("halfvec", "cosine_distance", "[1,0]", "[0,2]", 1.0),
    ("sparsevec", "l2_distance", "{1:3}/2", "{2:4}/2", 5.0),
    ("sparsevec", "l2_distance", "{}/2", "{2:1}/2", 1.0),
    ("sparsevec", "inner_product", "{1:1,3:3,5:5}/5", "{2:4,3:6,4:8}/5", 18.0),
    ("sparsevec", "inner_product", "{1:1,2:2}/2", "{1:3}/1", "ERROR 22000 different sparsevec dimensions 2 and 1"),
    ("sparsevec", "inner_product", "{1:3e38}/1", "{1:3e38}/1", float("inf")),
    ("sparsevec", "cosine_distance", "{1:1}/2", "{2:2}/2", 1.0),
    ("sparsevec", "cosine_distance", "{1:1,2:1}/2", "{1:-1.1,2:-1.1}/2", 2.0),
    ("sparsevec", "l1_distance", "{1:1,3:3,5:5,7:7,9:9}/9", "{2:2,4:4,6:6,8:8}/9", 45.0),
    ("sparsevec", "l1_distance", "{1:3e38}/1", "{1:-3e38}/1", float("inf")),
]


@pytest.mark.parametrize("kind, name, left, right, expected", DISTANCES)
def test_distances(con, kind: str, name: str, left: str, right: str, expected: object) -> None:
    assert run(con, call(kind, name, value(kind, left), value(kind, right))) == expected


@pytest.mark.parametrize(
    "kind, left, right",
    [("vector", "[1,2]", "[0,0]"), ("vector", "[3e38]", "[3e38]"), ("halfvec", "[1,2]", "[0,0]"),
     ("sparsevec", "{1:1,2:2}/2", "{}/2"), ("sparsevec", "{}/1", "{}/1")],
)
def test_cosine_distance_of_a_zero_or_overflowing_vector_is_nan(con, kind: str, left: str, right: str) -> None:
    assert np.isnan(run(con, call(kind, "cosine_distance", value(kind, left), value(kind, right))))


def test_operators_are_the_distances(con) -> None:
    assert run(con, op("<->", "vector", vec("[0,0]"), vec("[3,4]"))) == 5.0
    assert run(con, op("<#>", "vector", vec("[1,2]"), vec("[3,4]"))) == -11.0
    assert run(con, op("<=>", "vector", vec("[1,2]"), vec("[2,4]"))) == 0.0
    assert run(con, op("<+>", "halfvec", half("[0,0]"), half("[3,4]"))) == 7.0
    assert run(con, op("<#>", "sparsevec", sparse("{1:1,2:2}/2"), sparse("{1:3,2:4}/2"))) == -11.0


def test_norms_and_dims(con) -> None:
    assert run(con, call("vector", "vector_dims", vec("[1,2,3]"))) == 3
    assert run(con, call("halfvec", "vector_dims", half("[1,2,3]"))) == 3
    assert run(con, call("vector", "vector_norm", vec("[3,4]"))) == 5.0
    assert round(run(con, call("vector", "vector_norm", vec("[1,1]"))), 5) == 1.41421
    assert np.float32(run(con, call("vector", "vector_norm", vec("[3e37,4e37]")))) == np.float32(5e37)
    assert run(con, call("halfvec", "l2_norm", half("[3,4]"))) == 5.0
    assert np.float32(run(con, call("sparsevec", "l2_norm", sparse("{1:3e37,2:4e37}/2")))) == np.float32(5e37)
    assert run(con, call("sparsevec", "l2_norm", sparse("{}/2"))) == 0.0


@pytest.mark.parametrize(
    "kind, text, expected",
    [
        ("vector", "[3,4]", "[0.6,0.8]"), ("vector", "[0,0.1]", "[0,1]"), ("vector", "[0,0]", "[0,0]"),
        ("vector", "[3e38]", "[1]"),
        ("halfvec", "[3,4]", "[0.60009766,0.7998047]"), ("halfvec", "[65504]", "[1]"),
        ("sparsevec", "{1:3,2:4}/2", "{1:0.6,2:0.8}/2"), ("sparsevec", "{}/2", "{}/2"),
        ("sparsevec", "{1:3e38,2:1e-37}/2", "{1:1}/2"),
        ("sparsevec", "{2:3e37,4:3e-37,6:4e37,8:4e-37}/9", "{2:0.6,6:0.8}/9"),
    ],
)
def test_l2_normalize(con, kind: str, text: str, expected: str) -> None:
    assert run(con, as_text(kind, call(kind, "l2_normalize", value(kind, text)))) == expected


@pytest.mark.parametrize("kind", ["vector", "halfvec"])
def test_binary_quantize(con, kind: str) -> None:
    result = call(kind, "binary_quantize", value(kind, "[1,2,3,-4,5,6,-7,8,1,-2,-3,4,5,-6,7,8,-1,2,3]"))
    assert run(con, as_text("bit", result)) == "1110110110011011011"
    assert run(con, as_text("bit", call(kind, "binary_quantize", value(kind, "[1,0,-1]")))) == "100"


@pytest.mark.parametrize(
    "start, count, expected",
    [(1, 3, "[1,2,3]"), (3, 2, "[3,4]"), (-1, 3, "[1]"), (3, 9, "[3,4,5]"),
     (1, 0, "ERROR 22000 vector must have at least 1 dimension"),
     (3, -1, "ERROR 22000 vector must have at least 1 dimension"),
     (2147483647, 10, "ERROR 22000 vector must have at least 1 dimension"),
     (3, 2147483647, "[3,4,5]"), (-2147483644, 2147483647, "[1,2]")],
)
def test_subvector(con, start: int, count: int, expected: str) -> None:
    duck = pgvector.FUNCTIONS[("subvector", ("vector", "int4", "int4"))].duck_name
    assert run(con, as_text("vector", f"{duck}({vec('[1,2,3,4,5]')}, {start}, {count})")) == expected


# ---------------------------------------------------------------------------------------
# aggregates, over DuckDB's list()
# ---------------------------------------------------------------------------------------


def aggregate(con, kind: str, name: str, texts: list[str | None]) -> object:
    overload = pgvector.FUNCTIONS[(name, (kind,))]
    items = ", ".join("NULL" if t is None else value(kind, t) for t in texts)
    rows = f"(SELECT unnest([{items}]) AS v)" if texts else f"(SELECT {value(kind, '[1]')} AS v WHERE false)"
    return run(con, f"{as_text(kind, f'{overload.duck_name}(list(v))')} FROM {rows}")


@pytest.mark.parametrize(
    "kind, name, texts, expected",
    [
        ("vector", "avg", ["[1,2,3]", "[3,5,7]", None], "[2,3.5,5]"),
        ("vector", "avg", [], None),
        ("vector", "avg", [None], None),
        ("vector", "avg", ["[1,2]", "[3]"], "ERROR 22000 expected 2 dimensions, not 1"),
        ("vector", "avg", ["[3e38]", "[3e38]"], "[3e+38]"),
        ("vector", "sum", ["[1,2,3]", "[3,5,7]", None], "[4,7,10]"),
        ("vector", "sum", [], None),
        ("vector", "sum", ["[1,2]", "[3]"], "ERROR 22000 different vector dimensions 2 and 1"),
        ("vector", "sum", ["[3e38]", "[3e38]"], "ERROR 22003 value out of range: overflow"),
        ("halfvec", "avg", ["[1,2,3]", "[3,5,7]"], "[2,3.5,5]"),
        ("halfvec", "avg", ["[65504]", "[65504]"], "[65504]"),
        ("halfvec", "sum", ["[65504]", "[65504]"], "ERROR 22003 value out of range: overflow"),
        ("halfvec", "sum", ["[1,2]", "[3]"], "ERROR 22000 different halfvec dimensions 2 and 1"),
    ],
)
def test_avg_and_sum(con, kind: str, name: str, texts: list[str | None], expected: object) -> None:
    assert aggregate(con, kind, name, texts) == expected


def test_aggregates_by_group(con) -> None:
    avg = pgvector.FUNCTIONS[("avg", ("vector",))].duck_name
    total = pgvector.FUNCTIONS[("sum", ("halfvec",))].duck_name
    rows = con.execute(
        f"SELECT g, {as_text('vector', f'{avg}(list(v))')}, {as_text('halfvec', f'{total}(list(h))')} "
        f"FROM (VALUES (1, {vec('[1,1]')}, {half('[1]')}), (2, {vec('[1,2,3]')}, {half('[1,2]')}), "
        f"(1, {vec('[3,3]')}, {half('[2]')}), (2, {vec('[3,2,1]')}, NULL), (3, NULL, NULL)) t(g, v, h) "
        "GROUP BY g ORDER BY g"
    ).fetchall()
    assert rows == [(1, "[2,2]", "[3]"), (2, "[2,2,2]", "[1,2]"), (3, None, None)]


def test_halfvec_sum_rounds_after_every_addition(con) -> None:
    # 2048 + 1 is not a half; 2048 + 1 + 1 added one at a time stays 2048, as in pgvector.
    assert aggregate(con, "halfvec", "sum", ["[2048]", "[1]", "[1]"]) == "[2048]"


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("pgv_vector_avg_of_state([2,2,4,6])", "[1,2,3]"),
        ("pgv_vector_accum([0], {v})", [1.0, 1.0, 2.0, 3.0]),
        ("pgv_vector_accum([0,0], {v})", "ERROR 22000 expected 1 dimensions, not 3"),
        ("pgv_vector_accum([], {v})", "ERROR XX000 vector_accum: expected state array"),
        ("pgv_vector_combine([1,2], [3,4])", [4.0, 6.0]),
        ("pgv_vector_combine([1,2], [3,NULL])", "ERROR XX000 vector_combine: expected state array"),
        ("pgv_vector_combine([0], (SELECT list(n::DOUBLE) FROM range(1, 16003) t(n)))",
         "ERROR 54000 vector cannot have more than 16000 dimensions"),
    ],
)
def test_state_functions(con, sql: str, expected: object) -> None:
    sql = sql.format(v=vec("[1,2,3]"))
    if isinstance(expected, str) and not expected.startswith("ERROR"):
        sql = as_text("vector", sql)
    assert run(con, sql) == expected


def test_vector_avg_of_an_empty_state_is_null(con) -> None:
    duck = pgvector.FUNCTIONS[("vector_avg", ("_float8",))].duck_name
    assert run(con, f"{duck}([0])") is None
    assert run(con, f"{duck}([1])") == "ERROR 22000 vector must have at least 1 dimension"


# ---------------------------------------------------------------------------------------
# sparsevec order, bit strings
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "left, right, expected",
    [("{1:1,2:2,3:3}/3", "{1:1,2:2,3:3}/3", 0), ("{1:1,2:2,3:3}/3", "{}/3", 1), ("{}/3", "{1:1,2:2,3:3}/3", -1),
     ("{1:1,2:2}/2", "{1:1,2:2,3:3}/3", -1), ("{1:1,2:2,3:3}/3", "{1:1,2:2}/2", 1),
     ("{1:1,2:2}/2", "{1:2,2:3,3:4}/3", -1), ("{1:2,2:3}/2", "{1:1,2:2,3:3}/3", 1),
     ("{1:-1}/3", "{}/3", -1), ("{2:1}/3", "{1:1}/3", -1), ("{2:-1}/3", "{1:-1}/3", 1),
     ("{1:1,3:-1}/5", "{1:1}/2", 1), ("{1:1,2:-1}/5", "{1:1}/3", -1)],
)
def test_sparsevec_cmp(con, left: str, right: str, expected: int) -> None:
    assert run(con, call("sparsevec", "sparsevec_cmp", sparse(left), sparse(right))) == expected
    assert run(con, op("<", "sparsevec", sparse(left), sparse(right))) == (expected < 0)


def test_sparsevec_cmp_matches_dense_comparison_of_same_dimensions(con) -> None:
    rng = np.random.default_rng(3)
    dense_rows = rng.integers(-1, 2, size=(40, 4)).astype(np.float32)
    texts = [format_vector(r) for r in dense_rows]
    to_sparse = pgvector.CASTS[("vector", "sparsevec")].duck_name
    key = pgvector.SORT_KEYS["sparsevec"]
    values = ", ".join(f"({i}, {vec(t)})" for i, t in enumerate(texts))
    dense_order = [r[0] for r in con.execute(f"SELECT i FROM (VALUES {values}) t(i, v) ORDER BY v, i").fetchall()]
    sparse_order = [r[0] for r in con.execute(
        f"SELECT i FROM (VALUES {values}) t(i, v) ORDER BY {key}({to_sparse}(v, -1)), i").fetchall()]
    assert sparse_order == dense_order


@pytest.mark.parametrize(
    "name, left, right, expected",
    [
        ("hamming_distance", "111", "111", 0.0), ("hamming_distance", "111", "100", 2.0),
        ("hamming_distance", "10101010101010101010", "01010101010101010101", 20.0),
        ("hamming_distance", "", "", 0.0),
        ("hamming_distance", "111", "00", "ERROR 22000 different bit lengths 3 and 2"),
        ("jaccard_distance", "1111", "1110", 0.25), ("jaccard_distance", "1100", "1000", 0.5),
        ("jaccard_distance", "1111", "0000", 1.0), ("jaccard_distance", "", "", 1.0),
        ("jaccard_distance", "1111", "000", "ERROR 22000 different bit lengths 4 and 3"),
    ],
)
def test_bit_distances(con, name: str, left: str, right: str, expected: object) -> None:
    assert run(con, call("bit", name, bits(left), bits(right))) == expected


def test_bit_casts_and_operators(con) -> None:
    to_bit = pgvector.CASTS[("bit", "bit")].duck_name
    to_varbit = pgvector.CASTS[("bit", "varbit")].duck_name
    assert run(con, as_text("bit", f"{to_bit}({bits('101')}, 2)")) == "10"
    assert run(con, as_text("bit", f"{to_bit}({bits('101')}, 5)")) == "10100"
    assert run(con, as_text("varbit", f"{to_varbit}({bits('101')}, 2)")) == "10"
    assert run(con, as_text("varbit", op("||", "bit", bits("1"), bits("01")))) == "101"
    assert run(con, op("<", "bit", bits("10"), bits("100"))) is True
    assert run(con, bits("X1F")) == {"__bit": "00011111"}
    assert run(con, bits("12")) == 'ERROR 22P02 "2" is not a valid binary digit'


# ---------------------------------------------------------------------------------------
# casts (cast.out)
# ---------------------------------------------------------------------------------------

CASTS = [  # (source type, SQL of the source value, target, typmod, expected text)
    ("_int4", "[1,2,3]", "vector", -1, "[1,2,3]"),
    ("_numeric", "[1.0,2.0,3.0]::DECIMAL(2,1)[]", "vector", -1, "[1,2,3]"),
    ("_float4", "[1,2,3]::FLOAT[]", "vector", 2, "ERROR 22000 expected 2 dimensions, not 3"),
    ("_float4", "[NULL]::FLOAT[]", "vector", -1, "ERROR 22004 array must not contain nulls"),
    ("_float4", "['NaN']::FLOAT[]", "vector", -1, "ERROR 22000 NaN not allowed in vector"),
    ("_float4", "[]::FLOAT[]", "vector", -1, "ERROR 22000 vector must have at least 1 dimension"),
    ("_float8", "[4e38,-4e38]", "vector", -1, "ERROR 22000 infinite value not allowed in vector"),
    ("_float8", "[1e-46,-1e-46]", "vector", -1, "[0,-0]"),
    ("_float4", "[65520,-65520]::FLOAT[]", "halfvec", -1, 'ERROR 22003 "65520" is out of range for type halfvec'),
    ("_float4", "[1e-8,-1e-8]::FLOAT[]", "halfvec", -1, "[0,-0]"),
    ("_float8", "[4e38,-4e38]", "halfvec", -1, "ERROR 22000 infinite value not allowed in halfvec"),
    ("_int4", "[1,0,2,0,3,0]", "sparsevec", -1, "{1:1,3:2,5:3}/6"),
    ("_float8", "[1,0,2,0,3,0]", "sparsevec", 5, "ERROR 22000 expected 5 dimensions, not 6"),
    ("_float8", "[1e-46,-1e-46]", "sparsevec", -1, "{}/2"),
    ("_float8", "(SELECT list(n::DOUBLE) FROM range(1, 16002) t(n))", "sparsevec", -1,
     "ERROR 54000 sparsevec cannot have more than 16000 non-zero elements"),
    ("vector", vec("[1,2,3]"), "halfvec", 2, "ERROR 22000 expected 2 dimensions, not 3"),
    ("vector", vec("[65520]"), "halfvec", -1, 'ERROR 22003 "65520" is out of range for type halfvec'),
    ("vector", vec("[1e-8]"), "halfvec", -1, "[0]"),
    ("vector", vec("[0,1.5,0,3.5,0]"), "sparsevec", 5, "{2:1.5,4:3.5}/5"),
    ("vector", vec("[0,1.5,0,3.5,0]"), "sparsevec", 4, "ERROR 22000 expected 4 dimensions, not 5"),
    ("halfvec", half("[0,1.5,0,3.5,0]"), "sparsevec", -1, "{2:1.5,4:3.5}/5"),
    ("halfvec", half("[1,2,3]"), "vector", 3, "[1,2,3]"),
    ("sparsevec", sparse("{2:1.5,4:3.5}/5"), "vector", -1, "[0,1.5,0,3.5,0]"),
    ("sparsevec", sparse("{}/16001"), "vector", -1, "ERROR 54000 vector cannot have more than 16000 dimensions"),
    ("sparsevec", sparse("{}/16001"), "halfvec", -1, "ERROR 54000 halfvec cannot have more than 16000 dimensions"),
    ("sparsevec", sparse("{1:65520}/1"), "halfvec", -1, 'ERROR 22003 "65520" is out of range for type halfvec'),
    ("sparsevec", sparse("{1:1e-8}/1"), "halfvec", -1, "[0]"),
    ("vector", vec("[1,2,3]"), "vector", 2, "ERROR 22000 expected 2 dimensions, not 3"),
    ("sparsevec", sparse("{}/3"), "sparsevec", 2, "ERROR 22000 expected 2 dimensions, not 3"),
]


@pytest.mark.parametrize("source, sql, target, typmod, expected", CASTS)
def test_casts(con, source: str, sql: str, target: str, typmod: int, expected: str) -> None:
    cast = pgvector.CASTS[(source, target)]
    assert run(con, as_text(target, f"{cast.duck_name}({sql}, {typmod})")) == expected


def test_casts_to_real_arrays_and_text(con) -> None:
    assert run(con, f"{pgvector.CASTS[('vector', '_float4')].duck_name}({vec('[1,2,3]')}, -1)") == [1.0, 2.0, 3.0]
    assert run(con, f"{pgvector.CASTS[('halfvec', '_float4')].duck_name}({half('[1.5]')}, -1)") == [1.5]
    assert run(con, f"{pgvector.CASTS[('text', 'vector')].duck_name}('[1,2]', 3)") == \
        "ERROR 22000 expected 3 dimensions, not 2"
    assert run(con, f"{pgvector.CASTS[('text', 'halfvec')].duck_name}('[1.23456]', -1)") == {"__halfvec": [1.234375]}


def test_pgvector_cast_functions_are_callable_by_name(con) -> None:
    duck = pgvector.FUNCTIONS[("array_to_vector", ("_int4", "int4", "bool"))].duck_name
    assert run(con, f"{duck}((SELECT list(n) FROM range(1, 16002) t(n)), 16001, false)") == \
        "ERROR 54000 vector cannot have more than 16000 dimensions"


# ---------------------------------------------------------------------------------------
# whole columns
# ---------------------------------------------------------------------------------------


def test_distances_over_a_column_match_numpy(con) -> None:
    rng = np.random.default_rng(11)
    matrix = rng.standard_normal((5000, 32)).astype(np.float32)
    query = rng.standard_normal(32).astype(np.float32)
    column = pa.array([{"__vector": row} for row in matrix],
                      type=pa.struct([("__vector", pa.list_(pa.float32()))]))
    con.register("vectors", pa.table({"i": np.arange(5000), "v": column}))
    try:
        distance = pgvector.OPERATORS[("<->", "vector", "vector")].duck_name
        rows = con.execute(
            f"SELECT i, {distance}(v, {vec(format_vector(query))}) AS d FROM vectors ORDER BY d LIMIT 10"
        ).fetchall()
    finally:
        con.unregister("vectors")
    expected = np.sqrt(((matrix - query) ** 2).sum(axis=1))
    assert [r[0] for r in rows] == np.argsort(expected, kind="stable")[:10].tolist()
    assert np.allclose([r[1] for r in rows], np.sort(expected)[:10], rtol=1e-5)
