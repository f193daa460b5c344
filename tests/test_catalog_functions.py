"""PostgreSQL's system functions: the Python logic behind them (checked against outputs of a
real PostgreSQL 18 with pgvector 0.8), and the functions as SQL through ``pgvecdb.connect()``."""

from __future__ import annotations

from pathlib import Path

import pytest

import pgvecdb
from pgvecdb.catalog.functions import size_pretty
from pgvecdb.catalog.identifiers import quote_ident
from pgvecdb.catalog.pg_types import format_type, type_name_oid
from pgvecdb.errors import PgError
from pgvecdb.types.registry import HALFVEC_ARRAY_OID, VECTOR_ARRAY_OID, VECTOR_OID

# (type OID, typmod, what PostgreSQL's format_type prints); None stands for a NULL typmod.
FORMAT_TYPE_CASES = [
    (1042, -1, "bpchar"), (1042, None, "character"), (1042, 5, "character(1)"),
    (1043, -1, "character varying"), (1043, None, "character varying"), (1043, 14, "character varying(10)"),
    (1015, 14, "character varying(10)[]"), (1700, -1, "numeric"), (1700, ((10 << 16) | 2) + 4, "numeric(10,2)"),
    (1700, 327684, "numeric(5,0)"), (1700, 329730, "numeric(5,-2)"), (1231, 1048582, "numeric(16,2)[]"),
    (1114, 3, "timestamp(3) without time zone"), (1114, -1, "timestamp without time zone"),
    (1184, -1, "timestamp with time zone"), (1184, None, "timestamp with time zone"),
    (1083, 6, "time(6) without time zone"), (1083, 0, "time(0) without time zone"), (1266, 2, "time(2) with time zone"),
    (1186, -1, "interval"), (1186, 2147418115, "interval(3)"), (1186, 470286338, "interval day to second(2)"),
    (1186, 327679, "interval year"), (1560, 3, "bit(3)"), (1560, -1, '"bit"'), (1560, None, "bit"),
    (1562, -1, "bit varying"), (1562, 5, "bit varying(5)"), (18, -1, '"char"'), (19, -1, "name"), (0, -1, "-"),
    (16, None, "boolean"), (1000, -1, "boolean[]"), (1028, -1, "oid[]"), (2205, -1, "regclass"), (25, 7, "text(7)"),
    (VECTOR_OID, 3, "vector(3)"), (VECTOR_OID, -1, "vector"), (VECTOR_OID, None, "vector"),
    (VECTOR_ARRAY_OID, 3, "vector(3)[]"), (HALFVEC_ARRAY_OID, 4, "halfvec(4)[]"),
]


@pytest.mark.parametrize("oid,typmod,expected", FORMAT_TYPE_CASES)
def test_format_type_prints_what_postgresql_prints(oid, typmod, expected):
    assert format_type(oid, typmod) == expected


def test_format_type_leaves_unknown_oids_to_pg_type():
    assert format_type(99999, -1) is None
    assert format_type(None, -1) is None


@pytest.mark.parametrize("name,oid", [
    ("vector", VECTOR_OID), ("int4", 23), ("integer", 23), ("character varying(10)", 1043), ("integer[]", 1007),
    ("pg_catalog.int4", 23), ("double precision", 701), ("public.vector", VECTOR_OID), ("bpchar", 1042),
    ("char", 1042), ('"char"', 18), ("timestamptz", 1184), ("timestamp(3) with time zone", 1184),
    ("halfvec(3)[]", HALFVEC_ARRAY_OID), ("nope", None),
])
def test_type_names_resolve_as_regtype_input_does(name, oid):
    assert type_name_oid(name) == oid


@pytest.mark.parametrize("size,expected", [
    (0, "0 bytes"), (8192, "8192 bytes"), (10239, "10239 bytes"), (10240, "10 kB"), (20479 * 1024, "20 MB"),
    (123456789, "118 MB"), (-10240, "-10 kB"), (2**40, "1024 GB"), (10**18, "888 PB"),
])
def test_size_pretty_matches_postgresql(size, expected):
    assert size_pretty(size) == expected


@pytest.mark.parametrize("name,expected", [
    ("items", "items"), ("Items", '"Items"'), ("select", '"select"'), ("user", '"user"'), ("a b", '"a b"'),
    ("x$1", "x$1"), ("_t", "_t"), ('say"hi', '"say""hi"'), ("name", "name"), ("1abc", '"1abc"'),
])
def test_quote_ident(name, expected):
    assert quote_ident(name) == expected


# As SQL -------------------------------------------------------------------------------------------


@pytest.fixture
def con(tmp_path: Path):
    connection = pgvecdb.connect(tmp_path / "db", autocommit=True)
    connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
    connection.execute("CREATE TABLE items (id bigserial PRIMARY KEY, name varchar(10), embedding vector(3), "
                       "UNIQUE (name))")
    connection.execute("CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_l2_ops)")
    yield connection
    connection.close()


def _one(con, sql: str, params=None) -> tuple:
    cur = con.cursor()
    cur.execute(sql, params)
    return cur.fetchone()


def _names(con, sql: str) -> list[str]:
    cur = con.cursor()
    cur.execute(sql)
    return [d[0] for d in cur.description]


