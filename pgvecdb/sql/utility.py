"""Utility statements that sqlglot does not model: SET/SHOW/RESET, transaction control,
EXPLAIN, COPY, CREATE/DROP EXTENSION, VACUUM, CHECKPOINT, DISCARD, DEALLOCATE, LISTEN.

Each is recognised from the statement's tokens and becomes a small dataclass; anything
else is left to sqlglot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pgvecdb.errors import SyntaxError as PgSyntaxError


@dataclass
class SetStatement:
    name: str  # lower-cased; 'transaction' and 'session characteristics' are accepted no-ops
    values: list[str] | None  # None: SET ... TO DEFAULT
    local: bool = False


@dataclass
class ShowStatement:
    name: str  # 'all' for SHOW ALL


@dataclass
class ResetStatement:
    name: str  # 'all' for RESET ALL


@dataclass
class TransactionStatement:
    action: str  # begin, commit, rollback, savepoint, release, rollback_to
    savepoint: str | None = None
    chain: bool = False


@dataclass
class ExplainStatement:
    body: str  # the statement being explained
    body_offset: int  # where it starts in the original text
    analyze: bool = False
    verbose: bool = False
    costs: bool = True
    format: str = "text"


@dataclass
class CopyStatement:
    table: str | None
    schema: str | None
    columns: list[str] | None
    query: str | None  # COPY (query) TO STDOUT
    direction: str  # 'from' | 'to'
    target: str  # 'stdin' | 'stdout' | a file name
    options: dict[str, object] = field(default_factory=dict)


@dataclass
class ExtensionStatement:
    action: str  # create | drop
    name: str
    if_exists: bool = False  # IF NOT EXISTS for create, IF EXISTS for drop
    version: str | None = None
    cascade: bool = False


@dataclass
class MaintenanceStatement:
    action: str  # vacuum, analyze, checkpoint, discard, deallocate, listen, unlisten, notify, reindex
    target: str | None = None
    full: bool = False
    kind: str | None = None  # REINDEX: INDEX, TABLE, SCHEMA, DATABASE or SYSTEM


Utility = (
    SetStatement | ShowStatement | ResetStatement | TransactionStatement | ExplainStatement
    | CopyStatement | ExtensionStatement | MaintenanceStatement
)

_WORD = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_$.]*|\"(?:[^\"]|\"\")*\")")


def _words(sql: str) -> list[str]:
    return sql.strip().rstrip(";").split()


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return name[1:-1].replace('""', '"')
    return name.lower()


def _unquote_value(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if value.upper().startswith("E'") and value.endswith("'"):
        return value[2:-1].replace("''", "'").replace("\\\\", "\\")
    return value


def _split_values(text: str) -> list[str]:
    """Split 'a, 'b,c', "d"' at top-level commas, respecting quotes."""
    values, current, quote = [], [], None
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            current.append(ch)
        elif ch == ",":
            values.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        values.append("".join(current).strip())
    return values


def parse_utility(sql: str) -> Utility | None:
    """The utility statement ``sql`` is, or None when sqlglot should parse it."""
    words = _words(sql)
    if not words:
        return None
    head = words[0].upper()
    parser = _PARSERS.get(head)
    return parser(sql.strip().rstrip(";").strip(), words) if parser else None


def _parse_set(sql: str, words: list[str]) -> SetStatement | None:
    rest = sql[3:].strip()
    local = False
    scope = rest.split(None, 1)[0].upper() if rest else ""
    if scope in ("LOCAL", "SESSION"):
        local = scope == "LOCAL"
        rest = rest.split(None, 1)[1] if len(rest.split(None, 1)) > 1 else ""
        if rest.upper().startswith("AUTHORIZATION") or rest.upper().startswith("CHARACTERISTICS"):
            return SetStatement("session characteristics", [], local)
    upper = rest.upper()
    if upper.startswith("TRANSACTION") or upper.startswith("CONSTRAINTS"):
        return SetStatement("transaction", [], local)
    if upper.startswith("TIME ZONE"):
        value = rest[len("TIME ZONE"):].strip()
        if value.upper() in ("LOCAL", "DEFAULT"):
            return SetStatement("timezone", None, local)
        if value.upper().startswith("INTERVAL"):
            value = value[len("INTERVAL"):].strip()
        return SetStatement("timezone", [_unquote_value(value)], local)
    if upper.startswith("NAMES"):
        return SetStatement("client_encoding", [_unquote_value(rest[5:].strip())], local)
    if upper.startswith("SCHEMA"):
        return SetStatement("search_path", [_unquote_value(rest[6:].strip())], local)
    match = re.match(r'\s*("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?)\s*(?:=|\bTO\b)\s*(.*)$',
                     rest, re.IGNORECASE | re.DOTALL)
    if not match:
        raise PgSyntaxError(f'syntax error at or near "{words[-1]}"')
    name, value = _unquote(match.group(1)), match.group(2).strip()
    if not value:
        raise PgSyntaxError("syntax error at end of input")
    if value.upper() == "DEFAULT":
        return SetStatement(name, None, local)
    return SetStatement(name, [_unquote_value(v) for v in _split_values(value)], local)


def _parse_show(sql: str, words: list[str]) -> ShowStatement:
    rest = sql[4:].strip()
    if not rest:
        raise PgSyntaxError("syntax error at end of input")
    upper = rest.upper()
    if upper == "TIME ZONE":
        return ShowStatement("timezone")
    if upper == "TRANSACTION ISOLATION LEVEL":
        return ShowStatement("transaction_isolation")
    if upper == "SESSION AUTHORIZATION":
        return ShowStatement("session_authorization")
    return ShowStatement(_unquote(rest))


def _parse_reset(sql: str, words: list[str]) -> ResetStatement:
    rest = sql[5:].strip()
    if rest.upper() == "TIME ZONE":
        return ResetStatement("timezone")
    if rest.upper() == "SESSION AUTHORIZATION":
        return ResetStatement("session_authorization")
    return ResetStatement(_unquote(rest) if rest.upper() != "ALL" else "all")


def _parse_begin(sql: str, words: list[str]) -> TransactionStatement | None:
    if len(words) > 1 and words[0].upper() == "START" and words[1].upper() != "TRANSACTION":
        return None
    return TransactionStatement("begin")


def _parse_commit(sql: str, words: list[str]) -> TransactionStatement:
    chain = len(words) >= 3 and words[-2].upper() == "AND" and words[-1].upper() == "CHAIN"
    return TransactionStatement("commit", chain=chain)


def _parse_rollback(sql: str, words: list[str]) -> TransactionStatement:
    upper = [w.upper() for w in words]
    if "TO" in upper:
        name = words[-1]
        return TransactionStatement("rollback_to", savepoint=_unquote(name))
    if words[0].upper() == "ABORT" or len(words) == 1 or upper[1] in ("WORK", "TRANSACTION", "AND"):
        chain = upper[-2:] == ["AND", "CHAIN"] and "NO" not in upper
        return TransactionStatement("rollback", chain=chain)
    raise PgSyntaxError(f'syntax error at or near "{words[1]}"')


def _parse_savepoint(sql: str, words: list[str]) -> TransactionStatement:
    if len(words) != 2:
        raise PgSyntaxError("syntax error at end of input" if len(words) < 2 else f'syntax error at or near "{words[2]}"')
    return TransactionStatement("savepoint", savepoint=_unquote(words[1]))


def _parse_release(sql: str, words: list[str]) -> TransactionStatement:
    if len(words) < 2:
        raise PgSyntaxError("syntax error at end of input")
    return TransactionStatement("release", savepoint=_unquote(words[-1]))


_EXPLAIN_OPTIONS = re.compile(r"^EXPLAIN\s*\(([^)]*)\)\s*", re.IGNORECASE)


def _parse_explain(sql: str, words: list[str]) -> ExplainStatement:
    stmt = ExplainStatement(body="", body_offset=0)
    match = _EXPLAIN_OPTIONS.match(sql)
    if match:
        for option in match.group(1).split(","):
            parts = option.strip().split()
            if not parts:
                continue
            key = parts[0].lower()
            value = parts[1].lower() if len(parts) > 1 else "true"
            enabled = value not in ("false", "off", "0")
            if key == "analyze":
                stmt.analyze = enabled
            elif key == "verbose":
                stmt.verbose = enabled
            elif key == "costs":
                stmt.costs = enabled
            elif key == "format":
                stmt.format = value
        offset = match.end()
    else:
        offset = len("EXPLAIN")
        rest = sql[offset:]
        for keyword in ("ANALYZE", "ANALYSE", "VERBOSE"):
            stripped = rest.lstrip()
            if stripped.upper().startswith(keyword + " ") or stripped.upper().startswith(keyword + "\n"):
                if keyword == "VERBOSE":
                    stmt.verbose = True
                else:
                    stmt.analyze = True
                offset += len(rest) - len(stripped) + len(keyword)
                rest = sql[offset:]
    body = sql[offset:]
    stmt.body_offset = offset + (len(body) - len(body.lstrip()))
    stmt.body = body.strip()
    return stmt


_COPY = re.compile(
    r"""^COPY\s+
        (?:\((?P<query>.*)\)|(?P<table>(?:"(?:[^"]|"")*"|[A-Za-z_][\w$]*)(?:\.(?:"(?:[^"]|"")*"|[A-Za-z_][\w$]*))?)
           \s*(?:\((?P<columns>[^)]*)\))?)
        \s+(?P<direction>FROM|TO)\s+(?P<target>STDIN|STDOUT|'(?:[^']|'')*')
        \s*(?:WITH\s*)?(?P<options>.*)$""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)

