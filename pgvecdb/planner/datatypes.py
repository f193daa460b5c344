"""sqlglot DataType nodes to PostgreSQL types."""

from __future__ import annotations

from sqlglot import exp

from pgvecdb.types.typeref import TypeRef, typeref_from_text


def typeref_from_datatype(dt: exp.DataType) -> TypeRef:
    return typeref_from_text(dt.sql(dialect="postgres"))
