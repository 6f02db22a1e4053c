"""Keep accepted orders and the fill table in step with the exchange's events (an indexer Projector).

``OrderFilled`` records a fill and sets the order's remaining amount to its size less every indexed
fill of it; ``OrderCancelled`` and ``EpochRaised`` cancel. After a reorg the follower calls
:meth:`reset` and replays the surviving events, so the tables never keep a fill the chain dropped.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from web3 import Web3

from backend.db.market import (
    CANCELLED,
    FILLED,
    LIVE_STATES,
    OPEN,
    MarketFill,
    MarketOrder,
    from_uint,
    to_uint,
)
from backend.db.models import ChainEvent
from backend.market.index import delivery_month

EXCHANGE = "CreditExchange"


class MarketProjector:
    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self._stamps: dict[str, int] = {}  # block hash -> timestamp

    def _timestamp(self, event: ChainEvent) -> int:
        if event.block_hash not in self._stamps:
            if len(self._stamps) > 10_000:
                self._stamps.clear()
            self._stamps[event.block_hash] = int(self.w3.eth.get_block(event.block_hash)["timestamp"])
        return self._stamps[event.block_hash]

    def reset(self, session: Session) -> None:
        session.execute(delete(MarketFill))
        session.execute(update(MarketOrder).values(remaining=MarketOrder.amount))
        session.execute(update(MarketOrder).where(MarketOrder.status.in_((FILLED, CANCELLED)))
                        .values(status=OPEN))

    def apply(self, session: Session, event: ChainEvent) -> None:
        if event.contract != EXCHANGE:
            return
        handler = {"OrderFilled": self._filled, "OrderCancelled": self._cancelled,
                   "EpochRaised": self._epoch_raised}.get(event.name)
        if handler is not None:
            handler(session, event, event.args)

    def _filled(self, session: Session, event: ChainEvent, a: dict[str, Any]) -> None:
        window_start = int(a["windowStart"])
        session.add(MarketFill(
            event_id=event.id, order_hash=a["orderHash"], series_id=int(a["seriesId"]), maker=a["maker"],
            class_id=int(a["classId"]), window_start=window_start, month=delivery_month(window_start),
            price_per_hour=to_uint(int(a["pricePerHour"])), amount=to_uint(int(a["amount"])),
            cost=to_uint(int(a["cost"])), block_number=event.block_number, tx_hash=event.tx_hash,
            timestamp=self._timestamp(event)))
        session.flush()
        order = session.scalar(select(MarketOrder).where(MarketOrder.hash == a["orderHash"]))
        if order is None:  # filled from a file, never posted to this relay
            return
        filled = sum(from_uint(v) for v in session.scalars(
            select(MarketFill.amount).where(MarketFill.order_hash == order.hash)))
        remaining = max(from_uint(order.amount) - filled, 0)
        order.remaining = to_uint(remaining)
        if remaining == 0:
            order.status = FILLED

    def _cancelled(self, session: Session, _event: ChainEvent, a: dict[str, Any]) -> None:
        session.execute(update(MarketOrder).where(MarketOrder.hash == a["orderHash"])
                        .values(status=CANCELLED))

    def _epoch_raised(self, session: Session, _event: ChainEvent, a: dict[str, Any]) -> None:
        session.execute(update(MarketOrder).where(
            MarketOrder.maker == a["maker"], MarketOrder.epoch < to_uint(int(a["epoch"])),
            MarketOrder.status.in_(LIVE_STATES)).values(status=CANCELLED))
