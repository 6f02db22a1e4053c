"""The credit exchange for one trader: sign orders, fill, cancel, read fills.

Amounts in GPU-seconds, prices in CPT wei per GPU-hour. Writes return the
:class:`~gpubarter.chain.tx.TxResult`; a revert raises
:class:`~gpubarter.errors.TransactionReverted` with the decoded custom error.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from web3.contract import Contract
from web3.types import EventData

from gpubarter.chain import eip712
from gpubarter.chain.logs import find_logs
from gpubarter.chain.network import log_range_for
from gpubarter.chain.tx import Sender, TxResult
from gpubarter.deployment_record import Deployment
from gpubarter.protocol.exchange_types import BUY, SELL, UINT256, Order, compact, order_digest, sign_order

__all__ = ["BUY", "SELL", "ExchangeClient", "Order", "SignedOrder"]


@dataclass(frozen=True)
class SignedOrder:
    order: Order
    signature: bytes
    digest: bytes

    @property
    def compact(self) -> tuple[bytes, bytes]:
        return compact(self.signature)

    def to_json(self) -> dict[str, Any]:
        return {"order": self.order.to_json(), "signature": "0x" + self.signature.hex()}


class ExchangeClient:
    """CreditExchange for one signer on one chain.

    Log searches ask for at most ``log_range`` blocks per request (default: the deployment's
    network's ``max_log_range``), as in :class:`~gpubarter.protocol.credits.ComputeClient`.
    """

    def __init__(self, sender: Sender, deployment: Deployment, *, log_range: int | None = None) -> None:
        self.sender = sender
        self.w3 = sender.w3
        self.deployment = deployment
        self.log_range = log_range if log_range is not None else log_range_for(deployment.network)
        self.exchange: Contract = deployment.contract(self.w3, "CreditExchange")
        self.token: Contract = deployment.contract(self.w3, "ComputeToken")
        self.credits: Contract = deployment.contract(self.w3, "ComputeCredits")
        self._domain: dict[str, Any] | None = None

    @property
    def domain(self) -> dict[str, Any]:
        if self._domain is None:
            self._domain = eip712.domain_of(self.exchange)
        return self._domain

    # ------------------------------------------------------------------ orders

    def make(self, side: int, series_id: int, amount: int, price_per_hour: int, expiry: int,
             *, epoch: int | None = None, salt: int | None = None) -> SignedOrder:
        """Sign an order of this trader (no transaction)."""
        if epoch is None:
            epoch = self.epoch_of(self.sender.address)
        order = Order(self.sender.address, side, series_id, amount, price_per_hour, expiry, epoch,
                      secrets.randbits(64) if salt is None else salt)
        return SignedOrder(order, sign_order(self.sender.account, self.domain, order),
                           order_digest(self.domain, order))

    def approve(self, cpt: int = UINT256) -> tuple[TxResult, TxResult]:
        """Let the exchange move this trader's credits and up to ``cpt`` CPT wei."""
        return (self.sender.transact(self.credits.functions.setApprovalForAll(self.exchange.address, True)),
                self.sender.transact(self.token.functions.approve(self.exchange.address, cpt)))

    def fill(self, signed: SignedOrder, amount: int) -> TxResult:
        return self.sender.transact(
            self.exchange.functions.fill(signed.order.as_tuple(), signed.compact, amount))

    def fill_many(self, fills: Sequence[tuple[SignedOrder, int]]) -> TxResult:
        return self.sender.transact(self.exchange.functions.fillMany(
            [s.order.as_tuple() for s, _ in fills], [s.compact for s, _ in fills], [a for _, a in fills]))

    def cancel(self, order: Order) -> TxResult:
        return self.sender.transact(self.exchange.functions.cancel(order.as_tuple()))

    def raise_epoch(self, epoch: int) -> TxResult:
        return self.sender.transact(self.exchange.functions.raiseEpoch(epoch))

    # ------------------------------------------------------------------ reads

    def fills(self) -> list[EventData]:
        """Every ``OrderFilled`` log since the exchange was deployed, oldest first."""
        start = self.deployment.block_of("CreditExchange")
        return find_logs(self.exchange.events.OrderFilled(), from_block=start, max_range=self.log_range)

    def filled_of(self, digest: bytes) -> int:
        return int(self.exchange.functions.filledOf(digest).call())

    def epoch_of(self, maker: str) -> int:
        return int(self.exchange.functions.epochOf(maker).call())

    def fee(self) -> tuple[str, int]:
        return self.exchange.functions.treasury().call(), int(self.exchange.functions.feeBps().call())
