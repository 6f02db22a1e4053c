"""A small PNG of the price index: OHLC candles (CPT per GPU-hour) over volume bars (GPU-hours)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

from backend.market.index import IndexPoint

WAD = 10**18


def render_index_chart(point: IndexPoint, interval_s: int) -> bytes:
    fig = Figure(figsize=(6.4, 3.6), dpi=100)
    price_ax, volume_ax = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    title = f"GPU class {point.class_id}, delivery {point.month}"
    if not point.candles:
        price_ax.text(0.5, 0.5, "no fills yet", ha="center", va="center", transform=price_ax.transAxes)
    width = interval_s * 0.6
    for c in point.candles:
        x = c.start + interval_s / 2
        colour = "tab:green" if c.close >= c.open else "tab:red"
        price_ax.vlines(x, c.low / WAD, c.high / WAD, color=colour, linewidth=1)
        price_ax.bar(x, max(abs(c.close - c.open) / WAD, 1e-9), width, bottom=min(c.open, c.close) / WAD,
                     color=colour)
        volume_ax.bar(x, c.volume / 3_600, width, color="tab:gray")
    if point.candles:
        ticks = [c.start + interval_s / 2 for c in point.candles][:: max(1, len(point.candles) // 6)]
        volume_ax.set_xticks(ticks, [datetime.fromtimestamp(t, UTC).strftime("%m-%d %H:%M") for t in ticks],
                             fontsize=7)
        title += f": last {point.last / WAD:.4g}, VWAP {(point.vwap or 0) / WAD:.4g} CPT/h"
    price_ax.set_ylabel("CPT / GPU-h", fontsize=8)
    volume_ax.set_ylabel("GPU-h", fontsize=8)
    price_ax.set_title(title, fontsize=9)
    price_ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
