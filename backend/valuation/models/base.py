"""What every valuation model takes (:class:`Context`) and returns (:class:`ModelResult`, with its
inputs, its assumptions and why it came out as it did)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from backend.valuation.inputs import AppraisalInputs, Price
from backend.valuation.profile import DatasetProfile


@dataclass(frozen=True)
class Range:
    low: float
    mid: float
    high: float

    @classmethod
    def around(cls, mid: float, spread: float) -> Range:
        return cls(mid * (1 - spread), mid, mid * (1 + spread))

    @classmethod
    def of(cls, *values: float) -> Range:
        """low/high: the extremes of ``values``; mid: the first value, kept inside them."""
        low, high = min(values), max(values)
        return cls(low, min(max(values[0], low), high), high)

    def clamp_at_zero(self) -> Range:
        return Range(max(self.low, 0.0), max(self.mid, 0.0), max(self.high, 0.0))

    def scaled(self, factor: float) -> Range:
        return Range(self.low * factor, self.mid * factor, self.high * factor)


@dataclass(frozen=True)
class Context:
    gpu_class: str
    inputs: AppraisalInputs
    profile: DatasetProfile
    price: Price | None


@dataclass(frozen=True)
class ModelResult:
    name: str
    title: str
    inputs: dict[str, Any]
    assumptions: list[str]
    reasons: list[str]
    money: Range | None = None  # in the pricing currency
    extra: dict[str, Any] = field(default_factory=dict)

    def gpu_hours(self, price: Price | None) -> Range | None:
        if self.money is None or price is None:
            return None
        return self.money.scaled(1 / price.per_gpu_hour)


Model = Callable[[Context], ModelResult | None]
