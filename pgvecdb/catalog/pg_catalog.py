"""pg_catalog as clients see it: every system relation, its columns, and where its rows come from.

The planner replaces a reference to a system relation (``pg_catalog.pg_class``, or an
unqualified ``pg_class`` that no user table shadows) by the Arrow table
``system_relation`` returns, so introspection queries run on DuckDB like any other query.
Column lists follow PostgreSQL 16 (the version pgvecdb reports), in PostgreSQL's order.
Relations whose PostgreSQL feature pgvecdb does not have (rules, triggers, policies,
publications, inheritance ...) exist with no rows, so that queries joining them still run.

Besides PostgreSQL's relations there are three of pgvecdb's own, read by the rewritten
system functions (``planner.rules.pg_compat``): ``pgvecdb_session``, ``pgvecdb_objdef`` (index
and constraint definitions) and ``pgvecdb_relation_size``.
"""

from __future__ import annotations

from typing import Callable

import pyarrow as pa

from pgvecdb.catalog import builtin_objects as builtin
from pgvecdb.catalog import information_schema, pg_relations, pg_types, session_relations
from pgvecdb.catalog.model import BOOTSTRAP_SUPERUSER_OID, INFORMATION_SCHEMA_NAMESPACE_OID, PG_CATALOG_NAMESPACE_OID
from pgvecdb.catalog.system_relation import Row, RowSource, SystemContext, SystemRelation, columns, no_rows, pg_type

__all__ = ["SystemContext", "is_system_relation", "system_relation", "column_types", "RELATIONS"]


def _relation(name: str, oid: int, spec: str, rows: RowSource = no_rows, kind: str = "r",
              static_rows: Callable[[], list[Row]] | None = None) -> SystemRelation:
    return SystemRelation("pg_catalog", name, oid, columns(spec), rows, kind, static_rows)


_VIEW_OIDS = iter(range(12000, 12999))


def _view(name: str, spec: str, rows: RowSource = no_rows) -> SystemRelation:
    return _relation(name, next(_VIEW_OIDS), spec, rows, kind="v")