def test_regclass_and_regtype_in_both_directions(con):
    oid = _one(con, "SELECT oid FROM pg_class WHERE relname = 'items'")[0]
    assert _one(con, "SELECT 'items'::regclass::oid, 'public.items'::regclass::oid, "
                     "'pg_catalog.pg_extension'::regclass::oid") == (oid, oid, 3079)
    assert _one(con, f"SELECT {oid}::regclass::text, 'items'::regclass, 0::regclass::text") == ("items", "items", "-")
    assert _one(con, "SELECT 'vector'::regtype::oid, 'integer[]'::regtype::oid, 23::regtype::text, "
                     "'items'::regtype::text") == (VECTOR_OID, 1007, "integer", "items")
    assert _one(con, "SELECT to_regtype('vector'), to_regtype('nope'), to_regclass('nope')") == (VECTOR_OID, None, None)


def test_regclass_of_a_parameter(con):
    oid = _one(con, "SELECT oid FROM pg_class WHERE relname = 'items'")[0]
    assert _one(con, "SELECT %s::regclass::oid", ["items"]) == (oid,)
    assert _one(con, "SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
                ["public.items"]) == (3,)


def test_unknown_names_fail_as_postgresql_fails(con):
    with pytest.raises(PgError) as relation:
        _one(con, "SELECT 'nope'::regclass")
    assert (relation.value.sqlstate, relation.value.message) == ("42P01", 'relation "nope" does not exist')
    with pytest.raises(PgError) as setting:
        _one(con, "SELECT current_setting('no_such_setting')")
    assert (setting.value.sqlstate, setting.value.message) == \
        ("42704", 'unrecognized configuration parameter "no_such_setting"')


def test_definitions(con):
    row = _one(con, "SELECT pg_get_indexdef(i.indexrelid), pg_get_indexdef(i.indexrelid, 1, true) "
                    "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'items_embedding_idx'")
    assert row == ("CREATE INDEX items_embedding_idx ON public.items USING hnsw (embedding vector_l2_ops)", "embedding")
    constraints = _one(con, "SELECT string_agg(pg_get_constraintdef(oid, true), '; ' ORDER BY conname) "
                            "FROM pg_constraint WHERE conrelid = 'items'::regclass")
    assert constraints == ("UNIQUE (name); PRIMARY KEY (id)",)
    assert _one(con, "SELECT pg_get_serial_sequence('items', 'id'), pg_get_serial_sequence('items', 'name')") == \
        ("public.items_id_seq", None)
    assert _one(con, "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'items'::regclass") == \
        ("nextval('items_id_seq'::regclass)",)


def test_format_type_of_columns(con):
    cur = con.cursor()
    cur.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute "
                "WHERE attrelid = 'items'::regclass AND attnum > 0 ORDER BY attnum")
    assert cur.fetchall() == [("id", "bigint"), ("name", "character varying(10)"), ("embedding", "vector(3)")]


def test_session_functions(con):
    row = _one(con, "SELECT current_user, session_user, current_database(), current_schema(), "
                    "current_schemas(true), current_schemas(false)")
    assert row[2:] == ("postgres", "public", ["pg_catalog", "public"], ["public"])
    assert row[0] == row[1] and row[0]
    assert _one(con, "SELECT version()")[0].startswith("PostgreSQL 16.")
    con.execute("SET search_path = pg_catalog")
    assert _one(con, "SELECT current_schema(), pg_table_is_visible('public.items'::regclass)") == ("pg_catalog", False)
    con.execute("SET search_path = public")
    assert _one(con, "SELECT pg_table_is_visible('items'::regclass), current_setting('search_path')") == \
        (True, "public")


def test_descriptions_and_privileges(con):
    assert _one(con, "SELECT obj_description(e.oid, 'pg_extension') FROM pg_extension e WHERE extname = 'vector'") == \
        ("vector data type and ivfflat and hnsw access methods",)
    assert _one(con, "SELECT col_description('items'::regclass, 1), has_table_privilege('items', 'SELECT'), "
                     "pg_get_userbyid(10) = current_user, pg_encoding_to_char(6)") == (None, True, True, "UTF8")


def test_sizes(con):
    con.execute("INSERT INTO items (name, embedding) VALUES ('a', '[1,2,3]')")
    table, total, pretty = _one(con, "SELECT pg_table_size('items'), pg_total_relation_size('items'::regclass), "
                                     "pg_size_pretty(pg_relation_size('items'))")
    assert table > 0 and total >= table
    assert pretty == size_pretty(table)


def test_rewritten_projections_keep_postgresql_column_names(con):
    assert _names(con, "SELECT pg_catalog.format_type(23, -1), current_user, 'items'::regclass, "
                       "pg_catalog.pg_get_userbyid(10) AS owner, version(), current_catalog") == \
        ["format_type", "current_user", "regclass", "owner", "version", "current_catalog"]


def test_check_constraints_print_as_psql_shows_them(con):
    con.execute("CREATE TABLE ck (a int CHECK (a > 0), b int, CONSTRAINT bpos CHECK (b >= 0 AND b < 10))")
    cur = con.cursor()
    cur.execute("SELECT conname, pg_get_constraintdef(oid, true), pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'ck'::regclass AND contype = 'c' ORDER BY 1")
    assert cur.fetchall() == [("bpos", "CHECK (b >= 0 AND b < 10)", "CHECK ((b >= 0 AND b < 10))"),
                              ("ck_a_check", "CHECK (a > 0)", "CHECK ((a > 0))")]
