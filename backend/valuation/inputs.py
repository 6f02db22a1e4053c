"""What the user tells the valuation engine, validated with pydantic.

Every money amount is in ``pricing.currency``; ``pricing.price_per_gpu_hour`` converts
money into GPU-hours of the appraised class. Today the price is an input; later the
exchange's price index supplies it through :class:`PriceSource`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from backend.valuation.errors import InputsError

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
ModelName = Literal["cost", "market", "income", "dimensional", "with_and_without", "task_specific"]
GPU_CLASS = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pricing(_Strict):
    """The price of one GPU-hour of the appraised class."""

    price_per_gpu_hour: Positive
    currency: str = Field("USD", min_length=1, max_length=16)
    source: str = Field("input", min_length=1, max_length=64,
                        description="Where the price comes from (an input today, the index later).")


class CostInputs(_Strict):
    """Cost approach: what it took to collect, clean, label and keep the data."""

    collection: NonNegative = 0
    cleaning: NonNegative = 0
    labeling: NonNegative = 0
    storage: NonNegative = 0
    other: NonNegative = 0
    obsolescence: Annotated[float, Field(ge=0, lt=1)] = Field(
        0, description="Share of the cost no longer reflected in the data (age, drift).")
    markup: NonNegative = Field(0, description="Developer's margin on top of the cost.")
    uncertainty: Annotated[float, Field(ge=0, lt=1)] = 0.15

    @model_validator(mode="after")
    def _some_cost(self) -> CostInputs:
        if self.total <= 0:
            raise ValueError("cost inputs sum to zero; give at least one positive cost")
        return self

    @property
    def total(self) -> float:
        return self.collection + self.cleaning + self.labeling + self.storage + self.other


class Comparable(_Strict):
    """A recent sale of a comparable dataset."""

    name: str = Field(min_length=1, max_length=200)
    price: Positive
    rows: Annotated[int, Field(gt=0)]
    quality: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None, description="Its quality score (0..1] if known; adjusts for quality.")


class MarketInputs(_Strict):
    """Market approach: prices of comparable datasets, scaled to this one."""

    comparables: list[Comparable] = Field(min_length=1, max_length=1000)
    quality_adjust: bool = True
    uncertainty: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.25, description="Spread around a single comparable (with several, their range is used).")


class IncomeInputs(_Strict):
    """Income approach: discounted cash flows the dataset is projected to earn or save."""

    cash_flows: list[Finite] = Field(min_length=1, max_length=600,
                                     description="One amount per period, first period first.")
    discount_rate: Annotated[float, Field(ge=0, lt=10)] = Field(
        description="Per period, e.g. 0.12.")
    discount_rate_spread: Annotated[float, Field(ge=0, lt=1)] = 0.03
    attribution: Annotated[float, Field(gt=0, le=1)] = Field(
        1.0, description="Share of those cash flows due to this dataset.")


class WithWithoutInputs(_Strict):
    """With-and-without: cash flows of the business with the dataset and without it."""

    with_data: list[Finite] = Field(min_length=1, max_length=600)
    without_data: list[Finite] = Field(min_length=1, max_length=600)
    discount_rate: Annotated[float, Field(ge=0, lt=10)]
    discount_rate_spread: Annotated[float, Field(ge=0, lt=1)] = 0.03

    @model_validator(mode="after")
    def _same_length(self) -> WithWithoutInputs:
        if len(self.with_data) != len(self.without_data):
            raise ValueError(f"with_data has {len(self.with_data)} periods but without_data has "
                             f"{len(self.without_data)}; give both for the same periods")
        return self


class TaskInputs(_Strict):
    """Task-specific: the dataset's expected effect on one task's metric."""

    task: str = Field(min_length=1, max_length=200)
    metric: str = Field(min_length=1, max_length=100)
    baseline: Finite
    with_data: Finite
    with_data_low: Finite | None = None
    with_data_high: Finite | None = None
    higher_is_better: bool = True
    value_per_unit: NonNegative = Field(description="Money per unit of metric improvement.")
    relevance: Annotated[float, Field(gt=0, le=1)] = 1.0
    uncertainty: Annotated[float, Field(ge=0, lt=1)] = 0.25


DIMENSIONS = ("completeness", "uniqueness", "freshness", "schema_consistency", "label_coverage")


class DimensionalInputs(_Strict):
    """Dimensional model: quality measured from the data, priced per thousand rows."""

    label_column: str | None = Field(None, min_length=1)
    timestamp_column: str | None = Field(None, min_length=1)
    value_per_1k_rows: NonNegative | None = Field(
        None, description="Money per 1,000 rows of perfect quality; without it the data is "
                          "measured but not priced.")
    freshness_half_life_days: Positive = 365
    weights: dict[str, NonNegative] = Field(default_factory=lambda: {
        "completeness": 0.25, "uniqueness": 0.2, "freshness": 0.15,
        "schema_consistency": 0.2, "label_coverage": 0.2})
    uncertainty: Annotated[float, Field(ge=0, lt=1)] = 0.25

    @field_validator("weights")
    @classmethod
    def _known_dimensions(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(weights) - set(DIMENSIONS))
        if unknown:
            raise ValueError(f"unknown dimensions {unknown}; known: {list(DIMENSIONS)}")
        if not any(weights.values()):
            raise ValueError("all dimension weights are zero")
        return weights


class AppraisalInputs(_Strict):
    """Everything an appraisal takes besides the data; every section is optional."""

    pricing: Pricing | None = None
    cost: CostInputs | None = None
    market: MarketInputs | None = None
    income: IncomeInputs | None = None
    with_and_without: WithWithoutInputs | None = None
    task_specific: TaskInputs | None = None
    dimensional: DimensionalInputs = Field(default_factory=DimensionalInputs)
    model_weights: dict[ModelName, NonNegative] = Field(
        default_factory=dict, description="Weight of each model in the combined range (default 1).")
    as_of: datetime | None = Field(
        None, description="Valuation date (UTC); defaults to today 00:00 UTC so that "
                          "reruns on the same day give the same report and hash.")

    @field_validator("as_of")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def valuation_date(self) -> datetime:
        if self.as_of is not None:
            return self.as_of
        now = datetime.now(UTC)
        return now.replace(hour=0, minute=0, second=0, microsecond=0)


class Price(_Strict):
    per_gpu_hour: float
    currency: str
    source: str


class PriceSource(Protocol):
    """Where the GPU-hour price of a class comes from (inputs now, the price index later)."""

    def price(self, gpu_class: str) -> Price | None: ...


class InputPrice:
    """The price given in the inputs file, for whatever class is appraised."""

    def __init__(self, pricing: Pricing | None) -> None:
        self._pricing = pricing

    def price(self, gpu_class: str) -> Price | None:
        p = self._pricing
        return None if p is None else Price(per_gpu_hour=p.price_per_gpu_hour,
                                            currency=p.currency, source=p.source)


def check_gpu_class(gpu_class: str) -> str:
    if not GPU_CLASS.match(gpu_class):
        raise InputsError(f"GPU class {gpu_class!r} is not a class name (lowercase letters, "
                          "digits and '-', e.g. nvidia-h100-80gb)")
    return gpu_class


def validation_message(exc: ValidationError) -> str:
    """pydantic's errors as one line: ``where: what; where: what``."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: "
                     f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())


def parse_inputs(raw: object, *, where: str = "inputs") -> AppraisalInputs:
    try:
        return AppraisalInputs.model_validate(raw)
    except ValidationError as exc:
        raise InputsError(f"{where} is invalid: {validation_message(exc)}") from None


def load_inputs(path: Path | None) -> AppraisalInputs:
    """Read and validate an inputs JSON file (``None``: no inputs, data-only appraisal)."""
    if path is None:
        return AppraisalInputs()
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputsError(f"inputs file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputsError(f"cannot read inputs file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputsError(f"inputs file {path} is not valid JSON: {exc}") from None
    return parse_inputs(raw, where=f"inputs file {path}")
