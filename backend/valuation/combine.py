"""Combine the models' ranges into one low / mid / high in GPU-hours, with reasons."""

from __future__ import annotations

from dataclasses import dataclass

from backend.valuation.inputs import Price
from backend.valuation.models import ModelResult, Range

DISAGREEMENT = 3.0  # mids further apart than this factor are flagged


@dataclass(frozen=True)
class Combined:
    gpu_hours: Range | None
    weights: dict[str, float]
    reasons: list[str]


def combine(results: list[ModelResult], price: Price | None,
            model_weights: dict[str, float]) -> Combined:
    priced = [r for r in results if r.money is not None]
    if not priced:
        return Combined(None, {}, [
            "no model could put a value on the dataset: give cost, market, income, "
            "with_and_without, task_specific inputs or dimensional.value_per_1k_rows, with "
            "pricing.price_per_gpu_hour"])
    if price is None:
        return Combined(None, {}, [
            f"models {[r.name for r in priced]} value the dataset in money, but no GPU-hour "
            "price was given: set pricing.price_per_gpu_hour"])
    weights = {r.name: float(model_weights.get(r.name, 1.0)) for r in priced}
    total = sum(weights.values())
    if total == 0:
        return Combined(None, weights, ["every priced model has weight 0 in model_weights"])
    ranges = {r.name: r.gpu_hours(price) for r in priced}
    combined = Range(*(sum(getattr(ranges[n], f) * w for n, w in weights.items()) / total
                       for f in ("low", "mid", "high")))
    used = [n for n, w in weights.items() if w > 0]
    reasons = [
        f"weighted mean of {len(used)} model(s) ({', '.join(f'{n} x{weights[n]:g}' for n in used)})"
        f" at {price.per_gpu_hour:g} {price.currency} per GPU-hour ({price.source})",
    ]
    mids = {n: ranges[n].mid for n in used}
    top, bottom = max(mids, key=mids.__getitem__), min(mids, key=mids.__getitem__)
    if len(used) > 1:
        if mids[bottom] <= 0 or mids[top] / mids[bottom] > DISAGREEMENT:
            reasons.append(f"models disagree: {top} says {mids[top]:,.1f} GPU-hours, {bottom} "
                           f"{mids[bottom]:,.1f}; check their inputs before relying on the mid")
        else:
            reasons.append(f"models agree within x{mids[top] / mids[bottom]:.2f} "
                           f"({bottom} lowest, {top} highest)")
    return Combined(combined, weights, reasons)
