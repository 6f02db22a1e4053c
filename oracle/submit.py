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
from dataclasses import dataclass, field
from typing import Any

from web3.exceptions import ContractLogicError, TransactionNotFound, Web3Exception, Web3RPCError

from gpubarter.chain.tx import GAS_MARGIN, Sender, revert_reason
from gpubarter.errors import ChainError, GpuBarterError, TransactionReverted
from oracle import faults
from oracle import reports as rep
from oracle.errors import OracleError
from oracle.finalize import Finalizer
from oracle.meter import Signer
from oracle.meter_store import Batch, MeterStore
from oracle.quorum import gather

BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 60.0
#: The default gas cap of one submission: a safe fraction of the block gas limit.
GAS_CAP_FRACTION = 0.5


@dataclass
class SubmitOptions:
    """How the submitter reaches a quorum and sizes its transactions."""

    peers: list[str] = field(default_factory=list)
    gas_cap: int | None = None  # None: GAS_CAP_FRACTION of the latest block's gas limit


class Submitter:
    def __init__(self, store: MeterStore, sender: Sender, oracle: Any, log: logging.Logger,
                 clock: Callable[[], float] = time.monotonic, *, signer: Signer | None = None,
                 options: SubmitOptions | None = None, finalizer: Finalizer | None = None) -> None:
        self.store, self.sender, self.oracle, self.log, self.clock = store, sender, oracle, log, clock
        self.signer, self.finalizer = signer, finalizer
        self.options = options or SubmitOptions()
        self.backoff_s = 0.0
        self.next_try = 0.0

    def gas_cap(self) -> int:
        if self.options.gas_cap is not None:
            return self.options.gas_cap
        return int(self.sender.w3.eth.get_block("latest")["gasLimit"] * GAS_CAP_FRACTION)

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
        """Send every queued batch for this chain and contract, oldest first, then finalise what is
        due; returns how many batches were confirmed."""
        done = 0
        if self.clock() >= self.next_try:
            try:
                done = self._send_queued()
            except (Web3Exception, OSError) as exc:  # the node is down or broken: back off, keep metering
                self._back_off(None, ChainError(f"the node did not answer: {exc}"))
        if self.finalizer is not None:
            try:
                self.finalizer.pump()
            except (GpuBarterError, Web3Exception, OSError) as exc:  # node down: try again next loop
                self.log.error("finaliser failed", extra={"why": str(exc)})
        return done

    def _send_queued(self) -> int:
        done = 0
        cap: int | None = None
        for batch in self.store.batches("signed"):
            if (batch.chain_id != self.sender.chain_id
                    or batch.verifying_contract.lower() != self.oracle.address.lower()):
                continue  # signed for another deployment: never sent here
            try:
                signer_set, threshold, _epoch = self._signer_set()
                sigs = gather(self.store, batch, self.options.peers, signer_set, threshold)
                call = self.oracle.functions.submit([r.as_tuple() for r in batch.reports], sigs)
                gas = self._estimate(call)
                cap = self.gas_cap() if cap is None else cap
                if gas > cap and len(batch.reports) > 1:
                    self._split(batch, gas, cap)
                    return done + self._send_queued()
                faults.point("persisted")
                result = self.sender.transact(call, gas=gas)
            except GpuBarterError as exc:
                self._back_off(batch.id, exc)
                return done
            faults.point("sent")
            self.store.mark_submitted(batch.id, result.tx_hash)
            faults.point("submitted")
            self.store.mark_confirmed(batch.id, result.block_number)
            self.backoff_s = 0.0
            done += 1
            self.log.info("batch confirmed", extra={"batch": batch.id, "tx": result.tx_hash,
                                                    "block": result.block_number, "gas": result.gas_used,
                                                    "reports": len(batch.reports)})
        return done

    def _back_off(self, batch_id: int | None, exc: Exception) -> None:
        self.sender.reset_nonce()
        self.backoff_s = min(BACKOFF_MAX_S, max(BACKOFF_START_S, 2 * self.backoff_s))
        self.next_try = self.clock() + self.backoff_s
        self.log.error("batch not submitted", extra={"batch": batch_id, "why": str(exc),
                                                     "retry_in_s": self.backoff_s})

    def _signer_set(self) -> tuple[list[str], int, int]:
        try:
            return self.oracle.functions.signers().call()
        except (Web3Exception, OSError) as exc:
            raise ChainError(f"cannot read the MeteringOracle's signer set: {exc}") from None

    def _split(self, batch: Batch, gas: int, cap: int) -> None:
        """Replace ``batch`` by smaller ones, each signed again, sized from its measured gas per report."""
        if self.signer is None:
            raise OracleError(f"batch {batch.id} needs {gas} gas, above the cap {cap}, and this node "
                              "has no key to sign smaller batches")
        n = len(batch.reports)
        size = max(1, min(n - 1, int(cap / (gas / n))))
        parts = []
        for start in range(0, n, size):
            chunk = list(batch.reports[start:start + size])
            parts.append(dict(
                chain_id=batch.chain_id, verifying_contract=batch.verifying_contract,
                digest=rep.batch_digest(self.signer.domain, chunk), signer=self.signer.account.address,
                signature=rep.sign_batch(self.signer.account, self.signer.domain, chunk),
                simulated=batch.simulated, reports=chunk))
        ids = self.store.split_batch(batch.id, parts)
        self.log.info("batch split", extra={"batch": batch.id, "gas": gas, "gas_cap": cap, "into": ids})

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
