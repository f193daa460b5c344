"""COPY data formats: parsing text, csv and binary input cut at any byte, writing output,
option validation and PostgreSQL's errors with their CONTEXT lines.

Binary input is assembled by hand from psycopg's and pgvector-python's binary dumpers, so
the reference for each field is independent of pgvecdb's codecs.
"""

from __future__ import annotations

import datetime as dt
import struct

import numpy as np
import pyarrow as pa
import pytest
from pgvector import Vector
from psycopg.adapt import PyFormat, Transformer
from psycopg.types.numeric import Int4, Int8

from pgvecdb.errors import PgError
from pgvecdb.exec.copy import (
    BINARY_SIGNATURE,
    MIN_VECTORISED_ROWS,
    CopyFromStdin,
    CopyToStdout,
    parse_copy_options,
)
from pgvecdb.exec.result import ColumnInfo
from pgvecdb.types.registry import TYPES, VECTOR_OID

INT4, INT8, TEXT, TIMESTAMP = (TYPES[n].oid for n in ("int4", "int8", "text", "timestamp"))
COLUMNS = [ColumnInfo("id", INT4), ColumnInfo("name", TEXT), ColumnInfo("ts", TIMESTAMP)]
_tx = Transformer()


def copy_in(data: bytes | list[bytes], options: dict | None = None, columns: list[ColumnInfo] = COLUMNS,
            **kwargs) -> tuple[str, list[dict]]:
    """Run a COPY FROM STDIN over ``data`` (one write per piece); (command tag, rows sunk)."""
    batches: list[pa.Table] = []
    copy_options = parse_copy_options(options or {}, is_from=True, column_names=[c.name for c in columns])
    copy = CopyFromStdin("t", columns, copy_options, batches.append, parse_threshold_bytes=1, **kwargs)
    for piece in [data] if isinstance(data, bytes) else data:
        copy.write(piece)
    tag = copy.finish().tag
    rows = [row for batch in batches for row in batch.to_pylist()]
    for batch in batches:
        assert batch.schema == copy.schema
    return tag, rows


def copy_error(data: bytes, options: dict | None = None, columns: list[ColumnInfo] = COLUMNS) -> PgError:
    with pytest.raises(PgError) as err:
        copy_in(data, options, columns)
    return err.value


def splits(data: bytes) -> list[list[bytes]]:
    """``data`` cut in two at every byte, and cut into single bytes."""
    return [[data[:i], data[i:]] for i in range(len(data) + 1)] + [[bytes([b]) for b in data]]


def binary_copy(rows: list[tuple], trailer: bool = True) -> bytes:
    """PGCOPY data of rows of (psycopg-dumpable value or raw bytes or None)."""
    parts = [BINARY_SIGNATURE, struct.pack(">ii", 0, 0)]
    for row in rows:
        parts.append(struct.pack(">h", len(row)))
        for value in row:
            if value is None:
                parts.append(struct.pack(">i", -1))
                continue
            raw = value if isinstance(value, bytes) else bytes(_tx.get_dumper(value, PyFormat.BINARY).dump(value))
            parts.append(struct.pack(">i", len(raw)) + raw)
    if trailer:
        parts.append(b"\xff\xff")
    return b"".join(parts)


TS = dt.datetime(2020, 1, 1, 1, 2, 3, 500000)

# --- text ---------------------------------------------------------------------------------------

TEXT_DATA = (b"1\tplain\t2020-01-01 01:02:03.5\n"
             b"2\t\\N\t\\N\n"
             b"3\ttab\\there\\\\ \\x41\\101 \\n\\u00e9\t\\N\n"
             b"4\t\xc3\xa9t\xc3\xa9\t\\N\n")
TEXT_ROWS = [{"id": 1, "name": "plain", "ts": TS}, {"id": 2, "name": None, "ts": None},
             {"id": 3, "name": "tab\there\\ AA \nu00e9", "ts": None}, {"id": 4, "name": "été", "ts": None}]


