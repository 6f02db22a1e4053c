"""Re-check live orders against the chain: expired, unfunded (balance or approval gone), cancelled or
filled orders leave the book; an unfunded order whose maker funds it again comes back.

Reads happen outside any database transaction; each change is a compare-and-set on the order's
status, so a fill or cancellation the indexer wrote in between is never overwritten.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.db.market import CANCELLED, EXPIRED, FILLED, LIVE_STATES, OPEN, UNFUNDED, MarketOrder
from backend.market.relay import OrderRejected, Relay
from backend.market.store import order_of

log = logging.getLogger("gpubarter.market")

#: The status an order takes when the relay now refuses it for this reason.
STATUS_OF_REJECTION = {"expired": EXPIRED, "series-ended": EXPIRED, "unfunded": UNFUNDED,
                       "cancelled": CANCELLED, "filled": FILLED}


class Pruner:
    def __init__(self, relay: Relay, sessions: sessionmaker[Session], now: Callable[[], int], *,
                 page: int = 500) -> None:
        self.relay, self.sessions, self.now, self.page = relay, sessions, now, page

    def verdict(self, row: MarketOrder, now: int) -> str | None:
        """The status ``row`` should have now, or None when the chain cannot tell (unavailable).
        (The signature was verified on acceptance: only liveness and funding are re-checked.)"""
        try:
            self.relay.recheck(order_of(row), bytes.fromhex(row.signature[2:]), bytes.fromhex(row.hash[2:]),
                               now)
        except OrderRejected as exc:
            return STATUS_OF_REJECTION.get(exc.kind)
        return OPEN

    def prune_once(self) -> int:
        """Check every live order once, a page at a time; returns how many changed status."""
        now, after, changed = self.now(), 0, 0
        while True:
            with self.sessions() as session:
                rows = list(session.scalars(select(MarketOrder).where(
                    MarketOrder.status.in_(LIVE_STATES), MarketOrder.id > after)
                    .order_by(MarketOrder.id).limit(self.page)))
            if not rows:
                return changed
            after = rows[-1].id
            moves = [(row.id, row.status, status) for row in rows
                     if (status := self.verdict(row, now)) is not None and status != row.status]
            if moves:
                with self.sessions() as session, session.begin():
                    for order_id, old, new in moves:
                        changed += session.execute(update(MarketOrder).values(status=new).where(
                            MarketOrder.id == order_id, MarketOrder.status == old)).rowcount

    def run(self, stop: threading.Event, every_s: float) -> None:
        while not stop.is_set():
            try:
                self.prune_once()
            except Exception:  # a node or database hiccup: try again next round
                log.exception("order pruning failed; retrying")
            stop.wait(every_s)
