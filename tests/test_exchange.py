"""CreditExchange: signed orders for credits against CPT, settled on-chain."""

from __future__ import annotations

from dataclasses import replace

import pytest
from chain_checks import reverts
from compute_world import WINDOW, events
from exchange_world import FEE_BPS, HOUR, PRICE, Market

from gpubarter.chain.typed_structs import StructSchemaError, load_types
from gpubarter.deploy_plan import role
from gpubarter.protocol.exchange import SELL, SignedOrder
from gpubarter.protocol.exchange_types import BUY, cost_of, fee_of, order_digest, order_types, sign_order


def _state(m: Market, *signed: SignedOrder) -> tuple:
    return (m.balances(), [m.seller.filled_of(s.digest) for s in signed])


def test_python_types_match_the_solidity_typehash_and_digest(market: Market) -> None:
    signed = market.sell()
    typehash = market.gov.exchange.functions.hashOrder(signed.order.as_tuple()).call()
    assert typehash == signed.digest == order_digest(market.seller.domain, signed.order)
    types = order_types()
    assert [m["name"] for m in types["Order"]][:3] == ["maker", "side", "seriesId"]


def test_a_drifted_struct_is_refused(tmp_path) -> None:
    from gpubarter import paths

    source = (paths.contracts_dir() / "types" / "ExchangeTypes.sol").read_text()
    drifted = tmp_path / "ExchangeTypes.sol"
    drifted.write_text(source.replace("uint64 expiry;", "uint32 expiry;"))
    with pytest.raises(StructSchemaError, match="ORDER_TYPEHASH"):
        load_types(drifted, ("Order",))


def test_fill_a_sell_order_fully_moves_credits_cpt_and_fee(market: Market) -> None:
    m = market
    s, b = m.seller.sender.address, m.buyer.sender.address
    signed = m.sell(HOUR)
    before = {a: (m.cpt(a), m.credits(a)) for a in (s, b, m.treasury)}
    result = m.buyer.fill(signed, HOUR)
    cost = PRICE
    fee = cost * FEE_BPS // 10_000
    assert m.cpt(b) == before[b][0] - cost and m.credits(b) == before[b][1] + HOUR
    assert m.cpt(s) == before[s][0] + cost - fee and m.credits(s) == before[s][1] - HOUR
    assert m.cpt(m.treasury) == before[m.treasury][0] + fee
    assert m.seller.filled_of(signed.digest) == HOUR
    (event,) = events(m.gov.exchange, "OrderFilled", result)
    assert event["seriesId"] == m.series_id and event["classId"] == 1
    assert event["windowStart"] == m.world.start
    assert (event["pricePerHour"], event["amount"], event["cost"]) == (PRICE, HOUR, cost)
    assert event["maker"] == s


def test_fill_a_buy_order_partially_then_the_rest(market: Market) -> None:
    m = market
    s, b = m.seller.sender.address, m.buyer.sender.address
    signed = m.buy(2 * HOUR)
    cpt_b, cr_s = m.cpt(b), m.credits(s)
    m.seller.fill(signed, 1_000)
    assert m.seller.filled_of(signed.digest) == 1_000
    m.seller.fill(signed, 2 * HOUR - 1_000)
    assert m.seller.filled_of(signed.digest) == 2 * HOUR
    paid = cost_of(PRICE, 1_000, BUY) + cost_of(PRICE, 2 * HOUR - 1_000, BUY)
    assert m.cpt(b) == cpt_b - paid
    assert m.credits(s) == cr_s - 2 * HOUR and m.credits(b) == 2 * HOUR


def test_replay_and_overfill_are_refused(market: Market) -> None:
    m = market
    signed = m.sell(HOUR)
    m.buyer.fill(signed, HOUR)
    reverts(lambda: m.buyer.fill(signed, 1), "CreditExchangeOverfill", lambda: _state(m, signed))
    partial = m.sell(HOUR)
    m.buyer.fill(partial, 100)
    reason = reverts(lambda: m.buyer.fill(partial, HOUR), "CreditExchangeOverfill",
                     lambda: _state(m, partial))
    assert f"remaining={HOUR - 100}" in reason


