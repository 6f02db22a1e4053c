"""The valuation models. Each takes the context and returns a :class:`ModelResult` that
states its inputs, its assumptions and why it came out as it did (:mod:`.base`)."""

from __future__ import annotations

from backend.valuation.models import cost, dimensional, income, market, task
from backend.valuation.models.base import Context, Model, ModelResult, Range

__all__ = ["Context", "Model", "ModelResult", "Range", "all_models"]


def all_models() -> list[tuple[str, Model]]:
    return [("cost", cost.appraise), ("market", market.appraise), ("income", income.appraise),
            ("with_and_without", income.appraise_with_and_without),
            ("task_specific", task.appraise), ("dimensional", dimensional.appraise)]
