"""Submitting signed batches to the MeteringOracle, resuming exactly after a crash.

Every batch is persisted (state ``signed``) before anything may send it. The submitter
sends it with ``gpubarter.chain.tx.Sender`` (nonce management, gas estimation, the
configured confirmation depth), then records ``submitted(tx)`` and ``confirmed(block)``.
A crash between sending and recording leaves the batch ``signed``: it is sent again, and
because its counters are cumulative the MeteringOracle skips what it already counted
(``ReportSkipped``), so nothing is lost and nothing counts twice. A batch found
``submitted`` at start is confirmed from its receipt, or queued again when the chain has
no trace of it. Failures back off exponentially (1 s doubling to 60 s).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from gpubarter.chain.tx import GAS_MARGIN, Sender, revert_reason
from gpubarter.errors import ChainError, GpuBarterError, TransactionReverted
from oracle.store import MeterStore

BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 60.0


class Submitter:
    def __init__(self, store: MeterStore, sender: Sender, oracle: Any, log: logging.Logger,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.sender, self.oracle, self.log, self.clock = store, sender, oracle, log, clock
        self.backoff_s = 0.0
        self.next_try = 0.0

    def recover(self) -> None:
        """Batches left ``submitted`` by an earlier run: confirm them or queue them again."""
        for batch in self.store.batches("submitted"):
            assert batch.tx_hash is not None
            try:
                receipt = self.sender.w3.eth.get_transaction_receipt(batch.tx_hash)
            except TransactionNotFound:
                receipt = None
            if receipt is not None and receipt["status"] == 1:
                self.store.mark_confirmed(batch.id, int(receipt["blockNumber"]))
            else:
                self.store.mark_dropped(batch.id)
                self.log.warning("batch queued again", extra={"batch": batch.id, "tx": batch.tx_hash})

    def pump(self) -> int:
        """Send every queued batch for this chain and contract, oldest first; returns how many confirmed."""
        if self.clock() < self.next_try:
            return 0
        done = 0
        for batch in self.store.batches("signed"):
            if (batch.chain_id != self.sender.chain_id
                    or batch.verifying_contract.lower() != self.oracle.address.lower()):
                continue  # signed for another deployment: never sent here
            call = self.oracle.functions.submit([r.as_tuple() for r in batch.reports],
                                                [bytes.fromhex(batch.signature[2:])])
            try:
                result = self.sender.transact(call, gas=self._estimate(call))
            except GpuBarterError as exc:
                self.sender.reset_nonce()
                self.backoff_s = min(BACKOFF_MAX_S, max(BACKOFF_START_S, 2 * self.backoff_s))
                self.next_try = self.clock() + self.backoff_s
                self.log.error("batch not submitted", extra={"batch": batch.id, "why": str(exc),
                                                             "retry_in_s": self.backoff_s})
                return done
            self.store.mark_submitted(batch.id, result.tx_hash)
            self.store.mark_confirmed(batch.id, result.block_number)
            self.backoff_s = 0.0
            done += 1
            self.log.info("batch confirmed", extra={"batch": batch.id, "tx": result.tx_hash,
                                                    "block": result.block_number, "gas": result.gas_used})
        return done

    def _estimate(self, call: Any) -> int:
        """Gas for ``call`` estimated on the pending block: the latest block may be older than a
        report's period end (a node mines on demand), which the contract rightly calls future-dated."""
        tx = call.build_transaction({"from": self.sender.address, "gas": 1, "maxFeePerGas": 1,
                                     "maxPriorityFeePerGas": 1})
        tx = {k: tx[k] for k in ("from", "to", "data", "value") if k in tx}
        try:
            return int(self.sender.w3.eth.estimate_gas(tx, "pending") * GAS_MARGIN)
        except ContractLogicError as exc:
            raise TransactionReverted(revert_reason(exc)) from None
        except Web3RPCError as exc:
            raise ChainError(f"gas estimation failed: {exc}") from None