def test_multi_fill_settles_several_makers_at_once(market: Market) -> None:
    m = market
    orders = [m.sell(600, PRICE), m.sell(1_200, PRICE + 1, by=m.third), m.sell(300, PRICE * 2)]
    b = m.buyer.sender.address
    cpt_b = m.cpt(b)
    result = m.buyer.fill_many([(orders[0], 600), (orders[1], 1_000), (orders[2], 300)])
    assert len(events(m.gov.exchange, "OrderFilled", result)) == 3
    assert m.credits(b) == 1_900
    assert m.cpt(b) == cpt_b - sum(cost_of(o.order.price_per_hour, a, SELL)
                                   for o, a in zip(orders, (600, 1_000, 300), strict=True))


def test_multi_fill_is_all_or_nothing(market: Market) -> None:
    m = market
    good, spent = m.sell(600), m.sell(600)
    m.buyer.fill(spent, 600)
    reverts(lambda: m.buyer.fill_many([(good, 600), (spent, 1)]), "CreditExchangeOverfill",
            lambda: _state(m, good, spent))
    reverts(lambda: m.buyer.sender.transact(m.buyer.exchange.functions.fillMany(
        [good.order.as_tuple()], [], [1])), "CreditExchangeLengthMismatch", lambda: _state(m, good))


def test_cancel_one_order(market: Market) -> None:
    m = market
    signed = m.sell()
    reverts(lambda: m.buyer.cancel(signed.order), "CreditExchangeNotMaker", lambda: _state(m, signed))
    result = m.seller.cancel(signed.order)
    assert events(m.gov.exchange, "OrderCancelled", result)[0]["orderHash"] == signed.digest
    reverts(lambda: m.buyer.fill(signed, 1), "CreditExchangeOrderCancelled", lambda: _state(m, signed))
    reverts(lambda: m.seller.cancel(signed.order), "CreditExchangeOrderCancelled", lambda: _state(m, signed))


def test_cancel_every_order_below_an_epoch(market: Market) -> None:
    m = market
    old, kept = m.sell(epoch=0), m.sell(epoch=5)
    m.seller.raise_epoch(5)
    assert m.seller.epoch_of(m.seller.sender.address) == 5
    reverts(lambda: m.buyer.fill(old, 1), "CreditExchangeEpochTooLow", lambda: _state(m, old))
    m.buyer.fill(kept, 1)
    reverts(lambda: m.seller.raise_epoch(5), "CreditExchangeEpochNotRaised",
            lambda: m.seller.epoch_of(m.seller.sender.address))


def test_expired_order_is_refused(market: Market) -> None:
    m = market
    signed = m.sell(expiry_in=60)
    m.world.travel(61)
    reverts(lambda: m.buyer.fill(signed, 1), "CreditExchangeOrderExpired", lambda: _state(m, signed))


def test_series_past_its_window_does_not_trade(market: Market) -> None:
    m = market
    signed = m.sell(expiry_in=2 * WINDOW)
    m.world.travel_to(m.world.start + WINDOW)
    reverts(lambda: m.buyer.fill(signed, 1), "CreditExchangeSeriesEnded", lambda: _state(m, signed))


def _freeze(m: Market) -> None:
    f = m.gov.credits.functions
    m.gov.sender.transact(f.grantRole(role("SERIES_ISSUER_ROLE"), m.gov.sender.address))
    m.gov.sender.transact(f.setFrozen(m.series_id, True))


def test_frozen_series_does_not_trade_m4(market: Market) -> None:
    """M-4: members of a faulted cooperative cannot dump unredeemable credits on standing bids."""
    m = market
    bid = m.buy(expiry_in=WINDOW)
    _freeze(m)
    reverts(lambda: m.seller.fill(bid, 1), "CreditExchangeSeriesFrozen", lambda: _state(m, bid))
    # ComputeCredits told the exchange in the freezing transaction: its cached copy is never stale.
    assert m.gov.credits.functions.seriesListener().call() == m.gov.exchange.address


def test_fee_cannot_be_dodged_with_tiny_fills(market: Market) -> None:
    """A fill too small for a whole wei of fee pays one (the fee rounds up)."""
    m = market
    signed = m.sell(HOUR, 360_000)  # 100 CPT wei a GPU-second: a fee of 0.2 wei, 0 before rounding up
    t = m.cpt(m.treasury)
    m.buyer.fill(signed, 1)
    assert cost_of(360_000, 1, SELL) * FEE_BPS // 10_000 == 0
    assert m.cpt(m.treasury) - t == fee_of(cost_of(360_000, 1, SELL), FEE_BPS) == 1


