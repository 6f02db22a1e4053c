"""Market approach: recent prices of comparable datasets, scaled to this one's size and
(optionally) quality."""

from __future__ import annotations

import statistics

from backend.valuation.models.base import Context, ModelResult, Range
from backend.valuation.models.dimensional import quality_score


def appraise(ctx: Context) -> ModelResult | None:
    m = ctx.inputs.market
    if m is None:
        return None
    rows = ctx.profile.rows
    quality = quality_score(ctx.profile, ctx.inputs.dimensional)
    adjusted: list[float] = []
    reasons: list[str] = []
    for comp in m.comparables:
        factor = quality / comp.quality if m.quality_adjust and comp.quality else 1.0
        value = comp.price / comp.rows * rows * factor
        adjusted.append(value)
        reasons.append(f"{comp.name}: {comp.price:,.2f} for {comp.rows:,} rows -> "
                       f"{value:,.2f} for {rows:,} rows" +
                       (f" (quality x{factor:.3f})" if factor != 1.0 else ""))
    mid = statistics.median(adjusted)
    money = (Range.around(mid, m.uncertainty) if len(adjusted) == 1
             else Range(min(adjusted), mid, max(adjusted)))
    return ModelResult(
        name="market", title="Market approach", inputs=m.model_dump(mode="json"),
        assumptions=[
            "Comparable datasets sold at arm's length recently; price scales linearly with rows.",
            "Quality-adjusted by this dataset's dimensional score over the comparable's "
            "(when the comparable's quality is given)." if m.quality_adjust
            else "No quality adjustment.",
            "Range: lowest to highest adjusted comparable, mid: their median"
            if len(adjusted) > 1 else f"One comparable: ±{m.uncertainty:.0%} around it.",
        ],
        reasons=reasons, money=money)