# PostgreSQL's pre-9.0 COPY option syntax, still accepted: COPY t FROM STDIN WITH CSV HEADER
_LEGACY_FLAGS = {"binary": ("format", "binary"), "csv": ("format", "csv"), "header": ("header", True),
                 "freeze": ("freeze", True), "oids": ("oids", True)}


def _parse_copy_options(text: str) -> dict[str, object]:
    text = text.strip()
    options: dict[str, object] = {}
    if not text:
        return options
    if text.startswith("(") and text.endswith(")"):
        for item in _split_values(text[1:-1]):
            parts = item.split(None, 1)
            key = parts[0].lower()
            if len(parts) == 1:
                options[key] = True
                continue
            value = parts[1].strip()
            if value.startswith("("):
                options[key] = [_unquote(c.strip()) for c in value.strip("()").split(",")]
            elif value == "*":
                options[key] = "*"
            else:
                options[key] = _unquote_value(value) if value.startswith(("'", "E'", "e'")) else value.lower()
        return options
    tokens = re.findall(r"'(?:[^']|'')*'|\S+", text)
    i = 0
    while i < len(tokens):
        word = tokens[i].lower()
        if word in _LEGACY_FLAGS:
            key, value = _LEGACY_FLAGS[word]
            options[key] = value
            i += 1
        elif word in ("delimiter", "null", "quote", "escape", "encoding") and i + 1 < len(tokens):
            nxt = tokens[i + 1]
            if nxt.lower() == "as" and i + 2 < len(tokens):
                i += 1
                nxt = tokens[i + 1]
            options[word] = _unquote_value(nxt)
            i += 2
        elif word == "force" and i + 2 < len(tokens):
            kind = tokens[i + 1].lower()
            if kind == "not" and i + 3 < len(tokens):
                options["force_not_null"] = [_unquote(c.strip()) for c in tokens[i + 3].split(",")]
                i += 4
            else:
                options["force_" + kind] = "*" if tokens[i + 2] == "*" else [_unquote(c.strip()) for c in tokens[i + 2].split(",")]
                i += 3
        else:
            raise PgSyntaxError(f'syntax error at or near "{tokens[i]}"')
    return options


