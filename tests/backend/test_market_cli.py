"""``gpubarter market order|book|index --api URL``: the CLI through the HTTP relay of a live service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from exchange_world import Market
from waiting import wait_for

from backend.market.index import delivery_month
from backend.service import BackendService
from gpubarter.process import free_port
from gpubarter.settings import ApiSettings

SELLER, BUYER = 2, 3


@pytest.fixture
def api(w3, deployment, market: Market, tmp_path: Path):
    settings = ApiSettings(port=free_port())
    with BackendService(w3, deployment, database_url=f"sqlite:///{tmp_path / 'index.sqlite3'}",
                        settings=settings, poll_seconds=0.05, prune_seconds=0.1) as svc:
        yield svc.url


def test_trader_posts_reads_the_book_and_the_index_over_http(market: Market, gpubarter, api: str,
                                                             tmp_path: Path) -> None:
    m = market
    sid = str(m.series_id)
    out = gpubarter(SELLER, "market", "order", "sell", sid, "1", "2.5", "--api", api, "--out",
                    str(tmp_path / "ask.json"))
    assert "posted order 0x" in out and ": open" in out
    assert json.loads((tmp_path / "ask.json").read_text())["domain"]["chainId"] == m.seller.domain["chainId"]
    gpubarter(BUYER, "market", "order", "buy", sid, "2", "1.5", "--api", api)
    gpubarter(BUYER, "market", "order", "buy", sid, "1", "1.5", "--api", api)
    shown = gpubarter(BUYER, "market", "book", "--series", sid, "--api", api)
    assert "asks:\n  2.5 CPT/h  1 GPU-h (3,600 GPU-s)  (1 order)" in shown
    assert "bids:\n  1.5 CPT/h  3 GPU-h (10,800 GPU-s)  (2 orders)" in shown
    refused = gpubarter(SELLER, "market", "order", "sell", sid, "1000", "2.5", "--api", api, ok=False)
    assert "error: the relay refused (422 unfunded)" in refused
    second = gpubarter(SELLER, "market", "order", "sell", sid, "1", "2.5", "--api", api, "--out",
                    str(tmp_path / "again.json"))
    assert "posted" in second  # same terms, a fresh salt: another order
    nowhere = gpubarter(SELLER, "market", "order", "sell", sid, "1", "2.5", ok=False)
    assert "say where the order goes" in nowhere
    ask_hash = out.split("posted order ")[1].split()[0]
    gpubarter(BUYER, "market", "fill", ask_hash, "--hours", "0.5", "--api", api)
    by_file = gpubarter(BUYER, "market", "fill", "ask.json", "--api", api, ok=False)
    assert "name the order by its hash" in by_file
    unknown = gpubarter(BUYER, "market", "fill", "0x" + "ab" * 32, "--api", api, ok=False)
    assert "error: the relay refused (404 not-found)" in unknown
    month = delivery_month(m.world.start)
    index = wait_for("fill in the relay's index", lambda: "fills   1" in (
        o := gpubarter(BUYER, "market", "index", "--class", "1", "--month", month, "--api", api)) and o)
    assert "last    2.5 CPT/h" in index and "0.5 GPU-h" in index
    assert "invalid-request" in gpubarter(BUYER, "market", "index", "--class", "1", "--month", "May",
                                          "--api", api, ok=False)
    gone = gpubarter(BUYER, "market", "book", "--series", sid, "--api", "http://127.0.0.1:9", ok=False)
    assert "error: cannot reach the relay at http://127.0.0.1:9" in gone
