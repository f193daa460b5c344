"""pgvector's catalog objects, and pgvecdb's own index methods beside them.

PostgreSQL creates these at ``CREATE EXTENSION vector``: the hnsw and ivfflat access
methods, their operator classes, and the SQL functions. pgvecdb has them built in, with
fixed OIDs in the range initdb uses (below 16384), so they never meet a user object's OID.
Milvus's index types (``USING flat``, ``ivf_sq8``, ``ivf_pq``) are access methods of pgvecdb's
own and are listed the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

PGVECTOR_VERSION = "0.8.1"
PGVECTOR_COMMENT = "vector data type and ivfflat and hnsw access methods"

_FIRST_OID = 15000


@dataclass(frozen=True)
class AccessMethod:
    oid: int
    name: str
    handler: str
    kind: str = "i"  # pg_am.amtype: 'i' index, 't' table


@dataclass(frozen=True)
class OperatorClass:
    oid: int
    method: str  # access method name
    name: str
    input_type: str  # pg_type name
    default: bool
    family_oid: int
    family_name: str


@dataclass(frozen=True)
class Operator:
    oid: int
    name: str
    left: str  # pg_type names
    right: str
    result: str
    function: str


@dataclass(frozen=True)
class Function:
    oid: int
    name: str
    arg_types: tuple[str, ...]
    return_type: str
    aggregate: bool = False


VECTOR_ACCESS_METHODS = (
    AccessMethod(_FIRST_OID, "ivfflat", "ivfflathandler"),
    AccessMethod(_FIRST_OID + 1, "hnsw", "hnswhandler"),
    AccessMethod(_FIRST_OID + 2, "flat", "flathandler"),
    AccessMethod(_FIRST_OID + 3, "ivf_sq8", "ivf_sq8handler"),
    AccessMethod(_FIRST_OID + 4, "ivf_pq", "ivf_pqhandler"),
)


def _vector_opclasses() -> tuple[OperatorClass, ...]:
    specs = [
        ("btree", "vector_ops", "vector", True),
        ("btree", "halfvec_ops", "halfvec", True),
        ("btree", "sparsevec_ops", "sparsevec", True),
    ]
    metrics = {"vector": ("l2", "ip", "cosine", "l1"), "halfvec": ("l2", "ip", "cosine", "l1"),
               "sparsevec": ("l2", "ip", "cosine", "l1")}
    for method in ("hnsw", "ivfflat", "flat", "ivf_sq8", "ivf_pq"):
        for type_name, names in metrics.items():
            if type_name == "sparsevec" and method != "hnsw":
                continue
            for metric in names:
                if metric == "l1" and method != "hnsw":
                    continue
                default = method != "hnsw" and type_name == "vector" and metric == "l2"
                specs.append((method, f"{type_name}_{metric}_ops", type_name, default))
    specs += [("hnsw", "bit_hamming_ops", "bit", False), ("hnsw", "bit_jaccard_ops", "bit", False),
              ("ivfflat", "bit_hamming_ops", "bit", False), ("flat", "bit_hamming_ops", "bit", False),
              ("flat", "bit_jaccard_ops", "bit", False)]
    first = _FIRST_OID + 100
    # Each class is alone in an operator family of the same name, as in pgvector.
    return tuple(
        OperatorClass(first + 2 * i, method, name, input_type, default, first + 2 * i + 1, name)
        for i, (method, name, input_type, default) in enumerate(specs)
    )


VECTOR_OPCLASSES = _vector_opclasses()


def _functions() -> tuple[Function, ...]:
    specs: list[tuple[str, tuple[str, ...], str, bool]] = []
    for type_name in ("vector", "halfvec", "sparsevec"):
        pair = (type_name, type_name)
        for name in ("l2_distance", "inner_product", "cosine_distance", "l1_distance"):
            specs.append((name, pair, "float8", False))
        specs.append(("l2_normalize", (type_name,), type_name, False))
        for source in ("float4[]", "float8[]", "int4[]", "numeric[]"):
            specs.append((f"array_to_{type_name}", (source, "int4", "bool"), type_name, False))
    for type_name in ("vector", "halfvec"):
        specs += [
            ("vector_dims", (type_name,), "int4", False),
            ("binary_quantize", (type_name,), "bit", False),
            ("subvector", (type_name, "int4", "int4"), type_name, False),
            ("avg", (type_name,), type_name, True),
            ("sum", (type_name,), type_name, True),
        ]
    specs += [
        ("vector_norm", ("vector",), "float8", False),
        ("l2_norm", ("halfvec",), "float8", False),
        ("l2_norm", ("sparsevec",), "float8", False),
        ("hamming_distance", ("bit", "bit"), "float8", False),
        ("jaccard_distance", ("bit", "bit"), "float8", False),
    ]
    first = _FIRST_OID + 400
    return tuple(Function(first + i, *spec) for i, spec in enumerate(specs))


FUNCTIONS = _functions()



def _operators() -> tuple[Operator, ...]:
    specs: list[tuple[str, str, str, str, str]] = []
    distances = {"<->": "l2_distance", "<#>": "vector_negative_inner_product", "<=>": "cosine_distance",
                 "<+>": "l1_distance"}
    for type_name in ("vector", "halfvec", "sparsevec"):
        for symbol, function in distances.items():
            specs.append((symbol, type_name, type_name, "float8", function.replace("vector_", f"{type_name}_", 1)))
        for symbol, function in (("<", "lt"), ("<=", "le"), ("=", "eq"), ("<>", "ne"), (">=", "ge"), (">", "gt")):
            specs.append((symbol, type_name, type_name, "bool", f"{type_name}_{function}"))
    for type_name in ("vector", "halfvec"):
        for symbol, function in (("+", "add"), ("-", "sub"), ("*", "mul"), ("||", "concat")):
            specs.append((symbol, type_name, type_name, type_name, f"{type_name}_{function}"))
    specs += [("<~>", "bit", "bit", "float8", "hamming_distance"), ("<%>", "bit", "bit", "float8", "jaccard_distance")]
    first = _FIRST_OID + 600
    return tuple(Operator(first + i, *spec) for i, spec in enumerate(specs))


OPERATORS = _operators()