def _parse_copy(sql: str, words: list[str]) -> CopyStatement:
    match = _COPY.match(sql)
    if not match:
        raise PgSyntaxError(f'syntax error at or near "{words[1] if len(words) > 1 else "COPY"}"')
    schema, table = None, None
    if match.group("table"):
        parts = re.findall(r'"(?:[^"]|"")*"|[^.]+', match.group("table"))
        names = [_unquote(p) for p in parts]
        schema, table = (names[0], names[1]) if len(names) == 2 else (None, names[0])
    columns = None
    if match.group("columns") is not None:
        columns = [_unquote(c.strip()) for c in match.group("columns").split(",") if c.strip()]
    target = match.group("target")
    return CopyStatement(
        table=table,
        schema=schema,
        columns=columns,
        query=match.group("query"),
        direction=match.group("direction").lower(),
        target=target.lower() if not target.startswith("'") else _unquote_value(target),
        options=_parse_copy_options(match.group("options")),
    )


def _parse_create(sql: str, words: list[str]) -> ExtensionStatement | None:
    upper = [w.upper() for w in words]
    if len(upper) < 3 or upper[1] != "EXTENSION":
        return None
    rest = words[2:]
    if_not_exists = [w.upper() for w in rest[:3]] == ["IF", "NOT", "EXISTS"]
    if if_not_exists:
        rest = rest[3:]
    if not rest:
        raise PgSyntaxError("syntax error at end of input")
    version = None
    tail = [w.upper() for w in rest]
    if "VERSION" in tail:
        version = _unquote_value(rest[tail.index("VERSION") + 1])
    return ExtensionStatement("create", _unquote(rest[0]), if_not_exists, version,
                              cascade="CASCADE" in tail)


