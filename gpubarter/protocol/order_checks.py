"""What an order relay checks before it accepts a signed order: the backend's ``POST /api/v1/orders``
and the CLI's ``market book`` of a folder of order files run the same checks.

An order is accepted only when it is well formed, signed by its maker under this chain's
exchange domain, not expired, not voided by its maker's epoch, not cancelled or filled,
for a live series, and *funded*: a seller holds the unfilled credits and approved the
exchange; a buyer holds the CPT for them and allowed the exchange to spend it. Chain reads
for one order go in one JSON-RPC batch. Every refusal is an :class:`OrderRejected` with a
problem type and a one-line detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract

from gpubarter.chain import eip712
from gpubarter.chain.addresses import checksum, is_hex_address
from gpubarter.chain.rpc import batch_caller
from gpubarter.errors import ChainError, GpuBarterError
from gpubarter.protocol.exchange_types import (
    BUY,
    SELL,
    UINT64,
    UINT256,
    Order,
    cost_of,
    domain_separator,
    order_digest,
    recover_signer,
)

CANCELLED = UINT256
#: Calls per JSON-RPC batch: public RPC providers refuse larger batches (commonly at 100 to 1,000).
BATCH_CALLS = 100
_SEL = {name: keccak(text=sig)[:4] for name, sig in {
    "epochOf": "epochOf(address)", "filledOf": "filledOf(bytes32)", "balanceOf": "balanceOf(address)",
    "allowance": "allowance(address,address)", "balanceOf1155": "balanceOf(address,uint256)",
    "isApprovedForAll": "isApprovedForAll(address,address)", "isFrozen": "isFrozen(uint256)"}.items()}


class OrderRejected(GpuBarterError):
    """The relay refused an order; ``kind`` names the problem type (``bad-signature``, ``unfunded``...)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class AcceptedOrder:
    order: Order
    signature: bytes
    digest: bytes
    remaining: int
    class_id: int
    window_start: int
    window_end: int
    chain_time: int = 0  # the latest block's timestamp, read in the same batch as the funding


def parse(payload: dict[str, Any]) -> tuple[Order, bytes]:
    """The order and 65-byte signature of a relay request body ``{"order": {...}, "signature": "0x.."}``."""
    try:
        raw, sig_hex = payload["order"], payload["signature"]
        maker = raw["maker"]
        if not is_hex_address(maker):
            raise OrderRejected("malformed", f"maker {maker!r} is not an address")
        values = {k: int(raw[k]) for k in ("side", "series_id", "amount", "price_per_hour", "expiry", "epoch",
                                            "salt")}
        signature = bytes.fromhex(sig_hex.removeprefix("0x"))
    except OrderRejected:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise OrderRejected("malformed", f"cannot read the order: {exc!r}") from None
    bounds = {"side": 1, "series_id": UINT256, "amount": UINT256, "price_per_hour": UINT256,
              "expiry": UINT64, "epoch": UINT64, "salt": UINT256}
    for key, top in bounds.items():
        if not 0 <= values[key] <= top:
            raise OrderRejected("malformed", f"{key}={values[key]} is out of range [0, {top}]")
    if values["amount"] == 0 or values["price_per_hour"] == 0:
        raise OrderRejected("malformed", "amount and price_per_hour must be positive")
    if len(signature) != 65:
        raise OrderRejected("malformed", f"signature must be 65 bytes, got {len(signature)}")
    return Order(checksum(maker), **values), signature


