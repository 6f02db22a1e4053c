"""Appraise a dataset: profile it, run every model that has inputs, combine, report."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from backend.valuation.combine import combine
from backend.valuation.inputs import AppraisalInputs, InputPrice, PriceSource, check_gpu_class
from backend.valuation.measure import profile_dataset
from backend.valuation.models import Context, ModelResult, Range, all_models
from backend.valuation.report import SCHEMA


def _range(r: Range | None) -> dict[str, float] | None:
    return None if r is None else asdict(r)


def _model_json(result: ModelResult, ctx: Context) -> dict[str, Any]:
    return {"name": result.name, "title": result.title, "inputs": result.inputs,
            "assumptions": result.assumptions, "reasons": result.reasons,
            "value": _range(result.money), "gpu_hours": _range(result.gpu_hours(ctx.price)),
            **result.extra}


def appraise(path: Path, gpu_class: str, inputs: AppraisalInputs | None = None, *,
             fmt: str | None = None, prices: PriceSource | None = None) -> dict[str, Any]:
    """The appraisal report of ``path`` in GPU-hours of ``gpu_class`` (a JSON-able dict).

    The report holds the file's name, size and SHA-256, not its location, so the same data
    and inputs give the same report (and hash) on any machine.
    """
    gpu_class = check_gpu_class(gpu_class)
    inputs = inputs or AppraisalInputs()
    as_of = inputs.valuation_date()
    price = (prices or InputPrice(inputs.pricing)).price(gpu_class)
    profile = profile_dataset(Path(path), inputs=inputs.dimensional, as_of=as_of, fmt=fmt)
    ctx = Context(gpu_class=gpu_class, inputs=inputs, profile=profile, price=price)
    results = [r for _, model in all_models() if (r := model(ctx)) is not None]
    combined = combine(results, price, dict(inputs.model_weights))
    profile_json = profile.to_json()
    return {
        "schema": SCHEMA,
        "gpu_class": gpu_class,
        "as_of": as_of.isoformat(),
        "dataset": {k: profile_json.pop(k) for k in ("name", "format", "bytes", "sha256")},
        "price": None if price is None else price.model_dump(),
        "profile": profile_json,
        "models": [_model_json(r, ctx) for r in results],
        "result": {"unit": "GPU-hours", "gpu_hours": _range(combined.gpu_hours),
                   "weights": combined.weights, "reasons": combined.reasons},
    }
