"""Relations that show the session itself: pg_settings and pgvecdb_session.

``pgvecdb_session`` is pgvecdb's own one-row relation (user, database, effective search
path, backend PID). The system functions that depend on the session (current_schemas,
pg_table_is_visible, pg_backend_pid ...) are rewritten by ``planner.rules.pg_compat`` into
subqueries over it, because DuckDB functions cannot see the session.

pg_settings describes each setting with the metadata of ``sql.settings`` (description,
type, unit, limits, choices).
"""

from __future__ import annotations

from pgvecdb.catalog.builtin_objects import namespace_oids
from pgvecdb.catalog.system_relation import Row, SystemContext
from pgvecdb.sql.settings import SETTINGS

_VARTYPES = {"bool": "bool", "integer": "integer", "real": "real", "enum": "enum", "string": "string"}


def search_path(ctx: SystemContext) -> list[str]:
    """The schemas named by the search_path setting that exist, in order ("$user" resolved)."""
    existing = namespace_oids(ctx)
    schemas = []
    for item in ctx.settings.get("search_path", '"$user", public').split(","):
        name = item.strip()
        name = name[1:-1].replace('""', '"') if name.startswith('"') and name.endswith('"') else name.lower()
        if name == "$user":
            name = ctx.user
        if name in existing and name not in schemas:
            schemas.append(name)
    return schemas


def session_rows(ctx: SystemContext) -> list[Row]:
    explicit = search_path(ctx)
    effective = explicit if "pg_catalog" in explicit else ["pg_catalog", *explicit]
    return [{
        "usename": ctx.user,
        "datname": ctx.database,
        "search_path": effective,
        "explicit_search_path": explicit,
        "current_schema": explicit[0] if explicit else None,
        "backend_pid": ctx.backend_pid,
    }]


def settings_rows(ctx: SystemContext) -> list[Row]:
    rows = []
    for name, value in ctx.settings.items():
        setting = SETTINGS.get(name.lower())
        if setting is None:
            rows.append({"name": name, "setting": value, "category": "Customized Options", "context": "user",
                         "vartype": "string", "source": "session", "pending_restart": False})
            continue
        numeric = setting.kind in ("integer", "real")
        rows.append({
            "name": setting.name,
            "setting": value,
            "unit": setting.unit or None,
            "category": "Ungrouped",
            "short_desc": setting.description,
            "context": "internal" if setting.read_only else "user",
            "vartype": _VARTYPES.get(setting.kind, "string"),
            "source": "default" if value == setting.default else "session",
            "min_val": _bound(setting.minimum) if numeric else None,
            "max_val": _bound(setting.maximum) if numeric else None,
            "enumvals": list(setting.choices) if setting.kind == "enum" else None,
            "boot_val": setting.default,
            "reset_val": setting.default,
            "pending_restart": False,
        })
    return rows


def _bound(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else str(value)
