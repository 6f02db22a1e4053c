"""``gpubarter token``: the compute token (CPT) from the command line."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import typer

from gpubarter.cli import app
from gpubarter.cli.output import console, show_tx
from gpubarter.deploy_plan import WAD
from gpubarter.errors import ConfigError
from gpubarter.session import ChainSession

token_app = typer.Typer(help="The compute token (CPT): faucet, balance, transfer.", no_args_is_help=True)
app.add_typer(token_app, name="token")

NetworkOpt = typer.Option("local", "--network", "-n", help="A network from networks.toml.")


def parse_cpt(text: str) -> int:
    """Whole CPT (decimals allowed, up to 18 places) -> wei of CPT."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ConfigError(f"{text!r} is not an amount of CPT (e.g. 12.5)") from None
    wei = value * WAD
    if not value.is_finite() or value <= 0 or wei != wei.to_integral_value():
        raise ConfigError(f"amount must be a positive number of CPT with at most 18 decimals, got {text!r}")
    if wei >= 2**256:
        raise ConfigError(f"amount {text} CPT is too large")
    return int(wei)


def fmt_cpt(wei: int) -> str:
    return f"{Decimal(wei) / WAD:,.6f}".rstrip("0").rstrip(".") + " CPT"


@token_app.command()
def faucet(network: str = NetworkOpt) -> None:
    """Take CPT from the testnet faucet (rate-limited per address)."""
    s = ChainSession.open(network)
    token = s.contract("ComputeToken")
    show_tx("faucet", s.sender.transact(token.functions.faucet()))
    held = token.functions.balanceOf(s.sender.address).call()
    console.print(f"{s.sender.address} now holds {fmt_cpt(held)}")


@token_app.command()
def balance(address: str | None = typer.Argument(None, help="Defaults to your signer's address."),
            network: str = NetworkOpt) -> None:
    """Show a CPT balance."""
    s = ChainSession.open(network)
    who = _address(address or s.sender.address)
    console.print(f"{who}: {fmt_cpt(s.contract('ComputeToken').functions.balanceOf(who).call())}")


@token_app.command()
def transfer(to: str = typer.Argument(..., help="Recipient address."),
             amount: str = typer.Argument(..., help="CPT, e.g. 12.5."),
             network: str = NetworkOpt) -> None:
    """Send CPT to an address."""
    wei, recipient = parse_cpt(amount), _address(to)
    s = ChainSession.open(network)
    show_tx(f"sent {fmt_cpt(wei)} to {recipient}",
            s.sender.transact(s.contract("ComputeToken").functions.transfer(recipient, wei)))


def _address(text: str) -> str:
    from web3 import Web3

    if not Web3.is_address(text):
        raise ConfigError(f"{text!r} is not an Ethereum address (0x followed by 40 hex characters)")
    return Web3.to_checksum_address(text)
