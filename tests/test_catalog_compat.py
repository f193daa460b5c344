"""planner.rules.pg_compat: PostgreSQL's catalog idioms rewritten into SQL DuckDB runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

import pgvecdb
from pgvecdb.errors import PgError
from pgvecdb.planner.rules.pg_compat import rewrite
from pgvecdb.sql.dialect import DIALECT


def _rewritten(sql: str) -> exp.Expression:
    return rewrite(sqlglot.parse_one(sql, read=DIALECT))


def test_queries_without_postgresql_idioms_are_left_alone():
    sql = "SELECT id, embedding <-> $1 AS d FROM items WHERE category = 5 ORDER BY embedding <-> $1 LIMIT 10"
    assert _rewritten(sql) == sqlglot.parse_one(sql, read=DIALECT)


def test_operator_syntax_and_collations_become_plain_operators():
    tree = _rewritten("SELECT 1 FROM t WHERE a OPERATOR(pg_catalog.~) '^x$' COLLATE pg_catalog.default "
                      "AND b OPERATOR(pg_catalog.=) c")
    assert not list(tree.find_all(exp.Operator, exp.Collate))
    assert tree.find(exp.RegexpLike) is not None and tree.find(exp.EQ) is not None


def test_schema_qualifiers_of_functions_types_and_columns_go():
    tree = _rewritten("SELECT pg_catalog.pg_class.relname, x::pg_catalog.text, y::pg_catalog.int2[], "
                      "pg_catalog.array_to_string(a, ',') FROM pg_catalog.pg_class, pg_catalog.generate_series(1, 2) s")
    sql = tree.sql(dialect="duckdb")
    assert "pg_catalog.pg_class.relname" not in sql and "pg_catalog.GENERATE_SERIES" not in sql
    assert "CAST(x AS TEXT)" in sql and "CAST(y AS SMALLINT[])" in sql
    assert "FROM pg_catalog.pg_class" in sql  # the relation itself is the planner's to bind


def test_system_functions_become_queries_of_system_relations():
    tree = _rewritten("SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c")
    tables = {t.name for t in tree.find_all(exp.Table)}
    assert tables == {"pg_class", "pg_authid"}
    assert tree.expressions[0].alias == "pg_get_userbyid"


@pytest.fixture
def con(tmp_path: Path):
    connection = pgvecdb.connect(tmp_path / "db", autocommit=True)
    connection.execute("CREATE TABLE items (id int PRIMARY KEY, note text)")
    yield connection
    connection.close()


def _all(con, sql: str) -> list[tuple]:
    cur = con.cursor()
    cur.execute(sql)
    return cur.fetchall()


def test_regular_expression_operators(con):
    assert _all(con, "SELECT relname FROM pg_catalog.pg_class c "
                     "WHERE c.relname OPERATOR(pg_catalog.~) '^(items)$' COLLATE pg_catalog.default") == [("items",)]
    assert _all(con, "SELECT count(*) FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname ~* '^PUB'") == [(1,)]


def test_arguments_are_not_captured_by_the_expansions(con):
    """``oid`` in ``oid::regtype`` is the outer pg_type's, not the expansion's own pg_type."""
    rows = _all(con, "SELECT typname, oid::regtype::text FROM pg_type WHERE typname IN ('int4', '_float4', 'vector') "
                     "ORDER BY typname")
    assert rows == [("_float4", "real[]"), ("int4", "integer"), ("vector", "vector")]
    rows = _all(con, "SELECT relname, pg_catalog.pg_table_is_visible(oid) FROM pg_class "
                     "WHERE relname IN ('items', 'pg_type') ORDER BY relname")
    assert rows == [("items", True), ("pg_type", True)]


def test_array_literals_compare_with_catalog_arrays(con):
    assert _all(con, "SELECT count(*) FROM pg_catalog.pg_policy pol WHERE pol.polroles = '{0}'") == [(0,)]


def test_functions_in_from_name_their_column_after_the_alias(con):
    assert _all(con, "SELECT s FROM pg_catalog.generate_series(1, 3) s") == [(1,), (2,), (3,)]
    assert _all(con, "SELECT 'toast.' || x FROM pg_catalog.unnest(ARRAY['a', 'b']) x") == [("toast.a",), ("toast.b",)]


def test_psql_describe_queries_run(con):
    """Two of the queries psql 15 sends for ``\\d items``, as it sends them."""
    oid = _all(con, "SELECT c.oid FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n "
                    "ON n.oid = c.relnamespace WHERE c.relname OPERATOR(pg_catalog.~) '^(items)$' "
                    "COLLATE pg_catalog.default AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 1")[0][0]
    rows = _all(con, f"""SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers,
        c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition,
        pg_catalog.array_to_string(c.reloptions || array(select 'toast.' || x from pg_catalog.unnest(tc.reloptions) x), ', ')
        , c.reltablespace, CASE WHEN c.reloftype = 0 THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END,
        c.relpersistence, c.relreplident, am.amname
        FROM pg_catalog.pg_class c
         LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid)
        LEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid)
        WHERE c.oid = '{oid}'""")
    assert [r[:2] + r[11:] for r in rows] == [(0, "r", "", "p", "d", "heap")]
    rows = _all(con, f"""SELECT c2.relname, i.indisprimary, i.indisunique, i.indisclustered, i.indisvalid,
        pg_catalog.pg_get_indexdef(i.indexrelid, 0, true), pg_catalog.pg_get_constraintdef(con.oid, true), contype,
        condeferrable, condeferred, i.indisreplident, c2.reltablespace
        FROM pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_index i
          LEFT JOIN pg_catalog.pg_constraint con ON (conrelid = i.indrelid AND conindid = i.indexrelid AND contype IN ('p','u','x'))
        WHERE c.oid = '{oid}' AND c.oid = i.indrelid AND i.indexrelid = c2.oid
        ORDER BY i.indisprimary DESC, c2.relname""")
    assert rows == [("items_pkey", True, True, False, True,
                     "CREATE UNIQUE INDEX items_pkey ON public.items USING btree (id)", "PRIMARY KEY (id)", "p",
                     False, False, False, 0)]


def test_a_system_function_called_with_too_few_arguments_does_not_exist(con):
    with pytest.raises(PgError) as error:
        _all(con, "SELECT format_type(23)")
    assert (error.value.sqlstate, error.value.message) == ("42883", "function format_type(unknown) does not exist")
