"""Run-time settings (GUCs): SET, SET LOCAL, SHOW, RESET, and what is reported to clients.

Each known setting has a default, a category and whether PostgreSQL reports it with
ParameterStatus. Names with a dot (``hnsw.ef_search``, ``myapp.tenant``) are custom
settings: PostgreSQL accepts any of them, and so does pgvecdb.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgvecdb import __version__
from pgvecdb.errors import InvalidParameterValue, UndefinedObject

SERVER_VERSION = f"16.4 (pgvecdb {__version__})"
SERVER_VERSION_NUM = "160004"


@dataclass(frozen=True)
class Setting:
    name: str  # canonical spelling, as SHOW ALL prints it
    default: str
    description: str = ""
    reported: bool = False  # sent as ParameterStatus
    read_only: bool = False
    kind: str = "string"  # bool, integer, real, string, enum
    unit: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


SETTINGS: dict[str, Setting] = {
    s.name.lower(): s
    for s in [
        Setting("server_version", SERVER_VERSION, "Shows the server version.", True, True),
        Setting("server_version_num", SERVER_VERSION_NUM, "Shows the server version as an integer.", False, True, "integer"),
        Setting("server_encoding", "UTF8", "Shows the server (database) character set encoding.", True, True),
        Setting("client_encoding", "UTF8", "Sets the client's character set encoding.", True),
        Setting("DateStyle", "ISO, MDY", "Sets the display format for date and time values.", True),
        Setting("TimeZone", "UTC", "Sets the time zone for displaying and interpreting time stamps.", True),
        Setting("IntervalStyle", "postgres", "Sets the display format for interval values.", True, kind="enum",
                choices=("postgres", "postgres_verbose", "sql_standard", "iso_8601")),
        Setting("integer_datetimes", "on", "Shows whether datetimes are integer based.", True, True, "bool"),
        Setting("standard_conforming_strings", "on", "Causes '...' strings to treat backslashes literally.", True, kind="bool"),
        Setting("application_name", "", "Sets the application name to be reported in statistics and logs.", True),
        Setting("is_superuser", "on", "Shows whether the current user is a superuser.", True, True, "bool"),
        Setting("session_authorization", "", "Sets the session user name.", True),
        Setting("default_transaction_read_only", "off", "Sets the default read-only status of new transactions.", True, kind="bool"),
        Setting("in_hot_standby", "off", "Shows whether hot standby is currently active.", True, True, "bool"),
        Setting("scram_iterations", "4096", "Sets the iteration count for SCRAM secret generation.", True, kind="integer"),
        Setting("search_path", '"$user", public', "Sets the schema search order for names that are not schema-qualified."),
        Setting("extra_float_digits", "1", "Sets the number of digits displayed for floating-point values.", kind="integer",
                minimum=-15, maximum=3),
        Setting("bytea_output", "hex", "Sets the output format for bytea.", kind="enum", choices=("hex", "escape")),
        Setting("client_min_messages", "notice", "Sets the message levels that are sent to the client.", kind="enum",
                choices=("debug5", "debug4", "debug3", "debug2", "debug1", "log", "notice", "warning", "error")),
        Setting("lc_messages", "C", "Sets the language in which messages are displayed."),
        Setting("lc_monetary", "C", "Sets the locale for formatting monetary amounts."),
        Setting("lc_numeric", "C", "Sets the locale for formatting numbers."),
        Setting("lc_time", "C", "Sets the locale for formatting date and time values."),
        Setting("lc_collate", "C", "Shows the collation order locale.", read_only=True),
        Setting("lc_ctype", "C", "Shows the character classification and case conversion locale.", read_only=True),
        Setting("timezone_abbreviations", "Default", "Selects a file of time zone abbreviations."),
        Setting("statement_timeout", "0", "Sets the maximum allowed duration of any statement.", kind="integer", unit="ms"),
        Setting("lock_timeout", "0", "Sets the maximum allowed duration of any wait for a lock.", kind="integer", unit="ms"),
        Setting("idle_in_transaction_session_timeout", "0", "Sets the maximum allowed idle time between queries, when in a transaction.", kind="integer", unit="ms"),
        Setting("transaction_isolation", "read committed", "Sets the current transaction's isolation level."),
        Setting("default_transaction_isolation", "read committed", "Sets the transaction isolation level of each new transaction."),
        Setting("transaction_read_only", "off", "Sets the current transaction's read-only status.", kind="bool"),
        Setting("synchronous_commit", "on", "Sets the current transaction's synchronization level.", kind="enum",
                choices=("local", "remote_write", "remote_apply", "on", "off")),
        Setting("enable_seqscan", "on", "Enables the planner's use of sequential-scan plans.", kind="bool"),
        Setting("enable_indexscan", "on", "Enables the planner's use of index-scan plans.", kind="bool"),
        Setting("enable_bitmapscan", "on", "Enables the planner's use of bitmap-scan plans.", kind="bool"),
        Setting("max_parallel_workers_per_gather", "2", "Sets the maximum number of parallel processes per executor node.", kind="integer"),
        Setting("maintenance_work_mem", "65536", "Sets the maximum memory to be used for maintenance operations.", kind="integer", unit="kB"),
        Setting("work_mem", "4096", "Sets the maximum memory to be used for query workspaces.", kind="integer", unit="kB"),
        Setting("max_connections", "1000", "Sets the maximum number of concurrent connections.", read_only=True, kind="integer"),
        Setting("max_identifier_length", "63", "Shows the maximum identifier length.", read_only=True, kind="integer"),
        Setting("block_size", "8192", "Shows the size of a disk block.", read_only=True, kind="integer"),
        Setting("row_security", "on", "Enable row security.", kind="bool"),
        Setting("jit", "off", "Allow JIT compilation.", kind="bool"),
        Setting("check_function_bodies", "on", "Check routine bodies during CREATE FUNCTION and CREATE PROCEDURE.", kind="bool"),
        Setting("xmloption", "content", "Sets whether XML data in implicit parsing and serialization operations is to be considered as documents or content fragments."),
        Setting("default_with_oids", "off", "Obsolete.", kind="bool"),
        Setting("hnsw.ef_search", "40", "Sets the size of the dynamic candidate list for search", kind="integer", minimum=1, maximum=1000),
        Setting("hnsw.iterative_scan", "off", "Sets the mode for iterative scans", kind="enum", choices=("off", "relaxed_order", "strict_order")),
        Setting("hnsw.max_scan_tuples", "20000", "Sets the max number of tuples to visit for iterative scans", kind="integer", minimum=1, maximum=2147483647),
        Setting("hnsw.scan_mem_multiplier", "1", "Sets the multiple of work_mem to use for iterative scans", kind="integer", minimum=1, maximum=1000),
        Setting("ivfflat.probes", "1", "Sets the number of probes", kind="integer", minimum=1, maximum=32768),
        Setting("ivfflat.iterative_scan", "off", "Sets the mode for iterative scans", kind="enum", choices=("off", "relaxed_order")),
        Setting("ivfflat.max_probes", "32768", "Sets the max number of probes for iterative scans", kind="integer", minimum=1, maximum=32768),
        Setting("pgvecdb.exact_selectivity", "-1", "Searches the rows a filter keeps exactly when they are fewer than "
                "this fraction of a segment's rows (negative: a cost model decides)", kind="real", minimum=-1, maximum=1),
    ]
}

_BOOL_WORDS = {"on": "on", "off": "off", "true": "on", "false": "off", "yes": "on", "no": "off", "1": "on", "0": "off",
               "t": "on", "f": "off"}


def canonical_name(name: str) -> str:
    setting = SETTINGS.get(name.lower())
    return setting.name if setting else name.lower()


def normalize(name: str, values: list[str]) -> str:
    """The stored form of ``SET name TO values``, validated as PostgreSQL does."""
    setting = SETTINGS.get(name.lower())
    if setting is None:
        if "." not in name:
            raise UndefinedObject(f'unrecognized configuration parameter "{name}"')
        return ", ".join(values)
    if setting.read_only:
        raise _read_only(setting)
    value = ", ".join(values)
    if setting.kind == "bool":
        word = _BOOL_WORDS.get(value.lower())
        if word is None:
            raise InvalidParameterValue(f'parameter "{setting.name}" requires a Boolean value')
        return word
    if setting.kind == "enum":
        if value.lower() not in setting.choices:
            choices = ", ".join(setting.choices)
            raise InvalidParameterValue(f'invalid value for parameter "{setting.name}": "{value}"',
                                        hint=f"Available values: {choices}.")
        return value.lower()
    if setting.kind in ("integer", "real"):
        return _number(setting, value)
    if setting.name == "DateStyle":
        return _datestyle(value)
    if setting.name == "client_encoding":
        return _client_encoding(value)
    return value


def _client_encoding(value: str) -> str:
    """Only UTF-8 travels on the wire (SQL_ASCII passes bytes through unchanged). Names
    compare as PostgreSQL's clean_encoding_name does: letters and digits only, any case."""
    name = "".join(ch for ch in value.lower() if ch.isalnum())
    if name in ("utf8", "unicode"):
        return "UTF8"
    if name == "sqlascii":
        return "SQL_ASCII"
    raise InvalidParameterValue(f'invalid value for parameter "client_encoding": "{value}"')