_PG_CATALOG = [
    _relation("pg_namespace", 2615, "oid oid, nspname name, nspowner oid, nspacl aclitem[]", builtin.namespace_rows),
    _relation("pg_class", 1259, """
        oid oid, relname name, relnamespace oid, reltype oid, reloftype oid, relowner oid, relam oid,
        relfilenode oid, reltablespace oid, relpages int4, reltuples float4, relallvisible int4,
        reltoastrelid oid, relhasindex bool, relisshared bool, relpersistence char, relkind char,
        relnatts int2, relchecks int2, relhasrules bool, relhastriggers bool, relhassubclass bool,
        relrowsecurity bool, relforcerowsecurity bool, relispopulated bool, relreplident char,
        relispartition bool, relrewrite oid, relfrozenxid xid, relminmxid xid, relacl aclitem[],
        reloptions text[], relpartbound pg_node_tree""", pg_relations.class_rows,
              static_rows=lambda: _system_class_rows()),
    _relation("pg_attribute", 1249, """
        attrelid oid, attname name, atttypid oid, attlen int2, attnum int2, atttypmod int4, attndims int2,
        attbyval bool, attalign char, attstorage char, attcompression char, attnotnull bool,
        atthasdef bool, atthasmissing bool, attidentity char, attgenerated char, attisdropped bool,
        attislocal bool, attinhcount int2, attstattarget int2, attcollation oid, attacl aclitem[],
        attoptions text[], attfdwoptions text[]""", pg_relations.attribute_rows,
              static_rows=lambda: _system_attribute_rows()),
    _relation("pg_type", 1247, """
        oid oid, typname name, typnamespace oid, typowner oid, typlen int2, typbyval bool, typtype char,
        typcategory char, typispreferred bool, typisdefined bool, typdelim char, typrelid oid,
        typsubscript regproc, typelem oid, typarray oid, typinput regproc, typoutput regproc,
        typreceive regproc, typsend regproc, typmodin regproc, typmodout regproc, typanalyze regproc,
        typalign char, typstorage char, typnotnull bool, typbasetype oid, typtypmod int4, typndims int4,
        typcollation oid, typdefaultbin pg_node_tree, typdefault text, typacl aclitem[]""", pg_types.type_rows),
    _relation("pg_index", 2610, """
        indexrelid oid, indrelid oid, indnatts int2, indnkeyatts int2, indisunique bool,
        indnullsnotdistinct bool, indisprimary bool, indisexclusion bool, indimmediate bool,
        indisclustered bool, indisvalid bool, indcheckxmin bool, indisready bool, indislive bool,
        indisreplident bool, indkey int2vector, indcollation oidvector, indclass oidvector,
        indoption int2vector, indexprs pg_node_tree, indpred pg_node_tree""", pg_relations.index_rows),
    _relation("pg_constraint", 2606, """
        oid oid, conname name, connamespace oid, contype char, condeferrable bool, condeferred bool,
        convalidated bool, conrelid oid, contypid oid, conindid oid, conparentid oid, confrelid oid,
        confupdtype char, confdeltype char, confmatchtype char, conislocal bool, coninhcount int2,
        connoinherit bool, conkey int2[], confkey int2[], conpfeqop oid[], conppeqop oid[],
        conffeqop oid[], confdelsetcols int2[], conexclop oid[], conbin pg_node_tree""",
              pg_relations.constraint_rows),
    _relation("pg_attrdef", 2604, "oid oid, adrelid oid, adnum int2, adbin pg_node_tree", pg_relations.attrdef_rows),
    _relation("pg_depend", 2608, """
        classid oid, objid oid, objsubid int4, refclassid oid, refobjid oid, refobjsubid int4,
        deptype char""", pg_relations.depend_rows),
    _relation("pg_sequence", 2224, """
        seqrelid oid, seqtypid oid, seqstart int8, seqincrement int8, seqmax int8, seqmin int8,
        seqcache int8, seqcycle bool""", pg_relations.sequence_rows),
    _relation("pg_description", 2609, "objoid oid, classoid oid, objsubid int4, description text",
              builtin.description_rows),
    _relation("pg_shdescription", 2396, "objoid oid, classoid oid, description text"),
    _relation("pg_extension", 3079, """
        oid oid, extname name, extowner oid, extnamespace oid, extrelocatable bool, extversion text,
        extconfig oid[], extcondition text[]""", builtin.extension_rows),
    _relation("pg_am", 2601, "oid oid, amname name, amhandler regproc, amtype char", builtin.am_rows),
    _relation("pg_opclass", 2616, """
        oid oid, opcmethod oid, opcname name, opcnamespace oid, opcowner oid, opcfamily oid,
        opcintype oid, opcdefault bool, opckeytype oid""", builtin.opclass_rows),
    _relation("pg_opfamily", 2753, "oid oid, opfmethod oid, opfname name, opfnamespace oid, opfowner oid",
              builtin.opfamily_rows),
    _relation("pg_proc", 1255, """
        oid oid, proname name, pronamespace oid, proowner oid, prolang oid, procost float4,
        prorows float4, provariadic oid, prosupport regproc, prokind char, prosecdef bool,
        proleakproof bool, proisstrict bool, proretset bool, provolatile char, proparallel char,
        pronargs int2, pronargdefaults int2, prorettype oid, proargtypes oidvector,
        proallargtypes oid[], proargmodes char[], proargnames text[], proargdefaults pg_node_tree,
        protrftypes oid[], prosrc text, probin text, prosqlbody pg_node_tree, proconfig text[],
        proacl aclitem[]""", builtin.proc_rows),
    _relation("pg_operator", 2617, """
        oid oid, oprname name, oprnamespace oid, oprowner oid, oprkind char, oprcanmerge bool,
        oprcanhash bool, oprleft oid, oprright oid, oprresult oid, oprcom oid, oprnegate oid,
        oprcode regproc, oprrest regproc, oprjoin regproc""", builtin.operator_rows),
    _relation("pg_database", 1262, """
        oid oid, datname name, datdba oid, encoding int4, datlocprovider char, datistemplate bool,
        datallowconn bool, datconnlimit int4, datfrozenxid xid, datminmxid xid, dattablespace oid,
        datcollate text, datctype text, daticulocale text, daticurules text, datcollversion text,
        datacl aclitem[]""", builtin.database_rows),
    _relation("pg_authid", 1260, """
        oid oid, rolname name, rolsuper bool, rolinherit bool, rolcreaterole bool, rolcreatedb bool,
        rolcanlogin bool, rolreplication bool, rolbypassrls bool, rolconnlimit int4, rolpassword text,
        rolvaliduntil timestamptz""", builtin.authid_rows),
    _relation("pg_auth_members", 1261, """
        oid oid, roleid oid, member oid, grantor oid, admin_option bool, inherit_option bool,
        set_option bool"""),
    _relation("pg_tablespace", 1213, "oid oid, spcname name, spcowner oid, spcacl aclitem[], spcoptions text[]",
              builtin.tablespace_rows),
    _relation("pg_collation", 3456, """
        oid oid, collname name, collnamespace oid, collowner oid, collprovider char,
        collisdeterministic bool, collencoding int4, collcollate text, collctype text,
        colliculocale text, collicurules text, collversion text""", builtin.collation_rows),
    _relation("pg_language", 2612, """
        oid oid, lanname name, lanowner oid, lanispl bool, lanpltrusted bool, lanplcallfoid oid,
        laninline oid, lanvalidator oid, lanacl aclitem[]""", builtin.language_rows),
    _relation("pg_range", 3541, """
        rngtypid oid, rngsubtype oid, rngmultitypid oid, rngcollation oid, rngsubopc oid,
        rngcanonical regproc, rngsubdiff regproc"""),
    _relation("pg_enum", 3501, "oid oid, enumtypid oid, enumsortorder float4, enumlabel name"),
    _relation("pg_inherits", 2611, "inhrelid oid, inhparent oid, inhseqno int4, inhdetachpending bool"),
    _relation("pg_policy", 3256, """
        oid oid, polname name, polrelid oid, polcmd char, polpermissive bool, polroles oid[],
        polqual pg_node_tree, polwithcheck pg_node_tree"""),
    _relation("pg_trigger", 2620, """
        oid oid, tgrelid oid, tgparentid oid, tgname name, tgfoid oid, tgtype int2, tgenabled char,
        tgisinternal bool, tgconstrrelid oid, tgconstrindid oid, tgconstraint oid, tgdeferrable bool,
        tginitdeferred bool, tgnargs int2, tgattr int2vector, tgargs bytea, tgqual pg_node_tree,
        tgoldtable name, tgnewtable name"""),
    _relation("pg_rewrite", 2618, """
        oid oid, rulename name, ev_class oid, ev_type char, ev_enabled char, is_instead bool,
        ev_qual pg_node_tree, ev_action pg_node_tree"""),
    _relation("pg_statistic_ext", 3381, """
        oid oid, stxrelid oid, stxname name, stxnamespace oid, stxowner oid, stxstattarget int4,
        stxkeys int2vector, stxkind char[], stxexprs pg_node_tree"""),
    _relation("pg_publication", 6104, """
        oid oid, pubname name, pubowner oid, puballtables bool, pubinsert bool, pubupdate bool,
        pubdelete bool, pubtruncate bool, pubviaroot bool"""),
    _relation("pg_publication_namespace", 6237, "oid oid, pnpubid oid, pnnspid oid"),
    _relation("pg_publication_rel", 6106, "oid oid, prpubid oid, prrelid oid, prqual pg_node_tree, prattrs int2vector"),
    _relation("pg_foreign_table", 3118, "ftrelid oid, ftserver oid, ftoptions text[]"),
    _relation("pg_foreign_server", 1417, """
        oid oid, srvname name, srvowner oid, srvfdw oid, srvtype text, srvversion text, srvacl aclitem[],
        srvoptions text[]"""),
    _relation("pg_foreign_data_wrapper", 2328, """
        oid oid, fdwname name, fdwowner oid, fdwhandler oid, fdwvalidator oid, fdwacl aclitem[],
        fdwoptions text[]"""),
    _relation("pg_partitioned_table", 3350, """
        partrelid oid, partstrat char, partnatts int2, partdefid oid, partattrs int2vector,
        partclass oidvector, partcollation oidvector, partexprs pg_node_tree"""),
    _relation("pg_event_trigger", 3466, """
        oid oid, evtname name, evtevent name, evtowner oid, evtfoid oid, evtenabled char, evttags text[]"""),
    _relation("pg_cast", 2605, """
        oid oid, castsource oid, casttarget oid, castfunc oid, castcontext char, castmethod char"""),
    _relation("pg_init_privs", 3394, "objoid oid, classoid oid, objsubid int4, privtype char, initprivs aclitem[]"),
    _relation("pg_seclabel", 3596, "objoid oid, classoid oid, objsubid int4, provider text, label text"),
    _relation("pg_conversion", 2607, """
        oid oid, conname name, connamespace oid, conowner oid, conforencoding int4, contoencoding int4,
        conproc regproc, condefault bool"""),
    _relation("pg_ts_config", 3602, "oid oid, cfgname name, cfgnamespace oid, cfgowner oid, cfgparser oid"),
    _relation("pg_db_role_setting", 2964, "setdatabase oid, setrole oid, setconfig text[]"),
    _relation("pg_subscription", 6100, """
        oid oid, subdbid oid, subskiplsn int8, subname name, subowner oid, subenabled bool, subbinary bool,
        substream char, subtwophasestate char, subdisableonerr bool, subpasswordrequired bool,
        subrunasowner bool, subconninfo text, subslotname name, subsynccommit text, subpublications text[],
        suborigin text"""),
    _relation("pg_shdepend", 1214, """
        dbid oid, classid oid, objid oid, objsubid int4, refclassid oid, refobjid oid, deptype char"""),
    _view("pg_roles", """
        rolname name, rolsuper bool, rolinherit bool, rolcreaterole bool, rolcreatedb bool,
        rolcanlogin bool, rolreplication bool, rolconnlimit int4, rolpassword text,
        rolvaliduntil timestamptz, rolbypassrls bool, rolconfig text[], oid oid""", builtin.roles_rows),
    _view("pg_user", """
        usename name, usesysid oid, usecreatedb bool, usesuper bool, userepl bool, usebypassrls bool,
        passwd text, valuntil timestamptz, useconfig text[]""", builtin.user_rows),
    _view("pg_settings", """
        name text, setting text, unit text, category text, short_desc text, extra_desc text,
        context text, vartype text, source text, min_val text, max_val text, enumvals text[],
        boot_val text, reset_val text, sourcefile text, sourceline int4, pending_restart bool""",
          session_relations.settings_rows),
    _view("pg_tables", """
        schemaname name, tablename name, tableowner name, tablespace name, hasindexes bool,
        hasrules bool, hastriggers bool, rowsecurity bool""", pg_relations.tables_view_rows),
    _view("pg_indexes", "schemaname name, tablename name, indexname name, tablespace name, indexdef text",
          pg_relations.indexes_view_rows),
    _view("pg_views", "schemaname name, viewname name, viewowner name, definition text"),
    _view("pg_matviews", """
        schemaname name, matviewname name, matviewowner name, tablespace name, hasindexes bool,
        ispopulated bool, definition text"""),
    _view("pg_available_extensions", "name name, default_version text, installed_version text, comment text",
          builtin.available_extension_rows),
    _view("pgvecdb_session", """
        usename name, datname name, search_path name[], explicit_search_path name[],
        current_schema name, backend_pid int4""", session_relations.session_rows),
    _view("pgvecdb_objdef", "oid oid, subid int4, definition text", pg_relations.objdef_rows),
    _view("pgvecdb_relation_size", "oid oid, bytes int8, index_bytes int8", pg_relations.relation_size_rows),
]