class Relay:
    """Validates orders against one exchange deployment."""

    def __init__(self, w3: Web3, exchange: Contract, token: Contract, credits: Contract,
                 *, min_lifetime_s: int = 5) -> None:
        self.w3, self.exchange, self.token, self.credits = w3, exchange, token, credits
        self.domain = eip712.domain_of(exchange)
        self.separator = domain_separator(self.domain)
        self.min_lifetime_s = min_lifetime_s
        self._series: dict[int, tuple[int, int, int]] = {}
        self._batcher = (w3, batch_caller(w3))

    def terms(self, series_id: int) -> tuple[int, int, int]:
        """(class id, window start, window end) of a series; immutable, so cached."""
        if series_id not in self._series:
            if not 0 < series_id <= self.credits.functions.seriesCount().call():
                raise OrderRejected("unknown-series", f"series {series_id} does not exist")
            s = self.credits.functions.seriesOf(series_id).call()
            self._series[series_id] = (int(s[1]), int(s[2]), int(s[3]))
        return self._series[series_id]

    def validate(self, payload: dict[str, Any], now: float | None = None) -> AcceptedOrder:
        """The accepted order, or :class:`OrderRejected`. A payload may name the EIP-712 ``domain``
        its maker signed under (``chainId``, ``verifyingContract``); a foreign one is ``wrong-domain``.

        Expiry (with the minimum lifetime) and the series' end are judged against the latest block's
        timestamp, read in the same JSON-RPC batch as the funding. A caller that already knows the
        chain time may pass ``now``: an order expired by it is refused before any chain read."""
        order, signature = parse(payload)
        self._check_domain(payload.get("domain"))
        if now is not None and order.expiry < now + self.min_lifetime_s:
            raise OrderRejected("expired", f"order expires at {order.expiry}, now is {int(now)}")
        digest = order_digest(self.domain, order, self.separator)
        try:
            signer = recover_signer(digest, signature)
        except (ValueError, TypeError) as exc:
            raise OrderRejected("bad-signature", f"cannot recover a signer: {exc}") from None
        if signer != order.maker:
            raise OrderRejected("bad-signature", f"signature is by {signer}, not the maker {order.maker}")
        return self._funded(order, signature, digest, self.terms(order.series_id), self.min_lifetime_s)

    def recheck(self, orders: list[tuple[Order, bytes, bytes]], now: float
                ) -> list[AcceptedOrder | OrderRejected]:
        """Are orders whose signatures were verified still live (unexpired, series open) and funded?
        One verdict per ``(order, signature, digest)``: judged at ``now`` and again at the latest block
        read with the funding. The reads of all the orders go in shared batches, each distinct call once
        (a maker's epoch and funds serve all its orders). A chain that does not answer raises
        ``chain-unavailable`` for the lot."""
        verdicts: list[AcceptedOrder | OrderRejected | None] = []
        calls: list[list[tuple[str, bytes]]] = []
        for order, _, digest in orders:
            try:
                self._check_live(order, self.terms(order.series_id), now, 0)
            except OrderRejected as exc:
                verdicts.append(exc)
                calls.append([])
                continue
            verdicts.append(None)
            calls.append(self._calls(order, digest))
        values, block_time = self._read([c for cs in calls for c in cs]) if any(calls) else ({}, 0)
        for i, (order, signature, digest) in enumerate(orders):
            if verdicts[i] is None:
                try:
                    verdicts[i] = self._judge(order, signature, digest, self.terms(order.series_id), 0,
                                              [values[c] for c in calls[i]], block_time)
                except OrderRejected as exc:
                    verdicts[i] = exc
        return [v for v in verdicts if v is not None]

    @staticmethod
    def _check_live(order: Order, terms: tuple[int, int, int], now: float, min_lifetime_s: int) -> None:
        if order.expiry < now + min_lifetime_s:
            raise OrderRejected("expired", f"order expires at {order.expiry}, now is {int(now)}")
        if terms[2] <= now:
            raise OrderRejected("series-ended", f"series {order.series_id}'s window ended at {terms[2]}")

    def _check_domain(self, claimed: Any) -> None:
        if claimed is None:
            return
        try:
            chain_id, contract = int(claimed["chainId"]), str(claimed["verifyingContract"])
        except (KeyError, TypeError, ValueError) as exc:
            raise OrderRejected("malformed", f"cannot read the order's domain: {exc!r}") from None
        ours = (int(self.domain["chainId"]), str(self.domain["verifyingContract"]).lower())
        if (chain_id, contract.lower()) != ours:
            raise OrderRejected("wrong-domain", f"the order is for exchange {contract} on chain {chain_id}; "
                                f"this relay serves {ours[1]} on chain {ours[0]}")

    def _calls(self, order: Order, digest: bytes) -> list[tuple[str, bytes]]:
        """The raw ``eth_call``s (target, calldata) that tell an order's maker epoch, filled amount,
        funds, approval and whether its series is frozen. Calldata is built from precomputed selectors:
        the web3 contract layer costs more CPU than the calls themselves."""
        maker = bytes.fromhex(order.maker[2:]).rjust(32, b"\0")
        spender = bytes.fromhex(self.exchange.address[2:]).rjust(32, b"\0")
        series = order.series_id.to_bytes(32, "big")
        frozen = (self.credits.address, _SEL["isFrozen"] + series)
        if order.side == SELL:
            funds = (self.credits.address, _SEL["balanceOf1155"] + maker + series)
            allowed = (self.credits.address, _SEL["isApprovedForAll"] + maker + spender)
        else:
            funds = (self.token.address, _SEL["balanceOf"] + maker)
            allowed = (self.token.address, _SEL["allowance"] + maker + spender)
        ex = self.exchange.address
        return [(ex, _SEL["epochOf"] + maker), (ex, _SEL["filledOf"] + digest), funds, allowed, frozen]

    def _batch(self, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        if self._batcher[0] is not self.w3:  # the node was swapped (tests, reconnects)
            self._batcher = (self.w3, batch_caller(self.w3))
        return self._batcher[1](calls)

    def _read(self, calls: list[tuple[str, bytes]]) -> tuple[dict[tuple[str, bytes], int], int]:
        """The value of each distinct call and the latest block's timestamp, in JSON-RPC batches of
        at most :data:`BATCH_CALLS` calls (the last one carries the block)."""
        distinct = list(dict.fromkeys(calls))
        values: dict[tuple[str, bytes], int] = {}
        block_time = 0
        for first in range(0, len(distinct), BATCH_CALLS):
            chunk = distinct[first:first + BATCH_CALLS]
            requests: list[tuple[str, list[Any]]] = [
                ("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"]) for to, data in chunk]
            last = first + BATCH_CALLS >= len(distinct)
            if last:
                requests.append(("eth_getBlockByNumber", ["latest", False]))
            try:
                responses = self._batch(requests)
            except ChainError as exc:
                raise OrderRejected("chain-unavailable", str(exc)) from None
            if any(not r.get("result") for r in responses):
                raise OrderRejected("chain-unavailable", f"the chain did not answer the reads: {responses!r}")
            if last:
                block_time = int(responses.pop()["result"]["timestamp"], 16)
            values.update((call, int(r["result"], 16)) for call, r in zip(chunk, responses, strict=True))
        return values, block_time

    def _funded(self, order: Order, signature: bytes, digest: bytes,
                terms: tuple[int, int, int], min_lifetime_s: int) -> AcceptedOrder:
        calls = self._calls(order, digest)
        values, block_time = self._read(calls)
        return self._judge(order, signature, digest, terms, min_lifetime_s, [values[c] for c in calls],
                           block_time)

    def _judge(self, order: Order, signature: bytes, digest: bytes, terms: tuple[int, int, int],
               min_lifetime_s: int, reads: list[int], block_time: int) -> AcceptedOrder:
        epoch, filled, balance, approval, frozen = reads
        self._check_live(order, terms, block_time, min_lifetime_s)
        if frozen:
            raise OrderRejected("series-frozen", f"series {order.series_id} is frozen (its cooperative "
                                "faulted): its credits cannot be redeemed, and the exchange refuses fills")
        if order.epoch < epoch:
            raise OrderRejected("cancelled", f"order epoch {order.epoch} is below the maker's epoch {epoch}")
        if filled == CANCELLED:
            raise OrderRejected("cancelled", "the maker cancelled this order")
        remaining = order.amount - filled
        if remaining <= 0:
            raise OrderRejected("filled", "the order is already filled")
        if order.side == SELL:
            if balance < remaining or not approval:
                raise OrderRejected("unfunded", f"the maker holds {balance} of {remaining} credits"
                                    f"{'' if approval else ' and has not approved the exchange'}")
        else:
            need = cost_of(order.price_per_hour, remaining, BUY)
            if balance < need or approval < need:
                raise OrderRejected("unfunded", f"the maker holds {balance} and allows {approval} CPT wei "
                                    f"of the {need} the order needs")
        return AcceptedOrder(order, signature, digest, remaining, *terms, chain_time=block_time)
