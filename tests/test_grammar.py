"""Run every case of grammar/ (see grammar/README.md) against a fresh in-memory database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pgvecdb.database import Database
from pgvecdb.errors import PgError
from pgvecdb.exec.result import Result
from pgvecdb.types.codecs import encode_column

GRAMMAR = Path(__file__).resolve().parent.parent / "grammar"


@dataclass
class Record:
    kind: str  # statement | query
    sql: str
    line: int
    error: tuple[str, str] | None = None  # (sqlstate, message part)
    expected: list[str] | None = None
    rowsort: bool = False


def parse_cases(path: Path) -> list[Record]:
    lines = path.read_text().splitlines()
    records, i = [], 0
    while i < len(lines):
        line = lines[i].strip()
        if not line or line.startswith("#"):
            i += 1
            continue
        head, start = line.split(), i + 1
        i += 1
        sql_lines = []
        while i < len(lines) and lines[i].strip() and lines[i].strip() != "----":
            sql_lines.append(lines[i])
            i += 1
        record = Record(kind=head[0], sql="\n".join(sql_lines), line=start)
        if head[0] == "statement" and head[1] == "error":
            record.error = (head[2], " ".join(line.split(None, 3)[3:]))
        if head[0] == "query":
            record.rowsort = "rowsort" in head
            assert i < len(lines) and lines[i].strip() == "----", f"{path.name}:{start}: query without ----"
            i += 1
            expected = []
            while i < len(lines) and lines[i].strip():
                expected.append(lines[i].rstrip())
                i += 1
            record.expected = expected
        records.append(record)
    return records


def render(result: Result) -> list[str]:
    """The result as grammar/ writes it: header, then rows in PostgreSQL's text format."""
    names = [c.name for c in result.columns]
    columns = [encode_column(result.table.column(i), c.type_oid, 0) for i, c in enumerate(result.columns)]
    rows = [" | ".join("NULL" if v is None else v.decode() for v in row) for row in zip(*columns)]
    return [" | ".join(names)] + rows


def run_record(session, record: Record) -> None:
    where = f"line {record.line}: {record.sql!r}"
    try:
        results = list(session.execute_simple(record.sql))
    except PgError as err:
        if record.error is None:
            pytest.fail(f"{where} failed: {err.sqlstate} {err.message}")
        sqlstate, message = record.error
        assert err.sqlstate == sqlstate, f"{where}: expected {sqlstate}, got {err.sqlstate} {err.message}"
        assert message in err.message, f"{where}: expected message containing {message!r}, got {err.message!r}"
        return
    assert record.error is None, f"{where}: expected error {record.error}, but it succeeded"
    if record.kind == "query":
        actual = [line.rstrip() for line in render(results[-1])]
        expected = record.expected
        if record.rowsort:
            actual = actual[:1] + sorted(actual[1:])
            expected = expected[:1] + sorted(expected[1:])
        assert actual == expected, f"{where}\nexpected:\n" + "\n".join(expected) + "\nactual:\n" + "\n".join(actual)


@pytest.mark.parametrize("path", sorted(GRAMMAR.glob("*.test")), ids=lambda p: p.stem)
def test_grammar(path: Path) -> None:
    database = Database.open(None)
    session = database.session()
    try:
        for record in parse_cases(path):
            run_record(session, record)
    finally:
        session.close()
        database.close()
