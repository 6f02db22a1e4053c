"""Shared setup for the compute-side tests (classes, providers, credits, jobs).

Not a test module: test modules import the fixtures and helpers they use. The ``world``
fixture builds, once per module, a registered and staked provider with one live series
whose credits a holder owns; every test then starts from it (the harness reverts the
chain after each test).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_runner import Cli, in_process_cli
from web3 import Web3
from web3.logs import DISCARD

from devservers.anvil import LocalChain, increase_time
from gpubarter.chain.contracts import deploy_contract
from gpubarter.chain.tx import Sender
from gpubarter.deploy_plan import DEFAULT_GPU_CLASSES, WAD, role
from gpubarter.deployment_record import Deployment
from gpubarter.protocol.credits import ComputeClient

H100 = DEFAULT_GPU_CLASSES[0]
RATE = H100.collateral_rate
ACK_TIMEOUT_OF_H100 = H100.ack_timeout_s
DAY = 86_400
STAKE = 10_000 * WAD
MINTED = 36_000  # ten GPU-hours
WINDOW = 30 * DAY
SPEC = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


def penalty_of(seconds: int, gpu_class: Any = H100) -> int:
    return seconds * gpu_class.collateral_rate * gpu_class.penalty_bps // 10_000


def per_credit(gpu_class: Any = H100) -> int:
    """CPT wei each credit locks: the collateral rate plus the penalty on it (ComputeCredits)."""
    return gpu_class.collateral_rate + gpu_class.collateral_rate * gpu_class.penalty_bps // 10_000


def collateral_of(seconds: int, gpu_class: Any = H100) -> int:
    """The collateral ``seconds`` credits lock, and what a default on them pays their holder."""
    return seconds * per_credit(gpu_class)


@dataclass
class World:
    """Who is who, and the contracts, for compute tests."""

    w3: Web3
    deployment: Deployment
    gov: ComputeClient  # deployer: every admin role
    provider: ComputeClient
    holder: ComputeClient
    other: ComputeClient
    meter: ComputeClient  # holds METERING_ROLE on Jobs
    provider2: ComputeClient  # registered, staked, no series
    series_id: int
    start: int

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def travel(self, seconds: int) -> None:
        increase_time(self.w3, seconds)

    def travel_to(self, timestamp: int) -> None:
        self.travel(max(0, timestamp - self.now()))

    def open_job(
        self,
        seconds: int = 3_600,
        *,
        series_id: int | None = None,
        holder: ComputeClient | None = None,
    ) -> int:
        return (holder or self.holder).open_job(series_id or self.series_id, seconds, SPEC).value

    def acked_job(self, seconds: int = 3_600) -> int:
        job_id = self.open_job(seconds)
        self.provider.acknowledge(job_id)
        return job_id


def client(sender: Sender, deployment: Deployment) -> ComputeClient:
    return ComputeClient(sender, deployment)


def onboard(gov: ComputeClient, who: ComputeClient, stake: int = STAKE) -> None:
    """Give ``who`` CPT, register it as a provider and stake."""
    gov.sender.transact(gov.token.functions.transfer(who.sender.address, stake))
    who.register("bafkreiprovidermetadata")
    who.stake(stake)


@pytest.fixture(scope="module")
def world(w3: Web3, deployment: Deployment, accounts: list[Sender]) -> World:
    gov, provider, holder, other, meter, provider2 = (
        client(accounts[i], deployment) for i in range(6)
    )
    gov.sender.transact(gov.jobs.functions.grantRole(role("METERING_ROLE"), meter.sender.address))
    onboard(gov, provider)
    onboard(gov, provider2)
    start = int(w3.eth.get_block("latest")["timestamp"])
    series_id = provider.create_series(H100.class_id, start, start + WINDOW).value
    provider.mint(series_id, MINTED, holder.sender.address)
    return World(w3, deployment, gov, provider, holder, other, meter, provider2, series_id, start)


@pytest.fixture(scope="module")
def receivers(world: World) -> dict[str, str]:
    """ERC-1155 receiver contracts that accept, answer wrongly, and revert; plus a non-receiver."""
    out = {}
    for name, behaviour in (("accept", 0), ("wrong", 1), ("revert", 2)):
        contract, _ = deploy_contract(world.gov.sender, "ERC1155ReceiverMock", behaviour)
        out[name] = contract.address
    out["none"] = world.deployment.address("GpuClasses")  # a contract without receiver hooks
    return out


def events(contract: Any, name: str, result: Any) -> list[dict[str, Any]]:
    """The args of every ``name`` event ``contract`` emitted in the transaction ``result``."""
    logs = getattr(contract.events, name)().process_receipt(result.receipt, errors=DISCARD)
    return [dict(log["args"]) for log in logs]


@pytest.fixture
def gpubarter(world: World, chain: LocalChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    """Run ``gpubarter ARGS`` in-process as dev account ``who`` on the world's deployment; check its
    exit status; return what it printed."""
    yield from in_process_cli(world.deployment, chain, tmp_path, monkeypatch, capsys)
