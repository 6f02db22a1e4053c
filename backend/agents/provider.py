"""The provider's agent: a fresh key pair per deal, then, for every key the cooperative releases,
open it, check it against the registry's commitment, fetch and decrypt its shard through the vault,
and dispute the step when the key is wrong (or cannot be opened at all).

Its clock duties come first and stand on their own: a step that is due gets marked due (markDue),
and once its key timeout ran out the bond is claimed (claimKeyTimeout), whatever happens to the
opening of keys (a shard store that is down, a key that cannot be read). Keys released before a deal
ended (settled, or faulted by a timeout) are still opened afterwards.

Files (the agent's own state; everything else is read from the chain):

- ``<key_dir>/deal-<id>.json``: the per-deal secret and what the agent learnt of the deal
  (:class:`gpubarter.protocol.deal_keys.DealKeys`; a wrong step is disputed while the deal is live,
  never twice).
- ``<out_dir>/deal-<id>/shard-<i>``: shard i (0-based; step i + 1), written atomically once every
  check passed. A shard on disk is a step done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from backend.agents.base import (
    ACCEPTED,
    FAULTED,
    SETTLED,
    AgentError,
    AgentLog,
    DealWatch,
    is_transient,
    retrying,
    run_loop,
)
from backend.vault.content_store import ContentStore
from backend.vault.errors import VaultError
from backend.vault.unseal import open_shard
from gpubarter.chain.tx import TxResult
from gpubarter.errors import GpuBarterError
from gpubarter.protocol import sealing
from gpubarter.protocol.barter import BarterClient, DealInfo
from gpubarter.protocol.deal_keys import DealKeys, accept_with_fresh_key, read_released

T = TypeVar("T")


@dataclass(frozen=True)
class StepOutcome:
    """What the agent did with one released step: ``opened`` (shard written) or ``disputed``."""

    deal_id: int
    step: int
    outcome: str
    gas: int = 0


class ProviderAgent:
    def __init__(self, client: BarterClient, key_dir: Path, store: ContentStore, out_dir: Path,
                 state_dir: Path, log: AgentLog) -> None:
        self.client = client
        self.keys = DealKeys(key_dir)
        self.store = store
        self.out_dir = Path(out_dir)
        self.log = log
        me = client.sender.address
        self.watch = DealWatch(client, state_dir, lambda deal: deal.provider == me, keep=self._unopened)

    def accept(self, deal_id: int) -> tuple[int, TxResult]:
        """Accepts ``deal_id`` with a fresh per-deal key (stored first); returns (series id, transaction)."""
        sent = accept_with_fresh_key(self.client, self.keys, deal_id)
        self.log.event("deal accepted", deal=deal_id, series=sent.value, gas=sent.txs[-1].gas_used)
        self.watch.add(deal_id)
        return sent.value, sent.txs[-1]

    def shard_path(self, deal_id: int, index: int) -> Path:
        return self.out_dir / f"deal-{deal_id}" / f"shard-{index}"

    def poll_once(self) -> list[StepOutcome]:
        """Per deal: marks a due step due and claims the bond of a key timed out, then opens every released
        step not opened yet (disputing a wrong key). Each duty runs on its own: one failing is logged and
        does not keep the other, or the next deal, from running."""
        done: list[StepOutcome] = []
        for deal in self.watch.deals():
            if deal.status == ACCEPTED:
                self._duty("due duties failed", deal, self._watch_due)
            if deal.status in (ACCEPTED, SETTLED, FAULTED):
                done += self._duty("deal step failed", deal, self._open_released) or []
        return done

    def _duty(self, failed: str, deal: DealInfo, duty: Callable[[DealInfo], T]) -> T | None:
        """``duty(deal)``; an error it can meet (a revert, a chain or store error, a transient failure) is
        logged as ``failed`` and the agent goes on. Anything else is a bug and stops the agent."""
        try:
            return duty(deal)
        except Exception as exc:
            if not isinstance(exc, GpuBarterError) and not is_transient(exc):
                raise
            self.log.event(failed, deal=deal.deal_id, error=str(exc)[:300])
            return None

    def _unopened(self, deal: DealInfo) -> bool:
        """Whether an ended deal has a released key the agent neither opened nor found wrong."""
        try:
            wrong = self.keys.wrong_steps(self.keys.load(deal.deal_id))
        except AgentError:
            return False  # accepted with another key directory: nothing this agent can open
        return any(not self.shard_path(deal.deal_id, step - 1).exists() and step not in wrong
                   for step in range(1, deal.released + 1))

    def _open_released(self, deal: DealInfo) -> list[StepOutcome]:
        out: list[StepOutcome] = []
        doc = self.keys.load(deal.deal_id)
        wrong = self.keys.wrong_steps(doc)
        pair = self.keys.pair(deal.deal_id)
        manifest = self.client.manifest_of(deal.dataset_id)[1]
        for step in range(1, deal.released + 1):
            target = self.shard_path(deal.deal_id, step - 1)
            if target.exists() or step in wrong:
                continue
            released = read_released(self.client, self.keys, deal, step)
            if released.key is None:
                # R is no curve point (the escrow refuses one now; older deployments did not): the escrow's
                # verdict on such a key is "wrong".
                self.log.event("released key cannot be opened", deal=deal.deal_id, step=step,
                               error=released.why_unopened[:300])
            if released.key is None or not released.right:
                out += self._wrong_key(deal, step, pair, released.sealed)
                break
            try:
                open_shard(self.store, manifest, step - 1, released.key, target)
            except VaultError as exc:
                # The key is the committed one: the shard store is at fault, not the cooperative.
                self.log.event("shard not opened; will retry", deal=deal.deal_id, step=step,
                               error=str(exc)[:300])
                break
            self.log.event("key verified, shard opened", deal=deal.deal_id, step=step, steps=deal.steps,
                           shard=str(target))
            out.append(StepOutcome(deal.deal_id, step, "opened"))
        return out

    def _wrong_key(self, deal: DealInfo, step: int, pair: sealing.KeyPair,
                   sealed: sealing.SealedKey) -> list[StepOutcome]:
        """Disputes step ``step``'s wrong key while the deal is live, and records it as wrong (never disputed
        twice, even when the escrow judged otherwise)."""
        if deal.status != ACCEPTED:
            self.keys.mark_wrong(deal.deal_id, step)
            self.log.event("released key does not match its commitment; the deal is over, no dispute",
                           deal=deal.deal_id, step=step, status=deal.status_name)
            return []
        self.log.event("released key does not match its commitment; disputing", deal=deal.deal_id, step=step)
        sent = retrying(f"dispute deal {deal.deal_id} step {step}",
                        lambda: self.client.dispute(deal.deal_id, step, pair, sealed).txs[-1], self.log)
        self.keys.mark_wrong(deal.deal_id, step)
        won = self.client.deal_info(deal.deal_id).status != ACCEPTED
        self.log.event("dispute filed", deal=deal.deal_id, step=step, won=won, gas=sent.gas_used)
        return [StepOutcome(deal.deal_id, step, "disputed", sent.gas_used)]

    def _watch_due(self, deal: DealInfo) -> None:
        """Starts the key-release clock of a due step (markDue) and claims the bond once it ran out."""
        escrow = self.client.escrow.functions
        if deal.due_since == 0:
            if escrow.dueSteps(deal.deal_id).call() > deal.released:
                result = self.client.mark_due(deal.deal_id)
                self.log.event("step marked due", deal=deal.deal_id, step=deal.released + 1,
                               gas=result.gas_used)
            return
        now = self.client.w3.eth.get_block("latest")["timestamp"]
        if now > deal.due_since + deal.key_timeout_s:
            result = self.client.claim_key_timeout(deal.deal_id)
            self.log.event("key timed out; bond claimed", deal=deal.deal_id, step=deal.released + 1,
                           gas=result.gas_used)

    def run(self, stop: threading.Event, *, interval_s: float = 2.0) -> None:
        run_loop(self.poll_once, stop, self.log, interval_s=interval_s)
