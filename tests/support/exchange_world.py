"""Shared setup for the exchange tests: two funded, approved traders on one live series.

Not a test module. ``market`` builds on ``compute_world.world``: the holder sells the
series' credits, ``other`` buys with CPT, a third trader holds credits too; fees go to a
treasury of their own, so conservation can be checked account by account.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from compute_world import World

from gpubarter.chain.tx import Sender
from gpubarter.deploy_plan import WAD
from gpubarter.protocol.exchange import BUY, SELL, ExchangeClient, SignedOrder

FEE_BPS = 30
PRICE = 2 * WAD  # CPT wei per GPU-hour
BUYER_CPT = 10_000 * WAD
HOUR = 3_600


@dataclass
class Market:
    world: World
    seller: ExchangeClient  # holds the series' credits
    buyer: ExchangeClient  # holds CPT
    third: ExchangeClient  # holds credits and CPT
    gov: ExchangeClient
    treasury: str

    @property
    def series_id(self) -> int:
        return self.world.series_id

    def sell(self, amount: int = HOUR, price: int = PRICE, *, by: ExchangeClient | None = None,
             expiry_in: int = 3_600, **kw: int) -> SignedOrder:
        return (by or self.seller).make(SELL, self.series_id, amount, price,
                                        self.world.now() + expiry_in, **kw)

    def buy(self, amount: int = HOUR, price: int = PRICE, *, by: ExchangeClient | None = None,
            expiry_in: int = 3_600, **kw: int) -> SignedOrder:
        return (by or self.buyer).make(BUY, self.series_id, amount, price, self.world.now() + expiry_in, **kw)

    def cpt(self, who: str) -> int:
        return int(self.seller.token.functions.balanceOf(who).call())

    def credits(self, who: str) -> int:
        return int(self.seller.credits.functions.balanceOf(who, self.series_id).call())

    def accounts(self) -> list[str]:
        return [c.sender.address for c in (self.seller, self.buyer, self.third)] + [self.treasury]

    def balances(self) -> list[tuple[int, int]]:
        return [(self.cpt(a), self.credits(a)) for a in self.accounts()]


@pytest.fixture(scope="module")
def market(world: World, accounts: list[Sender]) -> Market:
    dep = world.deployment
    gov, seller, buyer, third = (ExchangeClient(accounts[i], dep) for i in (0, 2, 3, 6))
    treasury = accounts[9].address
    gov.sender.transact(gov.exchange.functions.setFee(treasury, FEE_BPS))
    for who in (buyer, third):
        gov.sender.transact(gov.token.functions.transfer(who.sender.address, BUYER_CPT))
    world.provider.mint(world.series_id, 36_000, third.sender.address)
    for who in (seller, buyer, third):
        who.approve()
    return Market(world, seller, buyer, third, gov, treasury)
