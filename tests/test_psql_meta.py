"""Introspection by real clients against a real server: psql's meta-commands, psycopg's
TypeInfo and pgvector-python's register_vector, asyncpg's type introspection.

The expected psql outputs are what psql 15 prints for the same schema on PostgreSQL with
pgvector 0.8 (only sizes, which are pgvecdb's real bytes on disk, differ).
"""

from __future__ import annotations

import asyncio
import re

import asyncpg
import numpy as np
import pytest
from pgvector import HalfVector
from pgvector.asyncpg import register_vector as register_vector_asyncpg
from pgvector.psycopg import register_vector
from psycopg.types import TypeInfo

from conftest import ServerProcess, launch_server
from pgvecdb.catalog.vector_objects import PGVECTOR_VERSION
from pgvecdb.types.registry import HALFVEC_OID, VECTOR_ARRAY_OID, VECTOR_OID

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE items (id bigserial PRIMARY KEY, name varchar(10) NOT NULL, qty integer DEFAULT 0,
    embedding vector(3), h halfvec(4), s sparsevec(5), b bit(3), tags text[], created timestamptz, u uuid UNIQUE);
CREATE INDEX items_emb_idx ON items USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64);
CREATE INDEX items_name_idx ON items (name);
CREATE TABLE t2 (a int, b text);
"""


@pytest.fixture(scope="module")
def described(tmp_path_factory: pytest.TempPathFactory):
    server = launch_server(tmp_path_factory.mktemp("psql-meta") / "data")
    created = server.psql("-q", "-v", "ON_ERROR_STOP=1", input=SCHEMA)
    assert created.returncode == 0, created.stderr
    yield server
    server.stop()


def _meta(server: ServerProcess, command: str) -> str:
    result = server.psql("-c", command)
    assert result.returncode == 0 and not result.stderr, result.stderr
    return result.stdout


LIST_OF_RELATIONS = """\
             List of relations
 Schema |     Name     |   Type   |  Owner  
--------+--------------+----------+---------
 public | items        | table    | pgvecdb
 public | items_id_seq | sequence | pgvecdb
 public | t2           | table    | pgvecdb
(3 rows)

"""

LIST_OF_TABLES = """\
        List of relations
 Schema | Name  | Type  |  Owner  
--------+-------+-------+---------
 public | items | table | pgvecdb
 public | t2    | table | pgvecdb
(2 rows)

"""

ITEMS = """\
                                      Table "public.items"
  Column   |           Type           | Collation | Nullable |              Default              
-----------+--------------------------+-----------+----------+-----------------------------------
 id        | bigint                   |           | not null | nextval('items_id_seq'::regclass)
 name      | character varying(10)    |           | not null | 
 qty       | integer                  |           |          | 0
 embedding | vector(3)                |           |          | 
 h         | halfvec(4)               |           |          | 
 s         | sparsevec(5)             |           |          | 
 b         | bit(3)                   |           |          | 
 tags      | text[]                   |           |          | 
 created   | timestamp with time zone |           |          | 
 u         | uuid                     |           |          | 
Indexes:
    "items_pkey" PRIMARY KEY, btree (id)
    "items_emb_idx" hnsw (embedding vector_l2_ops) WITH (m='16', ef_construction='64')
    "items_name_idx" btree (name)
    "items_u_key" UNIQUE CONSTRAINT, btree (u)

"""

ITEMS_VERBOSE = """\
                                                                 Table "public.items"
  Column   |           Type           | Collation | Nullable |              Default              | Storage  | Compression | Stats target | Description 
-----------+--------------------------+-----------+----------+-----------------------------------+----------+-------------+--------------+-------------
 id        | bigint                   |           | not null | nextval('items_id_seq'::regclass) | plain    |             |              | 
 name      | character varying(10)    |           | not null |                                   | extended |             |              | 
 qty       | integer                  |           |          | 0                                 | plain    |             |              | 
 embedding | vector(3)                |           |          |                                   | external |             |              | 
 h         | halfvec(4)               |           |          |                                   | external |             |              | 
 s         | sparsevec(5)             |           |          |                                   | external |             |              | 
 b         | bit(3)                   |           |          |                                   | extended |             |              | 
 tags      | text[]                   |           |          |                                   | extended |             |              | 
 created   | timestamp with time zone |           |          |                                   | plain    |             |              | 
 u         | uuid                     |           |          |                                   | plain    |             |              | 
Indexes:
    "items_pkey" PRIMARY KEY, btree (id)
    "items_emb_idx" hnsw (embedding vector_l2_ops) WITH (m='16', ef_construction='64')
    "items_name_idx" btree (name)
    "items_u_key" UNIQUE CONSTRAINT, btree (u)
Access method: heap

"""

INDEXES = """\
                 List of relations
 Schema |      Name      | Type  |  Owner  | Table 
--------+----------------+-------+---------+-------
 public | items_emb_idx  | index | pgvecdb | items
 public | items_name_idx | index | pgvecdb | items
 public | items_pkey     | index | pgvecdb | items
 public | items_u_key    | index | pgvecdb | items
(4 rows)

"""

EXTENSIONS = f"""\
                             List of installed extensions
  Name   | Version |   Schema   |                     Description                      
