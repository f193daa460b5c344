"""Codecs of date, time, timetz, timestamp, timestamptz and interval.

Arrow holds dates as days and timestamps as microseconds since 1970-01-01 (timestamptz in
UTC); PostgreSQL's binary formats count from 2000-01-01. Infinities are the extreme
values in both (DuckDB writes -infinity as -(2**63 - 1), PostgreSQL as -2**63).

Text output follows DateStyle (ISO, Postgres, SQL, German with MDY/DMY order), TimeZone
(timestamptz is shown in the session zone) and IntervalStyle (postgres, postgres_verbose,
sql_standard, iso_8601). Common ISO output is formatted column-wise by Arrow; the other
styles and out-of-range years go value by value.

DuckDB returns TIME WITH TIME ZONE without its offset, so timetz values print with +00.
"""

from __future__ import annotations

import datetime as dt
import re
import time as _time
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pgvecdb.errors import DatetimeFieldOverflow, InvalidDatetimeFormat, InvalidParameterValue
from pgvecdb.types.codecs import (
    DEFAULT_OPTIONS,
    FormatOptions,
    SameArrowTypeCodec,
    check_binary_length,
    fixed_width_values,
    packed_fixed_width,
    register,
    utf8_values,
)
from pgvecdb.types.registry import TYPES

USECS_PER_SEC = 1_000_000
USECS_PER_DAY = 86_400 * USECS_PER_SEC
PG_EPOCH_DAYS = 10_957  # 2000-01-01 in days since 1970-01-01
PG_EPOCH_USECS = PG_EPOCH_DAYS * USECS_PER_DAY
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
TIMESTAMP_INFINITY = INT64_MAX
TIMESTAMP_MINUS_INFINITY = -INT64_MAX  # DuckDB's; PostgreSQL's binary uses -2**63
DATE_INFINITY = INT32_MAX
DATE_MINUS_INFINITY = -INT32_MAX
MAX_TIMESTAMP_PRECISION = 6

_WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# --- calendar arithmetic on plain integers (valid far outside datetime's years 1..9999) -----


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (year 0 is 1 BC)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day count since 1970-01-01."""
    days += 719468
    era = (days if days >= 0 else days - 146096) // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def _days_in_month(year: int, month: int) -> int:
    return days_from_civil(year + (month == 12), month % 12 + 1, 1) - days_from_civil(year, month, 1)


# --- time zones -------------------------------------------------------------------------------

_ABBREVIATIONS = {
    "UTC": 0, "UT": 0, "GMT": 0, "Z": 0, "ZULU": 0,
    "EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
    "MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
    "CET": 3600, "CEST": 7200, "EET": 7200, "EEST": 10800, "WET": 0, "WEST": 3600,
    "BST": 3600, "JST": 9 * 3600, "KST": 9 * 3600, "AEST": 10 * 3600, "AEDT": 11 * 3600,
}


@dataclass(frozen=True)
class Zone:
    """A session time zone: an IANA zone, or a fixed offset east of UTC in seconds."""

    name: str
    info: dt.tzinfo
    arrow_name: str  # what Arrow accepts as a timestamp's tz
    fixed_abbreviation: str | None = None  # what a fixed-offset zone is called, if anything

    def offset_at(self, utc_micros: int) -> int:
        """Seconds east of UTC at an instant (clamped to the years datetime can hold)."""
        moment = _utc_datetime(max(min(utc_micros, _MAX_DATETIME_USECS), _MIN_DATETIME_USECS))
        offset = moment.astimezone(self.info).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0

    def abbreviation_at(self, utc_micros: int) -> str | None:
        if isinstance(self.info, dt.timezone):
            return self.fixed_abbreviation
        moment = _utc_datetime(max(min(utc_micros, _MAX_DATETIME_USECS), _MIN_DATETIME_USECS))
        name = moment.astimezone(self.info).tzname()
        return name if name and name[0] not in "+-" else None

    def local_to_utc(self, local_micros: int) -> int:
        """The UTC instant of a wall-clock time in this zone."""
        if isinstance(self.info, dt.timezone):
            offset = self.info.utcoffset(None)
            return local_micros - int(offset.total_seconds()) * USECS_PER_SEC
        clamped = max(min(local_micros, _MAX_DATETIME_USECS), _MIN_DATETIME_USECS)
        naive = _UNIX_EPOCH_NAIVE + dt.timedelta(microseconds=clamped)
        offset = naive.replace(tzinfo=self.info).utcoffset() or dt.timedelta(0)
        return local_micros - int(offset.total_seconds()) * USECS_PER_SEC


_UNIX_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_UNIX_EPOCH_NAIVE = dt.datetime(1970, 1, 1)
_MIN_DATETIME_USECS = (days_from_civil(1, 1, 2)) * USECS_PER_DAY
_MAX_DATETIME_USECS = (days_from_civil(9999, 12, 30)) * USECS_PER_DAY


def _utc_datetime(micros: int) -> dt.datetime:
    return _UNIX_EPOCH + dt.timedelta(microseconds=micros)


_NUMERIC_ZONE = re.compile(r"([+-]?)(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?")
_POSIX_ZONE = re.compile(r"(?:UTC|GMT)([+-])(\d{1,2})(?::(\d{2}))?", re.IGNORECASE)


@lru_cache(maxsize=64)
def session_zone(name: str) -> Zone:
    """The zone a TimeZone setting names: an IANA name, an abbreviation, or hours east of UTC.

    A bare number is hours east of UTC, as ``SET TIME ZONE 3`` means in PostgreSQL; a POSIX
    spec such as 'UTC+3' counts hours west of UTC, as POSIX does.
    """
    text = name.strip()
    if text.upper() in ("UTC", "GMT", "Z", "ETC/UTC", "UCT", "ZULU"):
        return Zone("UTC", dt.timezone.utc, "UTC", "UTC")
    try:
        return Zone(text, ZoneInfo(text), text)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    if text.upper() in _ABBREVIATIONS:
        return _fixed_zone(text, _ABBREVIATIONS[text.upper()], text.upper())
    posix = _POSIX_ZONE.fullmatch(text)
    if posix:
        sign, hours, minutes = posix.groups()
        west = int(hours) * 3600 + int(minutes or 0) * 60
        return _fixed_zone(text, west if sign == "-" else -west, text[:3].upper())
    match = _NUMERIC_ZONE.fullmatch(text)
    if match:
        sign, hours, minutes, seconds = match.groups()
        offset = int(hours) * 3600 + int(minutes or 0) * 60 + int(seconds or 0)
        return _fixed_zone(text, -offset if sign == "-" else offset)
    raise InvalidParameterValue(f'invalid value for parameter "TimeZone": "{name}"')


def _fixed_zone(name: str, offset_seconds: int, abbreviation: str | None = None) -> Zone:
    sign = "-" if offset_seconds < 0 else "+"
    hours, rest = divmod(abs(offset_seconds), 3600)
    return Zone(name, dt.timezone(dt.timedelta(seconds=offset_seconds)), f"{sign}{hours:02d}:{rest // 60:02d}",
                abbreviation)


# --- text output ------------------------------------------------------------------------------


def _year_text(year: int) -> tuple[str, bool]:
    """Year digits (at least four) and whether it is BC; year 0 is 1 BC."""
    return (f"{1 - year:04d}", True) if year <= 0 else (f"{year:04d}", False)


def seconds_text(seconds: int, micros: int, zero_pad: bool = True) -> str:
    """Seconds with the fraction's trailing zeros trimmed (PostgreSQL's AppendSeconds)."""
    whole = f"{seconds:02d}" if zero_pad else str(seconds)
    if micros == 0:
        return whole
    return whole + "." + f"{micros:06d}".rstrip("0")


def timezone_text(offset_seconds: int) -> str:
    """+HH, +HH:MM or +HH:MM:SS, as EncodeTimezone writes an offset east of UTC."""
    sign = "-" if offset_seconds < 0 else "+"
    hours, rest = divmod(abs(offset_seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    if seconds:
        return f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"
    if minutes:
        return f"{sign}{hours:02d}:{minutes:02d}"
    return f"{sign}{hours:02d}"


def date_text(days: int, options: FormatOptions) -> str:
    if days >= DATE_INFINITY:
        return "infinity"
    if days <= DATE_MINUS_INFINITY:
        return "-infinity"
    year, month, day = civil_from_days(days)
    digits, bc = _year_text(year)
    style = options.date_output
    dmy = options.date_order == "DMY"
    if style == "ISO":
        text = f"{digits}-{month:02d}-{day:02d}"
    elif style == "SQL":
        text = f"{day:02d}/{month:02d}/{digits}" if dmy else f"{month:02d}/{day:02d}/{digits}"
    elif style == "German":
        text = f"{day:02d}.{month:02d}.{digits}"
    else:
        text = f"{day:02d}-{month:02d}-{digits}" if dmy else f"{month:02d}-{day:02d}-{digits}"
    return text + " BC" if bc else text


def timestamp_text(local_micros: int, options: FormatOptions, offset: int | None = None,
                   abbreviation: str | None = None) -> str:
    """A timestamp (wall-clock micros) in the DateStyle; ``offset`` set for timestamptz."""
    if local_micros >= TIMESTAMP_INFINITY:
        return "infinity"
    if local_micros <= TIMESTAMP_MINUS_INFINITY:
        return "-infinity"
    days, of_day = divmod(local_micros, USECS_PER_DAY)
    year, month, day = civil_from_days(days)
    digits, bc = _year_text(year)
    hour, rest = divmod(of_day, 3600 * USECS_PER_SEC)
    minute, rest = divmod(rest, 60 * USECS_PER_SEC)
    clock = f"{hour:02d}:{minute:02d}:{seconds_text(*divmod(rest, USECS_PER_SEC))}"
    style = options.date_output
    dmy = options.date_order == "DMY"
    if style == "ISO":
        text = f"{digits}-{month:02d}-{day:02d} {clock}"
        if offset is not None:
            text += timezone_text(offset)
        return text + " BC" if bc else text
    zone = "" if offset is None else " " + (abbreviation or timezone_text(offset))
    if style == "Postgres":
        weekday = _WEEKDAYS[(days + 4) % 7]
        mon = _MONTHS[month - 1]
        date_part = f"{weekday} {day:02d} {mon}" if dmy else f"{weekday} {mon} {day:02d}"
        text = f"{date_part} {clock} {digits}{zone}"
    elif style == "SQL":
        date_part = f"{day:02d}/{month:02d}/{digits}" if dmy else f"{month:02d}/{day:02d}/{digits}"
        text = f"{date_part} {clock}{zone}"
    else:
        text = f"{day:02d}.{month:02d}.{digits} {clock}{zone}"
    return text + " BC" if bc else text


def time_text(micros: int, offset: int | None = None) -> str:
    hour, rest = divmod(micros, 3600 * USECS_PER_SEC)
    minute, rest = divmod(rest, 60 * USECS_PER_SEC)
    text = f"{hour:02d}:{minute:02d}:{seconds_text(*divmod(rest, USECS_PER_SEC))}"
    return text if offset is None else text + timezone_text(offset)


# --- intervals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """PostgreSQL's interval: months, days and microseconds, each with its own sign."""

    months: int = 0
    days: int = 0
    micros: int = 0

    def duck_literal(self) -> str:
        """A string DuckDB casts to the same INTERVAL."""
        return f"{self.months} months {self.days} days {self.micros} microseconds"


def _split_time(micros: int) -> tuple[int, int, int, int]:
    """(hours, minutes, seconds, microseconds), each carrying the sign of ``micros``."""
    sign = -1 if micros < 0 else 1
    hours, rest = divmod(abs(micros), 3600 * USECS_PER_SEC)
    minutes, rest = divmod(rest, 60 * USECS_PER_SEC)
    seconds, fraction = divmod(rest, USECS_PER_SEC)
    return sign * hours, sign * minutes, sign * seconds, sign * fraction


def _signed_seconds(seconds: int, fraction: int, zero_pad: bool) -> str:
    return seconds_text(abs(seconds), abs(fraction), zero_pad)


def interval_text(value: Interval, style: str) -> str:
    """EncodeInterval for IntervalStyle postgres, postgres_verbose, sql_standard or iso_8601."""
    years, months = int(value.months / 12), value.months - int(value.months / 12) * 12
    hours, minutes, seconds, fraction = _split_time(value.micros)
    style = style.lower()
    if style == "postgres_verbose":
        return _interval_verbose(years, months, value.days, hours, minutes, seconds, fraction)
    if style == "sql_standard":
        return _interval_sql_standard(years, months, value.days, hours, minutes, seconds, fraction)
    if style == "iso_8601":
        return _interval_iso(years, months, value.days, hours, minutes, seconds, fraction)
    return _interval_postgres(years, months, value.days, hours, minutes, seconds, fraction)


