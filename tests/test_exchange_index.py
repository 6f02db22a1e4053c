"""The price index per GPU class and delivery month, from real fills and from hand-made ones."""

from __future__ import annotations

import pytest
from compute_world import events
from exchange_world import HOUR, PRICE, Market

from backend.market.index import Fill, candles, delivery_month, index


def _fills(m: Market, results) -> list[Fill]:
    out = []
    for r in results:
        ts = int(m.world.w3.eth.get_block(r.block_number)["timestamp"])
        out += [Fill.from_event(e, ts) for e in events(m.gov.exchange, "OrderFilled", r)]
    return out


def test_index_from_on_chain_fills(market: Market) -> None:
    m = market
    r1 = m.buyer.fill(m.sell(HOUR, PRICE), HOUR)
    r2 = m.buyer.fill(m.sell(HOUR, 3 * PRICE), 1_800)
    fills = _fills(m, [r1, r2])
    month = delivery_month(m.world.start)
    point = index(fills, 1, month, interval_s=10**9)
    assert point.last == 3 * PRICE and point.volume == HOUR + 1_800 and point.fills == 2
    assert point.vwap == (PRICE * HOUR + 3 * PRICE * 1_800) // (HOUR + 1_800)
    (candle,) = point.candles
    assert (candle.open, candle.high, candle.low, candle.close) == (PRICE, 3 * PRICE, PRICE, 3 * PRICE)
    assert index(fills, 2, month).fills == 0 and index(fills, 2, month).last is None


def test_candles_bucket_by_interval_and_month_by_window_start() -> None:
    jan, feb = 1_767_225_600, 1_769_904_000  # 2026-01-01, 2026-02-01 UTC
    fills = [Fill(100, 1, jan, 10, 5), Fill(3_500, 1, jan, 30, 5), Fill(3_700, 1, jan, 20, 10),
             Fill(3_800, 1, feb, 99, 1)]
    assert delivery_month(jan) == "2026-01" and delivery_month(feb) == "2026-02"
    point = index(fills, 1, "2026-01", interval_s=3_600)
    assert [(c.start, c.open, c.high, c.low, c.close, c.volume) for c in point.candles] == [
        (0, 10, 30, 10, 30, 10), (3_600, 20, 20, 20, 20, 10)]
    assert point.vwap == (50 + 150 + 200) // 20 and point.last == 20
    with pytest.raises(ValueError):
        candles(fills, 0)
