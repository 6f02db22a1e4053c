"""The cooperative's key agent: releases each step's key, sealed to the provider's per-deal key,
as soon as the step is due.

It signs with an account that holds ``KEY_AGENT_ROLE`` on its cooperative and reads shard keys
from the vault's :class:`~backend.vault.keystore.KeyStore`. It holds keys only of datasets its
cooperative owns: a key file of a dataset registered by anyone else is refused at start.
Before releasing it checks the key against the registry's commitment (a wrong key would cost the
cooperative its bond). Progress is the chain's: ``released`` per deal, so a restart, or a release
that raced another agent, never releases a step twice.

Once a deal can settle (its delivered total is final and every due key released, see
:class:`~gpubarter.protocol.barter.SettleCheck`) the agent settles it: the bond returns to the cooperative.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from backend.agents.base import (
    ACCEPTED,
    AgentError,
    AgentLog,
    DealWatch,
    retrying,
    run_loop,
)
from backend.vault.cid import normalize_cid
from backend.vault.keystore import KeyStore
from gpubarter.errors import GpuBarterError
from gpubarter.protocol.barter import BarterClient, DealInfo
from gpubarter.protocol.deal_keys import seal_for_release


@dataclass(frozen=True)
class Release:
    """One key released: deal, step (1-based), gas."""

    deal_id: int
    step: int
    gas: int


class CoopKeyAgent:
    def __init__(self, client: BarterClient, coop: str, keystore: KeyStore, state_dir: Path,
                 log: AgentLog) -> None:
        self.client = client
        self.coop = Web3.to_checksum_address(coop)
        self.keystore = keystore
        self.log = log
        self.registry = client.datasets
        self.watch = DealWatch(client, state_dir, lambda deal: deal.maker == self.coop)
        self.check_setup()

    def check_setup(self) -> None:
        """Refuses a signer without ``KEY_AGENT_ROLE`` and a key store holding foreign datasets' keys."""
        coop = self.client.cooperative(self.coop)
        role = coop.functions.KEY_AGENT_ROLE().call()
        if not coop.functions.hasRole(role, self.client.sender.address).call():
            raise AgentError(f"{self.client.sender.address} is not a key agent of cooperative {self.coop}; "
                             "its admin must grant it KEY_AGENT_ROLE")
        owners = self._owners_by_manifest()
        for path in sorted(self.keystore.root.glob("*.json")) if self.keystore.root.is_dir() else []:
            owner = owners.get(path.stem)
            if owner is not None and owner[1] != self.coop:
                raise AgentError(
                    f"key store {self.keystore.root} holds the keys of dataset {owner[0]} ({path.stem}), "
                    f"owned by {owner[1]}, not by cooperative {self.coop}: a key agent keeps only its "
                    "cooperative's keys; move that file out and restart")

    def _owners_by_manifest(self) -> dict[str, tuple[int, str]]:
        out: dict[str, tuple[int, str]] = {}
        for dataset_id in range(1, self.registry.functions.datasetCount().call() + 1):
            owner, manifest = self.client.manifest_of(dataset_id)
            try:
                out[normalize_cid(manifest)] = (dataset_id, owner)
            except ValueError:
                continue  # a manifest CID that is not one the vault writes: not ours either way
        return out

    def poll_once(self) -> list[Release]:
        """Releases every due, unreleased step of the cooperative's accepted deals, in order; settles each
        deal that can settle."""
        done: list[Release] = []
        now = int(self.client.w3.eth.get_block("latest")["timestamp"])
        for deal in self.watch.deals():
            if deal.status != ACCEPTED:
                continue
            try:
                done += self._release_due(deal)
            except GpuBarterError as exc:
                self.log.event("release failed", deal=deal.deal_id, error=str(exc)[:300])
            if now >= deal.end:
                try:
                    self._settle(deal.deal_id)
                except GpuBarterError as exc:
                    self.log.event("settle failed", deal=deal.deal_id, error=str(exc)[:300])
        return done

    def _settle(self, deal_id: int) -> None:
        deal = self.client.deal_info(deal_id)  # after this poll's releases
        if deal.status != ACCEPTED or not self.client.settle_check(deal).ready:
            return
        result = retrying(f"settle deal {deal_id}", lambda: self.client.settle(deal_id), self.log)
        self.log.event("deal settled; bond returned", deal=deal_id, bond=str(deal.bond_wei),
                       gas=result.gas_used)

    def _release_due(self, deal: DealInfo) -> list[Release]:
        due = self.client.escrow.functions.dueSteps(deal.deal_id).call()
        if due <= deal.released:
            return []
        owner, manifest = self.client.manifest_of(deal.dataset_id)
        if owner != self.coop:
            raise AgentError(f"dataset {deal.dataset_id} of deal {deal.deal_id} is owned by {owner}, "
                             f"not by {self.coop}; not releasing its keys")
        public = self.client.public_key_of(deal)
        out = []
        for step in range(deal.released + 1, due + 1):
            sealed = seal_for_release(self.client, deal, step, self.keystore.key(manifest, step - 1), public)
            result = retrying(f"release deal {deal.deal_id} step {step}",
                              lambda s=step, k=sealed: self.client.release(self.coop, deal.deal_id, s, k),
                              self.log)
            self.log.event("key released", deal=deal.deal_id, step=step, steps=deal.steps,
                           gas=result.gas_used, tx=result.tx_hash)
            out.append(Release(deal.deal_id, step, result.gas_used))
        return out

    def run(self, stop: threading.Event, *, interval_s: float = 2.0) -> None:
        run_loop(self.poll_once, stop, self.log, interval_s=interval_s)
