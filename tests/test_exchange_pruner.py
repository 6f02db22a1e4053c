"""The relay's pruner re-checks a whole page of orders in shared JSON-RPC batches, each order judged
exactly as the relay judges one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exchange_world import HOUR, Market
from sqlalchemy import select

from backend.db import make_engine, migrate, session_factory
from backend.db.market import CANCELLED, OPEN, UNFUNDED, MarketOrder, from_uint
from backend.market import order_book
from backend.market.pruner import Pruner
from gpubarter.protocol.exchange import SignedOrder
from gpubarter.protocol.order_checks import BATCH_CALLS, Relay

SELLS, BUYS = 60, 60


@pytest.fixture
def book(market: Market, tmp_path: Path) -> Iterator[tuple[Pruner, list[list[Any]]]]:
    """A pruner over a SQLite book, and the batches it sends (each a list of calls)."""
    ex = market.gov
    relay = Relay(ex.w3, ex.exchange, ex.token, ex.credits, min_lifetime_s=0)
    sent: list[list[Any]] = []
    send = relay._batcher[1]

    def counting(calls: list[Any]) -> list[dict[str, Any]]:
        sent.append(list(calls))
        return send(calls)

    relay._batcher = (relay.w3, counting)
    engine = make_engine(f"sqlite:///{tmp_path / 'book.sqlite3'}")
    migrate(engine)
    sessions = session_factory(engine)
    yield Pruner(relay, sessions, market.world.now), sent
    engine.dispose()


def _accept(pruner: Pruner, signed: SignedOrder) -> None:
    accepted = pruner.relay.validate(signed.to_json())
    order_book.accept(pruner.sessions.kw["bind"], accepted, accepted.chain_time)


def _states(pruner: Pruner) -> dict[str, tuple[str, int]]:
    with pruner.sessions() as session:
        return {r.hash: (r.status, from_uint(r.remaining)) for r in session.scalars(select(MarketOrder))}


def test_a_page_is_rechecked_in_shared_batches_with_each_order_judged_alone(market: Market, book) -> None:
    pruner, sent = book
    sells = [market.sell(HOUR) for _ in range(SELLS)]
    buys = [market.buy(HOUR) for _ in range(BUYS)]
    for signed in sells + buys:
        _accept(pruner, signed)
    market.seller.cancel(sells[0].order)
    market.buyer.fill(sells[1], 600)
    market.buyer.sender.transact(market.buyer.token.functions.approve(market.gov.exchange.address, 0))

    sent.clear()
    assert pruner.prune_once() == 2 + BUYS  # the cancelled sell, the part-filled sell, every buy

    # Each distinct read once: per order its filled amount; per maker its epoch, funds and approval;
    # per series whether it is frozen (one series here).
    distinct = {str(c) for batch in sent for c in batch if c[0] == "eth_call"}
    assert len(distinct) == SELLS + BUYS + 2 * 3 + 1
    assert len(sent) == -(-len(distinct) // BATCH_CALLS)  # not one request per order
    assert max(len(batch) for batch in sent) <= BATCH_CALLS + 1  # + the latest block

    states = _states(pruner)
    key = lambda s: "0x" + s.digest.hex()  # noqa: E731
    assert states[key(sells[0])] == (CANCELLED, HOUR)
    assert states[key(sells[1])] == (OPEN, HOUR - 600)
    assert all(states[key(s)] == (OPEN, HOUR) for s in sells[2:])
    assert all(states[key(b)] == (UNFUNDED, HOUR) for b in buys)

    market.buyer.approve()  # funded again: every buy comes back, nothing else moves
    assert pruner.prune_once() == BUYS
    assert all(_states(pruner)[key(b)] == (OPEN, HOUR) for b in buys)


def test_a_silent_node_changes_nothing(market: Market, book) -> None:
    pruner, _ = book
    _accept(pruner, market.sell(HOUR))
    before = _states(pruner)

    def silent(calls: list[Any]) -> list[dict[str, Any]]:
        from gpubarter.errors import ChainError

        raise ChainError("the node did not answer a batch of calls (ConnectionRefusedError)")

    pruner.relay._batcher = (pruner.relay.w3, silent)
    assert pruner.prune_once() == 0
    assert _states(pruner) == before
