"""``gpubarter demo``: the README's main job."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from cli import app
from cli.commands.output import console
from cli.demo import DemoReport, run_demo


@app.command()
def demo(
    workdir: Path | None = typer.Option(None, "--dir", help="Work dir of the demo's stack, kept afterwards "
                                        "[default: a fresh temp dir, removed after a clean run and kept, "
                                        "with its logs, when a step failed]."),
    no_ipfs: bool = typer.Option(False, "--no-ipfs", help="Use the embedded content store, no IPFS node."),
) -> None:
    """Start a fresh dev stack, run the scenario on it, print a summary; exit 1 if a step failed."""
    status = console.status("starting the dev stack (chain, deployment, IPFS, backend, oracle)…")
    status.start()

    def stack_up(stack: object) -> None:
        status.stop()
        console.print("the stack is up; running the scenario", markup=False)

    try:
        report = run_demo(say=lambda line: console.print(line, markup=False), workdir=workdir,
                          ipfs=not no_ipfs, on_stack_up=stack_up)
    finally:
        status.stop()
    console.print(f"the dev stack is stopped; the demo took {report.seconds:.1f} s")
    console.print(summary(report))
    if report.failures:
        for failure in report.failures:
            console.print(f"FAILED: {failure}", markup=False)
        raise typer.Exit(code=1)


def summary(report: DemoReport) -> Table:
    table = Table(title="GPU Barter demo summary", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    hours = report.gpu_hours_delivered
    table.add_row("GPU-hours delivered", f"{hours:,.4f} ({hours * 3600:,.0f} GPU-s)")
    table.add_row("key steps released", str(report.steps_released))
    for role, gas in report.gas_by_role().items():
        table.add_row(f"gas spent by {role}", f"{gas:,}")
    for member, what in report.received.items():
        table.add_row(f"{member} received", what)
    table.add_row("failed steps", str(len(report.failures)))
    return table