---------+---------+------------+------------------------------------------------------
 plpgsql | 1.0     | pg_catalog | PL/pgSQL procedural language
 vector  | {PGVECTOR_VERSION:<7} | public     | vector data type and ivfflat and hnsw access methods
(2 rows)

"""

SCHEMAS = """\
      List of schemas
  Name  |       Owner       
--------+-------------------
 public | pg_database_owner
(1 row)

"""

T2 = """\
                 Table "public.t2"
 Column |  Type   | Collation | Nullable | Default 
--------+---------+-----------+----------+---------
 a      | integer |           |          | 
 b      | text    |           |          | 

"""

HNSW_INDEX = """\
       Index "public.items_emb_idx"
  Column   |   Type    | Key? | Definition 
-----------+-----------+------+------------
 embedding | vector(3) | yes  | embedding
hnsw, for table "public.items"

"""

DATABASES = """\
                                         List of databases
  Name   |  Owner  | Encoding | Collate | Ctype | ICU Locale | Locale Provider | Access privileges 
---------+---------+----------+---------+-------+------------+-----------------+-------------------
 pgvecdb | pgvecdb | UTF8     | C       | C     |            | libc            | 
(1 row)

"""


@pytest.mark.parametrize("command,expected", [
    (r"\d", LIST_OF_RELATIONS),
    (r"\dt", LIST_OF_TABLES),
    (r"\d items", ITEMS),
    (r"\d+ items", ITEMS_VERBOSE),
    (r"\di", INDEXES),
    (r"\dx", EXTENSIONS),
    (r"\dn", SCHEMAS),
    (r"\d t2", T2),
    (r"\d items_emb_idx", HNSW_INDEX),
    (r"\l", DATABASES),
])
def test_psql_meta_command_prints_what_postgresql_prints(described, command, expected):
    assert _meta(described, command) == expected


def test_psql_table_sizes_are_bytes_on_disk(described):
    described.psql("-c", "INSERT INTO t2 SELECT g, 'row ' || g FROM generate_series(1, 500) g")
    listing = _meta(described, r"\dt+")
    sizes = dict(re.findall(r"^ public \| (\w+) +\|.*\| heap +\| (.+?) +\|", listing, re.M))
    assert set(sizes) == {"items", "t2"}
    t2_bytes = described.psql("-At", "-c", "SELECT pg_table_size('t2')").stdout.strip()
    assert int(t2_bytes) > 0
    assert sizes["t2"] == described.psql("-At", "-c", f"SELECT pg_size_pretty({t2_bytes}::bigint)").stdout.strip()


def test_psql_describes_an_unknown_relation_as_postgresql_does(described):
    result = described.psql("-c", r"\d no_such_table")
    assert result.stderr == 'Did not find any relation named "no_such_table".\n'


# psycopg and pgvector-python ----------------------------------------------------------------------


def test_psycopg_typeinfo_finds_pgvector_types(described):
    with described.connect() as conn:
        info = TypeInfo.fetch(conn, "vector")
        assert (info.name, info.oid, info.array_oid, info.delimiter) == ("vector", VECTOR_OID, VECTOR_ARRAY_OID, ",")
        assert TypeInfo.fetch(conn, "halfvec").oid == HALFVEC_OID
        assert TypeInfo.fetch(conn, "no_such_type") is None


@pytest.mark.parametrize("binary", [False, True])
def test_psycopg_register_vector_round_trips(described, unique_name, binary):
    table = unique_name("vecs")
    with described.connect() as conn:
        register_vector(conn)
        conn.execute(f"CREATE TABLE {table} (id int, v vector(3), h halfvec(2))")
        conn.execute(f"INSERT INTO {table} VALUES (1, %s, %s)", (np.array([1, 2, 3]), HalfVector([0.5, 1.5])))
        row = conn.cursor(binary=binary).execute(f"SELECT v, h FROM {table}").fetchone()
        assert row[0].to_list() == [1.0, 2.0, 3.0]
        assert row[1].to_list() == [0.5, 1.5]


def test_tools_find_pgvector_in_pg_extension(described):
    with described.connect() as conn:
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        assert row == (PGVECTOR_VERSION,)
        settings = conn.execute("SELECT name, setting FROM pg_settings WHERE name IN ('hnsw.ef_search', 'DateStyle') "
                                "ORDER BY name").fetchall()
        assert settings == [("DateStyle", "ISO, MDY"), ("hnsw.ef_search", "40")]


# asyncpg ----------------------------------------------------------------------------------------


async def _asyncpg_vectors(server: ServerProcess, table: str, *, register: bool) -> list:
    conn = await asyncpg.connect(server.url)
    try:
        if register:
            await register_vector_asyncpg(conn)
        await conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (v vector(3))")
        await conn.execute(f"INSERT INTO {table} VALUES ('[1,2,3]')")
        return [r["v"] for r in await conn.fetch(f"SELECT v FROM {table}")]
    finally:
        await conn.close()


def test_asyncpg_introspects_a_type_it_does_not_know(described, unique_name):
    assert asyncio.run(_asyncpg_vectors(described, unique_name("av"), register=False)) == ["[1,2,3]"]


def test_asyncpg_register_vector(described, unique_name):
    values = asyncio.run(_asyncpg_vectors(described, unique_name("av"), register=True))
    assert [v.to_list() for v in values] == [[1.0, 2.0, 3.0]]