@pytest.mark.parametrize("field", ["chainId", "verifyingContract"])
def test_signature_bound_to_chain_and_contract(market: Market, field: str) -> None:
    m = market
    good = m.sell()
    wrong = {"chainId": good_chain + 1 if (good_chain := m.seller.domain["chainId"]) else 1,
             "verifyingContract": m.gov.token.address}[field]
    dom = {**m.seller.domain, field: wrong}
    forged = SignedOrder(good.order, sign_order(m.seller.sender.account, dom, good.order), good.digest)
    reverts(lambda: m.buyer.fill(forged, 1), "CreditExchangeBadSignature", lambda: _state(m, good))


def test_tampered_order_and_bad_side_are_refused(market: Market) -> None:
    m = market
    good = m.sell()
    cheaper = SignedOrder(replace(good.order, price_per_hour=1), good.signature, good.digest)
    reverts(lambda: m.buyer.fill(cheaper, 1), "CreditExchangeBadSignature", lambda: _state(m, good))
    bad = m.seller.make(7, m.series_id, HOUR, PRICE, m.world.now() + 60)
    reverts(lambda: m.buyer.fill(bad, 1), "CreditExchangeBadSide", lambda: _state(m, bad))
    reverts(lambda: m.buyer.fill(good, 0), "CreditExchangeZeroAmount", lambda: _state(m, good))


def test_insufficient_balance_or_approval_changes_nothing(market: Market) -> None:
    m = market
    huge = m.sell(HOUR, 10**30)  # costs more CPT than the buyer holds
    reverts(lambda: m.buyer.fill(huge, HOUR), "ERC20InsufficientBalance", lambda: _state(m, huge))
    too_many = m.sell(10**9, 1)  # more credits than the seller holds
    reverts(lambda: m.buyer.fill(too_many, 10**8), "ERC1155InsufficientBalance", lambda: _state(m, too_many))
    signed = m.sell()
    m.seller.sender.transact(m.seller.credits.functions.setApprovalForAll(m.gov.exchange.address, False))
    reverts(lambda: m.buyer.fill(signed, 1), "ERC1155MissingApprovalForAll", lambda: _state(m, signed))
    m.buyer.sender.transact(m.buyer.token.functions.approve(m.gov.exchange.address, 0))
    bid = m.buyer.make(BUY, m.series_id, HOUR, PRICE, m.world.now() + 60)
    reverts(lambda: m.third.fill(bid, HOUR), "ERC20InsufficientAllowance", lambda: _state(m, bid))


@pytest.mark.parametrize(("price", "amount"),
                         [(1, 1), (3_599, 1), (3_601, 7), (10**18 + 1, 1_799), (7, 3_600)])
def test_price_rounds_in_favour_of_the_maker(market: Market, price: int, amount: int) -> None:
    costs = market.gov.exchange.functions.costOf
    sell, buy = costs(price, amount, SELL).call(), costs(price, amount, BUY).call()
    assert (sell, buy) == (cost_of(price, amount, SELL), cost_of(price, amount, BUY))
    assert sell * 3_600 >= price * amount >= buy * 3_600 and sell - buy <= 1
    if (price * amount) % 3_600 == 0:
        assert sell == buy


def test_fee_is_governed_and_capped(market: Market) -> None:
    m = market
    fx = m.gov.exchange.functions
    reverts(lambda: m.gov.sender.transact(fx.setFee(m.treasury, 101)), "CreditExchangeFeeTooHigh",
            fx.feeBps().call)
    reverts(lambda: m.buyer.sender.transact(fx.setFee(m.buyer.sender.address, 0)),
            "AccessControlUnauthorizedAccount", fx.treasury().call)
    reverts(lambda: m.gov.sender.transact(fx.setFee("0x" + "00" * 20, 0)), "CreditExchangeZeroAddress",
            fx.treasury().call)
    m.gov.sender.transact(fx.setFee(m.treasury, 100))
    signed = m.sell(HOUR, 3 * PRICE)
    t = m.cpt(m.treasury)
    m.buyer.fill(signed, 1_234)
    assert m.cpt(m.treasury) - t == fee_of(cost_of(3 * PRICE, 1_234, SELL), 100)


def test_unknown_series_is_refused(market: Market) -> None:
    m = market
    signed = m.seller.make(SELL, 999, HOUR, PRICE, m.world.now() + 60)
    reverts(lambda: m.buyer.fill(signed, 1), "ComputeCreditsUnknownSeries", lambda: _state(m, signed))