def _interval_postgres(years: int, months: int, days: int, hours: int, minutes: int, seconds: int,
                       fraction: int) -> str:
    parts: list[str] = []
    is_before = False
    for number, unit in ((years, "year"), (months, "mon"), (days, "day")):
        if number == 0:
            continue
        plus = "+" if is_before and number > 0 else ""
        parts.append(f"{plus}{number} {unit}{'' if number == 1 else 's'}")
        is_before = number < 0
    if not parts or hours or minutes or seconds or fraction:
        minus = hours < 0 or minutes < 0 or seconds < 0 or fraction < 0
        sign = "-" if minus else ("+" if is_before else "")
        parts.append(f"{sign}{abs(hours):02d}:{abs(minutes):02d}:{_signed_seconds(seconds, fraction, True)}")
    return " ".join(parts)


def _interval_verbose(years: int, months: int, days: int, hours: int, minutes: int, seconds: int,
                      fraction: int) -> str:
    text = "@"
    is_zero, is_before = True, False
    for number, unit in ((years, "year"), (months, "mon"), (days, "day"), (hours, "hour"), (minutes, "min")):
        if number == 0:
            continue
        if is_zero:
            is_before = number < 0
            number = abs(number)
        elif is_before:
            number = -number
        text += f" {number} {unit}{'' if number == 1 else 's'}"
        is_zero = False
    if seconds or fraction:
        text += " "
        if seconds < 0 or (seconds == 0 and fraction < 0):
            if is_zero:
                is_before = True
            elif not is_before:
                text += "-"
        elif is_before:
            text += "-"
        text += _signed_seconds(seconds, fraction, False)
        text += " sec" + ("s" if abs(seconds) != 1 or fraction else "")
        is_zero = False
    if is_zero:
        text += " 0"
    return text + " ago" if is_before else text


def _interval_sql_standard(years: int, months: int, days: int, hours: int, minutes: int, seconds: int,
                           fraction: int) -> str:
    fields = (years, months, days, hours, minutes, seconds, fraction)
    has_negative = any(f < 0 for f in fields)
    has_positive = any(f > 0 for f in fields)
    has_year_month = years != 0 or months != 0
    has_day_time = any(f != 0 for f in fields[2:])
    standard = not (has_negative and has_positive) and not (has_year_month and has_day_time)
    prefix = ""
    if has_negative and standard:
        prefix = "-"
        years, months, days, hours, minutes, seconds, fraction = (-f for f in fields)
    if not has_negative and not has_positive:
        return "0"
    if not standard:
        year_sign = "-" if years < 0 or months < 0 else "+"
        day_sign = "-" if days < 0 else "+"
        sec_sign = "-" if hours < 0 or minutes < 0 or seconds < 0 or fraction < 0 else "+"
        return (f"{year_sign}{abs(years)}-{abs(months)} {day_sign}{abs(days)} "
                f"{sec_sign}{abs(hours)}:{abs(minutes):02d}:{_signed_seconds(seconds, fraction, True)}")
    if has_year_month:
        return f"{prefix}{years}-{months}"
    clock = f"{hours}:{minutes:02d}:{_signed_seconds(seconds, fraction, True)}"
    return f"{prefix}{days} {clock}" if days else prefix + clock


def _interval_iso(years: int, months: int, days: int, hours: int, minutes: int, seconds: int,
                  fraction: int) -> str:
    if not any((years, months, days, hours, minutes, seconds, fraction)):
        return "PT0S"
    text = "P" + "".join(f"{n}{u}" for n, u in ((years, "Y"), (months, "M"), (days, "D")) if n)
    if hours or minutes or seconds or fraction:
        text += "T" + "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M")) if n)
        if seconds or fraction:
            sign = "-" if seconds < 0 or fraction < 0 else ""
            text += sign + _signed_seconds(seconds, fraction, False) + "S"
    return text


# --- text input: dates, times, timestamps -----------------------------------------------------


@dataclass
class _Fields:
    """What a date/time string said, before it is turned into a value."""

    year: int | None = None
    month: int | None = None
    day: int | None = None
    micros_of_day: int = 0
    has_time: bool = False
    offset: int | None = None  # seconds east of UTC, when the string names a zone
    zone: Zone | None = None
    bc: bool = False
    special: str | None = None  # 'infinity', '-infinity', 'epoch', 'now', ...


_SPECIAL_WORDS = {"infinity", "+infinity", "-infinity", "epoch", "now", "today", "tomorrow", "yesterday",
                  "allballs"}
