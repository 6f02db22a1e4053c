"""``gpubarter series``: GPU-hour credit series: create, mint, show, classes."""

from __future__ import annotations

import json

import typer

from cli import app
from cli.commands._compute import (
    NetworkOpt,
    address,
    fmt_time,
    open_client,
    parse_time,
    positive_id,
    print_fields,
)
from cli.commands.output import console, show_tx
from gpubarter.errors import ConfigError
from gpubarter.protocol.units import SECONDS_PER_HOUR, fmt_cpt, fmt_hours, hours_to_seconds

series_app = typer.Typer(
    help="GPU-hour credit series (ERC-1155 ids): create, mint, show.", no_args_is_help=True
)
app.add_typer(series_app, name="series")


@series_app.command()
def create(
    gpu_class: str = typer.Option(
        ..., "--class", "-c", help="GPU class id or name, e.g. nvidia-h100-80gb."
    ),
    start: str = typer.Option("now", help="Window start: now, +1d, Unix seconds or ISO 8601."),
    end: str = typer.Option(
        ..., help="Window end (credits expire): +30d, Unix seconds or ISO 8601."
    ),
    network: str = NetworkOpt,
) -> None:
    """Create a stake-backed series of your GPU time (mint credits into it afterwards)."""
    c = open_client(network)
    now = int(c.w3.eth.get_block("latest")["timestamp"])
    begin, finish = parse_time(start, now), parse_time(end, now)
    if finish <= begin:
        raise ConfigError(
            f"the window must end after it starts ({fmt_time(begin)} .. {fmt_time(finish)})"
        )
    klass = c.resolve_class(gpu_class)
    sent = c.create_series(klass.class_id, begin, finish)
    show_tx(f"created series {sent.value}", sent.txs[0])
    console.print(
        f"series {sent.value}: {klass.name}, {fmt_time(begin)} .. {fmt_time(finish)}; "
        f"each GPU-hour minted locks {fmt_cpt(klass.collateral_rate * SECONDS_PER_HOUR)}"
    )


@series_app.command()
def mint(
    series_id: int = typer.Argument(..., help="The series id."),
    hours: str = typer.Argument(..., help="GPU-hours to mint, e.g. 10 or 0.5."),
    to: str | None = typer.Option(None, help="Recipient; defaults to your address."),
    network: str = NetworkOpt,
) -> None:
    """Mint credits of your series, locking collateral from your free stake."""
    seconds, sid = hours_to_seconds(hours), positive_id(series_id, "series id")
    recipient = address(to) if to else None
    c = open_client(network)
    show_tx(f"minted {fmt_hours(seconds)} of series {sid}", c.mint(sid, seconds, recipient))
    s = c.series(sid)
    console.print(
        f"series {sid}: {fmt_hours(s.outstanding)} outstanding; "
        f"free stake {fmt_cpt(c.provider(s.provider).free)}"
    )


@series_app.command()
def show(
    series_id: int = typer.Argument(..., help="The series id."),
    as_json: bool = typer.Option(False, "--json", help="Print the metadata JSON uri(id) serves."),
    holder: str | None = typer.Option(None, help="Also show this address's balance."),
    network: str = NetworkOpt,
) -> None:
    """Show a series' terms, supply, delivery and collateral."""
    sid = positive_id(series_id, "series id")
    c = open_client(network)
    if as_json:
        console.print_json(json.dumps(c.metadata(sid)))
        return
    s = c.series(sid)
    fields = s.describe()
    fields["class"] = f"{s.class_id} ({c.gpu_class(s.class_id).name})"
    fields["window"] = f"{fmt_time(s.start)} .. {fmt_time(s.end)}"
    fields["uri"] = c.credits.functions.uri(sid).call()
    who = address(holder) if holder else c.sender.address
    fields[f"balance of {who}"] = fmt_hours(c.credit_balance(sid, who))
    console.print(f"series {sid}")
    print_fields(fields)


@series_app.command()
def classes(network: str = NetworkOpt) -> None:
    """List the GPU classes governance defined."""
    c = open_client(network)
    for k in c.gpu_classes():
        console.print(
            f"  {k.class_id:>3}  {k.name:<20} collateral "
            f"{fmt_cpt(k.collateral_rate * SECONDS_PER_HOUR)}/GPU-h, ack within "
            f"{k.ack_timeout} s, penalty {k.penalty_bps / 100:g}%"
            f"{'' if k.active else ' (inactive)'}"
        )
