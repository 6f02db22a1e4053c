"""Finalising accepted batches once their challenge period is over (``gpubarter oracle finalize``).

With a challenge period > 0 the MeteringOracle keeps accepted usage pending; it reaches Jobs
only when someone calls ``finalize(batchId, entries)`` after the period. The finaliser follows
the contract's ``BatchAccepted`` events from a cursor persisted in the meter's database (so a
restart resumes where it stopped and never misses a batch, including one whose sending the
meter did not live to record), records each batch still pending with its entries (from the same
transaction's ``UsageAccepted`` events) and its ``finalAt``, and finalises every batch that is
due. It is idempotent: a batch someone else finalised first (``MeteringOracleBatchFinal``) is
simply marked final; a batch with an open challenge (``MeteringOracleNotFinalizable``) waits for
the arbiter and is tried again later.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from web3.logs import DISCARD

from gpubarter.chain.logs import block_ranges, get_logs_in
from gpubarter.chain.revert import error_name
from gpubarter.chain.tx import Sender
from gpubarter.errors import GpuBarterError, TransactionReverted
from oracle.store import Finalization, MeterStore

#: Blocks read per ``eth_getLogs`` request unless the network says (``max_log_range``).
LOG_CHUNK = 2_000
#: Seconds before a batch that could not be finalised (open challenge, node error) is tried again.
RETRY_S = 5


class Finalizer:
    def __init__(self, store: MeterStore, sender: Sender, oracle: Any, log: logging.Logger,
                 confirmations: int = 0, start_block: int = 0, max_range: int = LOG_CHUNK) -> None:
        self.store, self.sender, self.oracle, self.log = store, sender, oracle, log
        self.confirmations, self.start_block, self.max_range = confirmations, start_block, max_range
        self.chain_id = sender.chain_id
        self.contract = oracle.address
        self._retry_at: dict[int, int] = {}

    def scan(self) -> list[Finalization]:
        """Read new ``BatchAccepted`` events up to the confirmed head; record the pending ones."""
        w3 = self.sender.w3
        head = w3.eth.block_number - self.confirmations
        start = max(self.store.cursor(self.chain_id, self.contract), self.start_block)
        for first, end in block_ranges(start, head, self.max_range):
            found = [pending for event in get_logs_in(self.oracle.events.BatchAccepted(), first, end)
                     if (pending := self._pending(event)) is not None]
            self.store.add_finalizations(self.chain_id, self.contract, found, end + 1)
        return self.store.finalizations(self.chain_id, self.contract)

    def _pending(self, event: Any) -> Finalization | None:
        args = event["args"]
        if args["entries"] == 0:
            return None
        batch_id = int(args["batchId"])
        _final_at, _open, finalized, _hash = self.oracle.functions.batchOf(batch_id).call()
        if finalized:
            return None  # challenge period 0: applied in the submitting transaction
        receipt = self.sender.w3.eth.get_transaction_receipt(event["transactionHash"])
        accepted = self.oracle.events.UsageAccepted().process_receipt(receipt, errors=DISCARD)
        entries = sorted((int(e["args"]["index"]), int(e["args"]["jobId"]), int(e["args"]["gpuSeconds"]))
                         for e in accepted if int(e["args"]["batchId"]) == batch_id)
        return Finalization(batch_id, int(args["finalAt"]), tuple((j, s) for _i, j, s in entries), "pending")

    def pump(self) -> int:
        """Scan, then finalise every pending batch that is due; returns how many this call finalised."""
        pending = self.scan()
        if not pending:
            return 0
        # The next block is at least as late as both the latest block and the wall clock.
        now = max(int(self.sender.w3.eth.get_block("latest")["timestamp"]), int(time.time()))
        done = 0
        for f in pending:
            if f.final_at > now or self._retry_at.get(f.batch_id, 0) > now:
                continue
            tx_hash = None
            try:
                result = self.sender.transact(self.oracle.functions.finalize(f.batch_id, list(f.entries)))
                tx_hash = result.tx_hash
            except TransactionReverted as exc:
                name = error_name(exc.reason)
                if name != "MeteringOracleBatchFinal":
                    self._retry_at[f.batch_id] = now + RETRY_S
                    self.log.warning("batch not finalised yet",
                                     extra={"onchain_batch": f.batch_id, "why": exc.reason})
                    continue
            except GpuBarterError as exc:
                self.sender.reset_nonce()
                self._retry_at[f.batch_id] = now + RETRY_S
                self.log.error("finalisation failed", extra={"onchain_batch": f.batch_id, "why": str(exc)})
                continue
            self.store.mark_final(self.chain_id, self.contract, f.batch_id, tx_hash)
            self._retry_at.pop(f.batch_id, None)
            done += tx_hash is not None
            self.log.info("batch final", extra={"onchain_batch": f.batch_id, "tx": tx_hash,
                                                "by": "us" if tx_hash else "someone else"})
        return done