def test_text_format_values_escapes_and_nulls() -> None:
    assert copy_in(TEXT_DATA) == ("COPY 4", TEXT_ROWS)


@pytest.mark.parametrize("pieces", splits(TEXT_DATA))
def test_text_format_split_anywhere(pieces: list[bytes]) -> None:
    assert copy_in(pieces) == ("COPY 4", TEXT_ROWS)


def test_text_format_end_marker_crlf_and_missing_final_newline() -> None:
    data = b"1\ta\t\\N\r\n2\tb\t\\N\r\n\\.\r\nignored\n"
    assert copy_in(data)[1] == [{"id": 1, "name": "a", "ts": None}, {"id": 2, "name": "b", "ts": None}]
    assert copy_in(b"1\ta\t\\N")[0] == "COPY 1"


def test_text_format_custom_delimiter_null_and_header() -> None:
    data = b"id|name|ts\n1|x\\|y|NULL\n"
    assert copy_in(data, {"delimiter": "|", "null": "NULL", "header": True})[1] == [
        {"id": 1, "name": "x|y", "ts": None}]


# --- csv ----------------------------------------------------------------------------------------

CSV_DATA = (b'id,name,ts\n'
            b'1,"a,b",2020-01-01 01:02:03.5\n'
            b'2,,\n'
            b'3,"",\n'
            b'4,"multi\nline ""quoted""",\n'
            b'5,  spaced  ,\r\n')
CSV_ROWS = [{"id": 1, "name": "a,b", "ts": TS}, {"id": 2, "name": None, "ts": None},
            {"id": 3, "name": "", "ts": None}, {"id": 4, "name": 'multi\nline "quoted"', "ts": None},
            {"id": 5, "name": "  spaced  ", "ts": None}]


@pytest.mark.parametrize("pieces", splits(CSV_DATA))
def test_csv_format_split_anywhere(pieces: list[bytes]) -> None:
    assert copy_in(pieces, {"format": "csv", "header": "true"}) == ("COPY 5", CSV_ROWS)


def test_csv_force_not_null_and_force_null() -> None:
    data = b'1,,\n2,"",\n'
    rows = copy_in(data, {"format": "csv", "force_not_null": ["name"]})[1]
    assert [r["name"] for r in rows] == ["", ""]
    rows = copy_in(data, {"format": "csv", "force_null": ["name"]})[1]
    assert [r["name"] for r in rows] == [None, None]


def test_csv_custom_quote_escape_and_delimiter() -> None:
    data = b"1;'it\\'s; \\\\ok';\n"
    rows = copy_in(data, {"format": "csv", "delimiter": ";", "quote": "'", "escape": "\\"})[1]
    assert rows == [{"id": 1, "name": "it's; \\ok", "ts": None}]


def test_csv_field_mixing_quoted_and_unquoted_parts() -> None:
    rows = copy_in(b'1,a"b,c"d,\n', {"format": "csv"})[1]
    assert rows == [{"id": 1, "name": "ab,cd", "ts": None}]


def test_csv_header_match() -> None:
    assert copy_in(b"id,name,ts\n1,a,\n", {"format": "csv", "header": "match"})[0] == "COPY 1"
    err = copy_error(b"id,nom,ts\n1,a,\n", {"format": "csv", "header": "match"})
    assert (err.sqlstate, err.message) == ("22P04", 'column name mismatch in header line field 2: got "nom", '
                                                    'expected "name"')
    err = copy_error(b"id,name\n", {"format": "csv", "header": "match"})
    assert err.message == "wrong number of fields in header line: got 2, expected 3"


# --- binary ---------------------------------------------------------------------------------------

BINARY_ROWS = [(Int4(1), "one", TS), (Int4(2), None, None), (None, "", TS)]
BINARY_EXPECTED = [{"id": 1, "name": "one", "ts": TS}, {"id": 2, "name": None, "ts": None},
                   {"id": None, "name": "", "ts": TS}]


