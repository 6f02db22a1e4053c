"""``gpubarter market``: trade credit series for CPT with signed orders.

``order`` signs an order into a JSON file (no transaction) and/or posts it to an order relay
(``--api URL``, the backend's ``POST /api/v1/orders``); ``fill`` and ``cancel`` settle it
on-chain; ``book`` prints bids and asks: from the relay (``--api``), or by validating a folder of
order files as the relay does; ``index`` prints the price index of a GPU class and delivery month,
from the relay's indexed fills (``--api``) or from the chain's ``OrderFilled`` logs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import typer

from cli import app
from cli.commands._compute import NetworkOpt, parse_time, positive_id, print_fields
from cli.commands.output import console, show_tx
from gpubarter.errors import ConfigError
from gpubarter.jsonfile import read_json
from gpubarter.protocol.exchange import BUY, SELL, ExchangeClient, SignedOrder
from gpubarter.protocol.exchange_types import UINT256, order_digest
from gpubarter.protocol.relay_client import RelayClient
from gpubarter.protocol.units import cpt_to_wei, fmt_cpt, fmt_hours, hours_to_seconds
from gpubarter.session import ChainSession

ApiOpt = typer.Option(None, "--api", help="Base URL of an order relay (the backend), e.g. http://127.0.0.1:8000.")

market_app = typer.Typer(help="Signed orders for GPU-hour credits against CPT.", no_args_is_help=True)
app.add_typer(market_app, name="market")


def _client(network: str) -> ExchangeClient:
    session = ChainSession.open(network)
    return ExchangeClient(session.sender, session.deployment, log_range=session.network.max_log_range)


def _load(client: ExchangeClient, path: Path, api: str | None = None) -> SignedOrder:
    """A signed order from a file, or (with ``api``) the relay's order of that hash."""
    from gpubarter.protocol.order_checks import OrderRejected, parse

    where = f"order file {path}"
    if api is not None:
        if not re.fullmatch(r"0x[0-9a-fA-F]{64}", str(path)):
            raise ConfigError(f"with --api, name the order by its hash (0x + 64 hex digits), not {path}")
        where = f"the relay's order {path}"
        payload = RelayClient(api).order(str(path))
    else:
        payload = read_json(path, what="order file")
    try:
        order, signature = parse(payload)
    except OrderRejected as exc:
        raise ConfigError(f"{where}: {exc.detail}") from None
    return SignedOrder(order, signature, order_digest(client.domain, order))


@market_app.command()
def approve(network: str = NetworkOpt) -> None:
    """Let the exchange move your credits and CPT (needed once before trading)."""
    for result in _client(network).approve():
        show_tx("approved", result)


@market_app.command()
def order(
    side: str = typer.Argument(..., help="buy or sell"),
    series_id: int = typer.Argument(..., help="The credit series."),
    hours: str = typer.Argument(..., help="GPU-hours to buy or sell, e.g. 2.5"),
    price: str = typer.Argument(..., help="CPT per GPU-hour, e.g. 1.8"),
    out: Path = typer.Option(None, "--out", "-o", help="Write the signed order (JSON) here."),
    expires: str = typer.Option("+1d", help="Expiry: +1d, +12h, Unix seconds or ISO 8601."),
    api: str = ApiOpt,
    network: str = NetworkOpt,
) -> None:
    """Sign an order (no transaction); write it to a file to share and/or post it to a relay."""
    sides = {"buy": BUY, "sell": SELL}
    if side not in sides:
        raise ConfigError(f"side must be buy or sell, got {side!r}")
    if out is None and api is None:
        raise ConfigError("say where the order goes: --out FILE, --api URL or both")
    client = _client(network)
    now = int(client.w3.eth.get_block("latest")["timestamp"])
    signed = client.make(sides[side], positive_id(series_id, "series id"), hours_to_seconds(hours),
                         cpt_to_wei(price), parse_time(expires, now))
    payload = {**signed.to_json(), "domain": {"chainId": client.domain["chainId"],
                                              "verifyingContract": client.domain["verifyingContract"]}}
    if out is not None:
        out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        console.print(f"signed order 0x{signed.digest.hex()} -> {out}")
    if api is not None:
        posted = RelayClient(api).post_order(payload)
        console.print(f"posted order {posted['hash']} to {api}: {posted['status']}")


