"""``gpubarter token``: the compute token (CPT) from the command line."""

from __future__ import annotations

import typer

from cli import app
from cli.commands._compute import NetworkOpt, address
from cli.commands.output import console, show_tx
from gpubarter.protocol.units import cpt_to_wei, fmt_cpt
from gpubarter.session import ChainSession

token_app = typer.Typer(help="The compute token (CPT): faucet, balance, transfer.", no_args_is_help=True)
app.add_typer(token_app, name="token")

@token_app.command()
def faucet(network: str = NetworkOpt) -> None:
    """Take CPT from the testnet faucet (rate-limited per address)."""
    s = ChainSession.open(network)
    token = s.contract("ComputeToken")
    show_tx("faucet", s.sender.transact(token.functions.faucet()))
    held = token.functions.balanceOf(s.sender.address).call()
    console.print(f"{s.sender.address} now holds {fmt_cpt(held)}")


@token_app.command()
def balance(account: str | None = typer.Argument(None, help="Defaults to your signer's address."),
            network: str = NetworkOpt) -> None:
    """Show a CPT balance."""
    s = ChainSession.open(network)
    who = address(account or s.sender.address)
    console.print(f"{who}: {fmt_cpt(s.contract('ComputeToken').functions.balanceOf(who).call())}")


@token_app.command()
def transfer(to: str = typer.Argument(..., help="Recipient address."),
             amount: str = typer.Argument(..., help="CPT, e.g. 12.5."),
             network: str = NetworkOpt) -> None:
    """Send CPT to an address."""
    wei, recipient = cpt_to_wei(amount), address(to)
    s = ChainSession.open(network)
    show_tx(f"sent {fmt_cpt(wei)} to {recipient}",
            s.sender.transact(s.contract("ComputeToken").functions.transfer(recipient, wei)))

