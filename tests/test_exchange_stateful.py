"""Random sequences of order signing, fills, cancels and epoch raises against the real anvil chain,
with the exchange's invariants checked after every step (hypothesis ``RuleBasedStateMachine``).

Every fill is predicted to succeed or to be refused with a named error; a refused fill must leave
every balance and filled amount unchanged. The run fails when some rule never once succeeded
(``state_machines.Outcomes``).

Invariants:
- CPT and credits are conserved: Σ balances of the traders and the treasury never change (fees move
  CPT to the treasury, which is counted), and the treasury's CPT grows by exactly the fees;
- filled <= amount for every order that is not cancelled, and filled equals the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from chain_checks import revert_to, take_snapshot
from exchange_world import Market
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)
from state_machines import Outcomes, run_machine

from gpubarter.chain.revert import error_name
from gpubarter.deploy_plan import WAD
from gpubarter.errors import TransactionReverted
from gpubarter.protocol.exchange import BUY, SELL, ExchangeClient, SignedOrder
from gpubarter.protocol.exchange_types import cost_of, fee_of

CANCELLED = 2**256 - 1
AMOUNTS = st.sampled_from([1, 59, 600, 3_600, 20_000, 50_000])
PRICES = st.sampled_from([1, 3_599, WAD, 7 * WAD + 1, 10**24])


@dataclass
class OrderModel:
    signed: SignedOrder
    maker: ExchangeClient
    filled: int = 0
    cancelled: bool = False


def make_machine(m: Market, outcomes: Outcomes) -> type[RuleBasedStateMachine]:
    traders = [m.seller, m.buyer, m.third]
    fee_bps = m.gov.fee()[1]

    class ExchangeMachine(RuleBasedStateMachine):
        orders = Bundle("orders")

        @initialize()
        def start(self) -> None:
            self.snapshot = take_snapshot(m.world.w3)
            self.totals = self._totals()
            self.treasury_start = m.cpt(m.treasury)
            self.fees = 0
            self.models: list[OrderModel] = []
            self.epochs = {t.sender.address: t.epoch_of(t.sender.address) for t in traders}

        def teardown(self) -> None:
            revert_to(m.world.w3, self.snapshot, [t.sender for t in traders])

        def _totals(self) -> tuple[int, int]:
            b = m.balances()
            return sum(c for c, _ in b), sum(k for _, k in b)

        @rule(target=orders, maker=st.sampled_from(traders), side=st.sampled_from([BUY, SELL]),
              amount=AMOUNTS, price=PRICES, epoch_bump=st.sampled_from([0, 0, 1]))
        def sign(self, maker: ExchangeClient, side: int, amount: int, price: int,
                 epoch_bump: int) -> OrderModel:
            epoch = self.epochs[maker.sender.address] + epoch_bump
            signed = maker.make(side, m.series_id, amount, price, m.world.now() + 10**6, epoch=epoch)
            model = OrderModel(signed, maker)
            self.models.append(model)
            outcomes.record()
            return model

        def _expected(self, o: OrderModel, taker: ExchangeClient, amount: int) -> str | None:
            order = o.signed.order
            if order.epoch < self.epochs[order.maker]:
                return "CreditExchangeEpochTooLow"
            if o.cancelled:
                return "CreditExchangeOrderCancelled"
            if amount > order.amount - o.filled:
                return "CreditExchangeOverfill"
            seller, buyer = (order.maker, taker.sender.address) if order.side == SELL else (
                taker.sender.address, order.maker)
            cost = cost_of(order.price_per_hour, amount, order.side)
            if m.cpt(buyer) < cost:
                return "ERC20InsufficientBalance"
            if m.credits(seller) < amount:
                return "ERC1155InsufficientBalance"
            return None

        @rule(o=orders, taker=st.sampled_from(traders), share=st.sampled_from([0.1, 0.5, 1.0, 1.5]),
              fit=st.booleans())
        def fill(self, o: OrderModel, taker: ExchangeClient, share: float, fit: bool) -> None:
            """The taker fills part of the drawn order, or (``fit``) of the newest order it can fill."""
            def amount_of(order: OrderModel) -> int:
                return max(1, int((order.signed.order.amount - order.filled) * share))

            if fit:
                fillable = [c for c in self.models if self._expected(c, taker, amount_of(c)) is None]
                o = fillable[-1] if fillable else o
            amount = amount_of(o)
            expected = self._expected(o, taker, amount)
            before = (m.balances(), taker.filled_of(o.signed.digest))
            try:
                taker.fill(o.signed, amount)
            except TransactionReverted as exc:
                assert error_name(exc.reason) == expected, exc.reason
                assert (m.balances(), taker.filled_of(o.signed.digest)) == before
                outcomes.record(expected)
                return
            assert expected is None, f"expected {expected}"
            outcomes.record()
            o.filled += amount
            self.fees += fee_of(cost_of(o.signed.order.price_per_hour, amount, o.signed.order.side), fee_bps)

        @rule(o=orders)
        def cancel(self, o: OrderModel) -> None:
            error = "CreditExchangeOrderCancelled" if o.cancelled else None
            outcomes.expect(lambda: o.maker.cancel(o.signed.order), error)
            o.cancelled = True

        @rule(maker=st.sampled_from(traders))
        def raise_epoch(self, maker: ExchangeClient) -> None:
            new = self.epochs[maker.sender.address] + 1
            maker.raise_epoch(new)
            self.epochs[maker.sender.address] = new
            outcomes.record()

        @invariant()
        def conserved(self) -> None:
            if not hasattr(self, "totals"):
                return
            assert self._totals() == self.totals
            assert m.cpt(m.treasury) == self.treasury_start + self.fees

        @invariant()
        def filled_within_amount(self) -> None:
            for o in getattr(self, "models", []):
                on_chain = m.seller.filled_of(o.signed.digest)
                if o.cancelled:
                    assert on_chain == CANCELLED
                else:
                    assert on_chain == o.filled <= o.signed.order.amount

    return ExchangeMachine


@pytest.mark.slow
def test_exchange_state_machine(market: Market) -> None:
    outcomes = Outcomes()
    machine = make_machine(market, outcomes)
    run_machine(machine, outcomes, examples=12, steps=10)
