"""A small PNG chart of the appraisal: each model's low-high range and mid, and the result."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure


def render_chart(report: dict[str, Any]) -> bytes:
    rows = [(m["title"], m["gpu_hours"]) for m in report["models"] if m["gpu_hours"]]
    if report["result"]["gpu_hours"]:
        rows.append(("Combined", report["result"]["gpu_hours"]))
    fig = Figure(figsize=(6.4, 0.55 * max(len(rows), 1) + 1.2), dpi=100)
    ax = fig.add_subplot()
    if not rows:
        ax.text(0.5, 0.5, "not valued: no priced model", ha="center", va="center")
        ax.set_axis_off()
    for y, (label, r) in enumerate(rows):
        colour = "tab:green" if label == "Combined" else "tab:blue"
        ax.plot([r["low"], r["high"]], [y, y], color=colour, linewidth=6, alpha=0.45,
                solid_capstyle="butt")
        ax.plot([r["mid"]], [y], marker="D", color=colour)
    if rows:
        ax.set_yticks(range(len(rows)), [label for label, _ in rows])
        ax.set_xlabel(f"GPU-hours of {report['gpu_class']}")
        ax.set_xlim(left=0)
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"Appraisal of {report['dataset']['name']}", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
