"""The order relay over HTTP against the live service (indexer + API + pruner), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.config import Config
from chain_checks import revert_to, take_snapshot
from compute_world import WINDOW
from exchange_world import HOUR, PRICE, Market
from sqlalchemy import inspect
from waiting import wait_for
from web3 import Web3

from backend.db import make_engine, migrate
from backend.db.engine import MIGRATIONS
from backend.market.index import delivery_month
from backend.service import BackendService
from gpubarter.deploy_plan import WAD
from gpubarter.process import free_port
from gpubarter.protocol.exchange import SignedOrder
from gpubarter.settings import ApiSettings

HASH0 = "0x" + "00" * 32


@pytest.fixture
def relay(w3, deployment, database_url, market: Market) -> Iterator[httpx.Client]:
    """A live service that prunes often, and an HTTP client of it."""
    settings = ApiSettings(port=free_port(), default_page_size=2)
    with BackendService(w3, deployment, database_url=database_url, settings=settings, poll_seconds=0.05,
                        prune_seconds=0.1) as svc, httpx.Client(base_url=svc.url, timeout=10) as client:
        svc.app.state.stream_poll_s = 0.05
        yield client


def post(client: httpx.Client, signed: SignedOrder | Any) -> httpx.Response:
    return client.post("/api/v1/orders", json=signed.to_json() if isinstance(signed, SignedOrder) else signed)


def accepted(client: httpx.Client, signed: SignedOrder) -> dict[str, Any]:
    r = post(client, signed)
    assert r.status_code == 201, r.text
    return r.json()


def status_of(client: httpx.Client, signed: SignedOrder) -> dict[str, Any]:
    return client.get(f"/api/v1/orders/0x{signed.digest.hex()}").json()


def wait_status(client: httpx.Client, signed: SignedOrder, status: str) -> dict[str, Any]:
    return wait_for(f"order status {status}",
                    lambda: (o := status_of(client, signed))["status"] == status and o, timeout=30)


def book(client: httpx.Client, m: Market, **params: Any) -> dict[str, Any]:
    r = client.get(f"/api/v1/series/{m.series_id}/book", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def all_orders(client: httpx.Client) -> list[dict[str, Any]]:
    out, cursor = [], None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/orders", params=params).json()
        out += page["items"]
        if not (cursor := page["next_cursor"]):
            return out


def test_accepts_a_valid_order_and_lists_it_with_filters_and_pages(relay, market: Market) -> None:
    m = market
    ask = m.sell(HOUR, PRICE)
    body = accepted(relay, ask)
    assert body["hash"] == "0x" + ask.digest.hex() and body["status"] == "open"
    assert (body["side"], body["amount"], body["remaining"], body["price_per_hour"]) == (
        "sell", str(HOUR), str(HOUR), str(PRICE))
    assert body["order"] == ask.to_json()["order"] and body["signature"] == ask.to_json()["signature"]
    assert status_of(relay, ask) == body
    bids = [accepted(relay, m.buy(600, PRICE // 2)) for _ in range(2)]
    # duplicate: refused, nothing added
    r = post(relay, ask)
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    assert r.headers["content-type"] == "application/problem+json"
    assert len(all_orders(relay)) == 3
    # filters and cursor pages (page size 2)
    seen, cursor = [], None
    while True:
        params = {"series": m.series_id, "side": "buy", **({"cursor": cursor} if cursor else {})}
        page = relay.get("/api/v1/orders", params=params).json()
        seen += [o["hash"] for o in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == [b["hash"] for b in bids]
    by_maker = relay.get("/api/v1/orders", params={"maker": m.seller.sender.address.lower()}).json()["items"]
    assert [o["hash"] for o in by_maker] == [body["hash"]]
    assert relay.get("/api/v1/orders", params={"status": "filled"}).json()["items"] == []
    assert relay.get(f"/api/v1/orders/{HASH0}").status_code == 404


def test_every_refusal_has_its_code_and_leaves_the_book_unchanged(relay, market: Market) -> None:
    m = market
    accepted(relay, m.sell(HOUR, 5 * PRICE))
    before = (all_orders(relay), book(relay, m))
    good = m.sell().to_json()
    tampered = {**good, "order": {**good["order"], "price_per_hour": 1}}
    foreign = {**good, "domain": {**m.seller.domain, "chainId": m.seller.domain["chainId"] + 1}}
    cancelled = m.sell()
    m.seller.cancel(cancelled.order)
    refusals: list[tuple[Any, int, str]] = [
        (tampered, 422, "bad-signature"),
        (foreign, 422, "wrong-domain"),
        ({"order": good["order"]}, 422, "malformed"),
        ({**good, "signature": "0x12"}, 422, "malformed"),
        ([1, 2], 422, "invalid-request"),
        (m.sell(expiry_in=-1), 422, "expired"),
        (m.sell(expiry_in=2), 422, "expired"),  # below the relay's minimum lifetime
        (cancelled, 422, "cancelled"),
        (m.sell(10**9), 422, "unfunded"),  # more credits than the seller holds
        (m.buy(HOUR, 10**6 * WAD), 422, "unfunded"),  # more CPT than the buyer holds
        (m.seller.make(1, 999, HOUR, PRICE, m.world.now() + 600), 422, "unknown-series"),
    ]
    m.buyer.sender.transact(m.buyer.token.functions.approve(m.gov.exchange.address, 0))
    refusals.append((m.buy(), 422, "unfunded"))  # approval gone
    late = m.sell(expiry_in=2 * WINDOW)
    for payload, status, code in refusals:
        r = post(relay, payload)
        assert (r.status_code, r.json()["code"]) == (status, code), (code, r.text)
        assert r.headers["content-type"] == "application/problem+json" and "Traceback" not in r.text
    assert (all_orders(relay), book(relay, m)) == before
    m.world.travel_to(m.world.start + WINDOW)
    r = post(relay, late)
    assert (r.status_code, r.json()["code"]) == (422, "series-ended")
    wait_for("the old ask expired", lambda: all_orders(relay)[0]["status"] == "expired", timeout=30)
    assert [o["hash"] for o in all_orders(relay)] == [o["hash"] for o in before[0]]
    assert relay.get("/api/v1/series/999/book").json()["code"] == "unknown-series"


def test_book_levels_and_fills_reduce_then_remove(relay, market: Market) -> None:
    m = market
    a1, a2 = m.sell(HOUR, PRICE), m.sell(1_800, PRICE, by=m.third)
    a3 = m.sell(HOUR, 2 * PRICE)
    b1, b2 = m.buy(HOUR, PRICE // 2), m.buy(900, PRICE // 4)
    for signed in (a1, a2, a3, b1, b2):
        accepted(relay, signed)
    assert book(relay, m) == {"series_id": m.series_id, "asks": [
        {"price_per_hour": str(PRICE), "amount": str(HOUR + 1_800), "orders": 2},
        {"price_per_hour": str(2 * PRICE), "amount": str(HOUR), "orders": 1}], "bids": [
        {"price_per_hour": str(PRICE // 2), "amount": str(HOUR), "orders": 1},
        {"price_per_hour": str(PRICE // 4), "amount": "900", "orders": 1}]}
    top = book(relay, m, depth=1)
    assert len(top["asks"]) == len(top["bids"]) == 1 and top["asks"][0]["orders"] == 2
    m.buyer.fill(a1, 600)
    wait_status(relay, a1, "open")
    wait_for("partial fill seen", lambda: status_of(relay, a1)["remaining"] == str(HOUR - 600), timeout=30)
    assert book(relay, m)["asks"][0] == {"price_per_hour": str(PRICE), "amount": str(HOUR - 600 + 1_800),
                                         "orders": 2}
    m.buyer.fill(a1, HOUR - 600)
    assert wait_status(relay, a1, "filled")["remaining"] == "0"
    m.seller.fill(b1, HOUR)  # the seller takes the best bid
    wait_status(relay, b1, "filled")
    final = book(relay, m)
    assert final["asks"][0] == {"price_per_hour": str(PRICE), "amount": "1800", "orders": 1}
    assert [lv["price_per_hour"] for lv in final["bids"]] == [str(PRICE // 4)]


def test_cancelled_voided_expired_and_unfunded_orders_drop_out(relay, market: Market) -> None:
    m = market
    one, by_epoch = m.sell(600), m.sell(600, 3 * PRICE)
    short, bid = m.sell(600, 4 * PRICE, by=m.third, expiry_in=120), m.buy(600)
    for signed in (one, by_epoch, short, bid):
        accepted(relay, signed)
    m.seller.cancel(one.order)
    wait_status(relay, one, "cancelled")
    m.seller.raise_epoch(1)
    wait_status(relay, by_epoch, "cancelled")
    m.world.travel(300)
    wait_status(relay, short, "expired")
    m.buyer.sender.transact(m.buyer.token.functions.approve(m.gov.exchange.address, 0))
    wait_status(relay, bid, "unfunded")
    assert book(relay, m) == {"series_id": m.series_id, "bids": [], "asks": []}
    m.buyer.approve()  # funded again: back in the book
    wait_status(relay, bid, "open")
    assert book(relay, m)["bids"] == [{"price_per_hour": str(PRICE), "amount": "600", "orders": 1}]


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    event, data = "", ""
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and event:
            yield event, json.loads(data)
            event, data = "", ""


def test_stream_shows_a_new_order_and_a_fill(relay, market: Market) -> None:
    m = market
    with relay.stream("GET", f"/api/v1/series/{m.series_id}/book/stream") as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = _events(r.iter_lines())
        assert next(events) == ("book", {"series_id": m.series_id, "bids": [], "asks": []})
        ask = m.sell(HOUR, PRICE)
        accepted(relay, ask)
        kind, data = next(events)
        assert kind == "book" and data["asks"] == [{"price_per_hour": str(PRICE), "amount": str(HOUR),
                                                    "orders": 1}]
        m.buyer.fill(ask, 1_200)
        seen = {}
        while len(seen) < 2:
            kind, data = next(events)
            if kind == "fill" or data["asks"][0]["amount"] == str(HOUR - 1_200):
                seen[kind] = data
        assert seen["fill"]["order_hash"] == "0x" + ask.digest.hex() and seen["fill"]["amount"] == "1200"
        assert seen["fill"]["price_per_hour"] == str(PRICE)


def test_index_matches_the_fills_and_charts_them(relay, market: Market) -> None:
    m = market
    month = delivery_month(m.world.start)
    r1 = m.buyer.fill(m.sell(HOUR, PRICE), HOUR)
    r2 = m.buyer.fill(m.sell(HOUR, 3 * PRICE), 1_800)
    params = {"class_id": 1, "month": month, "interval": 366 * 86_400}
    point = wait_for("two fills indexed",
                     lambda: (p := relay.get("/api/v1/index", params=params).json())["fills"] == 2 and p,
                     timeout=30)
    assert point["last"] == str(3 * PRICE) and point["volume"] == HOUR + 1_800
    assert point["vwap"] == str((PRICE * HOUR + 3 * PRICE * 1_800) // (HOUR + 1_800))
    (candle,) = point["candles"]
    assert [candle[k] for k in ("open", "high", "low", "close")] == [str(PRICE), str(3 * PRICE), str(PRICE),
                                                                     str(3 * PRICE)]
    stamps = [int(m.world.w3.eth.get_block(r.block_number)["timestamp"]) for r in (r1, r2)]
    assert candle["start"] <= min(stamps) and candle["volume"] == HOUR + 1_800
    empty = relay.get("/api/v1/index", params={**params, "class_id": 2}).json()
    assert (empty["fills"], empty["last"], empty["candles"]) == (0, None, [])
    for query in (params, {**params, "class_id": 2}):
        png = relay.get("/api/v1/index/chart.png", params=query)
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG\r\n\x1a\n") and len(png.content) > 1_000
    for bad in ({**params, "month": "2026-13"}, {**params, "interval": 0}, {"month": month}):
        r = relay.get("/api/v1/index", params=bad)
        assert r.status_code == 422 and r.json()["code"] == "invalid-request"


def test_a_reorg_that_drops_a_fill_restores_the_order_and_the_index(relay, market: Market, w3,
                                                                   accounts) -> None:
    m = market
    ask = m.sell(HOUR, PRICE)
    accepted(relay, ask)
    params = {"class_id": 1, "month": delivery_month(m.world.start)}
    snapshot = take_snapshot(w3)
    m.buyer.fill(ask, 600)
    fills = lambda: relay.get("/api/v1/index", params=params).json()["fills"]  # noqa: E731
    wait_for("fill indexed", lambda: fills() == 1, timeout=30)
    assert status_of(relay, ask)["remaining"] == str(HOUR - 600)
    revert_to(w3, snapshot, accounts)  # the fill's block is gone
    for _ in range(3):
        w3.provider.make_request("evm_mine", [])
    wait_for("reorg replayed", lambda: fills() == 0, timeout=30)
    wait_for("order restored", lambda: status_of(relay, ask)["remaining"] == str(HOUR), timeout=30)
    assert book(relay, m)["asks"] == [{"price_per_hour": str(PRICE), "amount": str(HOUR), "orders": 1}]


def test_the_same_order_posted_at_once_is_accepted_once(relay, market: Market) -> None:
    ask = market.sell()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: post(relay, ask), range(4)))
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409]
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"duplicate"}
    assert len(all_orders(relay)) == 1


def test_market_migration_goes_down_and_up(database_url) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
        assert not {"market_orders", "market_fills"} & set(inspect(engine).get_table_names())
        migrate(engine)
        assert {"market_orders", "market_fills"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_silent_chain_node_is_a_503_not_a_server_error(w3, deployment, database_url,
                                                        market: Market) -> None:
    settings = ApiSettings(port=free_port())
    with BackendService(w3, deployment, database_url=database_url, settings=settings) as svc, \
            httpx.Client(base_url=svc.url, timeout=10) as client:
        assert svc.market is not None
        ask = market.sell()
        dead = Web3(Web3.HTTPProvider("http://127.0.0.1:9"))  # nothing listens on port 9
        svc.market.w3 = svc.market.relay.w3 = dead
        for r in (post(client, ask), client.get(f"/api/v1/series/{market.series_id}/book")):
            assert (r.status_code, r.json()["code"]) == (503, "chain-unavailable"), r.text
        svc.market.w3 = svc.market.relay.w3 = w3
        assert post(client, ask).status_code == 201  # nothing was kept from the failed attempt
