"""The relay's order book in the database: accept orders, read the book, the fills and the index."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db.market import OPEN, MarketFill, MarketOrder, from_uint, to_uint
from backend.market.index import Fill
from gpubarter.protocol.exchange_types import BUY, SELL, Order
from gpubarter.protocol.order_checks import AcceptedOrder, OrderRejected

SIDES = {BUY: "buy", SELL: "sell"}

#: An order row: anything with ``market_orders``' columns as attributes (an ORM ``MarketOrder``, a
#: Core row of its columns, or what :func:`accept` returns).
OrderRow = Any


#: SQLite lets one connection write at a time and a blocked writer sleeps (1, 2, 5 ms ...) before it
#: retries: the API's threads take turns here instead.
_SQLITE_WRITE = threading.Lock()


def _one_writer(engine: Engine) -> AbstractContextManager[object]:
    return _SQLITE_WRITE if engine.dialect.name == "sqlite" else nullcontext()


#: A Core statement on the table (no ORM bulk path); the parameters come with each execution, so its
#: compiled form is cached once.
_INSERT_ORDER = insert(MarketOrder.__table__)


def accept(engine: Engine, accepted: AcceptedOrder, now: int) -> SimpleNamespace:
    """Persist an order the relay validated; a second copy of one order is ``duplicate``.

    One Core INSERT on a pooled connection of ``engine`` (no ORM session: this is the relay's hot path;
    an engine in AUTOCOMMIT mode saves the transaction's round trips, as one statement is atomic
    anyway): the unique constraint on ``hash`` refuses a copy (also one posted at the same moment), so
    there is no look-up first. Returns the row's columns as attributes (what :func:`public` reads),
    not an ORM object: building one costs more than the insert."""
    o = accepted.order
    values: dict[str, Any] = {
        "hash": "0x" + accepted.digest.hex(), "maker": o.maker, "side": o.side, "series_id": o.series_id,
        "class_id": accepted.class_id, "window_start": accepted.window_start,
        "window_end": accepted.window_end, "amount": to_uint(o.amount),
        "price_per_hour": to_uint(o.price_per_hour), "expiry": to_uint(o.expiry), "epoch": to_uint(o.epoch),
        "salt": to_uint(o.salt), "signature": "0x" + accepted.signature.hex(),
        "remaining": to_uint(accepted.remaining), "status": OPEN, "accepted_at": now}
    try:
        with _one_writer(engine), engine.connect() as connection:
            connection.execute(_INSERT_ORDER, values)
            connection.commit()  # a no-op in AUTOCOMMIT mode
    except IntegrityError:  # already in the book (or posted twice at once)
        raise OrderRejected("duplicate", f"order {values['hash']} is already in the book") from None
    return SimpleNamespace(**values)


def order_of(row: OrderRow) -> Order:
    return Order(row.maker, row.side, row.series_id, from_uint(row.amount), from_uint(row.price_per_hour),
                 from_uint(row.expiry), from_uint(row.epoch), from_uint(row.salt))


def payload_of(row: OrderRow) -> dict[str, Any]:
    """The signed order as the relay takes it (and as a taker needs it to fill)."""
    return {"order": order_of(row).to_json(), "signature": row.signature}


def public(row: OrderRow) -> dict[str, Any]:
    """An order for the API: wei and GPU-second amounts as decimal strings (they exceed 2**53)."""
    return {"hash": row.hash, "maker": row.maker, "side": SIDES[row.side], "series_id": row.series_id,
            "class_id": row.class_id, "window_start": row.window_start, "window_end": row.window_end,
            "amount": str(from_uint(row.amount)), "price_per_hour": str(from_uint(row.price_per_hour)),
            "remaining": str(from_uint(row.remaining)), "expiry": str(from_uint(row.expiry)),
            "status": row.status, "accepted_at": row.accepted_at, **payload_of(row)}


def book(session: Session, series_id: int, depth: int, now: int) -> dict[str, Any]:
    """Bids (best first: highest) and asks (lowest first) of a series by price level: the remaining
    GPU-seconds and the number of open, unexpired orders at each level."""
    rows = session.execute(
        select(MarketOrder.side, MarketOrder.price_per_hour, MarketOrder.remaining)
        .where(MarketOrder.series_id == series_id, MarketOrder.status == OPEN,
               MarketOrder.expiry >= to_uint(now)))
    levels: dict[int, dict[int, list[int]]] = {BUY: {}, SELL: {}}
    for side, price, remaining in rows:
        level = levels[side].setdefault(from_uint(price), [0, 0])
        level[0] += from_uint(remaining)
        level[1] += 1

    def side_of(side: int, best_first_desc: bool) -> list[dict[str, Any]]:
        prices = sorted(levels[side], reverse=best_first_desc)[:depth]
        return [{"price_per_hour": str(p), "amount": str(levels[side][p][0]), "orders": levels[side][p][1]}
                for p in prices]

    return {"series_id": series_id, "bids": side_of(BUY, True), "asks": side_of(SELL, False)}


def fills_of(session: Session, class_id: int, month: str) -> list[Fill]:
    rows = session.scalars(select(MarketFill).order_by(MarketFill.id)
                           .where(MarketFill.class_id == class_id, MarketFill.month == month))
    return [Fill(r.timestamp, r.class_id, r.window_start, from_uint(r.price_per_hour), from_uint(r.amount),
                 r.series_id) for r in rows]


def fill_public(row: MarketFill) -> dict[str, Any]:
    return {"id": row.id, "order_hash": row.order_hash, "series_id": row.series_id, "maker": row.maker,
            "price_per_hour": str(from_uint(row.price_per_hour)), "amount": str(from_uint(row.amount)),
            "cost": str(from_uint(row.cost)), "block_number": row.block_number, "tx_hash": row.tx_hash,
            "timestamp": row.timestamp}


def fills_after(session: Session, series_id: int, after_id: int) -> list[MarketFill]:
    return list(session.scalars(select(MarketFill).where(MarketFill.series_id == series_id,
                                                         MarketFill.id > after_id).order_by(MarketFill.id)))


def last_fill_id(session: Session, series_id: int) -> int:
    ids: Iterable[int] = session.scalars(select(MarketFill.id).where(MarketFill.series_id == series_id)
                                         .order_by(MarketFill.id.desc()).limit(1))
    return next(iter(ids), 0)
