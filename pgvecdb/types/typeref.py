"""PostgreSQL types as the SQL layer names them: type name text, typmods, DuckDB types, format_type."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pgvecdb.errors import PgError, UndefinedObject
from pgvecdb.types import registry
from pgvecdb.types.registry import PgType



@dataclass(frozen=True)
class TypeRef:
    """A PostgreSQL type as the planner tracks it: pg_type name plus typmod."""

    name: str
    typmod: int = -1

    @property
    def is_unknown(self) -> bool:
        return self.name == "unknown"


UNKNOWN = TypeRef("unknown")

VECTOR_TYPES = ("vector", "halfvec", "sparsevec")
BIT_TYPES = ("bit", "varbit")
VARHDRSZ = 4

_NAME_AND_ARGS = re.compile(r"^\s*(.*?)\s*(?:\((.*)\))?\s*$", re.DOTALL)


def split_type_text(text: str) -> tuple[str, list[str], int]:
    """'varchar(10)[]' -> ('varchar', ['10'], 1): base name, typmod arguments, array depth."""
    depth = 0
    text = text.strip()
    while text.endswith("[]"):
        depth += 1
        text = text[:-2].strip()
    match = _NAME_AND_ARGS.match(text)
    name = match.group(1).lower() if match else text.lower()
    args = [a.strip() for a in match.group(2).split(",")] if match and match.group(2) else []
    return name.strip('"'), args, depth


def resolve_type_name(text: str) -> tuple[PgType, list[str], int]:
    name, args, depth = split_type_text(text)
    if name in registry.SERIAL_TYPES:
        name = registry.SERIAL_TYPES[name]
    pgtype = registry.lookup(name)
    if pgtype is None:
        raise UndefinedObject(f'type "{name}" does not exist')
    return pgtype, args, depth


def typmod_for(pgtype: PgType, args: list[str]) -> int:
    """The typmod PostgreSQL stores for ``type(args)``, validating the arguments."""
    if not args:
        if pgtype.name == "bit":
            return 1  # plain "bit" means bit(1)
        if pgtype.name == "bpchar":
            return 1 + VARHDRSZ
        return -1
    ints = []
    for arg in args:
        try:
            ints.append(int(arg))
        except ValueError:
            raise PgError(f'invalid input syntax for type integer: "{arg.strip(chr(39))}"',
                          sqlstate="22P02") from None
    name = pgtype.name
    if name in VECTOR_TYPES:
        if len(ints) > 1:
            raise PgError("invalid type modifier", sqlstate="22023")
        limit = 1_000_000_000 if name == "sparsevec" else 16000
        if ints[0] < 1:
            raise PgError(f"dimensions for type {name} must be at least 1", sqlstate="22023")
        if ints[0] > limit:
            raise PgError(f"dimensions for type {name} cannot exceed {limit}", sqlstate="22023")
        return ints[0]
    if name in BIT_TYPES:
        if ints[0] < 1:
            raise PgError(f"length for type {name} must be at least 1", sqlstate="22023")
        return ints[0]
    if name in ("varchar", "bpchar"):
        if ints[0] < 1:
            raise PgError(f"length for type {name} must be at least 1", sqlstate="22023")
        return ints[0] + VARHDRSZ
    if name == "numeric":
        precision, scale = ints[0], ints[1] if len(ints) > 1 else 0
        if not 1 <= precision <= 1000:
            raise PgError(f"NUMERIC precision {precision} must be between 1 and 1000", sqlstate="22023")
        return ((precision << 16) | (scale & 0xFFFF)) + VARHDRSZ
    if name in ("timestamp", "timestamptz", "time", "timetz", "interval"):
        return ints[0]
    return -1


def typeref_from_text(text: str) -> TypeRef:
    pgtype, args, depth = resolve_type_name(text)
    typmod = typmod_for(pgtype, args)
    if depth:
        array = registry.array_type(pgtype)
        if array is None:
            raise UndefinedObject(f'type "{pgtype.name}[]" does not exist')
        return TypeRef(array.name, typmod)
    return TypeRef(pgtype.name, typmod)


def duck_type(ref: TypeRef) -> str:
    """The DuckDB type that represents ``ref``."""
    pgtype = registry.by_name(ref.name)
    if pgtype is None:
        return "VARCHAR"
    base = registry.element_type(pgtype) if pgtype.is_array else pgtype
    if base is not None and base.name == "numeric" and ref.typmod >= VARHDRSZ:
        precision = (ref.typmod - VARHDRSZ) >> 16
        scale = (ref.typmod - VARHDRSZ) & 0xFFFF
        if precision <= 38:
            decimal = f"DECIMAL({precision},{scale})"
            return decimal + "[]" if pgtype.is_array else decimal
    return pgtype.duck


def format_type(ref: TypeRef) -> str:
    """The type as PostgreSQL's format_type prints it: 'vector(3)', 'character varying(10)'."""
    pgtype = registry.by_name(ref.name)
    if pgtype is None:
        return ref.name
    array = pgtype.is_array
    base = registry.element_type(pgtype) if array else pgtype
    assert base is not None
    name = base.display_name
    mod = ref.typmod
    suffix = ""
    if mod >= 0:
        if base.name in ("varchar", "bpchar"):
            suffix = f"({mod - VARHDRSZ})"
        elif base.name == "numeric":
            suffix = f"({(mod - VARHDRSZ) >> 16},{(mod - VARHDRSZ) & 0xFFFF})"
        elif base.name in VECTOR_TYPES + BIT_TYPES:
            suffix = f"({mod})"
        elif base.name in ("timestamp", "timestamptz", "time", "timetz"):
            words = name.split(" ", 1)
            name = words[0] + f"({mod})" + (" " + words[1] if len(words) > 1 else "")
    return name + suffix + ("[]" if array else "")
