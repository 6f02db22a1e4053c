"""``gpubarter demo``: the README's main job."""

from __future__ import annotations

from rich.table import Table

from gpubarter.cli import app
from gpubarter.cli.output import console
from gpubarter.demo import run_demo
from gpubarter.deploy_plan import WAD


@app.command()
def demo() -> None:
    """Start a fresh local chain, deploy, run the scenario, print a summary."""
    report = run_demo(say=console.print)
    table = Table(title="GPU Barter demo summary")
    table.add_column("role")
    table.add_column("gas spent", justify="right")
    table.add_column("CPT held", justify="right")
    gas_by_role = report.gas_by_role()
    for role in dict.fromkeys([*gas_by_role, *report.balances]):
        gas, held = gas_by_role.get(role, 0), report.balances.get(role)
        table.add_row(role, f"{gas:,}", "" if held is None else f"{held / WAD:,.2f}")
    console.print(table)
    console.print(f"demo finished in {report.seconds:.1f} s; the local chain is stopped")
