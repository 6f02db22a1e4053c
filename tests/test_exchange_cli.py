"""Two traders trade a forward series through ``gpubarter market`` on a local chain."""

from __future__ import annotations

import json
from pathlib import Path

from exchange_world import Market

from backend.market.index import delivery_month

SELLER, BUYER = 2, 3


def test_two_traders_trade_through_the_cli(market: Market, gpubarter, tmp_path: Path) -> None:
    m = market
    book = tmp_path / "book"
    book.mkdir()
    sid = str(m.series_id)
    gpubarter(SELLER, "market", "approve")
    out = gpubarter(SELLER, "market", "order", "sell", sid, "1", "2.5", "--out", str(book / "ask.json"))
    assert "signed order 0x" in out
    gpubarter(BUYER, "market", "order", "buy", sid, "2", "1.5", "--out", str(book / "bid.json"))
    (book / "junk.json").write_text(json.dumps({"order": {}, "signature": "0x"}))
    shown = gpubarter(BUYER, "market", "book", str(book), "--series", sid)
    assert "asks:\n  2.5 CPT/h  1 GPU-h" in shown and "bids:\n  1.5 CPT/h  2 GPU-h" in shown
    assert "skipped junk.json: malformed" in shown

    credits_before = m.credits(m.buyer.sender.address)
    gpubarter(BUYER, "market", "fill", str(book / "ask.json"), "--hours", "0.5")
    assert m.credits(m.buyer.sender.address) == credits_before + 1_800
    index = gpubarter(BUYER, "market", "index", "--class", "1", "--month", delivery_month(m.world.start))
    assert "fills   1" in index and "last    2.5 CPT/h" in index and "0.5 GPU-h" in index

    refused = gpubarter(BUYER, "market", "cancel", str(book / "ask.json"), ok=False)
    assert "CreditExchangeNotMaker" in refused
    gpubarter(SELLER, "market", "cancel", str(book / "ask.json"))
    assert "skipped ask.json: cancelled" in gpubarter(BUYER, "market", "book", str(book), "--series", sid)
    refused = gpubarter(BUYER, "market", "fill", str(book / "ask.json"), ok=False)
    assert "error:" in refused and "was cancelled by its maker" in refused
    sold = gpubarter(SELLER, "market", "fill", str(book / "bid.json"), "--hours", "0.1")
    assert "filled 0.1 GPU-h" in sold
    assert "fills   2" in gpubarter(BUYER, "market", "index", "--class", "1", "--month",
                                    delivery_month(m.world.start))
    assert "side must be buy or sell" in gpubarter(SELLER, "market", "order", "hold", sid, "1", "1",
                                                   "--out", str(tmp_path / "x.json"), ok=False)
