"""Re-check live orders against the chain: expired, unfunded (balance or approval gone), cancelled or
filled orders leave the book; an unfunded order whose maker funds it again comes back.

The remaining amount follows the chain too (``filledOf``), so the book is right even while the
indexer lags. Reads happen outside any database transaction; each change is a compare-and-set on
the order's status and remaining amount, so what the indexer wrote in between is never overwritten.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.db.market import CANCELLED, EXPIRED, FILLED, LIVE_STATES, OPEN, UNFUNDED, MarketOrder, to_uint
from backend.market.order_book import OrderRow, order_of
from gpubarter.protocol.order_checks import OrderRejected, Relay

log = logging.getLogger("gpubarter.market")

#: The status an order takes when the relay now refuses it for this reason.
STATUS_OF_REJECTION = {"expired": EXPIRED, "series-ended": EXPIRED, "series-frozen": EXPIRED,
                       "unfunded": UNFUNDED, "cancelled": CANCELLED, "filled": FILLED}


class Pruner:
    def __init__(self, relay: Relay, sessions: sessionmaker[Session], now: Callable[[], int], *,
                 page: int = 500) -> None:
        self.relay, self.sessions, self.now, self.page = relay, sessions, now, page

    def verdicts(self, rows: list[OrderRow], now: int) -> list[tuple[str, str | None]] | None:
        """The status each row should have now and, where the chain tells, its remaining amount (stored
        form); None when the chain cannot tell (unavailable). The signatures were verified on
        acceptance: only liveness and funding are re-checked, all the rows' reads in shared batches."""
        try:
            found = self.relay.recheck([(order_of(row), bytes.fromhex(row.signature[2:]),
                                         bytes.fromhex(row.hash[2:])) for row in rows], now)
        except OrderRejected:  # chain-unavailable
            return None
        out: list[tuple[str, str | None]] = []
        for row, verdict in zip(rows, found, strict=True):
            if isinstance(verdict, OrderRejected):
                status = STATUS_OF_REJECTION.get(verdict.kind)
                out.append((row.status, None) if status is None else
                           (status, to_uint(0) if status == FILLED else None))
            else:
                out.append((OPEN, to_uint(verdict.remaining)))
        return out

    def prune_once(self) -> int:
        """Check every live order once, a page at a time; returns how many changed."""
        now, after, changed = self.now(), 0, 0
        while True:
            with self.sessions() as session:
                rows = list(session.execute(select(*MarketOrder.__table__.columns).where(
                    MarketOrder.status.in_(LIVE_STATES), MarketOrder.id > after)
                    .order_by(MarketOrder.id).limit(self.page)))  # Core rows: no ORM objects to build
            if not rows:
                return changed
            after = rows[-1].id
            found = self.verdicts(rows, now)
            if found is None:  # the chain cannot tell: leave this page as it is
                continue
            moves = []
            for row, (status, remaining) in zip(rows, found, strict=True):
                if status != row.status or remaining not in (None, row.remaining):
                    values = {"status": status, **({"remaining": remaining} if remaining else {})}
                    moves.append((row.id, row.status, row.remaining, values))
            if moves:
                with self.sessions() as session, session.begin():
                    for order_id, status, remaining, values in moves:
                        changed += session.execute(update(MarketOrder).values(**values).where(
                            MarketOrder.id == order_id, MarketOrder.status == status,
                            MarketOrder.remaining == remaining)).rowcount

    def run(self, stop: threading.Event, every_s: float) -> None:
        while not stop.is_set():
            try:
                self.prune_once()
            except Exception:  # a node or database hiccup: try again next round
                log.exception("order pruning failed; retrying")
            stop.wait(every_s)
