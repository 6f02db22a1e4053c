"""Task-specific valuation: the dataset's expected effect on one task's metric."""

from __future__ import annotations

from backend.valuation.models.base import Context, ModelResult, Range


def appraise(ctx: Context) -> ModelResult | None:
    t = ctx.inputs.task_specific
    if t is None:
        return None
    sign = 1 if t.higher_is_better else -1

    def worth(metric_with: float) -> float:
        return max(sign * (metric_with - t.baseline), 0.0) * t.value_per_unit * t.relevance

    mid = worth(t.with_data)
    if t.with_data_low is not None or t.with_data_high is not None:
        money = Range.of(mid, *(worth(v) for v in (t.with_data_low, t.with_data_high)
                                if v is not None))
        spread = "range from the given low/high metric estimates"
    else:
        money = Range.around(mid, t.uncertainty)
        spread = f"±{t.uncertainty:.0%} around the expected gain"
    gain = sign * (t.with_data - t.baseline)
    return ModelResult(
        name="task_specific", title="Task-specific valuation", inputs=t.model_dump(mode="json"),
        assumptions=[
            f"The dataset moves {t.metric} on '{t.task}' from {t.baseline:g} to "
            f"{t.with_data:g}; each unit of improvement is worth {t.value_per_unit:,.2f}.",
            f"Relevance of the dataset to the task: {t.relevance:.0%}; {spread}.",
            "No improvement (or a worse metric) is worth zero.",
        ],
        reasons=[f"expected improvement {gain:g} {t.metric} -> {mid:,.2f}"],
        money=money)
