"""Send transactions: local signing, nonce tracking, gas estimation, receipts.

``Sender`` is the one way the oracle, the backend, the scripts and the CLI write to
the chain. Every revert, at estimation or after mining, surfaces as
:class:`~gpubarter.errors.TransactionReverted` with the custom error decoded.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError

from gpubarter.chain.revert import decode_revert
from gpubarter.errors import ChainError, TransactionReverted

GAS_MARGIN = 1.2


@dataclass(frozen=True)
class TxResult:
    """What a command shows after a transaction: hash, gas and the receipt."""

    tx_hash: str
    gas_used: int
    block_number: int
    receipt: Any

    @property
    def contract_address(self) -> str | None:
        return self.receipt.get("contractAddress")


def revert_reason(exc: BaseException) -> str:
    """The decoded reason of a web3 revert exception."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return decode_revert(data)
    return str(getattr(exc, "message", None) or exc)


class Sender:
    """Signs and sends transactions for one account on one chain."""

    def __init__(self, w3: Web3, account: LocalAccount, *, confirmations: int = 0,
                 receipt_timeout: float = 120.0) -> None:
        self.w3 = w3
        self.account = account
        self.address = account.address
        self.confirmations = confirmations
        self.receipt_timeout = receipt_timeout
        self._lock = threading.Lock()
        self._nonce: int | None = None
        self._chain_id: int | None = None

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self.w3.eth.chain_id
        return self._chain_id

    def reset_nonce(self) -> None:
        """Forget the cached nonce (after a chain revert or an external send)."""
        with self._lock:
            self._nonce = None

    def _next_nonce(self) -> int:
        pending = self.w3.eth.get_transaction_count(self.address, "pending")
        if self._nonce is None or pending > self._nonce:
            self._nonce = pending
        nonce = self._nonce
        self._nonce += 1
        return nonce

    def _fees(self) -> dict[str, int]:
        block = self.w3.eth.get_block("latest")
        base = block.get("baseFeePerGas")
        if base is None:
            return {"gasPrice": self.w3.eth.gas_price}
        tip = self.w3.eth.max_priority_fee
        return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}

    def transact(self, call: Any = None, *, to: str | None = None, data: bytes | str = b"",
                 value: int = 0, gas: int | None = None) -> TxResult:
        """Send ``call`` (a bound contract function) or a raw ``to``/``data`` transaction."""
        tx: dict[str, Any] = {"from": self.address, "value": value, "chainId": self.chain_id}
        if call is not None:
            # Placeholders keep web3 from fetching gas and fee data; all are set below.
            tx = call.build_transaction({**tx, "gas": gas or 1, "maxFeePerGas": 1,
                                         "maxPriorityFeePerGas": 1})
            tx.pop("gas", None)
            for k in ("maxFeePerGas", "maxPriorityFeePerGas", "gasPrice", "nonce"):
                tx.pop(k, None)
        else:
            if to is not None:
                tx["to"] = Web3.to_checksum_address(to)
            tx["data"] = data
        with self._lock:
            try:
                tx["gas"] = gas or int(self.w3.eth.estimate_gas(tx) * GAS_MARGIN)
            except ContractLogicError as exc:
                raise TransactionReverted(revert_reason(exc)) from None
            except Web3RPCError as exc:
                raise ChainError(f"gas estimation failed: {exc}") from None
            tx.update(self._fees())
            tx["nonce"] = self._next_nonce()
            signed = self.account.sign_transaction(tx)
            try:
                tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            except Exception:
                self._nonce = None  # the node did not take it: re-read the nonce next time
                raise
        return self.wait(tx_hash, tx)

    def wait(self, tx_hash: bytes, tx: dict[str, Any] | None = None) -> TxResult:
        """Wait for the receipt (and ``confirmations`` blocks on top); raise on revert."""
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self.receipt_timeout, poll_latency=0.05)
        except TimeExhausted:
            raise ChainError(f"transaction 0x{bytes(tx_hash).hex()} was not mined within "
                             f"{self.receipt_timeout:.0f} s; it may still be pending") from None
        hex_hash = "0x" + bytes(tx_hash).hex()
        if receipt["status"] != 1:
            raise TransactionReverted(self._replay_reason(tx, receipt), tx_hash=hex_hash)
        if self.confirmations:
            target = receipt["blockNumber"] + self.confirmations
            deadline = time.monotonic() + self.receipt_timeout
            while self.w3.eth.block_number < target:
                if time.monotonic() > deadline:
                    raise ChainError(f"transaction {hex_hash} did not reach {self.confirmations} "
                                     "confirmations in time")
                time.sleep(0.5)
        return TxResult(hex_hash, int(receipt["gasUsed"]), int(receipt["blockNumber"]), receipt)

    def _replay_reason(self, tx: dict[str, Any] | None, receipt: Any) -> str:
        if not tx:
            return "reverted"
        call = {k: tx[k] for k in ("from", "to", "data", "value") if k in tx}
        try:
            self.w3.eth.call(call, receipt["blockNumber"] - 1)
        except ContractLogicError as exc:
            return revert_reason(exc)
        except Exception:
            pass
        return "reverted (out of gas?)"

    def call(self, call: Any) -> Any:
        """Run a read-only bound function, decoding reverts."""
        try:
            return call.call({"from": self.address})
        except ContractLogicError as exc:
            raise TransactionReverted(revert_reason(exc)) from None
