"""The order relay's validation: only well-formed, signed, live and funded orders are accepted."""

from __future__ import annotations

from dataclasses import replace

import pytest
from exchange_world import HOUR, PRICE, Market

from gpubarter.deploy_plan import WAD, role
from gpubarter.protocol.exchange import SignedOrder
from gpubarter.protocol.exchange_types import sign_order
from gpubarter.protocol.order_checks import OrderRejected, Relay, parse


@pytest.fixture
def relay(market: Market) -> Relay:
    ex = market.gov
    return Relay(ex.w3, ex.exchange, ex.token, ex.credits, min_lifetime_s=0)


def _now(m: Market) -> int:
    return m.world.now()


def test_accepts_a_funded_sell_and_buy(market: Market, relay: Relay) -> None:
    for signed in (market.sell(HOUR), market.buy(HOUR)):
        accepted = relay.validate(signed.to_json(), now=_now(market))
        assert accepted.digest == signed.digest and accepted.remaining == HOUR
        assert (accepted.class_id, accepted.window_start) == (1, market.world.start)


def test_a_maker_in_lower_case_is_the_same_maker(market: Market, relay: Relay) -> None:
    payload = market.sell(HOUR).to_json()
    payload["order"]["maker"] = payload["order"]["maker"].lower()
    assert relay.validate(payload, now=_now(market)).order.maker == market.seller.sender.address


def test_partially_filled_order_offers_the_rest(market: Market, relay: Relay) -> None:
    signed = market.sell(HOUR)
    market.buyer.fill(signed, 600)
    assert relay.validate(signed.to_json(), now=_now(market)).remaining == HOUR - 600


def _miscased(address: str) -> str:
    """``address`` with one letter's case flipped: a mixed-case spelling whose EIP-55 checksum fails."""
    i = next(i for i, c in enumerate(address) if i > 1 and c.isalpha())
    return address[:i] + address[i].swapcase() + address[i + 1:]


@pytest.mark.parametrize(("mutate", "kind"), [
    (lambda p: {**p, "signature": "0x1234"}, "malformed"),
    (lambda p: {**p, "order": {**p["order"], "maker": "nobody"}}, "malformed"),
    (lambda p: {**p, "order": {**p["order"], "maker": _miscased(p["order"]["maker"])}}, "malformed"),
    (lambda p: {**p, "order": {**p["order"], "side": 2}}, "malformed"),
    (lambda p: {**p, "order": {**p["order"], "amount": 0}}, "malformed"),
    (lambda p: {**p, "order": {**p["order"], "price_per_hour": 1}}, "bad-signature"),
    (lambda p: {"order": p["order"]}, "malformed"),
])
def test_refuses_malformed_or_tampered(market: Market, relay: Relay, mutate, kind: str) -> None:
    payload = mutate(market.sell().to_json())
    with pytest.raises(OrderRejected) as info:
        relay.validate(payload, now=_now(market))
    assert info.value.kind == kind


def _rejected(relay: Relay, m: Market, signed: SignedOrder) -> str:
    with pytest.raises(OrderRejected) as info:
        relay.validate(signed.to_json(), now=_now(m))
    return info.value.kind


def test_refuses_expired_cancelled_filled_and_foreign_domain(market: Market, relay: Relay) -> None:
    m = market
    assert _rejected(relay, m, m.sell(expiry_in=-1)) == "expired"
    cancelled = m.sell()
    m.seller.cancel(cancelled.order)
    assert _rejected(relay, m, cancelled) == "cancelled"
    old = m.sell(epoch=0)
    m.seller.raise_epoch(3)
    assert _rejected(relay, m, old) == "cancelled"
    filled = m.sell(HOUR, epoch=3)
    m.buyer.fill(filled, HOUR)
    assert _rejected(relay, m, filled) == "filled"
    good = m.sell(epoch=3)
    foreign = {**m.seller.domain, "chainId": m.seller.domain["chainId"] + 1}
    forged = replace(good, signature=sign_order(m.seller.sender.account, foreign, good.order))
    assert _rejected(relay, m, forged) == "bad-signature"
    unknown = m.seller.make(1, 999, HOUR, PRICE, _now(m) + 60)
    assert _rejected(relay, m, unknown) == "unknown-series"


def test_refuses_unfunded_orders(market: Market, relay: Relay) -> None:
    m = market
    assert _rejected(relay, m, m.sell(10**9)) == "unfunded"  # more credits than held
    assert _rejected(relay, m, m.buy(HOUR, 10**6 * WAD)) == "unfunded"  # more CPT than held
    m.seller.sender.transact(m.seller.credits.functions.setApprovalForAll(m.gov.exchange.address, False))
    assert _rejected(relay, m, m.sell()) == "unfunded"
    m.buyer.sender.transact(m.buyer.token.functions.approve(m.gov.exchange.address, 0))
    assert _rejected(relay, m, m.buy()) == "unfunded"


def test_series_past_its_window_is_refused(market: Market, relay: Relay) -> None:
    m = market
    from compute_world import WINDOW

    signed = m.sell(expiry_in=2 * WINDOW)
    relay.validate(signed.to_json(), now=_now(m))  # caches the series' terms
    m.world.travel_to(m.world.start + WINDOW)
    assert _rejected(relay, m, signed) == "series-ended"


def test_frozen_series_is_refused_m4(market: Market, relay: Relay) -> None:
    m = market
    signed = m.sell()
    relay.validate(signed.to_json(), now=_now(m))
    f = m.gov.credits.functions
    m.gov.sender.transact(f.grantRole(role("SERIES_ISSUER_ROLE"), m.gov.sender.address))
    m.gov.sender.transact(f.setFrozen(m.series_id, True))
    assert _rejected(relay, m, signed) == "series-frozen"


def test_parse_round_trips_the_signed_order(market: Market) -> None:
    signed = market.sell()
    assert parse(signed.to_json()) == (signed.order, signed.signature)
