"""The newest and oldest moment in a column of timestamps, vectorised where possible.

Accepted: Arrow timestamp and date columns; ISO 8601 text (a date, or date and time,
with or without a zone; without one it is read as UTC); Unix seconds as numbers or
text. Anything else counts as unparsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from backend.valuation.readers import NUMBER, TIMESTAMP

_ZONE = r"(Z|[+-]\d{2}:?\d{2})$"
_NUMBER_RE = re.compile(NUMBER)


@dataclass(frozen=True)
class TimeRange:
    newest: datetime | None
    oldest: datetime | None
    unparsed: int

    def merge(self, other: TimeRange) -> TimeRange:
        def pick(a: datetime | None, b: datetime | None, f: Any) -> datetime | None:
            return b if a is None else a if b is None else f(a, b)

        return TimeRange(pick(self.newest, other.newest, max),
                         pick(self.oldest, other.oldest, min), self.unparsed + other.unparsed)


EMPTY = TimeRange(None, None, 0)


def to_datetime(value: Any) -> datetime | None:
    """One value as an aware UTC datetime, or None if it is not a timestamp."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER_RE.match(text):
            return to_datetime(float(text))
        try:
            return to_datetime(datetime.fromisoformat(text))
        except ValueError:
            return None
    return None


def time_range(values: pa.Array | list[Any]) -> TimeRange:
    if isinstance(values, pa.Array):
        try:
            return _arrow_range(values)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = values.to_pylist()
    return _python_range(values)


def _python_range(values: list[Any]) -> TimeRange:
    moments = [to_datetime(v) for v in values if v is not None]
    parsed = [m for m in moments if m is not None]
    return TimeRange(max(parsed, default=None), min(parsed, default=None),
                     len(moments) - len(parsed))


def _minmax(arr: pa.Array) -> TimeRange:
    if len(arr) == 0:
        return EMPTY
    mm = pc.min_max(arr)
    return TimeRange(to_datetime(mm["max"].as_py()), to_datetime(mm["min"].as_py()), 0)


def _arrow_range(arr: pa.Array) -> TimeRange:
    arr = arr.drop_null()
    t = arr.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return _minmax(arr)
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return _minmax(arr.cast(pa.float64()))
    if not pa.types.is_string(t) and not pa.types.is_large_string(t):
        raise pa.ArrowNotImplementedError(f"timestamps of type {t}")
    numeric = pc.match_substring_regex(arr, NUMBER)
    iso = pc.match_substring_regex(arr, TIMESTAMP)
    zoned = pc.and_(iso, pc.match_substring_regex(arr, _ZONE))
    naive = pc.and_(iso, pc.invert(zoned))
    found = (_minmax(arr.filter(numeric).cast(pa.float64()))
             .merge(_minmax(arr.filter(zoned).cast(pa.timestamp("us", tz="UTC"))))
             .merge(_minmax(arr.filter(naive).cast(pa.timestamp("us")))))
    recognised = pc.sum(pc.or_(numeric, iso)).as_py() or 0
    return TimeRange(found.newest, found.oldest, len(arr) - recognised)
