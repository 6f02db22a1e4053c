"""``gpubarter bench <suite>``: measure, print a table, write JSON."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import typer
from rich.table import Table

from cli import app
from cli.bench import load_suite, suites
from cli.commands.output import console
from gpubarter.errors import ConfigError


@app.command()
def bench(
    suite: str = typer.Argument(..., help="A suite: toolchain, gas, oracle, vault, escrow, api, "
                                "exchange (those that exist)."),
    json_path: Path | None = typer.Option(None, "--json", help="Also write the results here."),
) -> None:
    """Run a benchmark suite: a table of measurements, each beside its baseline and budget."""
    if suite not in suites():
        raise ConfigError(f"unknown bench suite {suite!r}; choose one of: {', '.join(suites())}")
    console.print(f"running bench suite {suite!r} ...")
    started = time.time()
    rows = load_suite(suite)()
    table = Table(title=f"gpubarter bench {suite}")
    for col, just in (("measurement", "left"), ("value", "right"), ("baseline", "left"),
                      ("ratio", "right"), ("budget", "left"), ("ok", "center")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for m in rows:
        base = f"{m.baseline} = {m.baseline_value:.4g} {m.unit}" if m.baseline_value is not None else ""
        ratio = f"{m.ratio:.2f}x" if m.ratio is not None else ""
        ok = "" if m.ok is None else ("yes" if m.ok else "NO")
        table.add_row(m.name, f"{m.value:.4g} {m.unit}", base, ratio, m.budget, ok)
    console.print(table)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"suite": suite, "started": started, "machine": platform.platform(),
               "cpus": __import__("os").cpu_count(), "results": [m.to_json() for m in rows]}
        json_path.write_text(json.dumps(doc, indent=2) + "\n")
        console.print(f"wrote {json_path}")
    if any(m.ok is False for m in rows):
        raise typer.Exit(code=2)
