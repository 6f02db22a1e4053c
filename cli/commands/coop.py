"""``gpubarter coop``: data cooperatives: create, add-member, set-shares, register, claim, show."""

from __future__ import annotations

import typer
from web3.logs import DISCARD

from backend.vault.config import open_store
from backend.vault.manifest import load_manifest
from cli import app
from cli.commands._barter import open_barter
from cli.commands._compute import NetworkOpt, address, print_fields
from cli.commands.output import console, show_tx
from gpubarter.errors import ConfigError
from gpubarter.protocol.units import fmt_cpt, fmt_hours

coop_app = typer.Typer(help="Data cooperatives: members' shares, datasets, credit claims.",
                       no_args_is_help=True)
app.add_typer(coop_app, name="coop")

CoopArg = typer.Argument(..., help="The cooperative's address.")


def _shares(value: int) -> int:
    if value < 0:
        raise ConfigError(f"shares cannot be negative, got {value}")
    return value


@coop_app.command()
def create(
    name: str = typer.Argument(..., help="The cooperative's name, e.g. 'Riverbank'."),
    admin: str | None = typer.Option(None, help="Its admin and first key agent; defaults to you."),
    network: str = NetworkOpt,
) -> None:
    """Create a cooperative (through the protocol's factory)."""
    if not name.strip():
        raise ConfigError("a cooperative needs a name")
    c = open_barter(network)
    sent = c.create_cooperative(name, address(admin) if admin else None)
    show_tx(f"created cooperative {name!r}", sent.txs[0])
    console.print(f"cooperative {sent.value}")


@coop_app.command("add-member")
def add_member(
    coop: str = CoopArg,
    member: str = typer.Argument(..., help="The new member's address."),
    shares: int = typer.Argument(..., help="Its shares (e.g. from its contributed data); at least 1."),
    network: str = NetworkOpt,
) -> None:
    """Add a member with its shares (refused when it already holds shares: use set-shares)."""
    coop, member = address(coop), address(member)
    if shares <= 0:
        raise ConfigError(f"a new member needs at least 1 share, got {shares}")
    c = open_barter(network)
    current = c.cooperative(coop).functions.sharesOf(member).call()
    if current:
        raise ConfigError(f"{member} is already a member with {current} shares; use `coop set-shares`")
    show_tx(f"added {member} with {shares} shares", c.set_shares(coop, member, shares))


@coop_app.command("set-shares")
def set_shares(
    coop: str = CoopArg,
    member: str = typer.Argument(..., help="The member's address."),
    shares: int = typer.Argument(..., help="Its new shares (0: it leaves). Later distributions only."),
    network: str = NetworkOpt,
) -> None:
    """Set a member's shares."""
    coop, member, shares = address(coop), address(member), _shares(shares)
    c = open_barter(network)
    show_tx(f"{member} now holds {shares} shares", c.set_shares(coop, member, shares))


@coop_app.command()
def register(
    coop: str = CoopArg,
    manifest_cid: str = typer.Argument(..., help="The sealed dataset's manifest CID (`dataset seal`)."),
    appraisal: str = typer.Option("0x" + "00" * 32, help="The appraisal's hash (0x + 64 hex)."),
    ipfs_api: str | None = typer.Option(None, help="IPFS RPC API; default: GPUBARTER_IPFS_API or embedded."),
    network: str = NetworkOpt,
) -> None:
    """Register a sealed dataset as the cooperative's, one key commitment per shard (release step)."""
    coop = address(coop)
    try:
        appraisal_hash = bytes.fromhex(appraisal.removeprefix("0x"))
    except ValueError:
        appraisal_hash = b""
    if len(appraisal_hash) != 32:
        raise ConfigError("--appraisal must be 0x followed by 64 hex characters")
    manifest = load_manifest(open_store(ipfs_api), manifest_cid)
    commitments = [bytes.fromhex(s.key_commitment[2:]) for s in manifest.shards]
    c = open_barter(network)
    sent = c.register_dataset(coop, manifest_cid, commitments, bytes.fromhex(manifest.merkle_root[2:]),
                              appraisal_hash)
    show_tx(f"registered dataset {sent.value} ({manifest.k} steps)", sent.txs[0])


@coop_app.command()
def claim(
    coop: str = CoopArg,
    network: str = NetworkOpt,
) -> None:
    """Claim your credits of every distribution you have not claimed yet."""
    coop = address(coop)
    c = open_barter(network)
    contract = c.cooperative(coop).functions
    nxt = contract.nextClaimOf(c.sender.address).call()
    if nxt == 0:
        raise ConfigError(f"{c.sender.address} is not a member of cooperative {coop}")
    if nxt > contract.distributionCount().call():
        raise ConfigError(f"nothing to claim: distribution {nxt} is not open yet")
    for result in c.claim_all(coop):
        logs = c.cooperative(coop).events.Claimed().process_receipt(result.receipt, errors=DISCARD)
        args = logs[0]["args"]
        series = contract.distributionOf(args["distributionId"]).call()[0]
        show_tx(f"claimed {fmt_hours(args['amount'])} of series {series} "
                f"(distribution {args['distributionId']})", result)


@coop_app.command()
def show(
    coop: str = CoopArg,
    member: str | None = typer.Option(None, help="Also show this member's shares and next claim."),
    network: str = NetworkOpt,
) -> None:
    """Show a cooperative's shares, distributions and CPT."""
    coop = address(coop)
    c = open_barter(network)
    f = c.cooperative(coop).functions
    fields = {
        "total shares": str(f.totalShares().call()),
        "distributions": str(f.distributionCount().call()),
        "CPT held": fmt_cpt(c.cpt_balance(coop)),
    }
    if member:
        who = address(member)
        fields[f"shares of {who}"] = str(f.sharesOf(who).call())
        fields[f"next claim of {who}"] = str(f.nextClaimOf(who).call())
    console.print(f"cooperative {coop}")
    print_fields(fields)
