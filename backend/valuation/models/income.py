"""Income approach and the with-and-without method: discounted cash flows."""

from __future__ import annotations

from collections.abc import Sequence

from backend.valuation.models.base import Context, ModelResult, Range


def npv(cash_flows: Sequence[float], rate: float) -> float:
    """Net present value of end-of-period ``cash_flows`` (period 1 first) at ``rate``."""
    return sum(cf / (1 + rate) ** t for t, cf in enumerate(cash_flows, start=1))


def _discounted(flows: Sequence[float], rate: float, spread: float) -> Range:
    """NPV at ``rate`` (mid) and at ``rate`` ± ``spread`` (the range), never below zero."""
    return Range.of(npv(flows, rate), npv(flows, rate + spread),
                    npv(flows, max(rate - spread, 0.0))).clamp_at_zero()


def appraise(ctx: Context) -> ModelResult | None:
    i = ctx.inputs.income
    if i is None:
        return None
    flows = [cf * i.attribution for cf in i.cash_flows]
    money = _discounted(flows, i.discount_rate, i.discount_rate_spread)
    return ModelResult(
        name="income", title="Income approach", inputs=i.model_dump(mode="json"),
        assumptions=[
            "Cash flows arrive at the end of each period and are the user's projections.",
            f"{i.attribution:.0%} of them is due to this dataset.",
            f"Discount rate {i.discount_rate:.2%} per period; range at "
            f"±{i.discount_rate_spread:.2%}. A negative present value counts as zero.",
        ],
        reasons=[f"{len(flows)} periods, attributed total {sum(flows):,.2f}, present value "
                 f"{money.mid:,.2f}"],
        money=money)


def appraise_with_and_without(ctx: Context) -> ModelResult | None:
    w = ctx.inputs.with_and_without
    if w is None:
        return None
    delta = [a - b for a, b in zip(w.with_data, w.without_data, strict=True)]
    money = _discounted(delta, w.discount_rate, w.discount_rate_spread)
    return ModelResult(
        name="with_and_without", title="With-and-without method",
        inputs=w.model_dump(mode="json"),
        assumptions=[
            "Value is the present value of the difference between the business's cash flows "
            "with the dataset and without it, period by period.",
            f"Discount rate {w.discount_rate:.2%}; range at ±{w.discount_rate_spread:.2%}. "
            "A negative difference counts as zero.",
        ],
        reasons=[f"incremental cash flow {sum(delta):,.2f} over {len(delta)} periods, present "
                 f"value {money.mid:,.2f}"],
        money=money)
