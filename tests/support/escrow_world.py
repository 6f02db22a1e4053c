"""Shared setup for the barter tests: a 3-member cooperative owning a K = 4 dataset, a staked
provider, and a metering account that drives delivery through Jobs.applyUsage.

Not a test module: test modules import the fixture and helpers they use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import pytest
from compute_world import DAY, H100, SPEC, STAKE, onboard
from web3 import Web3
from web3.contract import Contract

from devservers.anvil import increase_time
from gpubarter.chain.tx import Sender
from gpubarter.deploy_plan import WAD, role
from gpubarter.deployment_record import Deployment
from gpubarter.protocol import sealing
from gpubarter.protocol.barter import BarterClient, OfferTerms

K = 4
GPU_SECONDS = 36_000
KEY_TIMEOUT = DAY
BOND = 50 * WAD
COOP_FUNDS = 1_000 * WAD
SHARES = (1, 2, 3)


@dataclass
class EscrowWorld:
    w3: Web3
    deployment: Deployment
    gov: BarterClient
    admin: BarterClient  # the cooperative's admin and key agent
    provider: BarterClient
    members: list[BarterClient]
    meter: BarterClient  # METERING_ROLE on Jobs
    other: BarterClient
    coop: str
    dataset_id: int
    keys: list[bytes]  # key of step i is keys[i - 1]
    pairs: dict[int, sealing.KeyPair] = field(default_factory=dict)  # deal id -> provider's key pair

    @property
    def escrow(self) -> Contract:
        return self.gov.escrow

    @property
    def coop_contract(self) -> Contract:
        return self.gov.cooperative(self.coop)

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def travel(self, seconds: int) -> None:
        increase_time(self.w3, seconds)

    def travel_to(self, timestamp: int) -> None:
        """Mine a block at ``timestamp`` (or one second on, if the chain is past it); later blocks follow
        the wall clock from there (anvil mines blocks of the same second at the same time)."""
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [max(timestamp, self.now() + 1)])
        self.w3.provider.make_request("evm_mine", [])

    def settles_at(self, deal_id: int) -> int:
        return self.escrow.functions.settlesAt(deal_id).call()

    def terms(self, **overrides: int) -> OfferTerms:
        now = self.now()
        base = OfferTerms(
            self.dataset_id, H100.class_id, GPU_SECONDS, now, now + 30 * DAY, K, KEY_TIMEOUT, BOND
        )
        return replace(base, **overrides)

    def offer(self, **overrides: int) -> int:
        return self.admin.offer(self.coop, self.terms(**overrides)).value

    def accepted(self, **overrides: int) -> tuple[int, int]:
        """An offer accepted by the provider: (deal id, series id)."""
        deal_id = self.offer(**overrides)
        pair = sealing.keygen()
        self.pairs[deal_id] = pair
        return deal_id, self.provider.accept(deal_id, pair.public).value

    def deliver(self, series_id: int, seconds: int) -> None:
        """Members claim their credits of ``series_id``, run jobs, and the meter applies ``seconds``."""
        for who in self.members:
            who.claim_all(self.coop)
        for who in reversed(self.members):
            part = min(seconds, who.credit_balance(series_id))
            if part:
                job = who.open_job(series_id, part, SPEC).value
                self.provider.acknowledge(job)
                self.meter.apply_usage(job, part)
                seconds -= part
        assert seconds == 0, "members hold too few credits to deliver that much"

    def seal(self, deal_id: int, step: int, key: bytes | None = None) -> sealing.SealedKey:
        return sealing.seal(key if key is not None else self.keys[step - 1], self.pairs[deal_id].public, step)

    def release(self, deal_id: int, step: int, key: bytes | None = None) -> sealing.SealedKey:
        sealed = self.seal(deal_id, step, key)
        self.admin.release(self.coop, deal_id, step, sealed)
        return sealed

    def cpt(self, address: str) -> int:
        return self.gov.token.functions.balanceOf(address).call()


def new_dataset(admin: BarterClient, coop: str, steps: int = K) -> tuple[int, list[bytes]]:
    keys = [os.urandom(32) for _ in range(steps)]
    dataset_id = admin.register_dataset(
        coop, "bafkreidatasetmanifest", [sealing.commitment(k) for k in keys], b"\x01" * 32, b"\x00" * 32
    ).value
    return dataset_id, keys


@pytest.fixture(scope="module")
def ew(w3: Web3, deployment: Deployment, accounts: list[Sender]) -> EscrowWorld:
    gov, admin, provider, m1, m2, m3, meter, other = (BarterClient(accounts[i], deployment) for i in range(8))
    gov.sender.transact(gov.jobs.functions.grantRole(role("METERING_ROLE"), meter.sender.address))
    onboard(gov, provider)
    gov.sender.transact(gov.token.functions.transfer(provider.sender.address, 100 * WAD))
    coop = admin.create_cooperative("Riverside Data Co-op").value
    gov.sender.transact(gov.token.functions.transfer(coop, COOP_FUNDS))
    for member, shares in zip((m1, m2, m3), SHARES, strict=True):
        admin.set_shares(coop, member.sender.address, shares)
    dataset_id, keys = new_dataset(admin, coop)
    return EscrowWorld(
        w3, deployment, gov, admin, provider, [m1, m2, m3], meter, other, coop, dataset_id, keys
    )


__all__ = ["BOND", "GPU_SECONDS", "KEY_TIMEOUT", "SHARES", "STAKE", "EscrowWorld", "K", "ew", "new_dataset"]