@market_app.command()
def fill(path: Path = typer.Argument(..., help="A signed order file, or an order hash with --api."),
         hours: str = typer.Option(None, help="GPU-hours to fill (default: all that remains)."),
         api: str = ApiOpt,
         network: str = NetworkOpt) -> None:
    """Fill an order as the taker."""
    client = _client(network)
    signed = _load(client, path, api)
    filled = client.filled_of(signed.digest)
    if filled == UINT256:
        raise ConfigError(f"order 0x{signed.digest.hex()} was cancelled by its maker")
    if filled >= signed.order.amount:
        raise ConfigError(f"order 0x{signed.digest.hex()} is already filled")
    amount = hours_to_seconds(hours) if hours else signed.order.amount - filled
    show_tx(f"filled {fmt_hours(amount)}", client.fill(signed, amount))


@market_app.command()
def cancel(path: Path = typer.Argument(..., help="Your signed order file."),
           network: str = NetworkOpt) -> None:
    """Cancel one of your orders on-chain."""
    client = _client(network)
    show_tx("cancelled", client.cancel(_load(client, path).order))


@market_app.command()
def book(folder: Path = typer.Argument(None, help="A folder of signed order files (without --api)."),
         series_id: int = typer.Option(..., "--series", help="The credit series."),
         depth: int = typer.Option(20, help="Price levels per side (with --api)."),
         api: str = ApiOpt,
         network: str = NetworkOpt) -> None:
    """Bids and asks of a series: the relay's book (--api), or every valid, live and funded order in
    ``folder``."""
    if api is not None:
        _print_book(RelayClient(api).book(positive_id(series_id, "series id"), depth))
        return
    if folder is None:
        raise ConfigError("give a folder of order files, or --api URL to read a relay's book")
    from gpubarter.protocol.order_checks import OrderRejected, Relay

    client = _client(network)
    relay = Relay(client.w3, client.exchange, client.token, client.credits, min_lifetime_s=0)
    now = int(client.w3.eth.get_block("latest")["timestamp"])
    live = []
    for path in sorted(folder.glob("*.json")):
        try:
            accepted = relay.validate(read_json(path, what="order file"), now=now)
        except OrderRejected as exc:
            console.print(f"  skipped {path.name}: {exc.kind}")
            continue
        if accepted.order.series_id == series_id:
            live.append(accepted)
    for label, side, reverse in (("asks", SELL, False), ("bids", BUY, True)):
        rows = sorted((a for a in live if a.order.side == side), key=lambda a: a.order.price_per_hour,
                      reverse=reverse)
        console.print(f"{label}:")
        for a in rows:
            console.print(f"  {fmt_cpt(a.order.price_per_hour)}/h  {fmt_hours(a.remaining)}  "
                          f"0x{a.digest.hex()[:12]}")


def _print_book(book: dict[str, Any]) -> None:
    for label in ("asks", "bids"):
        console.print(f"{label}:")
        for level in book[label]:
            console.print(f"  {fmt_cpt(int(level['price_per_hour']))}/h  {fmt_hours(int(level['amount']))}  "
                          f"({level['orders']} order{'s' if level['orders'] != 1 else ''})")


@market_app.command()
def index(gpu_class: int = typer.Option(..., "--class", help="GPU class id."),
          month: str = typer.Option(..., help="Delivery month, YYYY-MM (UTC)."),
          api: str = ApiOpt,
          network: str = NetworkOpt) -> None:
    """Last price, VWAP and volume of a GPU class and delivery month, from the relay's index (--api)
    or from on-chain fills."""
    if api is not None:
        p = RelayClient(api).index(gpu_class, month)
        _print_index(gpu_class, month, p["fills"], _int(p["last"]), _int(p["vwap"]), p["volume"])
        return
    from backend.market.index import Fill
    from backend.market.index import index as price_index

    client = _client(network)
    logs = client.fills()
    stamps: dict[int, int] = {}
    fills = []
    for log in logs:
        n = log["blockNumber"]
        stamps.setdefault(n, int(client.w3.eth.get_block(n)["timestamp"]))
        fills.append(Fill.from_event(dict(log["args"]), stamps[n]))
    point = price_index(fills, gpu_class, month)
    _print_index(gpu_class, month, point.fills, point.last, point.vwap, point.volume)


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)


def _print_index(gpu_class: int, month: str, fills: int, last: int | None, vwap: int | None,
                 volume: int) -> None:
    print_fields({"class": str(gpu_class), "month": month, "fills": str(fills),
                  "last": f"{fmt_cpt(last)}/h" if last is not None else "-",
                  "vwap": f"{fmt_cpt(vwap)}/h" if vwap is not None else "-",
                  "volume": fmt_hours(volume)})
