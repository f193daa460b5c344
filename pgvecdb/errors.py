"""PostgreSQL errors as every layer raises them.

An error carries what an ErrorResponse needs: severity, SQLSTATE, message and the optional
detail, hint and 1-based character position in the statement text. The subclasses are named
after PostgreSQL's condition names (as psycopg.errors does) so that code reads
``raise UndefinedTable(...)`` rather than a bare code.
"""

from __future__ import annotations


class PgError(Exception):
    """An error reported to the client as an ErrorResponse."""

    sqlstate = "XX000"
    severity = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        sqlstate: str | None = None,
        detail: str | None = None,
        hint: str | None = None,
        position: int | None = None,
        severity: str | None = None,
        context: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if sqlstate is not None:
            self.sqlstate = sqlstate
        if severity is not None:
            self.severity = severity
        self.detail = detail
        self.hint = hint
        self.position = position
        self.context = context  # where it happened, e.g. "COPY t, line 3, column v"

    def with_position(self, position: int | None) -> "PgError":
        """Return self with a position set, unless one is already known."""
        if self.position is None and position is not None:
            self.position = position
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.sqlstate}: {self.message!r})"


def _error(name: str, code: str) -> type[PgError]:
    return type(name, (PgError,), {"sqlstate": code, "__module__": __name__})


FeatureNotSupported = _error("FeatureNotSupported", "0A000")
DataException = _error("DataException", "22000")
StringDataRightTruncation = _error("StringDataRightTruncation", "22001")
NumericValueOutOfRange = _error("NumericValueOutOfRange", "22003")
InvalidDatetimeFormat = _error("InvalidDatetimeFormat", "22007")
DatetimeFieldOverflow = _error("DatetimeFieldOverflow", "22008")
DivisionByZero = _error("DivisionByZero", "22012")
InvalidTextRepresentation = _error("InvalidTextRepresentation", "22P02")
InvalidBinaryRepresentation = _error("InvalidBinaryRepresentation", "22P03")
BadCopyFileFormat = _error("BadCopyFileFormat", "22P04")
CharacterNotInRepertoire = _error("CharacterNotInRepertoire", "22021")
InvalidParameterValue = _error("InvalidParameterValue", "22023")
ArraySubscriptError = _error("ArraySubscriptError", "2202E")
NotNullViolation = _error("NotNullViolation", "23502")
ForeignKeyViolation = _error("ForeignKeyViolation", "23503")
UniqueViolation = _error("UniqueViolation", "23505")
CheckViolation = _error("CheckViolation", "23514")
InvalidCursorState = _error("InvalidCursorState", "24000")
ActiveSqlTransaction = _error("ActiveSqlTransaction", "25001")
NoActiveSqlTransaction = _error("NoActiveSqlTransaction", "25P01")
InFailedSqlTransaction = _error("InFailedSqlTransaction", "25P02")
InvalidSqlStatementName = _error("InvalidSqlStatementName", "26000")
InvalidAuthorizationSpecification = _error("InvalidAuthorizationSpecification", "28000")
InvalidPassword = _error("InvalidPassword", "28P01")
InvalidCursorName = _error("InvalidCursorName", "34000")
InvalidSavepointSpecification = _error("InvalidSavepointSpecification", "3B001")
SerializationFailure = _error("SerializationFailure", "40001")
SyntaxError = _error("SyntaxError", "42601")
InsufficientPrivilege = _error("InsufficientPrivilege", "42501")
UndefinedColumn = _error("UndefinedColumn", "42703")
UndefinedFunction = _error("UndefinedFunction", "42883")
UndefinedTable = _error("UndefinedTable", "42P01")
UndefinedParameter = _error("UndefinedParameter", "42P02")
UndefinedObject = _error("UndefinedObject", "42704")
DuplicateColumn = _error("DuplicateColumn", "42701")
DuplicateObject = _error("DuplicateObject", "42710")
DuplicateTable = _error("DuplicateTable", "42P07")
DuplicatePreparedStatement = _error("DuplicatePreparedStatement", "42P05")
DuplicateCursor = _error("DuplicateCursor", "42P03")
AmbiguousColumn = _error("AmbiguousColumn", "42702")
DatatypeMismatch = _error("DatatypeMismatch", "42804")
WrongObjectType = _error("WrongObjectType", "42809")
InvalidColumnReference = _error("InvalidColumnReference", "42P10")
GroupingError = _error("GroupingError", "42803")
CannotCoerce = _error("CannotCoerce", "42846")
InvalidTableDefinition = _error("InvalidTableDefinition", "42P16")
ProgramLimitExceeded = _error("ProgramLimitExceeded", "54000")
ObjectNotInPrerequisiteState = _error("ObjectNotInPrerequisiteState", "55000")
ObjectInUse = _error("ObjectInUse", "55006")
LockNotAvailable = _error("LockNotAvailable", "55P03")
QueryCanceled = _error("QueryCanceled", "57014")
AdminShutdown = _error("AdminShutdown", "57P01")
ProtocolViolation = _error("ProtocolViolation", "08P01")
ConnectionException = _error("ConnectionException", "08000")
InternalError = _error("InternalError", "XX000")
DataCorrupted = _error("DataCorrupted", "XX001")
OutOfMemory = _error("OutOfMemory", "53200")
InvalidNameError = _error("InvalidName", "42602")
InvalidSchemaName = _error("InvalidSchemaName", "3F000")
UndefinedSchema = InvalidSchemaName
InvalidCatalogName = _error("InvalidCatalogName", "3D000")


class Notice:
    """A NoticeResponse: a message that is not an error (``NOTICE``, ``WARNING``...)."""

    __slots__ = ("severity", "sqlstate", "message", "detail", "hint")

    def __init__(
        self,
        message: str,
        *,
        severity: str = "NOTICE",
        sqlstate: str = "00000",
        detail: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.severity = severity
        self.sqlstate = sqlstate
        self.message = message
        self.detail = detail
        self.hint = hint

    def __repr__(self) -> str:
        return f"Notice({self.severity}: {self.message!r})"


# DuckDB reports an exception raised inside a Python UDF as its own error, keeping only the
# message text. UDFs raise ``udf_error(err)`` so that the SQLSTATE survives the trip.
_UDF_MARK = "\x1ePGERR"


def udf_error(err: PgError) -> Exception:
    """An exception for a DuckDB UDF to raise so that ``from_duckdb_message`` restores ``err``."""
    detail = err.detail or ""
    return ValueError(f"{_UDF_MARK}{err.sqlstate}\x1f{err.message}\x1f{detail}{_UDF_MARK}")


def from_duckdb_message(text: str) -> PgError | None:
    """The PgError a UDF smuggled into a DuckDB error message, if there is one."""
    start = text.find(_UDF_MARK)
    if start < 0:
        return None
    end = text.find(_UDF_MARK, start + len(_UDF_MARK))
    body = text[start + len(_UDF_MARK): end if end > 0 else None]
    sqlstate, message, detail = (body.split("\x1f") + ["", ""])[:3]
    return PgError(message, sqlstate=sqlstate, detail=detail or None)
