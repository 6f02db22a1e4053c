"""``gpubarter agent coop|provider``: run a key agent until stopped (SIGINT/SIGTERM).

Progress goes to stderr as JSON lines; keys and secrets never do. ``--once`` polls once and exits.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer

from backend.agents.base import stderr_log
from backend.agents.coop import CoopKeyAgent
from backend.agents.provider import ProviderAgent
from backend.vault.config import open_keystore, open_store
from backend.vault.keystore import KeyStore
from cli import app
from cli.commands._barter import KeyDirOpt, agent_dir, deal_key_dir, open_barter
from cli.commands._compute import NetworkOpt, address
from gpubarter import paths
from gpubarter.errors import ConfigError

agent_app = typer.Typer(help="Key agents of barter deals (the dev stack starts them).", no_args_is_help=True)
app.add_typer(agent_app, name="agent")

IntervalOpt = typer.Option(2.0, "--interval", help="Seconds between polls of the chain.")
OnceOpt = typer.Option(False, "--once", help="Poll once and exit.")
StateOpt = typer.Option(None, "--state-dir", help="The agent's own state (default: <state dir>/agents/...).")


def _serve(agent: CoopKeyAgent | ProviderAgent, once: bool, interval: float) -> None:
    if interval <= 0:
        raise ConfigError(f"--interval must be positive, got {interval}")
    if once:
        agent.poll_once()
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    agent.run(stop, interval_s=interval)


@agent_app.command("coop")
def coop_agent(
    coop: str = typer.Argument(..., help="The cooperative whose deals' keys the agent releases."),
    keys: Path | None = typer.Option(None, "--keys", help="The vault key store (default: the vault's)."),
    state_dir: Path | None = StateOpt,
    interval: float = IntervalOpt,
    once: bool = OnceOpt,
    network: str = NetworkOpt,
) -> None:
    """Release each due step's key of the cooperative's deals, sealed to the provider's key."""
    coop = address(coop)
    keystore = KeyStore(keys) if keys else open_keystore()
    c = open_barter(network)
    log = stderr_log("coop")
    agent = CoopKeyAgent(c, coop, keystore, agent_dir(f"coop-{coop}", state_dir), log)
    _serve(agent, once, interval)


@agent_app.command("provider")
def provider_agent(
    key_dir: Path | None = KeyDirOpt,
    out: Path | None = typer.Option(
        None, "--out", help="Where opened shards go (default: <state dir>/shards)"),
    ipfs_api: str | None = typer.Option(None, help="IPFS RPC API; default: GPUBARTER_IPFS_API or embedded."),
    state_dir: Path | None = StateOpt,
    interval: float = IntervalOpt,
    once: bool = OnceOpt,
    network: str = NetworkOpt,
) -> None:
    """Open each released key of your deals, fetch and decrypt its shard, dispute wrong keys."""
    c = open_barter(network)
    log = stderr_log("provider")
    agent = ProviderAgent(c, deal_key_dir(key_dir), open_store(ipfs_api), out or paths.state_dir() / "shards",
                          agent_dir(f"provider-{c.sender.address}", state_dir), log)
    _serve(agent, once, interval)
