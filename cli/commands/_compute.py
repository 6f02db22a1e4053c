"""What the ``provider``, ``series`` and ``job`` command groups share: options, the client,
times and amounts as users type and read them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import typer
from web3 import Web3

from cli.commands.output import console, show_tx
from gpubarter.chain.tx import TxResult
from gpubarter.errors import ConfigError
from gpubarter.protocol.credits import ComputeClient
from gpubarter.session import ChainSession

NetworkOpt = typer.Option("local", "--network", "-n", help="A network from networks.toml.")


def open_client(network: str) -> ComputeClient:
    """A client signing with the session's key (GPUBARTER_PRIVATE_KEY, keystore, or dev key)."""
    session = ChainSession.open(network)
    return ComputeClient(session.sender, session.deployment, log_range=session.network.max_log_range)


def show_txs(what: str, results: Iterable[TxResult]) -> None:
    for result in results:
        show_tx(what, result)


def address(text: str) -> str:
    if not Web3.is_address(text):
        raise ConfigError(f"{text!r} is not an Ethereum address (0x followed by 40 hex characters)")
    return Web3.to_checksum_address(text)


def positive_id(value: int, what: str) -> int:
    if value <= 0:
        raise ConfigError(f"{what} must be a positive integer, got {value}")
    return value


def parse_time(text: str, now: int) -> int:
    """``now``, ``+3d``/``+12h``/``+30m`` from now, Unix seconds, or ISO 8601 (UTC unless given)."""
    t = text.strip()
    if t == "now":
        return now
    if t.startswith("+") and len(t) > 2 and t[-1] in "dhm" and t[1:-1].isdigit():
        return now + int(t[1:-1]) * {"d": 86_400, "h": 3_600, "m": 60}[t[-1]]
    if t.isdigit():
        return int(t)
    try:
        moment = datetime.fromisoformat(t)
    except ValueError:
        raise ConfigError(
            f"{text!r} is not a time: use now, +7d, +12h, Unix seconds or "
            "ISO 8601 such as 2026-12-01T00:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def fmt_time(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "-"


def print_fields(fields: dict[str, str]) -> None:
    width = max(len(k) for k in fields)
    for key, value in fields.items():
        console.print(f"  {key:<{width}}  {value}")
