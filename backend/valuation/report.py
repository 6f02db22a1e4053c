"""The appraisal report: canonical JSON (its keccak256 is the on-chain appraisal hash),
a readable summary, and the files written to the output folder."""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import keccak

from backend.valuation.errors import InputsError, ValuationError
from gpubarter.jsonfile import read_json

SCHEMA = "gpubarter.appraisal/1"
SIGNIFICANT_DIGITS = 12


def _normalise(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValuationError(f"report holds a non-finite number ({value})")
        rounded = float(f"{value:.{SIGNIFICANT_DIGITS}g}")
        return int(rounded) if rounded.is_integer() and abs(rounded) < 2**53 else rounded
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    return value


def canonical_json(report: dict[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8, numbers rounded to 12 significant digits (whole
    numbers written as integers): the same report always gives the same bytes."""
    return json.dumps(_normalise(report), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False).encode("utf-8")


def appraisal_hash(report: dict[str, Any]) -> str:
    """``0x`` + keccak256 of the canonical JSON: what the registry records."""
    return "0x" + keccak(canonical_json(report)).hex()


def load_report(path: Path) -> dict[str, Any]:
    report = read_json(path, what="appraisal report", error=InputsError)
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise InputsError(f"{path} is not an appraisal report (expected schema {SCHEMA!r}); "
                          "make one with `gpubarter dataset appraise`")
    return report


def _fmt_range(r: dict[str, float] | None, unit: str) -> str:
    if r is None:
        return "not valued"
    return f"{r['low']:,.1f} / {r['mid']:,.1f} / {r['high']:,.1f} {unit}"


def summary(report: dict[str, Any]) -> str:
    """A readable account of the report."""
    d, p, res = report["dataset"], report["profile"], report["result"]
    price = report.get("price")
    lines = [
        f"Appraisal of {d['name']} ({d['format']}, {d['bytes']:,} bytes, "
        f"sha256 {d['sha256'][:16]}…)",
        f"GPU class {report['gpu_class']}, as of {report['as_of']}"
        + (f", {price['per_gpu_hour']:g} {price['currency']}/GPU-hour ({price['source']})"
           if price else ", no GPU-hour price"),
        "",
        f"Result (low / mid / high): {_fmt_range(res['gpu_hours'], 'GPU-hours')}",
        *(f"  - {r}" for r in res["reasons"]),
        "",
        f"Data: {p['rows']:,} rows x {p['columns']} columns; completeness {p['completeness']:.4f}, "
        f"uniqueness {p['uniqueness']:.4f} ({p['duplicate_rows']:,} duplicate rows), schema "
        f"consistency {p['schema_consistency']:.4f}, freshness {p['freshness']['score']:.4f} "
        f"({p['freshness']['age_days']:.1f} days, {p['freshness']['source']})"
        + (f", label coverage {p['labels']['coverage']:.4f} ({p['labels']['classes']} classes)"
           if p.get("labels") else ""),
        "",
    ]
    for m in report["models"]:
        lines.append(f"{m['title']}: {_fmt_range(m['gpu_hours'], 'GPU-hours')}")
        lines.extend(f"  why: {r}" for r in m["reasons"])
        lines.extend(f"  assumes: {a}" for a in m["assumptions"])
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class WrittenReport:
    json_path: Path
    summary_path: Path
    chart_path: Path
    appraisal_hash: str


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_outputs(report: dict[str, Any], out_dir: Path) -> WrittenReport:
    """Write report.json (canonical bytes), summary.txt and chart.png into ``out_dir``."""
    from backend.valuation.chart import render_chart

    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputsError(f"cannot create output folder {out_dir}: {exc}") from None
    paths = WrittenReport(out_dir / "report.json", out_dir / "summary.txt",
                          out_dir / "chart.png", appraisal_hash(report))
    # Render everything before writing anything, then replace each file atomically.
    contents = {paths.json_path: canonical_json(report),
                paths.summary_path: summary(report).encode("utf-8"),
                paths.chart_path: render_chart(report)}
    for path, data in contents.items():
        _atomic_write(path, data)
    return paths