RELATIONS: dict[tuple[str, str], SystemRelation] = {
    (r.schema, r.name): r for r in [*_PG_CATALOG, *information_schema.RELATIONS]
}
_SCHEMA_OIDS = {"pg_catalog": PG_CATALOG_NAMESPACE_OID, "information_schema": INFORMATION_SCHEMA_NAMESPACE_OID}


def is_system_relation(schema: str | None, name: str) -> bool:
    """Whether ``schema.name`` (``name`` alone: looked up in pg_catalog) is a system relation."""
    return _find(schema, name) is not None


def system_relation(schema: str | None, name: str, ctx: SystemContext) -> pa.Table:
    """The rows of a system relation, as Arrow in the DuckDB representation of its column types."""
    relation = _find(schema, name)
    if relation is None:
        raise KeyError(f"{schema}.{name}")
    return relation.build(ctx)


def column_types(schema: str | None, name: str) -> dict[str, str]:
    """The PostgreSQL type of each column of a system relation (a pg_type name, "[]" appended
    for arrays), for the planner to type references to them: the DuckDB representation
    cannot tell ``oid`` from ``int8`` or ``"char"`` from ``text``, but clients can."""
    relation = _find(schema, name)
    return {c.name: c.type_name for c in relation.columns} if relation is not None else {}


def _find(schema: str | None, name: str) -> SystemRelation | None:
    return RELATIONS.get((schema or "pg_catalog", name))


# The system relations describe themselves in pg_class and pg_attribute -----------------------


def _system_class_rows() -> list[Row]:
    return [
        {
            "oid": r.oid, "relname": r.name, "relnamespace": _SCHEMA_OIDS[r.schema],
            "relowner": BOOTSTRAP_SUPERUSER_OID, "relam": builtin.HEAP_ACCESS_METHOD_OID if r.kind == "r" else 0,
            "relfilenode": r.oid if r.kind == "r" else 0, "reltuples": -1.0, "relpersistence": "p",
            "relkind": r.kind, "relnatts": len(r.columns), "relispopulated": True, "relreplident": "n",
        }
        for r in RELATIONS.values()
    ]


def _system_attribute_rows() -> list[Row]:
    rows = []
    for r in RELATIONS.values():
        for attnum, col in enumerate(r.columns, start=1):
            rows.append(pg_relations.attribute_row(r.oid, col.name, pg_type(col.type_name), attnum, -1))
    return rows
