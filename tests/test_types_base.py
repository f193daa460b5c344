"""Codecs of PostgreSQL's built-in types: exact text output, binary formats, input and errors.

Binary formats are checked against psycopg's own dumpers and loaders (which implement
PostgreSQL's send/recv formats independently); text outputs against what PostgreSQL 16
prints, taken from its documentation and regression outputs.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import duckdb
import numpy as np
import psycopg.types.numeric as pgnum
import pyarrow as pa
import pytest
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import Format

from pgvecdb.errors import PgError
from pgvecdb.types.codecs import (
    FormatOptions,
    codec_for,
    encode_column,
    encode_table_for_wire,
    numeric_typmod,
    pg_type_for_duck,
)
from pgvecdb.types.numeric import float_text
from pgvecdb.types.registry import SPARSEVEC_OID, VECTOR_ARRAY_OID, VECTOR_OID
from pgvecdb.types.registry import TYPES

OID = {name: TYPES[name].oid for name in TYPES}
ISO = FormatOptions()
POSTGRES_MDY = FormatOptions(datestyle="Postgres, MDY")


def duck_column(sql: str) -> pa.Array:
    """The first column DuckDB returns for ``SELECT <sql>``, as the executor would hand it on."""
    return duckdb.sql(f"SELECT {sql}").to_arrow_table().column(0).combine_chunks()


def texts(type_name: str, column: pa.Array, options: FormatOptions = ISO) -> list[str | None]:
    return [None if v is None else v.decode() for v in codec_for(OID[type_name]).encode_text(column, options=options)]


# --- floats -----------------------------------------------------------------------------------

FLOAT8_CASES = [
    (0.1, "0.1"), (1.0, "1"), (-0.0, "-0"), (100000.0, "100000"), (123456789012345.0, "123456789012345"),
    (1e15, "1e+15"), (1.5e15, "1.5e+15"), (1e-4, "0.0001"), (1e-5, "1e-05"), (0.1 + 0.2, "0.30000000000000004"),
    (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (1e22, "1e+22"),
    (float("inf"), "Infinity"), (float("-inf"), "-Infinity"), (float("nan"), "NaN"), (123.456, "123.456"),
]
FLOAT4_CASES = [
    (0.1, "0.1"), (123456.0, "123456"), (1234567.0, "1.234567e+06"), (1e6, "1e+06"), (1.5e38, "1.5e+38"),
    (-1.5e38, "-1.5e+38"), (3.4028235e38, "3.4028235e+38"), (5e37, "5e+37"), (1e-5, "1e-05"),
    (0.0001, "0.0001"), (1.4e-45, "1e-45"), (float("inf"), "Infinity"), (float("nan"), "NaN"), (-0.0, "-0"),
    (3.14159, "3.14159"),
]


@pytest.mark.parametrize("type_, cases", [(pa.float64(), FLOAT8_CASES), (pa.float32(), FLOAT4_CASES)])
def test_float_text_is_postgres_shortest(type_: pa.DataType, cases: list[tuple[float, str]]) -> None:
    values = [v for v, _ in cases] + [None]
    assert float_text(pa.array(values, type_)).to_pylist() == [t for _, t in cases] + [None]


def test_a_few_float8_values_encode_as_a_whole_column_does() -> None:
    """Up to 64 float8 values are written through Python's repr: the same text as the
    column path's, whatever the magnitude, sign, NULL or special value."""
    rng = np.random.default_rng(3)
    values = list(rng.standard_normal(6000) * 10.0 ** rng.integers(-8, 14, 6000))
    values[::97] = [v for v, _ in FLOAT8_CASES] * (len(values[::97]) // len(FLOAT8_CASES)) + \
        [None] * (len(values[::97]) % len(FLOAT8_CASES))
    codec = codec_for(OID["float8"])
    for start in range(0, len(values), 40):
        column = pa.array(values[start:start + 40], pa.float64())
        whole = float_text(column).cast(pa.binary()).to_pylist()
        assert codec.encode_text(column) == whole
        for value, text in zip(column.to_pylist(), whole):  # one at a time: the few-rows path on each
            assert codec.encode_text(pa.array([value], pa.float64())) == [text]


def test_float_text_with_extra_float_digits_zero_uses_dbl_dig() -> None:
    column = pa.array([0.1 + 0.2, 1e100, 2.5], pa.float64())
    assert texts("float8", column, FormatOptions(extra_float_digits=0)) == ["0.3", "1e+100", "2.5"]


# --- integers, numeric, bool, text, bytea ----------------------------------------------------------


def test_integer_and_bool_text() -> None:
    assert texts("int4", pa.array([0, -2147483648, None, 42], pa.int32())) == ["0", "-2147483648", None, "42"]
    assert texts("int8", pa.array([2**63 - 1], pa.int64())) == ["9223372036854775807"]
    assert texts("bool", pa.array([True, False, None])) == ["t", "f", None]


def test_numeric_text_never_uses_an_exponent() -> None:
    assert texts("numeric", duck_column("[1.50::DECIMAL(10,2), -0.05, NULL]").flatten()) == ["1.50", "-0.05", None]
    doubles = pa.array([1e20, 1e-7, 0.1, 2.5, float("nan"), float("inf")], pa.float64())
    assert texts("numeric", doubles) == ["100000000000000000000", "0.0000001", "0.1", "2.5", "NaN", "Infinity"]


def test_bytea_output_hex_and_escape() -> None:
    column = pa.array([b"\x01\x02", b"", None, b"a\\b\xff"], pa.binary())
    assert texts("bytea", column) == ["\\x0102", "\\x", None, "\\x615c62ff"]
    escaped = codec_for(OID["bytea"]).encode_text(column, options=FormatOptions(bytea_output="escape"))
    assert escaped == [b"\\001\\002", b"", None, b"a\\\\b\\377"]


def test_bytea_input_forms() -> None:
    codec = codec_for(OID["bytea"])
    assert codec.decode_text("\\x0102ff") == b"\x01\x02\xff"
    assert codec.decode_text("a\\\\b\\001") == b"a\\b\x01"
    with pytest.raises(PgError, match='invalid hexadecimal digit: "z"'):
        codec.decode_text("\\x0z")


def test_character_types_enforce_their_typmod() -> None:
    varchar, bpchar = codec_for(OID["varchar"]), codec_for(OID["bpchar"])
    values = pa.array(["ab", "abc  ", None])
    assert varchar.from_duck(values, 3 + 4).to_pylist() == ["ab", "abc", None]
    assert bpchar.from_duck(values, 4 + 4).to_pylist() == ["ab  ", "abc ", None]
    with pytest.raises(PgError) as err:
        varchar.from_duck(pa.array(["abcd"]), 3 + 4)
    assert (err.value.sqlstate, err.value.message) == ("22001", "value too long for type character varying(3)")


def test_jsonb_is_normalised_and_json_kept_verbatim() -> None:
    source = pa.array(['{"b": 1, "a": [1.0, "x"], "aa": null, "a": 2}', None])
    assert texts("jsonb", source) == ['{"a": 2, "b": 1, "aa": null}', None]
    assert texts("json", source) == [source[0].as_py(), None]
    assert codec_for(OID["jsonb"]).encode_binary(source)[0] == b'\x01{"a": 2, "b": 1, "aa": null}'
    with pytest.raises(PgError, match="invalid input syntax for type json"):
        codec_for(OID["json"]).decode_text("{bad")


def test_uuid_storage_is_arrow_uuid_and_duckdb_reads_it_as_uuid() -> None:
    codec = codec_for(OID["uuid"])
    stored = codec.parse_text_column(["{A0EEBC99-9C0B4EF8-BB6D6BB9-BD380A11}", None])
    assert stored.type == pa.uuid()
    table = pa.table({"u": codec.to_duck(stored)})
    con = duckdb.connect()
    con.register("tbl", table)
    assert con.execute("SELECT typeof(u), u::VARCHAR FROM tbl LIMIT 1").fetchall() == [
        ("UUID", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")]
    duck = con.sql("SELECT u FROM tbl").to_arrow_table().column(0).combine_chunks()
    assert texts("uuid", duck) == ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", None]


# --- input errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("type_name, text, sqlstate, message", [
    ("int4", "abc", "22P02", 'invalid input syntax for type integer: "abc"'),
    ("int4", "2147483648", "22003", 'value "2147483648" is out of range for type integer'),
    ("int2", "1.5", "22P02", 'invalid input syntax for type smallint: "1.5"'),
    ("float8", "1e400", "22003", '"1e400" is out of range for type double precision'),
    ("float4", "1e39", "22003", '"1e39" is out of range for type real'),
    ("float4", "x", "22P02", 'invalid input syntax for type real: "x"'),
    ("numeric", "1.2.3", "22P02", 'invalid input syntax for type numeric: "1.2.3"'),
    ("bool", "maybe", "22P02", 'invalid input syntax for type boolean: "maybe"'),
    ("bool", "o", "22P02", 'invalid input syntax for type boolean: "o"'),
    ("uuid", "1234", "22P02", 'invalid input syntax for type uuid: "1234"'),
    ("date", "2020-02-30", "22008", 'date/time field value out of range: "2020-02-30"'),
    ("date", "not a date", "22007", 'invalid input syntax for type date: "not a date"'),
    ("interval", "1 fortnight", "22007", 'invalid input syntax for type interval: "1 fortnight"'),
    ("_int4", "{1,2", "22P02", 'malformed array literal: "{1,2"'),
])
def test_text_input_errors_are_postgres_errors(type_name: str, text: str, sqlstate: str, message: str) -> None:
    with pytest.raises(PgError) as err:
        codec_for(OID[type_name]).decode_text(text)
    assert (err.value.sqlstate, err.value.message) == (sqlstate, message)


def test_text_input_accepts_postgres_spellings() -> None:
    int4, boolean, float8 = codec_for(OID["int4"]), codec_for(OID["bool"]), codec_for(OID["float8"])
    assert [int4.decode_text(t) for t in (" 42 ", "1_000", "0x1F", "-0o17", "0b101")] == [42, 1000, 31, -15, 5]
    assert [boolean.decode_text(t) for t in ("t", "YES", " on ", "0", "fal", "of")] == [True, True, True, False,
                                                                                         False, False]
    assert float8.decode_text("-Infinity") == float("-inf")
    assert np.isnan(float8.decode_text(" NaN "))


# --- binary formats against psycopg -------------------------------------------------------------------

_tx = Transformer()


def psycopg_dump(value: object) -> bytes:
    return bytes(_tx.get_dumper(value, PyFormat.BINARY).dump(value))


def psycopg_load(oid: int, data: bytes) -> object:
    return _tx.get_loader(oid, Format.BINARY).load(data)


BINARY_CASES = [
    ("int2", pa.int16(), [pgnum.Int2(-5), pgnum.Int2(32767)]),
    ("int4", pa.int32(), [pgnum.Int4(-2147483648), pgnum.Int4(7)]),
    ("int8", pa.int64(), [pgnum.Int8(2**62), pgnum.Int8(-1)]),
    ("float4", pa.float32(), [pgnum.Float4(1.5), pgnum.Float4(-0.25)]),
    ("float8", pa.float64(), [0.1, -1e300]),
    ("text", pa.string(), ["héllo", ""]),
    ("bytea", pa.binary(), [b"\x00\xff", b""]),
    ("bool", pa.bool_(), [True, False]),
    ("date", pa.date32(), [dt.date(2020, 1, 1), dt.date(1999, 12, 31), dt.date(1, 1, 1)]),
    ("timestamp", pa.timestamp("us"), [dt.datetime(2020, 1, 1, 1, 2, 3, 500000), dt.datetime(1970, 1, 1)]),
    ("timestamptz", pa.timestamp("us", tz="UTC"), [dt.datetime(2020, 6, 1, 12, tzinfo=dt.timezone.utc)]),
    ("interval", pa.month_day_nano_interval(), [dt.timedelta(days=3, seconds=5, microseconds=7)]),
]


@pytest.mark.parametrize("type_name, arrow_type, values", BINARY_CASES)
def test_binary_output_matches_psycopg(type_name: str, arrow_type: pa.DataType, values: list) -> None:
    plain = [v.real if isinstance(v, (pgnum.Int2, pgnum.Int4, pgnum.Int8, pgnum.Float4)) else v for v in values]
    if type_name == "interval":
        column = pa.array([pa.MonthDayNano([0, v.days, (v.seconds * 10**6 + v.microseconds) * 1000]) for v in plain],
                          arrow_type)
    else:
        column = pa.array(plain + [None], arrow_type)
    encoded = codec_for(OID[type_name]).encode_binary(column)
    assert encoded[: len(values)] == [psycopg_dump(v) for v in values]
    assert [psycopg_load(OID[type_name], e) for e in encoded[: len(values)]] == [
        float(np.float32(v)) if type_name == "float4" else v for v in plain]


@pytest.mark.parametrize("type_name, arrow_type, values", BINARY_CASES)
def test_binary_input_reads_psycopg_output(type_name: str, arrow_type: pa.DataType, values: list) -> None:
    codec = codec_for(OID[type_name])
    dumped = [psycopg_dump(v) for v in values]
    stored = codec.parse_binary_column(dumped + [None])
    assert stored.type == codec.storage_type()
    assert codec.encode_binary(codec.to_duck(stored))[: len(values)] == dumped
    assert stored[-1].as_py() is None


@pytest.mark.parametrize("text", ["0", "1.50", "-123456789.000123", "0.0001", "100000000", "12345678901234567890.5",
                                  "NaN", "Infinity", "-Infinity"])
def test_numeric_binary_matches_psycopg(text: str) -> None:
    from pgvecdb.types.numeric import numeric_recv, numeric_send

    value = Decimal(text)
    assert numeric_send(value) == psycopg_dump(value)
    loaded = numeric_recv(psycopg_dump(value))
    assert str(loaded) == str(value)


def test_uuid_and_arrays_binary_match_psycopg() -> None:
    value = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    assert codec_for(OID["uuid"]).encode_binary(pa.array([str(value)])) == [psycopg_dump(value)]
    ints = pa.array([[1, None, 3], []], pa.list_(pa.int16()))
    encoded = codec_for(OID["_int2"]).encode_binary(ints)
    assert encoded[0] == psycopg_dump([1, None, 3])
    assert encoded[1] == b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x15"  # ndim 0, no nulls, int2
    assert [psycopg_load(OID["_int2"], e) for e in encoded] == [[1, None, 3], []]
    strings = pa.array([["a", None, "b c"]], pa.list_(pa.string()))
    assert codec_for(OID["_text"]).decode_binary(psycopg_dump(["a", None, "b c"])) == ["a", None, "b c"]
    assert psycopg_load(OID["_text"], codec_for(OID["_text"]).encode_binary(strings)[0]) == ["a", None, "b c"]


# --- dates and times ------------------------------------------------------------------------------


def test_timestamps_in_each_datestyle() -> None:
    column = codec_for(OID["timestamptz"]).parse_text_column(["1997-12-17 07:37:16-08", "2020-06-01 12:00:00.25+00"])
    la = "America/Los_Angeles"
    assert texts("timestamptz", column, FormatOptions(timezone=la)) == [
        "1997-12-17 07:37:16-08", "2020-06-01 05:00:00.25-07"]
    assert texts("timestamptz", column, FormatOptions(timezone=la, datestyle="Postgres, MDY")) == [
        "Wed Dec 17 07:37:16 1997 PST", "Mon Jun 01 05:00:00.25 2020 PDT"]
    assert texts("timestamptz", column, FormatOptions(timezone=la, datestyle="Postgres, DMY")) == [
        "Wed 17 Dec 07:37:16 1997 PST", "Mon 01 Jun 05:00:00.25 2020 PDT"]
    assert texts("timestamptz", column, FormatOptions(timezone="Asia/Kolkata")) == [
        "1997-12-17 21:07:16+05:30", "2020-06-01 17:30:00.25+05:30"]
    plain = codec_for(OID["timestamp"]).parse_text_column(["1997-12-17 07:37:16", "infinity", None])
    assert texts("timestamp", plain, FormatOptions(datestyle="SQL, DMY")) == ["17/12/1997 07:37:16", "infinity", None]
    assert texts("timestamp", plain, FormatOptions(datestyle="German")) == ["17.12.1997 07:37:16", "infinity", None]


def test_dates_including_bc_and_infinity() -> None:
    column = codec_for(OID["date"]).parse_text_column(["2020-01-05", "0044-03-15 BC", "-infinity", None])
    assert texts("date", column) == ["2020-01-05", "0044-03-15 BC", "-infinity", None]
    assert texts("date", column, POSTGRES_MDY) == ["01-05-2020", "03-15-0044 BC", "-infinity", None]
    assert texts("date", column, FormatOptions(datestyle="SQL, DMY")) == ["05/01/2020", "15/03/0044 BC",
                                                                            "-infinity", None]


def test_date_input_follows_datestyle_order() -> None:
    codec = codec_for(OID["date"])
    mdy = codec.parse_text_column(["01/02/2020", "Jan 8 1999", "8 January 1999", "19990108"])
    dmy = codec.parse_text_column(["01/02/2020"], options=FormatOptions(datestyle="ISO, DMY"))
    assert mdy.to_pylist() == [dt.date(2020, 1, 2), dt.date(1999, 1, 8), dt.date(1999, 1, 8), dt.date(1999, 1, 8)]
    assert dmy.to_pylist() == [dt.date(2020, 2, 1)]


def test_timestamptz_input_without_zone_uses_session_timezone() -> None:
    codec = codec_for(OID["timestamptz"])
    stored = codec.parse_text_column(["2020-01-01 00:00:00"], options=FormatOptions(timezone="Europe/Paris"))
    assert stored.to_pylist() == [dt.datetime(2019, 12, 31, 23, 0, tzinfo=dt.timezone.utc)]


def test_duckdb_timestamps_and_infinities_reach_the_wire() -> None:
    column = duck_column("['2020-01-01 01:02:03.5'::TIMESTAMP, 'infinity', '-infinity', NULL]").flatten()
    assert texts("timestamp", column) == ["2020-01-01 01:02:03.5", "infinity", "-infinity", None]
    binary = codec_for(OID["timestamp"]).encode_binary(column)
    assert binary[1:3] == [b"\x7f\xff\xff\xff\xff\xff\xff\xff", b"\x80\x00\x00\x00\x00\x00\x00\x00"]


INTERVALS = ["1 year 2 months", "3 days 4 hours 5 minutes 6 seconds", "-1 year -2 months +3 days -4:05:06"]


@pytest.mark.parametrize("style, expected", [
    ("sql_standard", ["1-2", "3 4:05:06", "-1-2 +3 -4:05:06"]),
    ("postgres", ["1 year 2 mons", "3 days 04:05:06", "-1 years -2 mons +3 days -04:05:06"]),
    ("postgres_verbose", ["@ 1 year 2 mons", "@ 3 days 4 hours 5 mins 6 secs",
                          "@ 1 year 2 mons -3 days 4 hours 5 mins 6 secs ago"]),
    ("iso_8601", ["P1Y2M", "P3DT4H5M6S", "P-1Y-2M3DT-4H-5M-6S"]),
])
def test_interval_output_styles_match_the_manual(style: str, expected: list[str]) -> None:
    column = codec_for(OID["interval"]).parse_text_column(INTERVALS)
    assert texts("interval", column, FormatOptions(intervalstyle=style)) == expected


def test_interval_input_forms() -> None:
    codec = codec_for(OID["interval"])
    column = codec.parse_text_column(["@ 1 hour ago", "P1Y2M3DT4H5M6.5S", "1.5 days", "01:02", "0"])
    assert texts("interval", column) == ["-01:00:00", "1 year 2 mons 3 days 04:05:06.5", "1 day 12:00:00",
                                         "01:02:00", "00:00:00"]


def test_time_text() -> None:
    column = codec_for(OID["time"]).parse_text_column(["01:02:03.25", "allballs", "24:00:00", "1:02 pm", None])
    assert texts("time", column) == ["01:02:03.25", "00:00:00", "24:00:00", "13:02:00", None]


# --- arrays -----------------------------------------------------------------------------------------


def test_array_text_quoting() -> None:
    column = duck_column("""['a b', '', 'NULL', 'x"y\\z', NULL, 'é', '{}']::VARCHAR[]""")
    assert texts("_text", column) == ['{"a b","","NULL","x\\"y\\\\z",NULL,é,"{}"}']
    assert texts("_int4", duck_column("[[1, 2], [3, 4]]")) == ["{{1,2},{3,4}}"]
    assert texts("_int4", duck_column("[]::INTEGER[]")) == ["{}"]


def test_array_literal_parsing() -> None:
    text_array = codec_for(OID["_text"])
    assert text_array.decode_text('{"a b","",NULL,"NULL", x  y ,"q\\""}') == ["a b", "", None, "NULL", "x  y", 'q"']
    assert codec_for(OID["_int4"]).decode_text("[0:1]={{1,2},{3,4}}") == [[1, 2], [3, 4]]
    with pytest.raises(PgError) as err:
        codec_for(OID["_int4"]).decode_text("{{1,2},{3}}")
    assert err.value.detail == "Multidimensional arrays must have sub-arrays with matching dimensions."


def test_array_of_vectors_uses_the_vector_codec() -> None:
    column = duck_column("[{'__vector': [1.0, 2.0, 3.0]}, {'__vector': [4.5, 5.0, 6.0]}]"
                         "::STRUCT(__vector FLOAT[])[]")
    assert codec_for(VECTOR_ARRAY_OID).encode_text(column) == [b'{"[1,2,3]","[4.5,5,6]"}']


def test_array_storage_round_trip() -> None:
    codec = codec_for(OID["_int4"])
    stored = codec.parse_text_column(["{1,2}", None, "{}", "{3,NULL}"])
    assert stored.type == pa.list_(pa.int32())
    assert codec.encode_text(codec.to_duck(stored)) == [b"{1,2}", None, b"{}", b"{3,NULL}"]
    assert codec.parse_binary_column(codec.encode_binary(stored)).to_pylist() == stored.to_pylist()


# --- result description and the wire helper -----------------------------------------------------------


@pytest.mark.parametrize("duck_type, expected", [
    ("INTEGER", (23, -1)), ("BIGINT", (20, -1)), ("DOUBLE", (701, -1)), ("FLOAT", (700, -1)),
    ("DECIMAL(10,2)", (1700, numeric_typmod(10, 2))), ("VARCHAR", (25, -1)), ("BOOLEAN", (16, -1)),
    ("TIMESTAMP WITH TIME ZONE", (1184, -1)), ("TIME WITH TIME ZONE", (1266, -1)), ("UUID", (2950, -1)),
    ("JSON", (3802, -1)), ("BLOB", (17, -1)), ("VARCHAR[]", (1009, -1)), ("INTEGER[][]", (1007, -1)),
    ("FLOAT[3]", (1021, -1)), ("STRUCT(__vector FLOAT[])", (VECTOR_OID, -1)),
    ("STRUCT(__vector FLOAT[])[]", (VECTOR_ARRAY_OID, -1)), ("STRUCT(__bit VARCHAR)", (1560, -1)),
    ('STRUCT(__sparsevec STRUCT(dim INTEGER, indices INTEGER[], "values" FLOAT[]))', (SPARSEVEC_OID, -1)),
    ("STRUCT(a INTEGER)", (25, -1)), ("MAP(VARCHAR, INTEGER)", (25, -1)), ("HUGEINT", (1700, -1)),
])
def test_pg_type_for_duck(duck_type: str, expected: tuple[int, int]) -> None:
    assert pg_type_for_duck(duck_type) == expected


def test_pg_type_for_duck_reads_duckdb_result_types() -> None:
    relation = duckdb.sql("SELECT 1::INTEGER, 2.5::DECIMAL(4,1), 'x', [1.5]::FLOAT[], now()")
    assert [pg_type_for_duck(str(t))[0] for t in relation.types] == [23, 1700, 25, 1021, 1184]


def test_encode_table_for_wire_mixes_formats() -> None:
    table = duckdb.sql("SELECT * FROM (VALUES (1, 'a', 2.5::DOUBLE), (NULL, NULL, NULL)) t(i, s, d)").to_arrow_table()
    columns = encode_table_for_wire(table, [23, 25, 701], [0, 1, 1])
    assert list(zip(*columns)) == [(b"1", b"a", b"@\x04\x00\x00\x00\x00\x00\x00"), (None, None, None)]
    with pytest.raises(ValueError):
        encode_table_for_wire(table, [23], [0])


def test_encode_column_accepts_chunked_columns() -> None:
    chunked = pa.chunked_array([pa.array([1, 2], pa.int64()), pa.array([3], pa.int64())])
    assert encode_column(chunked, OID["int8"], 0) == [b"1", b"2", b"3"]


def test_format_options_from_session_settings() -> None:
    options = FormatOptions.from_settings({"DateStyle": "Postgres, DMY", "TimeZone": "Europe/Paris",
                                           "extra_float_digits": "0", "application_name": "x"})
    assert (options.date_output, options.date_order, options.timezone, options.extra_float_digits) == (
        "Postgres", "DMY", "Europe/Paris", 0)


def test_duckdb_variants_of_a_type_encode_as_their_postgres_type() -> None:
    relation = duckdb.sql("SELECT '2020-01-01 01:02:03.123456789'::TIMESTAMP_NS, '2020-01-01 01:02:03'::TIMESTAMP_S, "
                          "5::UTINYINT, 7::UBIGINT, 12::HUGEINT, '01:02:03.5'::TIME")
    table = relation.to_arrow_table()
    encoded = [encode_column(table.column(i), pg_type_for_duck(str(t))[0], 0)[0]
               for i, t in enumerate(relation.types)]
    assert encoded == [b"2020-01-01 01:02:03.123456", b"2020-01-01 01:02:03", b"5", b"7", b"12", b"01:02:03.5"]
    binary = encode_column(table.column(0), OID["timestamp"], 1)[0]
    assert psycopg_load(OID["timestamp"], binary) == dt.datetime(2020, 1, 1, 1, 2, 3, 123456)


@pytest.mark.parametrize("timezone, iso, postgres", [
    ("UTC", "2020-01-01 12:00:00+00", "Wed Jan 01 12:00:00 2020 UTC"),
    ("Europe/Berlin", "2020-01-01 13:00:00+01", "Wed Jan 01 13:00:00 2020 CET"),
    ("UTC+3", "2020-01-01 09:00:00-03", "Wed Jan 01 09:00:00 2020 UTC"),
    ("5", "2020-01-01 17:00:00+05", "Wed Jan 01 17:00:00 2020 +05"),
    ("-03:30", "2020-01-01 08:30:00-03:30", "Wed Jan 01 08:30:00 2020 -03:30"),
])
def test_timezone_settings(timezone: str, iso: str, postgres: str) -> None:
    column = codec_for(OID["timestamptz"]).parse_text_column(["2020-01-01 12:00:00+00"])
    assert texts("timestamptz", column, FormatOptions(timezone=timezone)) == [iso]
    assert texts("timestamptz", column, FormatOptions(timezone=timezone, datestyle="Postgres")) == [postgres]
    with pytest.raises(PgError, match='invalid value for parameter "TimeZone"'):
        texts("timestamptz", column, FormatOptions(timezone="Mars/Olympus"))
