"""Cost approach: what collecting, cleaning, labelling and keeping the data cost."""

from __future__ import annotations

from backend.valuation.models.base import Context, ModelResult, Range


def appraise(ctx: Context) -> ModelResult | None:
    c = ctx.inputs.cost
    if c is None:
        return None
    mid = c.total * (1 - c.obsolescence) * (1 + c.markup)
    return ModelResult(
        name="cost", title="Cost approach", inputs=c.model_dump(mode="json"),
        assumptions=[
            "Value is the historical cost of producing the data, less obsolescence, plus markup.",
            f"Cost figures are known within ±{c.uncertainty:.0%}.",
            "Ignores scarcity and what buyers would pay; a floor more than a price.",
        ],
        reasons=[f"costs total {c.total:,.2f}; after {c.obsolescence:.0%} obsolescence and "
                 f"{c.markup:.0%} markup: {mid:,.2f}"],
        money=Range.around(mid, c.uncertainty))
