"""sqlglot's PostgreSQL dialect, extended with pgvector's operators.

pgvector adds ``<->`` (L2), ``<#>`` (negative inner product), ``<=>`` (cosine), ``<+>``
(L1), ``<~>`` (Hamming) and ``<%>`` (Jaccard). sqlglot already reads ``<->`` as
``exp.Distance``; the others get their own expression classes. sqlglot's ``TokenType`` is a
closed enum, so the new operators borrow token types that the PostgreSQL tokenizer never
produces (they are only keys into the parser's operator table).
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.generators.postgres import PostgresGenerator
from sqlglot.parsers.postgres import PostgresParser
from sqlglot.tokens import TokenType


class VectorOperator(exp.Expression, exp.Binary):
    """A pgvector distance operator; ``OPERATOR`` is its SQL spelling."""

    OPERATOR = ""


class NegativeInnerProduct(VectorOperator):
    OPERATOR = "<#>"


class CosineDistance(VectorOperator):
    OPERATOR = "<=>"


class L1Distance(VectorOperator):
    OPERATOR = "<+>"


class HammingDistance(VectorOperator):
    OPERATOR = "<~>"


class JaccardDistance(VectorOperator):
    OPERATOR = "<%>"


# exp.Distance is sqlglot's own node for "<->".
DISTANCE_OPERATORS: dict[type[exp.Expression], str] = {
    exp.Distance: "<->",
    NegativeInnerProduct: "<#>",
    CosineDistance: "<=>",
    L1Distance: "<+>",
    HammingDistance: "<~>",
    JaccardDistance: "<%>",
}

_BORROWED_TOKENS: dict[str, TokenType] = {
    "<#>": TokenType.DCOLONDOLLAR,
    "<+>": TokenType.DCOLONPERCENT,
    "<~>": TokenType.DCOLONQMARK,
    "<%>": TokenType.NCOLON_GT,
    "<=>": TokenType.NULLSAFE_EQ,  # MySQL's null-safe equality in the base tokenizer
}


class PgVectorParser(PostgresParser):
    EQUALITY = {k: v for k, v in PostgresParser.EQUALITY.items() if k != TokenType.NULLSAFE_EQ}
    FACTOR = {
        **PostgresParser.FACTOR,
        TokenType.DCOLONDOLLAR: NegativeInnerProduct,
        TokenType.DCOLONPERCENT: L1Distance,
        TokenType.DCOLONQMARK: HammingDistance,
        TokenType.NCOLON_GT: JaccardDistance,
        TokenType.NULLSAFE_EQ: CosineDistance,
    }


def _operator_sql(self: PostgresGenerator, expression: VectorOperator) -> str:
    return self.binary(expression, expression.OPERATOR)


class PgVectorGenerator(PostgresGenerator):
    TRANSFORMS = {
        **PostgresGenerator.TRANSFORMS,
        **{cls: _operator_sql for cls in DISTANCE_OPERATORS if cls is not exp.Distance},
    }


class PgVector(Postgres):
    """The SQL pgvecdb accepts: PostgreSQL with pgvector."""

    class Tokenizer(Postgres.Tokenizer):
        # pgvector's vector(n) is a user-defined type like halfvec(n), not the VECTOR type
        # sqlglot knows from other dialects (VECTOR(FLOAT, 3)).
        # oid and the reg* types are read as ordinary type names too, so that their
        # arrays (oid[], regclass[]) parse, which sqlglot's OBJECT_IDENTIFIER does not allow.
        KEYWORDS = {
            **{k: v for k, v in Postgres.Tokenizer.KEYWORDS.items()
               if k != "VECTOR" and v != TokenType.OBJECT_IDENTIFIER},
            **_BORROWED_TOKENS,
        }

    Parser = PgVectorParser
    Generator = PgVectorGenerator


DIALECT = PgVector()
