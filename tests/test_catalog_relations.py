"""pg_catalog and information_schema relations: their columns, types and rows.

The first tests build relations straight from a catalog (``catalog.model``) and read the
Arrow tables; the others create objects with real DDL through ``pgvecdb.connect()`` and
query the relations with SQL, as clients do.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

import pgvecdb
from pgvecdb.catalog.model import Catalog, Column, Constraint, Extension, Index, Sequence, Table
from pgvecdb.catalog.pg_catalog import RELATIONS, SystemContext, column_types, is_system_relation, system_relation
from pgvecdb.types.registry import TYPES_BY_OID, VECTOR_ARRAY_OID, VECTOR_OID


def _catalog() -> Catalog:
    catalog = Catalog()
    catalog.extensions["vector"] = Extension(catalog.allocate_oid(), "vector", "0.8.1")
    table_oid, type_oid = catalog.allocate_oid(), catalog.allocate_oid()
    columns = [
        Column("id", "int8", not_null=True, default="nextval('items_id_seq'::regclass)", attnum=1),
        Column("name", "varchar", 14, not_null=True, attnum=2),
        Column("embedding", "vector", 3, attnum=3),
        Column("tags", "_text", attnum=4),
    ]
    table = Table(table_oid, "items", columns=columns, type_oid=type_oid, next_attnum=5)
    pkey = Index(catalog.allocate_oid(), "items_pkey", table_oid, "btree", ["id"], [None], [None],
                 unique=True, primary=True)
    hnsw = Index(catalog.allocate_oid(), "items_embedding_idx", table_oid, "hnsw", ["embedding"], [None],
                 ["vector_cosine_ops"], {"m": 16})
    table.indexes = [pkey, hnsw]
    table.constraints = [Constraint(catalog.allocate_oid(), "items_pkey", "p", ["id"], pkey.oid)]
    catalog.tables[("public", "items")] = table
    catalog.sequences[("public", "items_id_seq")] = Sequence(catalog.allocate_oid(), "items_id_seq",
                                                             owned_by=("items", "id"))
    return catalog


@pytest.fixture
def ctx() -> SystemContext:
    settings = {"search_path": '"$user", public', "DateStyle": "ISO, MDY", "hnsw.ef_search": "40"}
    return SystemContext(_catalog(), settings, "alice", "shop", relation_size=lambda oid: 4096, backend_pid=77)


def _list(ctx: SystemContext, name: str) -> list[dict]:
    return system_relation(None, name, ctx).to_pylist()


def _rows(table: pa.Table, **where) -> list[dict]:
    return [r for r in table.to_pylist() if all(r[k] == v for k, v in where.items())]


@pytest.mark.parametrize("key", sorted(RELATIONS), ids=lambda k: f"{k[0]}.{k[1]}")
def test_every_relation_builds_with_its_declared_columns(ctx, key):
    schema, name = key
    table = system_relation(schema, name, ctx)
    assert table.column_names == list(column_types(schema, name))
    duck = duckdb.connect()
    duck.register("rel", table)
    assert duck.execute("SELECT count(*) FROM rel").fetchone()[0] == table.num_rows


def test_columns_are_in_the_duckdb_representation_of_their_types(ctx):
    pg_class = system_relation("pg_catalog", "pg_class", ctx)
    assert pg_class.schema.field("oid").type == pa.int64()
    assert pg_class.schema.field("relname").type == pa.string()
    assert pg_class.schema.field("relhasindex").type == pa.bool_()
    assert pg_class.schema.field("reloptions").type == pa.list_(pa.string())
    pg_attribute = system_relation("pg_catalog", "pg_attribute", ctx)
    assert pg_attribute.schema.field("atttypmod").type == pa.int32()
    assert pg_attribute.schema.field("attnum").type == pa.int16()
    pg_index = system_relation("pg_catalog", "pg_index", ctx)
    assert pg_index.schema.field("indkey").type == pa.list_(pa.int16())
    assert pg_index.schema.field("indclass").type == pa.list_(pa.int64())


def test_system_relation_names():
    assert is_system_relation(None, "pg_class")
    assert is_system_relation("pg_catalog", "pg_type")
    assert is_system_relation("information_schema", "columns")
    assert not is_system_relation(None, "columns")
    assert not is_system_relation("public", "pg_class")
    assert not is_system_relation(None, "items")


def test_pg_type_lists_every_registry_type_with_its_array(ctx):
    pg_type = system_relation(None, "pg_type", ctx).to_pylist()
    by_oid = {r["oid"]: r for r in pg_type}
    assert set(TYPES_BY_OID) <= set(by_oid)
    vector = by_oid[VECTOR_OID]
    assert (vector["typname"], vector["typarray"], vector["typtype"], vector["typcategory"]) == \
        ("vector", VECTOR_ARRAY_OID, "b", "U")
    assert (vector["typinput"], vector["typoutput"], vector["typreceive"], vector["typsend"]) == \
        ("vector_in", "vector_out", "vector_recv", "vector_send")
    assert (vector["typmodin"], vector["typstorage"], vector["typnamespace"]) == ("vector_typmod_in", "e", 2200)
    vector_array = by_oid[VECTOR_ARRAY_OID]
    assert (vector_array["typname"], vector_array["typelem"], vector_array["typinput"]) == \
        ("_vector", VECTOR_OID, "array_in")
    int4 = by_oid[23]
    assert (int4["typinput"], int4["typlen"], int4["typbyval"], int4["typalign"], int4["typnamespace"]) == \
        ("int4in", 4, True, "i", 11)
    assert by_oid[25]["typcollation"] == 100 and by_oid[19]["typelem"] == 18


def test_pg_type_has_a_row_type_per_table(ctx):
    items = ctx.catalog.table("items")
    row_type = _rows(system_relation(None, "pg_type", ctx), oid=items.type_oid)[0]
    assert (row_type["typname"], row_type["typtype"], row_type["typrelid"], row_type["typinput"]) == \
        ("items", "c", items.oid, "record_in")


def test_pg_class_lists_tables_indexes_sequences_and_the_catalog_itself(ctx):
    pg_class = system_relation(None, "pg_class", ctx)
    kinds = {r["relname"]: r["relkind"] for r in pg_class.to_pylist()}
    assert [kinds[n] for n in ("items", "items_pkey", "items_embedding_idx", "items_id_seq")] == ["r", "i", "i", "S"]
    assert (kinds["pg_class"], kinds["pg_roles"], kinds["columns"]) == ("r", "v", "v")
    items = _rows(pg_class, relname="items")[0]
    assert (items["relnatts"], items["relhasindex"], items["relam"], items["relowner"], items["relnamespace"]) == \
        (4, True, 2, 10, 2200)
    hnsw = _rows(pg_class, relname="items_embedding_idx")[0]
    assert hnsw["reloptions"] == ["m=16"]
    am = {r["oid"]: r["amname"] for r in system_relation(None, "pg_am", ctx).to_pylist()}
    assert am[hnsw["relam"]] == "hnsw"


def test_pg_attribute_describes_table_and_index_columns(ctx):
    items = ctx.catalog.table("items")
    pg_attribute = system_relation(None, "pg_attribute", ctx)
    columns = [(r["attname"], r["atttypid"], r["atttypmod"], r["attnotnull"], r["atthasdef"], r["attndims"])
               for r in _rows(pg_attribute, attrelid=items.oid)]
    assert columns == [("id", 20, -1, True, True, 0), ("name", 1043, 14, True, False, 0),
                       ("embedding", VECTOR_OID, 3, False, False, 0), ("tags", 1009, -1, False, False, 1)]
    index_oid = items.indexes[1].oid
    assert [(r["attname"], r["atttypid"], r["atttypmod"]) for r in _rows(pg_attribute, attrelid=index_oid)] == \
        [("embedding", VECTOR_OID, 3)]


def test_pg_index_and_pg_constraint(ctx):
    items = ctx.catalog.table("items")
    pg_index = {r["indexrelid"]: r for r in system_relation(None, "pg_index", ctx).to_pylist()}
    pkey, hnsw = (pg_index[i.oid] for i in items.indexes)
    assert (pkey["indisprimary"], pkey["indisunique"], pkey["indkey"], pkey["indclass"]) == (True, True, [1], [3124])
    opclasses = {r["oid"]: r["opcname"] for r in system_relation(None, "pg_opclass", ctx).to_pylist()}
    assert (hnsw["indisunique"], hnsw["indkey"], opclasses[hnsw["indclass"][0]]) == (False, [3], "vector_cosine_ops")
    constraint = system_relation(None, "pg_constraint", ctx).to_pylist()[0]
    assert (constraint["conname"], constraint["contype"], constraint["conkey"], constraint["conindid"]) == \
        ("items_pkey", "p", [1], items.indexes[0].oid)


def test_definitions_and_sizes(ctx):
    items = ctx.catalog.table("items")
    definitions = {(r["oid"], r["subid"]): r["definition"] for r in _list(ctx, "pgvecdb_objdef")}
    pkey, hnsw = items.indexes
    assert definitions[(pkey.oid, 0)] == "CREATE UNIQUE INDEX items_pkey ON public.items USING btree (id)"
    assert definitions[(hnsw.oid, 0)] == \
        "CREATE INDEX items_embedding_idx ON public.items USING hnsw (embedding vector_cosine_ops) WITH (m='16')"
    assert definitions[(hnsw.oid, 1)] == "embedding"
    assert definitions[(items.constraints[0].oid, 0)] == "PRIMARY KEY (id)"
    sizes = {r["oid"]: (r["bytes"], r["index_bytes"]) for r in _list(ctx, "pgvecdb_relation_size")}
    assert sizes[items.oid] == (4096, 0)


def test_sequences_and_their_ownership(ctx):
    items = ctx.catalog.table("items")
    seq = ctx.catalog.sequences[("public", "items_id_seq")]
    assert system_relation(None, "pg_sequence", ctx).to_pylist()[0]["seqrelid"] == seq.oid
    owned = _rows(system_relation(None, "pg_depend", ctx), objid=seq.oid)
    assert [(r["refobjid"], r["refobjsubid"], r["deptype"]) for r in owned] == [(items.oid, 1, "a")]


def test_session_relations(ctx):
    session = system_relation(None, "pgvecdb_session", ctx).to_pylist()
    assert session == [{"usename": "alice", "datname": "shop", "search_path": ["pg_catalog", "public"],
                        "explicit_search_path": ["public"], "current_schema": "public", "backend_pid": 77}]
    roles = system_relation(None, "pg_roles", ctx).to_pylist()
    assert [(r["rolname"], r["oid"], r["rolsuper"]) for r in roles if r["rolcanlogin"]] == [("alice", 10, True)]
    assert system_relation(None, "pg_database", ctx).to_pylist()[0]["datname"] == "shop"
    settings = {r["name"]: r for r in system_relation(None, "pg_settings", ctx).to_pylist()}
    assert (settings["DateStyle"]["setting"], settings["DateStyle"]["vartype"]) == ("ISO, MDY", "string")
    ef = settings["hnsw.ef_search"]
    assert (ef["setting"], ef["vartype"], ef["min_val"], ef["max_val"]) == ("40", "integer", "1", "1000")


def test_extensions(ctx):
    extensions = {r["extname"]: r for r in system_relation(None, "pg_extension", ctx).to_pylist()}
    assert (extensions["plpgsql"]["extversion"], extensions["plpgsql"]["extnamespace"]) == ("1.0", 11)
    assert (extensions["vector"]["extversion"], extensions["vector"]["extnamespace"]) == ("0.8.1", 2200)
    available = {r["name"]: r["installed_version"] for r in _list(ctx, "pg_available_extensions")}
    assert available == {"plpgsql": "1.0", "vector": "0.8.1"}


def test_information_schema_columns(ctx):
    columns = {r["column_name"]: r for r in system_relation("information_schema", "columns", ctx).to_pylist()}
    assert (columns["id"]["data_type"], columns["id"]["numeric_precision"], columns["id"]["is_nullable"]) == \
        ("bigint", 64, "NO")
    assert (columns["name"]["data_type"], columns["name"]["character_maximum_length"]) == ("character varying", 10)
    embedding = columns["embedding"]
    assert [embedding[k] for k in ("data_type", "udt_name", "udt_schema")] == ["USER-DEFINED", "vector", "public"]
    assert (columns["tags"]["data_type"], columns["tags"]["udt_name"]) == ("ARRAY", "_text")
    assert columns["id"]["column_default"] == "nextval('items_id_seq'::regclass)"


def test_information_schema_constraints(ctx):
    constraints = system_relation("information_schema", "table_constraints", ctx).to_pylist()
    items = ctx.catalog.table("items")
    assert sorted((r["constraint_name"], r["constraint_type"]) for r in constraints) == [
        (f"2200_{items.oid}_1_not_null", "CHECK"), (f"2200_{items.oid}_2_not_null", "CHECK"),
        ("items_pkey", "PRIMARY KEY")]
    usage = system_relation("information_schema", "key_column_usage", ctx).to_pylist()
    assert [(r["constraint_name"], r["column_name"], r["ordinal_position"]) for r in usage] == [("items_pkey", "id", 1)]


# Through SQL, on objects made by DDL ---------------------------------------------------------------


@pytest.fixture
def con(tmp_path: Path):
    connection = pgvecdb.connect(tmp_path / "db", autocommit=True)
    yield connection
    connection.close()


def _query(con, sql: str, params=None) -> list[tuple]:
    cur = con.cursor()
    cur.execute(sql, params)
    return cur.fetchall()


def test_ddl_appears_in_the_catalog(con):
    con.execute("CREATE EXTENSION IF NOT EXISTS vector")
    con.execute("CREATE TABLE docs (id bigserial PRIMARY KEY, title text NOT NULL, embedding vector(4))")
    con.execute("CREATE INDEX docs_hnsw ON docs USING hnsw (embedding vector_l2_ops) WITH (m = 8)")
    attributes = _query(con, "SELECT a.attname, t.typname, a.atttypmod, a.attnotnull FROM pg_attribute a "
                             "JOIN pg_type t ON t.oid = a.atttypid "
                             "WHERE a.attrelid = 'docs'::regclass AND a.attnum > 0 ORDER BY a.attnum")
    assert attributes == [("id", "int8", -1, True), ("title", "text", -1, True), ("embedding", "vector", 4, False)]
    indexes = _query(con, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'docs' ORDER BY 1")
    assert indexes == [
        ("docs_hnsw", "CREATE INDEX docs_hnsw ON public.docs USING hnsw (embedding vector_l2_ops) WITH (m='8')"),
        ("docs_pkey", "CREATE UNIQUE INDEX docs_pkey ON public.docs USING btree (id)"),
    ]
    assert _query(con, "SELECT table_name, column_name, data_type FROM information_schema.columns "
                       "WHERE table_name = 'docs' ORDER BY ordinal_position") == [
        ("docs", "id", "bigint"), ("docs", "title", "text"), ("docs", "embedding", "USER-DEFINED")]
    assert _query(con, "SELECT extname FROM pg_extension ORDER BY 1") == [("plpgsql",), ("vector",)]


def test_dropped_objects_leave_the_catalog(con):
    con.execute("CREATE TABLE gone (a int)")
    assert _query(con, "SELECT count(*) FROM pg_class WHERE relname = 'gone'") == [(1,)]
    con.execute("DROP TABLE gone")
    assert _query(con, "SELECT count(*) FROM pg_class WHERE relname = 'gone'") == [(0,)]
    assert _query(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'gone'") == [(0,)]
