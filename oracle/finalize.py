"""Finalising accepted batches once their challenge period is over (``gpubarter oracle finalize``),
and lapsing challenges the arbiter left without a ruling.

With a challenge period > 0 the MeteringOracle keeps accepted usage pending; it reaches Jobs
only when someone calls ``finalize(batchId, entries)`` after the period. The finaliser follows
the contract's ``BatchAccepted`` and ``ReportChallenged`` events from a cursor persisted in the
meter's database (so a restart resumes where it stopped and never misses a batch, including one
whose sending the meter did not live to record), records each batch still pending with its
entries (from the same transaction's ``UsageAccepted`` events) and its ``finalAt``, and each
challenged entry with its batch's ``resolveBy``; then it finalises every batch that is due and
lapses every challenge still open after its ``resolveBy``.

A challenge holds back only its own entry (and its job, in Jobs): ``finalize`` applies the other
entries at ``finalAt`` whatever the challenges, and the ruling bills or voids the challenged one.
Without a ruling by ``resolveBy`` the entry would stay unbilled and its job held for good, so the
finaliser calls ``lapse`` (anyone may): the entry bills and the challenger gets its bond back.

It is idempotent: a batch someone else finalised first (``MeteringOracleBatchFinal``) is simply
marked final, a challenge already ruled on or lapsed (``MeteringOracleChallengeStatus``) closed.
Any other refusal leaves the batch pending (the challenge open) and it is tried again a few seconds
later: the contract reverts the whole ``finalize`` or ``lapse`` when Jobs refuses an entry for a reason
that may pass (say governance revoked the oracle's ``METERING_ROLE``), nothing was applied, and such a
batch must never be recorded final. A paused Jobs refuses none of them: metering is not pausable, since
the clock of cutoffs and claims runs on during a pause.
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
from oracle.meter_store import Challenge, Finalization, MeterStore

#: Blocks read per ``eth_getLogs`` request unless the network says (``max_log_range``).
LOG_CHUNK = 2_000
#: Seconds before a batch or challenge that could not be settled (Jobs refused it, node error) is tried again.
RETRY_S = 5


class Finalizer:
    def __init__(self, store: MeterStore, sender: Sender, oracle: Any, log: logging.Logger,
                 confirmations: int = 0, start_block: int = 0, max_range: int = LOG_CHUNK) -> None:
        self.store, self.sender, self.oracle, self.log = store, sender, oracle, log
        self.confirmations, self.start_block, self.max_range = confirmations, start_block, max_range
        self.chain_id = sender.chain_id
        self.contract = oracle.address
        self._retry_at: dict[tuple[int, int | None], int] = {}  # (batch, None) or (batch, challenged entry)
        self.lapsed = 0  # challenges this finaliser lapsed
        self.checked_at = 0  # the time the last pass judged batches and challenges due against

    def scan(self) -> list[Finalization]:
        """Read new ``BatchAccepted`` and ``ReportChallenged`` events up to the confirmed head; record the
        pending batches and the challenges."""
        w3 = self.sender.w3
        head = w3.eth.block_number - self.confirmations
        start = max(self.store.cursor(self.chain_id, self.contract), self.start_block)
        for first, end in block_ranges(start, head, self.max_range):
            found = [pending for event in get_logs_in(self.oracle.events.BatchAccepted(), first, end)
                     if (pending := self._pending(event)) is not None]
            challenged = [self._challenge(event)
                          for event in get_logs_in(self.oracle.events.ReportChallenged(), first, end)]
            self.store.add_finalizations(self.chain_id, self.contract, found, end + 1, challenged)
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

    def _challenge(self, event: Any) -> Challenge:
        batch_id = int(event["args"]["batchId"])
        resolve_by = int(self.oracle.functions.resolveByOf(batch_id).call())
        return Challenge(batch_id, int(event["args"]["index"]), resolve_by, "open")

    def pump(self) -> int:
        """Scan, finalise every pending batch that is due and lapse every challenge past its ruling window;
        returns how many batches this call finalised (``lapsed`` counts the lapses)."""
        pending = self.scan()
        challenged = self.store.challenges(self.chain_id, self.contract)
        if not pending and not challenged:
            return 0
        # The next block is at least as late as both the latest block and the wall clock.
        now = max(int(self.sender.w3.eth.get_block("latest")["timestamp"]), int(time.time()))
        self.checked_at = now
        done = 0
        for f in pending:
            if f.final_at <= now and self._retry_at.get((f.batch_id, None), 0) <= now:
                done += self._finalize(f, now)
        for c in challenged:
            # lapse needs the block after resolveBy; until then the arbiter may still rule.
            if c.resolve_by < now and self._retry_at.get((c.batch_id, c.entry), 0) <= now:
                self._lapse(c, now)
        return done

    def _finalize(self, f: Finalization, now: int) -> int:
        settled, tx_hash = self._send((f.batch_id, None), now, "MeteringOracleBatchFinal",
                                      self.oracle.functions.finalize(f.batch_id, list(f.entries)))
        if not settled:
            return 0
        self.store.mark_final(self.chain_id, self.contract, f.batch_id, tx_hash)
        self.log.info("batch final", extra={"onchain_batch": f.batch_id, "tx": tx_hash,
                                            "by": "us" if tx_hash else "someone else"})
        return tx_hash is not None

    def _lapse(self, c: Challenge, now: int) -> None:
        settled, tx_hash = self._send((c.batch_id, c.entry), now, "MeteringOracleChallengeStatus",
                                      self.oracle.functions.lapse(c.batch_id, c.entry))
        if not settled:
            return
        self.store.mark_challenge_closed(self.chain_id, self.contract, c.batch_id, c.entry, tx_hash)
        self.lapsed += tx_hash is not None
        self.log.info("challenge settled", extra={
            "onchain_batch": c.batch_id, "entry": c.entry, "tx": tx_hash,
            "by": "our lapse" if tx_hash else "a ruling or someone else"})

    def _send(self, key: tuple[int, int | None], now: int, done_already: str,
              call: Any) -> tuple[bool, str | None]:
        """Send ``call``; returns (settled, our transaction hash). Settled without a hash when the contract
        says ``done_already`` (someone else did it); not settled, to be tried again in ``RETRY_S``, on any
        other refusal (Jobs refused an entry for a reason that may pass) or when the node failed."""
        try:
            result = self.sender.transact(call)
        except TransactionReverted as exc:
            if error_name(exc.reason) == done_already:
                self._retry_at.pop(key, None)
                return True, None
            self._retry_at[key] = now + RETRY_S
            self.log.warning("not settled yet", extra={"onchain_batch": key[0], "entry": key[1],
                                                       "why": exc.reason})
            return False, None
        except GpuBarterError as exc:
            self.sender.reset_nonce()
            self._retry_at[key] = now + RETRY_S
            self.log.error("sending failed", extra={"onchain_batch": key[0], "entry": key[1],
                                                    "why": str(exc)})
            return False, None
        self._retry_at.pop(key, None)
        return True, result.tx_hash