def _parse_drop(sql: str, words: list[str]) -> ExtensionStatement | None:
    upper = [w.upper() for w in words]
    if len(upper) < 3 or upper[1] != "EXTENSION":
        return None
    rest = words[2:]
    if_exists = [w.upper() for w in rest[:2]] == ["IF", "EXISTS"]
    if if_exists:
        rest = rest[2:]
    if not rest:
        raise PgSyntaxError("syntax error at end of input")
    return ExtensionStatement("drop", _unquote(rest[0].rstrip(",")), if_exists,
                              cascade="CASCADE" in [w.upper() for w in rest])


def _maintenance(action: str):
    def parse(sql: str, words: list[str]) -> MaintenanceStatement:
        upper = [w.upper() for w in words[1:]]
        names = [w for w in words[1:] if w.upper() not in ("FULL", "VERBOSE", "ANALYZE", "FREEZE", "ALL",
                                                           "TABLE", "INDEX", "PREPARE")]
        return MaintenanceStatement(action, _unquote(names[0]) if names else None, full="FULL" in upper)
    return parse


def _parse_reindex(sql: str, words: list[str]) -> MaintenanceStatement:
    """REINDEX [ ( options ) ] { INDEX | TABLE | SCHEMA | DATABASE | SYSTEM } [ CONCURRENTLY ] [ name ]"""
    rest = [w for w in words[1:] if not w.startswith("(") and not w.endswith(")")]
    if not rest or rest[0].upper() not in ("INDEX", "TABLE", "SCHEMA", "DATABASE", "SYSTEM"):
        raise PgSyntaxError(f'syntax error at or near "{rest[0] if rest else "REINDEX"}"')
    names = [w for w in rest[1:] if w.upper() != "CONCURRENTLY"]
    target = _unquote(names[0].split(".")[-1]) if names else None
    return MaintenanceStatement("reindex", target, kind=rest[0].upper())


_PARSERS = {
    "SET": _parse_set,
    "SHOW": _parse_show,
    "RESET": _parse_reset,
    "BEGIN": _parse_begin,
    "START": _parse_begin,
    "COMMIT": _parse_commit,
    "END": _parse_commit,
    "ROLLBACK": _parse_rollback,
    "ABORT": _parse_rollback,
    "SAVEPOINT": _parse_savepoint,
    "RELEASE": _parse_release,
    "EXPLAIN": _parse_explain,
    "COPY": _parse_copy,
    "CREATE": _parse_create,
    "DROP": _parse_drop,
    "VACUUM": _maintenance("vacuum"),
    "ANALYZE": _maintenance("analyze"),
    "ANALYSE": _maintenance("analyze"),
    "CHECKPOINT": _maintenance("checkpoint"),
    "DISCARD": _maintenance("discard"),
    "DEALLOCATE": _maintenance("deallocate"),
    "LISTEN": _maintenance("listen"),
    "UNLISTEN": _maintenance("unlisten"),
    "NOTIFY": _maintenance("notify"),
    "REINDEX": _parse_reindex,
}
