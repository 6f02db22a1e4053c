"""The order relay and the market data: post and read signed orders, the book of a series (and its
live stream of changes, server-sent events) and the price index with its chart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from eth_utils import to_checksum_address
from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel
from sqlalchemy import select

from backend.api.deps import DbSession
from backend.api.pagination import Page, keyset, page_of
from backend.api.problems import Problem
from backend.db.market import MarketOrder
from backend.market import order_book
from backend.market.chart import render_index_chart
from backend.market.index import index as price_index
from backend.market.service import Market
from gpubarter.errors import ChainError
from gpubarter.protocol.exchange_types import BUY, SELL
from gpubarter.protocol.order_checks import OrderRejected

router = APIRouter(tags=["market"])
#: ``POST /orders`` alone: the app matches it before every other route (it is the busiest by count,
#: and each request tests the routes in order until one matches).
relay_router = APIRouter(tags=["market"])

#: HTTP status of each relay refusal; the problem's ``code`` is the refusal's kind.
REJECTION_STATUS = {"duplicate": 409, "chain-unavailable": 503}

SeriesId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Depth = Annotated[int, Query(ge=1, le=500, description="Price levels per side")]
ClassId = Annotated[int, Query(ge=1, le=2**16 - 1)]
Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="Delivery month, YYYY-MM (UTC)")]
Interval = Annotated[int, Query(ge=60, le=366 * 86_400, description="Candle length in seconds")]
Address = Annotated[str, Query(pattern=r"^0x[0-9a-fA-F]{40}$")]
OrderHash = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]
Status = Literal["open", "unfunded", "filled", "cancelled", "expired"]


class OrderPublic(BaseModel):
    hash: str
    maker: str
    side: Literal["buy", "sell"]
    series_id: int
    class_id: int
    window_start: int
    window_end: int
    amount: str
    price_per_hour: str
    remaining: str
    expiry: str
    status: Status
    accepted_at: int
    order: dict[str, Any]
    signature: str


class Level(BaseModel):
    price_per_hour: str
    amount: str
    orders: int


class Book(BaseModel):
    series_id: int
    bids: list[Level]
    asks: list[Level]


class CandlePublic(BaseModel):
    start: int
    open: str
    high: str
    low: str
    close: str
    volume: int
    vwap: str


class IndexPublic(BaseModel):
    class_id: int
    month: str
    interval: int
    last: str | None
    vwap: str | None
    volume: int
    fills: int
    candles: list[CandlePublic]


def _market(request: Request) -> Market:
    market: Market | None = getattr(request.app.state, "market", None)
    if market is None:
        raise Problem(503, "market-unavailable", "this deployment has no exchange: the relay is off")
    return market


@contextmanager
def _chain_reads() -> Iterator[None]:
    """A node that does not answer is a 503 ``chain-unavailable``, not a server error."""
    try:
        yield
    except (ChainError, OSError) as exc:
        raise Problem(503, "chain-unavailable", f"the chain node does not answer: {exc}") from None


def _known_series(market: Market, series_id: int) -> None:
    try:
        with _chain_reads():
            market.relay.terms(series_id)
    except OrderRejected as exc:
        raise Problem(404, exc.kind, exc.detail) from None


@relay_router.post("/orders", status_code=201, response_model=OrderPublic,
             summary="Post a signed order to the relay",
             responses={409: {"description": "the order is already in the book"},
                        422: {"description": "refused: bad-signature, wrong-domain, expired, cancelled, "
                                             "filled, unknown-series, series-ended, series-frozen, "
                                             "unfunded, malformed"}})
def post_order(payload: Annotated[dict[str, Any], Body(examples=[{"order": {}, "signature": "0x.."}])],
               request: Request) -> Response:
    # No session dependency: a generator dependency costs two more hops through the thread pool per
    # request, and this is the relay's hot path (the insert is one autocommitted statement).
    market = _market(request)
    try:
        with _chain_reads():  # the chain time comes in the validation's batched read
            accepted = market.relay.validate(payload)
        row = order_book.accept(request.app.state.autocommit, accepted, accepted.chain_time)
    except OrderRejected as exc:
        raise Problem(REJECTION_STATUS.get(exc.kind, 422), exc.kind, exc.detail) from None
    # The body is :class:`OrderPublic` already (strings and ints): validating it again through the
    # response model would cost a tenth of the request.
    body = json.dumps(order_book.public(row), separators=(",", ":"))
    return Response(body, 201, media_type="application/json")


@router.get("/orders/{order_hash}", response_model=OrderPublic, summary="One order the relay accepted",
            responses={404: {"description": "no such order"}})
def get_order(order_hash: OrderHash, session: DbSession) -> dict[str, Any]:
    row = session.scalar(select(MarketOrder).where(MarketOrder.hash == order_hash.lower()))
    if row is None:
        raise Problem(404, "not-found", f"the relay holds no order {order_hash}")
    return order_book.public(row)


@router.get("/orders", response_model=Page[OrderPublic], summary="List accepted orders, oldest first")
def list_orders(
    request: Request,
    session: DbSession,
    series: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    maker: Address | None = None,
    side: Literal["buy", "sell"] | None = None,
    status: Status | None = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[dict[str, Any]]:
    q, size = keyset(select(MarketOrder), MarketOrder.id, request.app.state.settings, limit, cursor)
    if series is not None:
        q = q.where(MarketOrder.series_id == series)
    if maker is not None:
        q = q.where(MarketOrder.maker == to_checksum_address(maker))
    if side is not None:
        q = q.where(MarketOrder.side == (BUY if side == "buy" else SELL))
    if status is not None:
        q = q.where(MarketOrder.status == status)
    rows, next_cursor = page_of(list(session.scalars(q)), size, lambda r: r.id)
    return Page[dict[str, Any]](items=[order_book.public(r) for r in rows], next_cursor=next_cursor)


@router.get("/series/{series_id}/book", response_model=Book, summary="The order book of a series",
            responses={404: {"description": "no such series"}})
def get_book(series_id: SeriesId, request: Request, session: DbSession, depth: Depth = 20) -> dict[str, Any]:
    market = _market(request)
    _known_series(market, series_id)
    with _chain_reads():
        now = market.chain_now()
    return order_book.book(session, series_id, depth, now)


def _sse(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@router.get("/series/{series_id}/book/stream", summary="Live book changes (server-sent events)",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "`book` events (the whole book, on every change; the first at "
                                            "once) and `fill` events (each new fill of the series)"},
                       404: {"description": "no such series"}})
async def stream_book(series_id: SeriesId, request: Request, depth: Depth = 20) -> StreamingResponse:
    market = _market(request)
    await run_in_threadpool(_known_series, market, series_id)
    sessions = request.app.state.sessions
    poll_s: float = getattr(request.app.state, "stream_poll_s", 0.25)
    stop = getattr(request.app.state, "stop_event", None)

    def last_fill() -> int:
        with sessions() as session:
            return order_book.last_fill_id(session, series_id)

    def snapshot(after: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        now = market.chain_now()
        with sessions() as session:
            fills = [order_book.fill_public(f) for f in order_book.fills_after(session, series_id, after)]
            return order_book.book(session, series_id, depth, now), fills

    after = await run_in_threadpool(last_fill)

    async def events() -> Any:
        nonlocal after
        sent: dict[str, Any] | None = None
        quiet = 0.0
        while not (stop is not None and stop.is_set()) and not await request.is_disconnected():
            book, fills = await run_in_threadpool(snapshot, after)
            for fill in fills:
                after = fill["id"]
                yield _sse("fill", fill, fill["id"])
            if book != sent:
                sent, quiet = book, 0.0
                yield _sse("book", book)
            elif quiet >= 15:
                quiet = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(poll_s)
            quiet += poll_s

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _wei(value: int | None) -> str | None:
    return None if value is None else str(value)


def _index(session: DbSession, class_id: int, month: str, interval: int) -> Any:
    return price_index(order_book.fills_of(session, class_id, month), class_id, month, interval)


@router.get("/index", response_model=IndexPublic, summary="Price index of a GPU class and delivery month")
def get_index(session: DbSession, class_id: ClassId, month: Month,
              interval: Interval = 3_600) -> dict[str, Any]:
    point = _index(session, class_id, month, interval)
    return {"class_id": class_id, "month": month, "interval": interval, "last": _wei(point.last),
            "vwap": _wei(point.vwap), "volume": point.volume, "fills": point.fills,
            "candles": [{"start": c.start, "open": str(c.open), "high": str(c.high), "low": str(c.low),
                         "close": str(c.close), "volume": c.volume, "vwap": str(c.vwap)}
                        for c in point.candles]}


@router.get("/index/chart.png", response_class=Response, summary="The price index as a PNG chart",
            responses={200: {"content": {"image/png": {}}}})
def get_index_chart(session: DbSession, class_id: ClassId, month: Month,
                    interval: Interval = 3_600) -> Response:
    point = _index(session, class_id, month, interval)
    return Response(render_index_chart(point, interval), media_type="image/png",
                    headers={"Cache-Control": "max-age=5"})