@pytest.mark.parametrize("pieces", splits(binary_copy(BINARY_ROWS)))
def test_binary_format_split_anywhere(pieces: list[bytes]) -> None:
    assert copy_in(pieces, {"format": "binary"}) == ("COPY 3", BINARY_EXPECTED)


def test_binary_format_header_extension_and_no_trailer() -> None:
    data = binary_copy(BINARY_ROWS, trailer=False)
    with_extension = data[:11] + struct.pack(">ii", 0, 3) + b"xyz" + data[19:]
    assert copy_in(with_extension, {"format": "binary"}) == ("COPY 3", BINARY_EXPECTED)


def vector_rows(count: int) -> tuple[list[tuple], list[dict]]:
    """Rows of (int8, vector(3)) with a null vector and a null id among same-layout runs."""
    rows, expected = [], []
    for i in range(count):
        values = [float(i), i / 2, -1.5]
        vector = None if i == 13 else Vector(values).to_binary()
        ident = None if i == 40 else Int8(i)
        rows.append((ident, vector))
        expected.append({"id": None if i == 40 else i, "embedding": None if i == 13 else values})
    return rows, expected


VECTOR_COLUMNS = [ColumnInfo("id", INT8), ColumnInfo("embedding", VECTOR_OID, 3)]


@pytest.mark.parametrize("piece_size", [7, 1000, 1 << 20])
def test_binary_vectors_vectorised_runs_and_slow_rows_agree(piece_size: int) -> None:
    rows, expected = vector_rows(100)
    data = binary_copy(rows)
    pieces = [data[i: i + piece_size] for i in range(0, len(data), piece_size)]
    tag, got = copy_in(pieces, {"format": "binary"}, VECTOR_COLUMNS, batch_rows=32)
    assert tag == "COPY 100"
    assert got == expected


def test_binary_many_rows_parse_in_order_through_several_batches() -> None:
    count = 5 * MIN_VECTORISED_ROWS + 3000
    ids = np.arange(count, dtype=np.int64)
    layout = np.dtype([("n", ">i2"), ("len1", ">i4"), ("id", ">i8"), ("len2", ">i4"), ("dim", ">i2"),
                       ("unused", ">i2"), ("v", ">f4", (3,))])
    rows = np.zeros(count, layout)
    rows["n"], rows["len1"], rows["id"], rows["len2"], rows["dim"] = 2, 8, ids, 16, 3
    rows["v"] = np.stack([ids, -ids, ids * 0.5], axis=1)
    data = BINARY_SIGNATURE + bytes(8) + rows.tobytes() + b"\xff\xff"
    batches: list[pa.Table] = []
    copy = CopyFromStdin("t", VECTOR_COLUMNS, parse_copy_options({"format": "binary"}, is_from=True),
                         batches.append, batch_rows=1000, parse_threshold_bytes=4096)
    for start in range(0, len(data), 3001):
        copy.write(data[start: start + 3001])
    assert copy.finish().tag == f"COPY {count}"
    table = pa.concat_tables(batches)
    assert table.column("id").to_pylist() == ids.tolist()
    vectors = np.stack(table.column("embedding").to_numpy(zero_copy_only=False))
    np.testing.assert_array_equal(vectors, rows["v"].astype(np.float32))
    assert len(batches) > 1