def _read_only(setting: Setting) -> Exception:
    from pgvecdb.errors import PgError

    return PgError(f'parameter "{setting.name}" cannot be changed', sqlstate="55P02")


_UNITS_MS = {"ms": 1, "s": 1000, "min": 60000, "h": 3600000, "d": 86400000, "us": 0.001}
_UNITS_KB = {"kb": 1, "mb": 1024, "gb": 1024 * 1024, "tb": 1024 ** 3, "b": 1 / 1024}


def _number(setting: Setting, value: str) -> str:
    text = value.strip().lower()
    factor: float = 1
    units = _UNITS_MS if setting.unit == "ms" else _UNITS_KB if setting.unit == "kB" else {}
    for suffix in sorted(units, key=len, reverse=True):
        if text.endswith(suffix) and text[: -len(suffix)].strip().replace(".", "", 1).lstrip("-").isdigit():
            factor, text = units[suffix], text[: -len(suffix)].strip()
            break
    try:
        number = float(text) * factor
    except ValueError:
        raise InvalidParameterValue(f'invalid value for parameter "{setting.name}": "{value}"') from None
    if setting.kind == "integer":
        if number != int(number) and factor == 1:
            raise InvalidParameterValue(f'invalid value for parameter "{setting.name}": "{value}"')
        number = int(round(number))
    low, high = setting.minimum, setting.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        shown = int(number) if setting.kind == "integer" else f"{number:g}"
        raise InvalidParameterValue(
            f'{shown} is outside the valid range for parameter "{setting.name}" '
            f"({_fmt(low)} .. {_fmt(high)})"
        )
    return str(int(number)) if setting.kind == "integer" else repr(number).rstrip("0").rstrip(".")


