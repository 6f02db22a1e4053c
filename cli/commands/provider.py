"""``gpubarter provider``: register, stake, unstake, withdraw, show."""

from __future__ import annotations

import typer

from cli import app
from cli.commands._compute import (
    NetworkOpt,
    address,
    fmt_time,
    open_client,
    print_fields,
    show_txs,
)
from cli.commands.output import console, show_tx
from gpubarter.protocol.types import ProviderInfo
from gpubarter.protocol.units import cpt_to_wei, fmt_cpt

provider_app = typer.Typer(
    help="Compute providers: register, stake CPT, unstake, withdraw.", no_args_is_help=True
)
app.add_typer(provider_app, name="provider")


def _summary(info: ProviderInfo) -> None:
    print_fields(
        {
            "provider": info.address,
            "registered": "yes" if info.registered else "no",
            "metadata": info.metadata_cid or "-",
            "stake": fmt_cpt(info.stake),
            "locked": f"{fmt_cpt(info.locked)} (backs its outstanding credits, rate plus penalty)",
            "free": fmt_cpt(info.free),
            "unbonding": (
                f"{fmt_cpt(info.unbonding)} (withdrawable at {fmt_time(info.unbonding_end)})"
                if info.unbonding
                else "-"
            ),
        }
    )


@provider_app.command()
def register(
    metadata_cid: str = typer.Argument(
        ..., help="IPFS CID of the provider's metadata (hardware, region, GPU classes)."
    ),
    network: str = NetworkOpt,
) -> None:
    """Register your address as a compute provider."""
    c = open_client(network)
    show_tx("registered", c.register(metadata_cid))
    _summary(c.provider())


@provider_app.command()
def stake(
    amount: str = typer.Argument(..., help="CPT to stake, in whole tokens (e.g. 5000)."),
    network: str = NetworkOpt,
) -> None:
    """Stake CPT as collateral (approves the registry first when needed)."""
    wei = cpt_to_wei(amount)
    c = open_client(network)
    sent = c.stake(wei)
    show_txs("approve", sent.txs[:-1])
    show_tx(f"staked {fmt_cpt(wei)}", sent.txs[-1])
    _summary(c.provider())


@provider_app.command()
def unstake(
    amount: str = typer.Argument(..., help="CPT to unstake, in whole tokens."),
    network: str = NetworkOpt,
) -> None:
    """Start unbonding free stake; withdraw it after the unbonding period."""
    wei = cpt_to_wei(amount)
    c = open_client(network)
    show_tx(f"unstaking {fmt_cpt(wei)}", c.request_unstake(wei))
    _summary(c.provider())


@provider_app.command()
def withdraw(network: str = NetworkOpt) -> None:
    """Withdraw CPT whose unbonding period has passed."""
    c = open_client(network)
    amount = c.provider().unbonding
    show_tx(f"withdrew {fmt_cpt(amount)}", c.withdraw())
    console.print(f"{c.sender.address} now holds {fmt_cpt(c.cpt_balance())}")


@provider_app.command()
def show(
    who: str | None = typer.Argument(None, help="Defaults to your signer's address."),
    network: str = NetworkOpt,
) -> None:
    """Show a provider's registration and stake."""
    c = open_client(network)
    _summary(c.provider(address(who) if who else None))