# --- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("data, options, sqlstate, message, context", [
    (b"1\ta\n", {}, "22P04", 'missing data for column "ts"', 'COPY t, line 1: "1\ta"'),
    (b"1\ta\t\\N\tx\n", {}, "22P04", "extra data after last expected column", 'COPY t, line 1: "1\ta\t\\N\tx"'),
    (b"1\ta\t\\N\nx\tb\t\\N\n", {}, "22P02", 'invalid input syntax for type integer: "x"',
     'COPY t, line 2, column id: "x"'),
    (b"id,name,ts\n1,a,\n2,b,notatime\n", {"format": "csv", "header": True}, "22007",
     'invalid input syntax for type timestamp: "notatime"', 'COPY t, line 3, column ts: "notatime"'),
    (b'1,"open\n', {"format": "csv"}, "22P04", "unterminated CSV quoted field", 'COPY t, line 1: "1,"open\n"'),
    (b"1\t\xff\t\\N\n", {}, "22021", 'invalid byte sequence for encoding "UTF8": 0xff 0x09', "COPY t, line 1"),
    (b"PGCOPY\nxx", {"format": "binary"}, "22P04", "COPY file signature not recognized", "COPY t, line 0"),
    (binary_copy([(Int4(1), "a")]), {"format": "binary"}, "22P04", "row field count is 2, expected 3",
     "COPY t, line 1"),
    (binary_copy(BINARY_ROWS)[:-5], {"format": "binary"}, "22P04", "unexpected EOF in COPY data", "COPY t, line 3"),
    (binary_copy(BINARY_ROWS) + b"\x00", {"format": "binary"}, "22P04", "received copy data after EOF marker",
     "COPY t, line 3"),
    (binary_copy([(Int4(1), "a", TS), (b"\x00\x01", "b", TS)]), {"format": "binary"}, "08P01",
     "insufficient data left in message", "COPY t, line 2, column id"),
])
def test_errors_carry_postgres_context(data: bytes, options: dict, sqlstate: str, message: str,
                                       context: str) -> None:
    err = copy_error(data, options)
    assert (err.sqlstate, err.message, getattr(err, "context", None)) == (sqlstate, message, context)


def test_vector_value_error_in_a_vectorised_run_names_its_line() -> None:
    rows, _ = vector_rows(30)
    rows[20] = (Int8(20), Vector([1.0, 2.0, float("nan")]).to_binary())
    err = copy_error(binary_copy(rows), {"format": "binary"}, VECTOR_COLUMNS)
    assert (err.sqlstate, err.message, err.context) == ("22000", "NaN not allowed in vector",
                                                        "COPY t, line 21, column embedding")


def test_long_values_are_cut_in_the_context() -> None:
    err = copy_error(b"1\t" + b"x" * 300 + b"\n")
    assert err.context == 'COPY t, line 1: "1\t' + "x" * 98 + '..."'


# --- options ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("options, is_from, sqlstate, message", [
    ({"format": "xml"}, True, "22023", 'COPY format "xml" not recognized'),
    ({"format": "binary", "delimiter": ","}, True, "42601", "cannot specify DELIMITER in BINARY mode"),
    ({"format": "binary", "null": ""}, True, "42601", "cannot specify NULL in BINARY mode"),
    ({"format": "binary", "header": True}, True, "0A000", "cannot specify HEADER in BINARY mode"),
    ({"delimiter": "ab"}, True, "0A000", "COPY delimiter must be a single one-byte character"),
    ({"delimiter": "\n"}, True, "22023", "COPY delimiter cannot be newline or carriage return"),
    ({"delimiter": "a"}, True, "22023", 'COPY delimiter cannot be "a"'),
    ({"quote": "'"}, True, "0A000", "COPY quote available only in CSV mode"),
    ({"escape": "'"}, True, "0A000", "COPY escape available only in CSV mode"),
    ({"format": "csv", "quote": ","}, True, "22023", "COPY delimiter and quote must be different"),
    ({"format": "csv", "force_quote": "*"}, True, "0A000", "COPY force quote only available using COPY TO"),
    ({"format": "csv", "force_not_null": ["id"]}, False, "0A000",
     "COPY force not null only available using COPY FROM"),
    ({"force_null": ["id"]}, True, "0A000", "COPY force null available only in CSV mode"),
    ({"null": "a\tb"}, True, "22023", "COPY delimiter must not appear in the NULL specification"),
    ({"format": "csv", "null": '"'}, True, "22023", "CSV quote character must not appear in the NULL specification"),
    ({"header": "match"}, False, "0A000", 'cannot use "match" with HEADER in COPY TO'),
    ({"header": "sometimes"}, True, "22023", 'header requires a Boolean value or "match"'),
    ({"format": "csv", "force_null": ["nope"]}, True, "42P10", 'FORCE_NULL column "nope" not referenced by COPY'),
    ({"oids": True}, True, "42601", 'option "oids" not recognized'),
])
def test_option_errors(options: dict, is_from: bool, sqlstate: str, message: str) -> None:
    with pytest.raises(PgError) as err:
        parse_copy_options(options, is_from=is_from, column_names=["id", "name", "ts"])
    assert (err.value.sqlstate, err.value.message) == (sqlstate, message)


