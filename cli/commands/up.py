"""``gpubarter up``: the whole local stack in one command, supervised until Ctrl-C.

A child process that dies (the oracle daemon, later the agents) is reported and
restarted with a back-off (1 s doubling to 30 s); one that fails 5 times in a row, or
a core part that stops (chain, IPFS node, backend), stops the stack with a one-line
error and exit status 1. SIGINT and SIGTERM stop everything in order and exit 0.
"""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType

import typer
from rich.table import Table

from cli import app
from cli.commands.output import console
from cli.stack import DevStack
from cli.stack_agents import coop_keys_dir
from gpubarter.settings import settings


class _StopRequested(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the shutdown short
        signal.signal(sig, signal.SIG_IGN)
    raise _StopRequested(signum)


def print_stack(stack: DevStack) -> None:
    urls = Table(title="GPU Barter dev stack", show_header=False)
    urls.add_column("what")
    urls.add_column("where")
    urls.add_row("chain RPC", f"{stack.chain_url} (chain id {stack.deployment.chain_id})")
    urls.add_row("API", f"{stack.api_url}/api/v1")
    urls.add_row("API docs", f"{stack.api_url}/docs")
    urls.add_row("IPFS API", stack.ipfs_api_url or f"none (--no-ipfs): embedded store {stack.store.location}")
    urls.add_row("oracle metrics", stack.metrics_url or "none (no oracle)")
    if stack.gpu is not None:
        urls.add_row("GPUs", f"SIMULATED x{stack.gpu.gpus}" if stack.gpu.simulated
                     else f"{stack.gpu.gpus} via NVML: {stack.gpu.detail}")
    if stack.dev_cooperative is not None:

        urls.add_row("key agents", f"'Dev Co-op' {stack.dev_cooperative} (key store {coop_keys_dir(stack)}); "
                     "the dev provider's")
    urls.add_row("deployments", str(stack.deployments_dir))
    urls.add_row("work dir", f"{stack.workdir} (logs in {stack.logs_dir})")
    console.print(urls)
    accounts = Table(title="funded dev accounts (anvil's test mnemonic; keys are never printed)")
    accounts.add_column("#", justify="right")
    accounts.add_column("address", no_wrap=True, min_width=42)
    accounts.add_column("roles")
    for a in stack.accounts:
        accounts.add_row(str(a.index), a.address, "; ".join(a.roles))
    console.print(accounts)


@app.command()
def up(
    port: int = typer.Option(8000, "--port", "-p", min=1, max=65535, help="The API's port on 127.0.0.1."),
    workdir: Path | None = typer.Option(
        None, "--dir", help="Work dir for all state (chain, IPFS, index, meter, logs) [default: a fresh "
        "temp dir]. Started again on the same dir, the chain and deployment are reloaded."),
    no_ipfs: bool = typer.Option(False, "--no-ipfs", help="Use the embedded content store, no IPFS node."),
    database_url: str | None = typer.Option(
        None, "--database-url",
        help="SQLAlchemy URL of the index (default: GPUBARTER_DATABASE_URL, else SQLite in the work dir)."),
    sim_gpus: int = typer.Option(1, "--sim-gpus", min=1, max=64,
                                 help="Simulated GPUs, when NVML finds no GPU."),
) -> None:
    """Start chain, IPFS, deployment, backend, oracle and key agents; supervise them until Ctrl-C."""
    handlers = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack = DevStack(workdir=workdir, api_port=port, ipfs=not no_ipfs,
                     database_url=database_url or settings().database.url,
                     sim_gpus=sim_gpus, agents=True, say=lambda line: console.print(line, markup=False))
    console.print(f"starting the dev stack in {stack.workdir}")
    try:
        with stack:
            print_stack(stack)
            console.print("the stack is up; Ctrl-C stops it", markup=False)
            stack.watch()
    except _StopRequested as stop:
        console.print(f"{stop}: stopped every part of the stack; its state stays in {stack.workdir}",
                      markup=False)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
