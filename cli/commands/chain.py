"""``gpubarter node`` and ``gpubarter deploy``."""

from __future__ import annotations

import json
import signal
import threading

import typer

from cli import app
from cli.commands.output import console
from devservers.anvil import LocalChain
from gpubarter.chain.accounts import dev_account
from gpubarter.chain.network import node_state_file, redact
from gpubarter.deploy_web3 import deploy_all
from gpubarter.deployment_record import deployment_path
from gpubarter.session import ChainSession


def _progress(name: str, address: str, gas: int) -> None:
    console.print(f"  {name:<20} {address}  gas {gas:,}")


@app.command()
def deploy(
    network: str = typer.Option("local", "--network", "-n", help="A network from networks.toml."),
    rpc_url: str | None = typer.Option(None, "--rpc-url", help="Override the network's RPC URL."),
) -> None:
    """Deploy every contract in order and write deployments/<chain-id>.json.

    A non-local network needs GPUBARTER_PRIVATE_KEY, or GPUBARTER_KEYSTORE with
    GPUBARTER_KEYSTORE_PASSWORD, and the network's RPC URL variable.
    """
    session = ChainSession.open(network, rpc_url=rpc_url)
    url = rpc_url or session.network.rpc_url()
    console.print(f"deploying to {network} (chain {session.sender.chain_id}, {redact(url)}) "
                  f"from {session.sender.address}")
    dep = deploy_all(session.sender, network=network, progress=_progress)
    console.print(f"wrote {deployment_path(dep.chain_id)}")


@app.command()
def node(
    port: int = typer.Option(8545, "--port", "-p", min=1, max=65535, help="Loopback port to listen on."),
    deploy_contracts: bool = typer.Option(False, "--deploy", help="Deploy the protocol once it is up."),
    block_time: float | None = typer.Option(None, "--block-time", min=0.1,
                                            help="Mine every N seconds instead of on each transaction."),
) -> None:
    """Start a local chain (anvil on 127.0.0.1) and keep it running until Ctrl-C."""
    state = node_state_file()
    with LocalChain(port=port, block_time=block_time) as chain:
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps({"url": chain.url, "pid": chain.pid, "chainId": chain.chain_id}))
        try:
            console.print(f"local chain {chain.chain_id} at {chain.url}")
            console.print("funded dev accounts (anvil's public test mnemonic; never use on a real chain):")
            for i in range(chain.accounts):
                console.print(f"  [{i}] {dev_account(i).address}")
            if deploy_contracts:
                session = ChainSession.open("local", rpc_url=chain.url)
                deploy_all(session.sender, network="local", progress=_progress)
            stop = threading.Event()  # handlers first: a Ctrl-C right after the prompt still stops cleanly
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            console.print("press Ctrl-C to stop")
            stop.wait()
        finally:
            state.unlink(missing_ok=True)
    console.print("local chain stopped")
