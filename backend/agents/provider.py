"""The provider's agent: a fresh key pair per deal, then, for every key the cooperative releases,
open it, check it against the registry's commitment, fetch and decrypt its shard through the vault,
and dispute the step when the key is wrong.

Files (the agent's own state; everything else is read from the chain):

- ``<key_dir>/deal-<id>.json`` (0600, folder 0700): the per-deal secret d, its public key, the block
  the deal was accepted in, and a dispute once filed. Written *before* the acceptance is sent, so a
  crash never loses the secret of an accepted deal; never logged or printed.
- ``<out_dir>/deal-<id>/shard-<i>``: shard i (0-based; step i + 1), written atomically once every
  check passed. A shard on disk is a step done.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.agents.base import (
    ACCEPTED,
    AgentError,
    AgentLog,
    DealWatch,
    private_dir,
    read_private_json,
    retrying,
    run_loop,
    write_private_json,
)
from backend.vault.errors import VaultError
from backend.vault.store import ContentStore
from backend.vault.unseal import open_shard
from gpubarter.chain.tx import TxResult
from gpubarter.errors import GpuBarterError
from gpubarter.protocol import sealing
from gpubarter.protocol.barter import BarterClient, DealInfo


@dataclass(frozen=True)
class StepOutcome:
    """What the agent did with one released step: ``opened`` (shard written) or ``disputed``."""

    deal_id: int
    step: int
    outcome: str
    gas: int = 0


class DealKeys:
    """The per-deal key files of one provider."""

    def __init__(self, key_dir: Path) -> None:
        self.root = Path(key_dir)

    def path(self, deal_id: int) -> Path:
        return self.root / f"deal-{deal_id}.json"

    def load(self, deal_id: int) -> dict[str, Any]:
        path = self.path(deal_id)
        if not path.exists():
            raise AgentError(f"no key file for deal {deal_id} in {self.root}: the deal was accepted with "
                             "another key directory")
        return read_private_json(path)

    def pair(self, deal_id: int) -> sealing.KeyPair:
        doc = self.load(deal_id)
        secret = int(doc["secret"], 16)
        return sealing.KeyPair(secret, sealing.public_key(secret))

    def create_or_load(self, deal_id: int) -> sealing.KeyPair:
        """The deal's key pair: the one already on disk (a retried acceptance), else a fresh one."""
        private_dir(self.root)
        if self.path(deal_id).exists():
            return self.pair(deal_id)
        pair = sealing.keygen()
        write_private_json(self.path(deal_id), {"deal": deal_id, "secret": hex(pair.secret),
                                                "public": list(pair.public), "accepted_block": None})
        return pair

    def update(self, deal_id: int, **fields: Any) -> None:
        write_private_json(self.path(deal_id), {**self.load(deal_id), **fields})


def accept_deal(client: BarterClient, keys: DealKeys, deal_id: int, log: AgentLog) -> tuple[int, TxResult]:
    """Accepts ``deal_id`` with a fresh per-deal key (stored first); returns (series id, transaction)."""
    pair = keys.create_or_load(deal_id)
    sent = client.accept(deal_id, pair.public)
    keys.update(deal_id, accepted_block=sent.txs[-1].block_number)
    log.event("deal accepted", deal=deal_id, series=sent.value, gas=sent.txs[-1].gas_used)
    return sent.value, sent.txs[-1]


class ProviderAgent:
    def __init__(self, client: BarterClient, key_dir: Path, store: ContentStore, out_dir: Path,
                 state_dir: Path, log: AgentLog) -> None:
        self.client = client
        self.keys = DealKeys(key_dir)
        self.store = store
        self.out_dir = Path(out_dir)
        self.log = log
        me = client.sender.address
        self.watch = DealWatch(client, state_dir, lambda deal: deal.provider == me)

    def accept(self, deal_id: int) -> tuple[int, TxResult]:
        return accept_deal(self.client, self.keys, deal_id, self.log)

    def shard_path(self, deal_id: int, index: int) -> Path:
        return self.out_dir / f"deal-{deal_id}" / f"shard-{index}"

    def poll_once(self) -> list[StepOutcome]:
        """Opens every released step not opened yet; disputes a wrong key; starts due clocks."""
        done: list[StepOutcome] = []
        for deal in self.watch.deals():
            if deal.status != ACCEPTED:
                continue
            try:
                done += self._open_released(deal)
                self._watch_due(deal)
            except GpuBarterError as exc:
                self.log.event("deal step failed", deal=deal.deal_id, error=str(exc)[:300])
        return done

    def _open_released(self, deal: DealInfo) -> list[StepOutcome]:
        out: list[StepOutcome] = []
        doc = self.keys.load(deal.deal_id)
        if doc.get("disputed_step"):
            return out
        pair = self.keys.pair(deal.deal_id)
        manifest = self.client.manifest_of(deal.dataset_id)[1]
        for step in range(1, deal.released + 1):
            target = self.shard_path(deal.deal_id, step - 1)
            if target.exists():
                continue
            sealed = self.client.released_key(deal, step, doc.get("accepted_block"))
            key = sealing.open_sealed(pair.secret, sealed, step)
            expected = self.client.datasets.functions.commitment(deal.dataset_id, step - 1).call()
            if sealing.commitment(key) != bytes(expected):
                out.append(self._dispute(deal, step, pair, sealed))
                break
            try:
                open_shard(self.store, manifest, step - 1, key, target)
            except VaultError as exc:
                # The key is the committed one: the shard store is at fault, not the cooperative.
                self.log.event("shard not opened; will retry", deal=deal.deal_id, step=step,
                               error=str(exc)[:300])
                break
            self.log.event("key verified, shard opened", deal=deal.deal_id, step=step, steps=deal.steps,
                           shard=str(target))
            out.append(StepOutcome(deal.deal_id, step, "opened"))
        return out

    def _dispute(self, deal: DealInfo, step: int, pair: sealing.KeyPair,
                 sealed: sealing.SealedKey) -> StepOutcome:
        self.log.event("released key does not match its commitment; disputing", deal=deal.deal_id, step=step)
        sent = retrying(f"dispute deal {deal.deal_id} step {step}",
                        lambda: self.client.dispute(deal.deal_id, step, pair, sealed).txs[-1], self.log)
        self.keys.update(deal.deal_id, disputed_step=step)
        won = self.client.deal_info(deal.deal_id).status != ACCEPTED
        self.log.event("dispute filed", deal=deal.deal_id, step=step, won=won, gas=sent.gas_used)
        return StepOutcome(deal.deal_id, step, "disputed", sent.gas_used)

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