def _fmt(bound: float | None) -> str:
    return "" if bound is None else str(int(bound)) if float(bound).is_integer() else str(bound)


def _datestyle(value: str) -> str:
    style, order = "ISO", "MDY"
    for part in [p.strip().lower() for p in value.replace(",", " ").split()]:
        if part in ("iso", "postgres", "sql", "german"):
            style = {"iso": "ISO", "postgres": "Postgres", "sql": "SQL", "german": "German"}[part]
        elif part in ("mdy", "dmy", "ymd", "us", "euro", "european", "noneuropean"):
            order = {"mdy": "MDY", "us": "MDY", "noneuropean": "MDY", "dmy": "DMY", "euro": "DMY",
                     "european": "DMY", "ymd": "YMD"}[part]
        else:
            raise InvalidParameterValue(f'invalid value for parameter "DateStyle": "{value}"')
    return f"{style}, {order}"


class Settings:
    """One session's settings: session values, and SET LOCAL values until transaction end."""

    def __init__(self, overrides: dict[str, str] | None = None) -> None:
        self._session: dict[str, str] = {}
        self._local: dict[str, str] = {}
        self._changed: set[str] = set()
        self.version = 0  # bumped on every change, so derived values can be cached
        for name, value in (overrides or {}).items():
            self.set(name, [value])
        self._changed.clear()

    def get(self, name: str) -> str:
        key = name.lower()
        if key in self._local:
            return self._local[key]
        if key in self._session:
            return self._session[key]
        setting = SETTINGS.get(key)
        if setting is not None:
            return setting.default
        raise UndefinedObject(f'unrecognized configuration parameter "{name}"')

    def get_or_none(self, name: str) -> str | None:
        try:
            return self.get(name)
        except UndefinedObject:
            return None

    def set(self, name: str, values: list[str] | None, *, local: bool = False) -> None:
        key = name.lower()
        if values is None:
            self.reset(name, local=local)
            return
        value = normalize(name, values)
        self.version += 1
        (self._local if local else self._session)[key] = value
        if not local:
            self._local.pop(key, None)
        self._changed.add(key)

    def set_internal(self, name: str, value: str) -> None:
        """Set a read-only setting the server itself manages (e.g. session_authorization)."""
        self.version += 1
        self._session[name.lower()] = value
        self._changed.add(name.lower())

    def reset(self, name: str, *, local: bool = False) -> None:
        key = name.lower()
        self.version += 1
        if key == "all":
            for k in list(self._session):
                if not (SETTINGS.get(k) and SETTINGS[k].read_only):
                    self._changed.add(k)
                    del self._session[k]
            self._local.clear()
            return
        if key not in SETTINGS and "." not in key:
            raise UndefinedObject(f'unrecognized configuration parameter "{name}"')
        self._local.pop(key, None)
        if not local:
            self._session.pop(key, None)
        self._changed.add(key)

    def end_transaction(self) -> None:
        """SET LOCAL values end with the transaction."""
        if not self._local:
            return
        self.version += 1
        self._changed |= set(self._local)
        self._local.clear()

    def take_changed_reported(self) -> dict[str, str]:
        changed = {
            SETTINGS[k].name: self.get(k) for k in self._changed if k in SETTINGS and SETTINGS[k].reported
        }
        self._changed.clear()
        return changed

    def reported(self) -> dict[str, str]:
        return {s.name: self.get(s.name) for s in SETTINGS.values() if s.reported}

    def all(self) -> dict[str, str]:
        """Every setting with its current value (SHOW ALL, pg_settings)."""
        values = {s.name: self.get(s.name) for s in SETTINGS.values()}
        for key in list(self._session) + list(self._local):
            if key not in SETTINGS:
                values[key] = self.get(key)
        return values