def test_option_defaults_per_format() -> None:
    text = parse_copy_options({}, is_from=True)
    csv = parse_copy_options({"FORMAT": "CSV", "Header": None}, is_from=True)
    assert (text.delimiter, text.null, text.header) == ("\t", "\\N", False)
    assert (csv.delimiter, csv.null, csv.quote, csv.escape, csv.header) == (",", "", '"', '"', True)


# --- COPY TO ----------------------------------------------------------------------------------------

OUT_TABLE = pa.table({"id": pa.array([1, None, 3], pa.int32()),
                      "name": pa.array(["a\tb\\c\nd", None, 'x,y"z'], pa.string()),
                      "ts": pa.array([TS, None, None], pa.timestamp("us"))})


def copy_out(options: dict, table: pa.Table = OUT_TABLE, columns: list[ColumnInfo] = COLUMNS) -> bytes:
    copy_options = parse_copy_options(options, is_from=False, column_names=[c.name for c in columns])
    copy = CopyToStdout(table, columns, copy_options, chunk_rows=2)
    data = b"".join(copy.chunks())
    assert copy.tag == f"COPY {table.num_rows}"
    return data


def test_copy_to_text() -> None:
    assert copy_out({}) == (b"1\ta\\tb\\\\c\\nd\t2020-01-01 01:02:03.5\n"
                            b"\\N\t\\N\t\\N\n"
                            b'3\tx,y"z\t\\N\n')
    assert copy_out({"delimiter": ",", "null": "", "header": True}) == (
        b"id,name,ts\n1,a\\tb\\\\c\\nd,2020-01-01 01:02:03.5\n,,\n3,x\\,y\"z,\n")


def test_copy_to_csv() -> None:
    assert copy_out({"format": "csv", "header": True}) == (
        b'id,name,ts\n1,"a\tb\\c\nd",2020-01-01 01:02:03.5\n,,\n3,"x,y""z",\n')
    assert copy_out({"format": "csv", "force_quote": ["id"], "null": "N"}) == (
        b'"1","a\tb\\c\nd",2020-01-01 01:02:03.5\nN,N,N\n"3","x,y""z",N\n')


def test_copy_to_csv_quotes_values_equal_to_null_and_lone_end_marker() -> None:
    table = pa.table({"name": pa.array(["", "\\.", None])})
    assert copy_out({"format": "csv"}, table, [ColumnInfo("name", TEXT)]) == b'""\n"\\."\n\n'


@pytest.mark.parametrize("options", [{}, {"format": "csv", "header": True}, {"format": "binary"}])
def test_copy_to_then_from_round_trips(options: dict) -> None:
    data = copy_out(options)
    tag, rows = copy_in(list(data[i: i + 5] for i in range(0, len(data), 5)), options)
    assert (tag, rows) == ("COPY 3", OUT_TABLE.to_pylist())


def test_copy_to_binary_matches_psycopg_and_pgvector_dumps() -> None:
    table = pa.table({"id": pa.array([7], pa.int64()),
                      "embedding": pa.StructArray.from_arrays([pa.array([[1.0, 2.0, 3.0]], pa.list_(pa.float32()))],
                                                              names=["__vector"])})
    expected = binary_copy([(Int8(7), Vector([1.0, 2.0, 3.0]).to_binary())])
    assert copy_out({"format": "binary"}, table, VECTOR_COLUMNS) == expected
