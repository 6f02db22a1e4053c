"""The price index of GPU time: per GPU class and delivery month, from ``OrderFilled`` events.

A fill's price is CPT wei per GPU-hour, its size GPU-seconds. For one (class, delivery month)
the index reports the last price, the volume-weighted average price (VWAP, weighted by
GPU-seconds, rounded down), the volume and OHLC candles over fixed intervals aligned to the
Unix epoch. The delivery month is the UTC calendar month of the series' window start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Fill:
    """One fill as the index needs it (from an ``OrderFilled`` event and its block's timestamp)."""

    timestamp: int
    class_id: int
    window_start: int
    price_per_hour: int
    amount: int
    series_id: int = 0

    @classmethod
    def from_event(cls, args: dict[str, Any], timestamp: int) -> Fill:
        return cls(timestamp, int(args["classId"]), int(args["windowStart"]), int(args["pricePerHour"]),
                   int(args["amount"]), int(args["seriesId"]))

    @property
    def month(self) -> str:
        return delivery_month(self.window_start)


def delivery_month(window_start: int) -> str:
    """``YYYY-MM`` (UTC) of a delivery window start."""
    return datetime.fromtimestamp(window_start, UTC).strftime("%Y-%m")


@dataclass(frozen=True)
class Candle:
    start: int  # interval start, unix seconds
    open: int
    high: int
    low: int
    close: int
    volume: int  # GPU-seconds
    vwap: int


@dataclass(frozen=True)
class IndexPoint:
    class_id: int
    month: str
    last: int | None
    vwap: int | None
    volume: int
    fills: int
    candles: tuple[Candle, ...]


def _vwap(fills: list[Fill]) -> int | None:
    volume = sum(f.amount for f in fills)
    return sum(f.price_per_hour * f.amount for f in fills) // volume if volume else None


def candles(fills: Iterable[Fill], interval_s: int) -> tuple[Candle, ...]:
    """OHLC candles of ``fills`` (any order; ties in time keep their given order) per interval."""
    if interval_s <= 0:
        raise ValueError(f"interval must be positive, got {interval_s}")
    buckets: dict[int, list[Fill]] = {}
    for f in sorted(fills, key=lambda f: f.timestamp):
        buckets.setdefault(f.timestamp - f.timestamp % interval_s, []).append(f)
    out = []
    for start, bucket in sorted(buckets.items()):
        prices = [f.price_per_hour for f in bucket]
        out.append(Candle(start, prices[0], max(prices), min(prices), prices[-1],
                          sum(f.amount for f in bucket), _vwap(bucket) or 0))
    return tuple(out)


def index(fills: Iterable[Fill], class_id: int, month: str, interval_s: int = 3_600) -> IndexPoint:
    """The index of one GPU class and delivery month."""
    chosen = sorted((f for f in fills if f.class_id == class_id and f.month == month),
                    key=lambda f: f.timestamp)
    return IndexPoint(class_id, month, chosen[-1].price_per_hour if chosen else None, _vwap(chosen),
                      sum(f.amount for f in chosen), len(chosen), candles(chosen, interval_s))
