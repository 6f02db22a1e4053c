"""Dimensional model: quality measured from the data, priced per thousand rows."""

from __future__ import annotations

from backend.valuation.inputs import DimensionalInputs
from backend.valuation.models.base import Context, ModelResult, Range
from backend.valuation.profile import DatasetProfile


def quality_score(profile: DatasetProfile, inputs: DimensionalInputs) -> float:
    """Weighted mean of the measured dimensions (label coverage only with a label column)."""
    scores = profile.scores()
    weights = {k: w for k, w in inputs.weights.items() if k in scores}
    total = sum(weights.values())
    if total == 0:
        return sum(scores.values()) / len(scores)
    return sum(scores[k] * w for k, w in weights.items()) / total


def appraise(ctx: Context) -> ModelResult:
    d, p = ctx.inputs.dimensional, ctx.profile
    quality = quality_score(p, d)
    reasons = [f"{name.replace('_', ' ')} {score:.4f}" for name, score in p.scores().items()]
    reasons.append(f"quality score {quality:.4f} over {p.rows:,} rows")
    money = None
    if d.value_per_1k_rows is not None:
        money = Range.around(p.rows / 1000 * d.value_per_1k_rows * quality, d.uncertainty)
        reasons.append(f"{p.rows:,} rows x {d.value_per_1k_rows:,.4f} per 1,000 x quality "
                       f"{quality:.4f} = {money.mid:,.2f}")
    else:
        reasons.append("not priced: give dimensional.value_per_1k_rows to price it")
    used = {k: w for k, w in d.weights.items() if k in p.scores()}
    return ModelResult(
        name="dimensional", title="Dimensional model", inputs=d.model_dump(mode="json"),
        assumptions=[
            "Value grows linearly with rows and with a quality score, the weighted mean of "
            f"the measured dimensions (weights {used}).",
            f"Freshness halves every {d.freshness_half_life_days:g} days of age of the newest "
            f"record ({p.freshness.source}).",
            f"Weights are a judgement; ±{d.uncertainty:.0%} around the result.",
        ],
        reasons=reasons, money=money, extra={"quality_score": quality})
