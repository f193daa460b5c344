"""Split a query string into statements and parse each, once per distinct text.

A statement is either a utility statement (``sql.utility``) or a sqlglot tree in the
PgVector dialect. Parse errors become PostgreSQL's ``syntax error at or near "..."``
(42601) with the 1-based character position psql uses to draw its caret.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from pgvecdb.errors import PgError, SyntaxError as PgSyntaxError
from pgvecdb.sql.dialect import DIALECT
from pgvecdb.sql.utility import Utility, parse_utility


@dataclass(frozen=True)
class Statement:
    text: str  # this statement alone, without the trailing semicolon
    offset: int  # where ``text`` starts in the query string (0-based)
    tree: exp.Expression | None = None
    utility: Utility | None = None

    @property
    def is_empty(self) -> bool:
        return self.tree is None and self.utility is None


def parse(sql: str) -> tuple[Statement, ...]:
    """All statements of ``sql`` (a simple-query string may hold several)."""
    return _parse_cached(sql)


@lru_cache(maxsize=4096)
def _parse_cached(sql: str) -> tuple[Statement, ...]:
    return tuple(parse_one(text, offset) for text, offset in split(sql))


def split(sql: str) -> list[tuple[str, int]]:
    """The statements of ``sql`` as (text, offset), cut at top-level semicolons."""
    try:
        tokens = DIALECT.tokenize(sql)
    except TokenError as exc:
        raise _token_error(sql, exc) from None
    pieces: list[tuple[str, int]] = []
    start = None
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if start is not None:
                pieces.append((sql[start:token.start], start))
            start = None
        elif start is None:
            start = token.start  # comments before a statement are not part of it
    if start is not None:
        pieces.append((sql[start:].rstrip(), start))
    return [(text.rstrip(), offset) for text, offset in pieces if text.strip()]


def parse_one(text: str, offset: int = 0) -> Statement:
    """Parse one statement (no semicolons at top level)."""
    try:
        utility = parse_utility(text)
    except PgError as err:
        raise err.with_position(offset + 1)
    if utility is not None:
        return Statement(text, offset, utility=utility)
    _check_statement_keyword(text, offset)
    try:
        trees = DIALECT.parse(text)
    except ParseError as exc:
        raise _syntax_error(text, offset, exc) from None
    except TokenError as exc:
        raise _token_error(text, exc, offset) from None
    trees = [t for t in trees if t is not None]
    if not trees:
        return Statement(text, offset)
    tree = trees[0]
    if isinstance(tree, exp.Command):
        raise _unsupported_command(text, offset, tree)
    return Statement(text, offset, tree=tree)


# Words a statement can start with; PostgreSQL reports any other first word as the error.
_STATEMENT_KEYWORDS = {
    "select", "with", "insert", "update", "delete", "values", "table", "create", "drop", "alter",
    "truncate", "merge", "grant", "revoke", "comment", "lock", "prepare", "execute", "declare",
    "fetch", "close", "move", "do", "call", "refresh", "cluster", "import", "security", "reassign",
}


def _check_statement_keyword(text: str, offset: int) -> None:
    stripped = text.lstrip()
    if stripped.startswith("("):
        return
    word = stripped.split(None, 1)[0].split("(", 1)[0] if stripped else ""
    if word.lower() not in _STATEMENT_KEYWORDS:
        position = offset + (len(text) - len(stripped)) + 1
        raise PgSyntaxError(f'syntax error at or near "{word}"', position=position)


def _unsupported_command(text: str, offset: int, tree: exp.Command) -> PgError:
    word = str(tree.this).split()[0] if tree.this else text.split()[0]
    return PgSyntaxError(f'syntax error at or near "{word}"', position=offset + 1)


def _syntax_error(text: str, offset: int, exc: ParseError) -> PgError:
    info = exc.errors[0] if exc.errors else {}
    highlight = (info.get("highlight") or "").strip()
    line, col = info.get("line"), info.get("col")
    position = None
    if line and col:
        lines = text.split("\n")
        index = sum(len(l) + 1 for l in lines[: line - 1]) + col
        position = max(1, index - len(highlight) + 1) if highlight else index
        if position > len(text):
            highlight = ""
    if not highlight or position is None or position > len(text):
        return PgSyntaxError("syntax error at end of input", position=offset + len(text) + 1)
    return PgSyntaxError(f'syntax error at or near "{highlight}"', position=offset + position)


def _token_error(text: str, exc: TokenError, offset: int = 0) -> PgError:
    message = str(exc)
    if "Missing" in message or "unterminated" in message.lower():
        quote = text.rfind("'")
        position = offset + (quote + 1 if quote >= 0 else len(text))
        return PgSyntaxError(f'unterminated quoted string at or near "{text[quote:] if quote >= 0 else text}"',
                             position=position)
    return PgSyntaxError(f"syntax error: {message}", position=offset + 1)