_ISO = re.compile(
    r"\s*(\d{4,})-(\d{1,2})-(\d{1,2})"
    r"(?:(?:T|\s+)(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d*))?)?)?"
    r"\s*(Z|[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?)?\s*(BC|AD)?\s*",
    re.IGNORECASE,
)
_TOKEN = re.compile(
    r"(?P<time>\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d*)?)?)"
    r"|(?P<zone>(?<=[\d\s])[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?(?![\d.]))"
    r"|(?P<date>\d+[-/.]\d+(?:[-/.]\d+)?|\d+[-/.][A-Za-z]+(?:[-/.]\d+)?|[A-Za-z]+[-/.]\d+(?:[-/.]\d+)?)"
    r"|(?P<number>\d+)"
    r"|(?P<word>[A-Za-z][A-Za-z_/+\-0-9]*)"
    r"|(?P<sep>[\s,]+)"
)
_MONTH_NAMES = {name.lower(): i + 1 for i, name in enumerate(_MONTHS)}
_MONTH_NAMES.update({name: i + 1 for i, name in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"))})
_MONTH_NAMES["sept"] = 9
_WEEKDAY_WORDS = {w.lower() for w in _WEEKDAYS} | {"sunday", "monday", "tuesday", "wednesday", "thursday",
                                                   "friday", "saturday", "tues", "wednes", "thur", "thurs"}


def _bad_format(type_name: str, text: str) -> InvalidDatetimeFormat:
    return InvalidDatetimeFormat(f'invalid input syntax for type {type_name}: "{text}"')


def _out_of_range(text: str) -> DatetimeFieldOverflow:
    return DatetimeFieldOverflow(f'date/time field value out of range: "{text}"')


def _clock_micros(hour: str, minute: str, second: str | None, fraction: str | None) -> int:
    micros = round(float("0." + fraction) * USECS_PER_SEC) if fraction else 0
    return ((int(hour) * 60 + int(minute)) * 60 + int(second or 0)) * USECS_PER_SEC + micros


def _check_clock(hour: int, minute: int, second: int, micros: int, text: str) -> None:
    if minute > 59 or second > 60 or hour > 24 or (hour == 24 and (minute or second or micros)):
        raise _out_of_range(text)


def _zone_offset_text(text: str) -> int:
    if text.upper() == "Z":
        return 0
    sign, body = text[0], text[1:].replace(":", "")
    hours, minutes, seconds = int(body[:2] if len(body) > 2 else body), int(body[2:4] or 0), int(body[4:6] or 0)
    offset = hours * 3600 + minutes * 60 + seconds
    return -offset if sign == "-" else offset


def _parse_fields(text: str, type_name: str, options: FormatOptions) -> _Fields:
    stripped = text.strip()
    if stripped.lower() in _SPECIAL_WORDS:
        return _Fields(special=stripped.lower().lstrip("+"))
    match = _ISO.fullmatch(text)
    if match:
        year, month, day, hour, minute, second, fraction, zone, era = match.groups()
        fields = _Fields(int(year), int(month), int(day), bc=(era or "").upper() == "BC")
        if hour is not None:
            _check_clock(int(hour), int(minute), int(second or 0), 0, text)
            fields.micros_of_day = _clock_micros(hour, minute, second, fraction)
            fields.has_time = True
        if zone:
            fields.offset = _zone_offset_text(zone)
        return fields
    return _parse_general(text, type_name, options)


def _parse_general(text: str, type_name: str, options: FormatOptions) -> _Fields:
    """Dates with month names or slashes, 'Postgres'-style output, times with am/pm, zone names."""
    fields = _Fields()
    numbers: list[int] = []
    pm: bool | None = None
    position = 0
    while position < len(text):
        token = _TOKEN.match(text, position)
        if token is None:
            raise _bad_format(type_name, text)
        position = token.end()
        kind, value = token.lastgroup, token.group()
        if kind == "sep":
            continue
        if kind == "time":
            parts = re.split(r"[:.]", value)
            _check_clock(int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) > 2 else 0, 0, text)
            fraction = value.split(".", 1)[1] if "." in value else None
            fields.micros_of_day = _clock_micros(parts[0], parts[1], parts[2] if len(parts) > 2 else None, fraction)
            fields.has_time = True
        elif kind == "zone":
            fields.offset = _zone_offset_text(value)
        elif kind == "date":
            _assign_date(fields, re.split(r"[-/.]", value), options, text, type_name)
        elif kind == "number":
            if len(value) == 8 and fields.year is None:  # yyyymmdd
                fields.year, fields.month, fields.day = int(value[:4]), int(value[4:6]), int(value[6:])
            else:
                numbers.append(int(value))
        else:
            word = value.lower()
            if word in _MONTH_NAMES:
                fields.month = _MONTH_NAMES[word]
            elif word in _WEEKDAY_WORDS:
                continue
            elif word in ("am", "pm"):
                pm = word == "pm"
            elif word in ("bc", "ad"):
                fields.bc = word == "bc"
            elif word == "t":
                continue
            else:
                fields.zone = _named_zone(value, type_name, text)
    _assign_numbers(fields, numbers, options, text, type_name)
    if pm is not None:
        hours = fields.micros_of_day // (3600 * USECS_PER_SEC)
        if hours > 12:
            raise _out_of_range(text)
        if pm and hours < 12:
            fields.micros_of_day += 12 * 3600 * USECS_PER_SEC
        elif not pm and hours == 12:
            fields.micros_of_day -= 12 * 3600 * USECS_PER_SEC
    return fields


def _named_zone(word: str, type_name: str, text: str) -> Zone:
    try:
        return session_zone(word)
    except InvalidParameterValue:
        raise _bad_format(type_name, text) from None


def _assign_date(fields: _Fields, parts: list[str], options: FormatOptions, text: str, type_name: str) -> None:
    named = [p for p in parts if not p.isdigit()]
    if named:
        if len(named) > 1 or named[0].lower() not in _MONTH_NAMES:
            raise _bad_format(type_name, text)
        fields.month = _MONTH_NAMES[named[0].lower()]
        numbers = [int(p) for p in parts if p.isdigit()]
        if parts[0].isdigit() and len(parts[0]) >= 3:
            fields.year, fields.day = numbers[0], numbers[1] if len(numbers) > 1 else None
        else:
            fields.day = numbers[0]
            fields.year = numbers[1] if len(numbers) > 1 else None
        return
    if len(parts) == 2:
        raise _bad_format(type_name, text)
    if len(parts[0]) >= 3:
        fields.year, fields.month, fields.day = (int(p) for p in parts)
        return
    first, second, third = (int(p) for p in parts)
    order = options.date_order
    if order == "DMY":
        fields.day, fields.month, fields.year = first, second, third
    elif order == "YMD":
        fields.year, fields.month, fields.day = first, second, third
    else:
        fields.month, fields.day, fields.year = first, second, third
    if len(parts[2]) <= 2 and order != "YMD":
        fields.year = _two_digit_year(fields.year)


def _two_digit_year(year: int) -> int:
    """PostgreSQL reads 70..99 as 19xx and 00..69 as 20xx."""
    return year + (1900 if year >= 70 else 2000)


def _assign_numbers(fields: _Fields, numbers: list[int], options: FormatOptions, text: str, type_name: str) -> None:
    """Bare numbers around a month name: 'Jan 8 1999', '8 January 1999', 'Wed Jan 01 ... 2020'."""
    for number in numbers:
        if fields.day is None and fields.month is not None and fields.year is None and number <= 31:
            fields.day = number
        elif fields.year is None:
            fields.year = number
        elif fields.day is None:
            fields.day = number
        else:
            raise _bad_format(type_name, text)


def _fields_date_days(fields: _Fields, text: str, type_name: str) -> int:
    if fields.year is None or fields.month is None or fields.day is None:
        raise _bad_format(type_name, text)
    year = 1 - fields.year if fields.bc else fields.year
    if not 1 <= fields.month <= 12 or not 1 <= fields.day <= _days_in_month(year, fields.month):
        raise _out_of_range(text)
    if fields.bc and fields.year == 0:
        raise _out_of_range(text)
    return days_from_civil(year, fields.month, fields.day)


def _now_micros() -> int:
    return int(_time.time() * USECS_PER_SEC)


def _special_timestamp(word: str, zone: Zone, with_zone: bool) -> int:
    """The UTC micros (timestamptz) or wall-clock micros (timestamp) of a special word."""
    if word == "infinity":
        return TIMESTAMP_INFINITY
    if word == "-infinity":
        return TIMESTAMP_MINUS_INFINITY
    if word == "epoch":
        return 0
    now = _now_micros()
    local_now = now + zone.offset_at(now) * USECS_PER_SEC
    if word == "now":
        return now if with_zone else local_now
    shift = {"today": 0, "tomorrow": 1, "yesterday": -1}[word]
    midnight = (local_now // USECS_PER_DAY + shift) * USECS_PER_DAY
    return zone.local_to_utc(midnight) if with_zone else midnight


def parse_timestamp_text(text: str, *, with_zone: bool, options: FormatOptions = DEFAULT_OPTIONS) -> int:
    """Microseconds since 1970-01-01: UTC for timestamptz, wall clock for timestamp."""
    type_name = "timestamp with time zone" if with_zone else "timestamp"
    fields = _parse_fields(text, type_name, options)
    zone = session_zone(options.timezone)
    if fields.special:
        if fields.special == "allballs":
            raise _bad_format(type_name, text)
        return _special_timestamp(fields.special, zone, with_zone)
    local = _fields_date_days(fields, text, type_name) * USECS_PER_DAY + fields.micros_of_day
    if not with_zone:
        return local
    if fields.offset is not None:
        return local - fields.offset * USECS_PER_SEC
    return (fields.zone or zone).local_to_utc(local)


def parse_date_text(text: str, options: FormatOptions = DEFAULT_OPTIONS) -> int:
    """Days since 1970-01-01 (DATE_INFINITY / DATE_MINUS_INFINITY for the infinities)."""
    fields = _parse_fields(text, "date", options)
    if fields.special:
        if fields.special == "infinity":
            return DATE_INFINITY
        if fields.special == "-infinity":
            return DATE_MINUS_INFINITY
        if fields.special == "allballs":
            raise _bad_format("date", text)
        micros = _special_timestamp(fields.special, session_zone(options.timezone), False)
        return micros // USECS_PER_DAY
    return _fields_date_days(fields, text, "date")


def parse_time_text(text: str, *, with_zone: bool = False,
                    options: FormatOptions = DEFAULT_OPTIONS) -> tuple[int, int | None]:
    """(microseconds since midnight, zone offset east of UTC or None)."""
    type_name = "time with time zone" if with_zone else "time without time zone"
    if text.strip().lower() == "allballs":
        return 0, 0 if with_zone else None
    fields = _parse_fields(text, type_name, options)
    if fields.special or not fields.has_time:
        raise _bad_format(type_name, text)
    offset = fields.offset
    if with_zone and offset is None:
        zone = fields.zone or session_zone(options.timezone)
        offset = zone.offset_at(_now_micros())
    return fields.micros_of_day, offset if with_zone else None


# --- text input: intervals --------------------------------------------------------------------

_UNITS: dict[str, tuple[str, float]] = {}
for _names, _unit in (
    (("microsecond", "microseconds", "us", "usec", "usecs", "useconds", "microsecon"), ("us", 1)),
    (("millisecond", "milliseconds", "ms", "msec", "msecs", "mseconds", "millisecon"), ("us", 1000)),
    (("second", "seconds", "s", "sec", "secs"), ("us", USECS_PER_SEC)),
    (("minute", "minutes", "m", "min", "mins"), ("us", 60 * USECS_PER_SEC)),
    (("hour", "hours", "h", "hr", "hrs"), ("us", 3600 * USECS_PER_SEC)),
    (("day", "days", "d"), ("day", 1)),
    (("week", "weeks", "w"), ("day", 7)),
    (("month", "months", "mon", "mons"), ("month", 1)),
    (("year", "years", "y", "yr", "yrs"), ("month", 12)),
    (("decade", "decades", "dec", "decs"), ("month", 120)),
    (("century", "centuries", "c", "cent"), ("month", 1200)),
    (("millennium", "millennia", "mil", "mils"), ("month", 12000)),
):
    for _name in _names:
        _UNITS[_name] = _unit

_INTERVAL_TOKEN = re.compile(
    r"\s*(?:(?P<clock>[+-]?\d+:\d+(?::\d+(?:\.\d*)?)?)|(?P<ym>[+-]?\d+-\d+)"
    r"|(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))\s*(?P<unit>[a-z]+)?|(?P<word>[@a-z]+))",
    re.IGNORECASE,
)
_ISO_INTERVAL = re.compile(
    r"P(?:(?P<Y>[+-]?[\d.]+)Y)?(?:(?P<M>[+-]?[\d.]+)M)?(?:(?P<W>[+-]?[\d.]+)W)?(?:(?P<D>[+-]?[\d.]+)D)?"
    r"(?:T(?:(?P<h>[+-]?[\d.]+)H)?(?:(?P<m>[+-]?[\d.]+)M)?(?:(?P<s>[+-]?[\d.]+)S)?)?",
    re.IGNORECASE,
)


class _IntervalBuilder:
    """Sums interval parts; fractions of a unit spill into the next smaller one, as PostgreSQL does."""

    def __init__(self) -> None:
        self.months = 0
        self.days = 0
        self.micros = 0.0

    def add(self, amount: float, unit: tuple[str, float]) -> None:
        kind, scale = unit
        if kind == "month":
            total = amount * scale
            whole = int(total)
            self.months += whole
            self.add_days((total - whole) * 30)
        elif kind == "day":
            self.add_days(amount * scale)
        else:
            self.micros += amount * scale

    def add_days(self, days: float) -> None:
        whole = int(days)
        self.days += whole
        self.micros += (days - whole) * USECS_PER_DAY

    def result(self, negate: bool = False) -> Interval:
        sign = -1 if negate else 1
        return Interval(sign * self.months, sign * self.days, sign * int(round(self.micros)))


def parse_interval_text(text: str) -> Interval:
    """Interval input: PostgreSQL unit lists ('1 day 2 hours', '@ 3 mins ago'), clock times,
    SQL-standard 'Y-M' and 'D H:M:S' forms, and ISO 8601 'P1Y2M3DT4H5M6S'."""
    stripped = text.strip()
    if stripped[:1].upper() == "P":
        return _parse_iso_interval(stripped, text)
    builder = _IntervalBuilder()
    position, ago, pending_days = 0, False, None
    while position < len(stripped):
        token = _INTERVAL_TOKEN.match(stripped, position)
        if token is None or token.end() == position:
            raise InvalidDatetimeFormat(f'invalid input syntax for type interval: "{text}"')
        position = token.end()
        if token.group("clock"):
            if pending_days is not None:
                builder.add_days(pending_days)
                pending_days = None
            builder.micros += _signed_clock(token.group("clock"))
        elif token.group("ym"):
            years, months = token.group("ym").lstrip("+-").split("-")
            sign = -1 if token.group("ym").startswith("-") else 1
            builder.months += sign * (int(years) * 12 + int(months))
        elif token.group("number") is not None:
            if pending_days is not None:
                builder.micros += pending_days * USECS_PER_SEC
                pending_days = None
            amount, unit = float(token.group("number")), token.group("unit")
            if unit is None:
                pending_days = amount  # a day count before a clock, else seconds
                continue
            if unit.lower() not in _UNITS:
                raise InvalidDatetimeFormat(f'invalid input syntax for type interval: "{text}"')
            builder.add(amount, _UNITS[unit.lower()])
        else:
            word = token.group("word").lower()
            if word == "ago":
                ago = True
            elif word != "@":
                raise InvalidDatetimeFormat(f'invalid input syntax for type interval: "{text}"')
    if pending_days is not None:
        builder.micros += pending_days * USECS_PER_SEC
    return builder.result(negate=ago)


def _signed_clock(clock: str) -> float:
    sign = -1 if clock.startswith("-") else 1
    parts = clock.lstrip("+-").split(":")
    seconds = float(parts[2]) if len(parts) > 2 else 0.0
    return sign * ((int(parts[0]) * 60 + int(parts[1])) * 60 + seconds) * USECS_PER_SEC


def _parse_iso_interval(stripped: str, text: str) -> Interval:
    match = _ISO_INTERVAL.fullmatch(stripped)
    if match is None or stripped.upper() in ("P", "PT") or stripped.upper().endswith("T"):
        raise InvalidDatetimeFormat(f'invalid input syntax for type interval: "{text}"')
    builder = _IntervalBuilder()
    for group, unit in (("Y", "year"), ("M", "month"), ("W", "week"), ("D", "day"), ("h", "hour"),
                        ("m", "minute"), ("s", "second")):
        if match.group(group):
            builder.add(float(match.group(group)), _UNITS[unit])
    return builder.result()


# --- codecs -----------------------------------------------------------------------------------


def _int64_values(column: pa.Array) -> np.ndarray:
    """Timestamps as microseconds (times as microseconds since midnight), nulls as 0."""
    if pa.types.is_timestamp(column.type) and column.type.unit != "us":
        column = column.cast(pa.timestamp("us", tz=column.type.tz), safe=False)
    elif pa.types.is_time(column.type) and column.type.unit != "us":
        column = column.cast(pa.time64("us"), safe=False)
    return column.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)


def _trim_fraction(strings: pa.Array) -> pa.Array:
    """'SS.500000' -> 'SS.5', 'SS.000000' -> 'SS' (Arrow always writes six digits)."""
    return pc.utf8_rtrim(pc.utf8_rtrim(strings, characters="0"), characters=".")


_ARROW_MIN_USECS = days_from_civil(1, 1, 1) * USECS_PER_DAY
_ARROW_MAX_USECS = days_from_civil(10000, 1, 1) * USECS_PER_DAY


def _in_common_years(micros: np.ndarray) -> bool:
    return bool(((micros >= _ARROW_MIN_USECS) & (micros < _ARROW_MAX_USECS)).all())


def _iso_timestamps(local: np.ndarray, valid: pa.Array | None) -> pa.Array:
    """ISO text of wall-clock micros (years 1..9999), formatted by Arrow for the whole column."""
    stamps = pa.array(local, pa.timestamp("us"), mask=None if valid is None else ~valid.to_numpy(zero_copy_only=False))
    return _trim_fraction(stamps.cast(pa.string()))


class DateCodec(SameArrowTypeCodec):
    def __init__(self) -> None:
        super().__init__(TYPES["date"], pa.date32())

    def cast_from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        if column.type == pa.date32():
            return column
        if pa.types.is_timestamp(column.type):
            micros = _int64_values(column.cast(pa.timestamp("us", tz=column.type.tz)))
            days = np.where(micros >= TIMESTAMP_INFINITY, DATE_INFINITY,
                            np.where(micros <= TIMESTAMP_MINUS_INFINITY, DATE_MINUS_INFINITY,
                                     micros // USECS_PER_DAY))
            return pa.array(days.astype(np.int32), pa.date32(), mask=_null_mask(column))
        return column.cast(pa.date32())

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        days = column.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        if options.date_output == "ISO" and _in_common_years(days * USECS_PER_DAY):
            return utf8_values(column.cast(pa.date32()).cast(pa.string()))
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        return [date_text(int(d), options).encode() if ok else None for d, ok in zip(days, valid)]

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        days = column.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        pg = np.where(days >= DATE_INFINITY, INT32_MAX,
                      np.where(days <= DATE_MINUS_INFINITY, -(2**31), days - PG_EPOCH_DAYS))
        return fixed_width_values(column, pg.astype(">i4"))

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> object:
        return _duck_date(parse_date_text(text, options))

    def decode_binary(self, data: bytes, typmod: int = -1) -> object:
        check_binary_length(data, 4)
        return _duck_date(_date_from_pg(int.from_bytes(data, "big", signed=True)))

    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        strings = pa.array(values, pa.string())
        try:
            return strings.cast(pa.date32())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            days = [None if v is None else parse_date_text(v, options) for v in values]
            return pa.array(days, pa.int32()).cast(pa.date32())

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        matrix, nulls = packed_fixed_width(values, 4)
        return self._from_pg_days(matrix.view(">i4").ravel(), nulls)

    def parse_binary_fixed(self, fields: np.ndarray, typmod: int = -1) -> pa.Array:
        if fields.shape[1] != 4:
            check_binary_length(bytes(fields.shape[1]), 4)
        return self._from_pg_days(np.ascontiguousarray(fields).view(">i4").ravel(), None)

    @staticmethod
    def _from_pg_days(pg_days: np.ndarray, nulls: np.ndarray | None) -> pa.Array:
        days = pg_days.astype(np.int64)
        unix = np.where(days == INT32_MAX, DATE_INFINITY,
                        np.where(days == -(2**31), DATE_MINUS_INFINITY, days + PG_EPOCH_DAYS))
        return pa.array(unix.astype(np.int32), pa.int32(), mask=nulls).cast(pa.date32())


def _date_from_pg(pg_days: int) -> int:
    if pg_days == INT32_MAX:
        return DATE_INFINITY
    if pg_days == -(2**31):
        return DATE_MINUS_INFINITY
    return pg_days + PG_EPOCH_DAYS


def _duck_date(days: int) -> object:
    """A date parameter: datetime.date, or DuckDB's spelling for what date cannot hold."""
    if days >= DATE_INFINITY:
        return "infinity"
    if days <= DATE_MINUS_INFINITY:
        return "-infinity"
    year, month, day = civil_from_days(days)
    if 1 <= year <= 9999:
        return dt.date(year, month, day)
    digits, bc = _year_text(year)
    return f"{digits}-{month:02d}-{day:02d}" + (" (BC)" if bc else "")


def _null_mask(column: pa.Array) -> np.ndarray | None:
    return ~column.is_valid().to_numpy(zero_copy_only=False) if column.null_count else None


def _pg_timestamp(micros: np.ndarray) -> np.ndarray:
    """Unix micros (DuckDB's infinities included) as PostgreSQL's binary timestamp values."""
    return np.where(micros >= TIMESTAMP_INFINITY, INT64_MAX,
                    np.where(micros <= TIMESTAMP_MINUS_INFINITY, -(2**63), micros - PG_EPOCH_USECS))


def _unix_timestamp(pg: np.ndarray) -> np.ndarray:
    finite = np.clip(pg, -(2**62), 2**62) + PG_EPOCH_USECS
    return np.where(pg == INT64_MAX, TIMESTAMP_INFINITY, np.where(pg == -(2**63), TIMESTAMP_MINUS_INFINITY, finite))


def _round_to_precision(micros: np.ndarray, typmod: int) -> np.ndarray:
    """Round to timestamp(p)'s precision, half away from zero, leaving infinities alone."""
    if not 0 <= typmod < MAX_TIMESTAMP_PRECISION:
        return micros
    unit = 10 ** (MAX_TIMESTAMP_PRECISION - typmod)
    rounded = np.sign(micros) * ((np.abs(micros) + unit // 2) // unit) * unit
    finite = (micros < TIMESTAMP_INFINITY) & (micros > TIMESTAMP_MINUS_INFINITY)
    return np.where(finite, rounded, micros)


class TimestampCodec(SameArrowTypeCodec):
    """timestamp and timestamptz: int64 microseconds (timestamptz in UTC)."""

    def __init__(self, with_zone: bool) -> None:
        super().__init__(TYPES["timestamptz" if with_zone else "timestamp"],
                         pa.timestamp("us", tz="UTC") if with_zone else pa.timestamp("us"))
        self.with_zone = with_zone

    def cast_from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        if pa.types.is_date(column.type):
            days = column.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
            micros = np.where(days >= DATE_INFINITY, TIMESTAMP_INFINITY,
                              np.where(days <= DATE_MINUS_INFINITY, TIMESTAMP_MINUS_INFINITY, days * USECS_PER_DAY))
        else:
            tz = column.type.tz if pa.types.is_timestamp(column.type) else None
            micros = _int64_values(column.cast(pa.timestamp("us", tz=tz)))
        return pa.array(_round_to_precision(micros, typmod), pa.int64(), mask=_null_mask(column)).cast(self.arrow_type)

    def _local_micros(self, column: pa.Array, zone: Zone) -> np.ndarray:
        """Wall-clock micros in ``zone`` (timestamptz) or as stored (timestamp)."""
        micros = _int64_values(column)
        if not self.with_zone or zone.arrow_name == "UTC":
            return micros
        finite = (micros > _ARROW_MIN_USECS) & (micros < _ARROW_MAX_USECS)
        safe = np.where(finite, micros, 0)
        utc = pa.array(safe, pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us", tz=zone.arrow_name))
        local = _int64_values(pc.local_timestamp(utc))
        return np.where(finite, local, micros)

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        zone = session_zone(options.timezone)
        local = self._local_micros(column, zone)
        if options.date_output == "ISO" and _in_common_years(local):
            texts = _iso_timestamps(local, column.is_valid() if column.null_count else None)
            if self.with_zone:
                texts = pc.binary_join_element_wise(texts, self._offset_texts(local, _int64_values(column)), "")
            return utf8_values(texts)
        return self._encode_text_per_value(column, local, zone, options)

    @staticmethod
    def _offset_texts(local: np.ndarray, utc: np.ndarray) -> pa.Array:
        offsets = (local - utc) // USECS_PER_SEC
        distinct, index = np.unique(offsets, return_inverse=True)
        return pa.array([timezone_text(int(o)) for o in distinct], pa.string()).take(pa.array(index))

    def _encode_text_per_value(self, column: pa.Array, local: np.ndarray, zone: Zone,
                               options: FormatOptions) -> list[bytes | None]:
        utc = _int64_values(column)
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        out: list[bytes | None] = []
        for wall_clock, instant, ok in zip(local.tolist(), utc.tolist(), valid):
            if not ok:
                out.append(None)
            elif not self.with_zone:
                out.append(timestamp_text(wall_clock, options).encode())
            else:
                offset = zone.offset_at(instant)
                finite = TIMESTAMP_MINUS_INFINITY < instant < TIMESTAMP_INFINITY
                shown = instant + offset * USECS_PER_SEC if finite else instant
                out.append(timestamp_text(shown, options, offset, zone.abbreviation_at(instant)).encode())
        return out

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        return fixed_width_values(column, _pg_timestamp(_int64_values(column)).astype(">i8"))

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> object:
        micros = parse_timestamp_text(text, with_zone=self.with_zone, options=options)
        return self._duck_timestamp(int(_round_to_precision(np.array([micros]), typmod)[0]))

    def decode_binary(self, data: bytes, typmod: int = -1) -> object:
        check_binary_length(data, 8)
        pg = int.from_bytes(data, "big", signed=True)
        return self._duck_timestamp(int(_unix_timestamp(np.array([pg], dtype=np.int64))[0]))

    def _duck_timestamp(self, micros: int) -> object:
        """datetime for DuckDB, or its own spelling of what datetime cannot hold."""
        if micros >= TIMESTAMP_INFINITY:
            return "infinity"
        if micros <= TIMESTAMP_MINUS_INFINITY:
            return "-infinity"
        if _MIN_DATETIME_USECS <= micros <= _MAX_DATETIME_USECS:
            if self.with_zone:
                return _utc_datetime(micros)
            return _UNIX_EPOCH_NAIVE + dt.timedelta(microseconds=micros)
        text = timestamp_text(micros, DEFAULT_OPTIONS, 0 if self.with_zone else None)
        return text.replace(" BC", " (BC)") if text.endswith(" BC") else text

    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        if not self.with_zone:
            try:
                micros = _int64_values(pa.array(values, pa.string()).cast(pa.timestamp("us")))
                nulls = np.array([v is None for v in values], dtype=bool)
                return pa.array(_round_to_precision(micros, typmod), pa.int64(),
                                mask=nulls if nulls.any() else None).cast(self.arrow_type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        micros_list = [None if v is None else parse_timestamp_text(v, with_zone=self.with_zone, options=options)
                       for v in values]
        column = pa.array(micros_list, pa.int64())
        rounded = _round_to_precision(column.fill_null(0).to_numpy(zero_copy_only=False), typmod)
        return pa.array(rounded, pa.int64(), mask=_null_mask(column)).cast(self.arrow_type)

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        matrix, nulls = packed_fixed_width(values, 8)
        micros = _unix_timestamp(matrix.view(">i8").ravel().astype(np.int64))
        return pa.array(micros, pa.int64(), mask=nulls).cast(self.arrow_type)

    def parse_binary_fixed(self, fields: np.ndarray, typmod: int = -1) -> pa.Array:
        if fields.shape[1] != 8:
            check_binary_length(bytes(fields.shape[1]), 8)
        micros = _unix_timestamp(np.ascontiguousarray(fields).view(">i8").ravel().astype(np.int64))
        return pa.array(micros, pa.int64()).cast(self.arrow_type)


class TimeCodec(SameArrowTypeCodec):
    """time (int64 microseconds since midnight) and timetz (the same plus a zone offset).

    timetz is held like time, in UTC: DuckDB's Arrow export drops TIMETZ offsets.
    """

    def __init__(self, with_zone: bool) -> None:
        super().__init__(TYPES["timetz" if with_zone else "time"], pa.time64("us"))
        self.with_zone = with_zone

    def cast_from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        if pa.types.is_timestamp(column.type):
            micros = _int64_values(column.cast(pa.timestamp("us", tz=column.type.tz))) % USECS_PER_DAY
            return pa.array(micros, pa.int64(), mask=_null_mask(column)).cast(self.arrow_type)
        return column.cast(self.arrow_type)

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        micros = _int64_values(column)
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        offset = 0 if self.with_zone else None
        return [time_text(m, offset).encode() if ok else None for m, ok in zip(micros.tolist(), valid)]

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        micros = _int64_values(column)
        if not self.with_zone:
            return fixed_width_values(column, micros.astype(">i8"))
        packed = np.zeros(len(column), dtype=[("time", ">i8"), ("zone", ">i4")])
        packed["time"] = micros
        return fixed_width_values(column, packed.view(np.uint8))

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> object:
        micros, offset = parse_time_text(text, with_zone=self.with_zone, options=options)
        return _duck_time(micros, offset)

    def decode_binary(self, data: bytes, typmod: int = -1) -> object:
        check_binary_length(data, 12 if self.with_zone else 8)
        micros = int.from_bytes(data[:8], "big", signed=True)
        offset = -int.from_bytes(data[8:], "big", signed=True) if self.with_zone else None
        return _duck_time(micros, offset)

    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        micros = []
        for value in values:
            if value is None:
                micros.append(None)
                continue
            of_day, offset = parse_time_text(value, with_zone=self.with_zone, options=options)
            micros.append((of_day - (offset or 0) * USECS_PER_SEC) % USECS_PER_DAY if offset else of_day)
        return pa.array(micros, pa.int64()).cast(pa.time64("us"))

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        width = 12 if self.with_zone else 8
        matrix, nulls = packed_fixed_width(values, width)
        return self._from_matrix(matrix, nulls)

    def parse_binary_fixed(self, fields: np.ndarray, typmod: int = -1) -> pa.Array:
        width = 12 if self.with_zone else 8
        if fields.shape[1] != width:
            check_binary_length(bytes(fields.shape[1]), width)
        return self._from_matrix(np.ascontiguousarray(fields), None)

    def _from_matrix(self, matrix: np.ndarray, nulls: np.ndarray | None) -> pa.Array:
        micros = np.ascontiguousarray(matrix[:, :8]).view(">i8").ravel().astype(np.int64)
        if self.with_zone:
            west = np.ascontiguousarray(matrix[:, 8:12]).view(">i4").ravel().astype(np.int64)
            micros = (micros + west * USECS_PER_SEC) % USECS_PER_DAY
        return pa.array(micros, pa.int64(), mask=nulls).cast(pa.time64("us"))


def _duck_time(micros: int, offset: int | None) -> dt.time:
    if micros >= USECS_PER_DAY:
        return dt.time(23, 59, 59, 999999) if offset is None else dt.time(23, 59, 59, 999999, dt.timezone.utc)
    seconds, fraction = divmod(micros, USECS_PER_SEC)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    tzinfo = None if offset is None else dt.timezone(dt.timedelta(seconds=offset))
    return dt.time(hours, minutes, seconds, fraction, tzinfo)


class IntervalCodec(SameArrowTypeCodec):
    """interval: Arrow month_day_nano (DuckDB's export); binary is micros, days, months."""

    def __init__(self) -> None:
        super().__init__(TYPES["interval"], pa.month_day_nano_interval())

    @staticmethod
    def _intervals(column: pa.Array) -> list[Interval | None]:
        return [None if v is None else Interval(v.months, v.days, v.nanoseconds // 1000)
                for v in column.cast(pa.month_day_nano_interval()).to_pylist()]

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        style = options.intervalstyle
        return [None if v is None else interval_text(v, style).encode() for v in self._intervals(column)]

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        return [None if v is None else v.micros.to_bytes(8, "big", signed=True) + v.days.to_bytes(4, "big", signed=True)
                + v.months.to_bytes(4, "big", signed=True) for v in self._intervals(column)]

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> str:
        return parse_interval_text(text).duck_literal()

    def decode_binary(self, data: bytes, typmod: int = -1) -> str:
        return _interval_from_binary(data).duck_literal()

    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        return _interval_array([None if v is None else parse_interval_text(v) for v in values])

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        return _interval_array([None if v is None else _interval_from_binary(v) for v in values])


def _interval_from_binary(data: bytes) -> Interval:
    check_binary_length(data, 16)
    return Interval(int.from_bytes(data[12:16], "big", signed=True), int.from_bytes(data[8:12], "big", signed=True),
                    int.from_bytes(data[:8], "big", signed=True))


def _interval_array(values: list[Interval | None]) -> pa.Array:
    return pa.array([None if v is None else pa.MonthDayNano([v.months, v.days, v.micros * 1000]) for v in values],
                    pa.month_day_nano_interval())


register(DateCodec())
register(TimestampCodec(with_zone=False))
register(TimestampCodec(with_zone=True))
register(TimeCodec(with_zone=False))
register(TimeCodec(with_zone=True))
register(IntervalCodec())
