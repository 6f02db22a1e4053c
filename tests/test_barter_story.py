"""The barter story end to end on anvil, a real IPFS node (js-ipfs on loopback) and the real
metering oracle daemon on simulated GPUs (labelled simulated): a 3-member cooperative's dataset
is paid for step by step with metered GPU time, and every key is released, verified and opened."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from web3 import Web3

from backend.vault.ipfs_store import IpfsStore
from cli.barter_story import K, StoryEnv, run_story
from devservers.anvil import LocalChain
from devservers.ipfs import LocalIpfsNode
from gpubarter.deployment_record import Deployment, save_deployment


@pytest.fixture
def ipfs_store(ipfs_node: LocalIpfsNode, tmp_path: Path) -> Iterator[IpfsStore]:
    store = IpfsStore(ipfs_node.api_url, timeout_s=30, spool_dir=tmp_path / "spool")
    yield store
    store.close()


@pytest.mark.slow
def test_the_barter_story_runs_end_to_end(
    w3: Web3, chain: LocalChain, deployment: Deployment, ipfs_store: IpfsStore, tmp_path: Path
) -> None:
    save_deployment(deployment, tmp_path / "deployments")
    children_before = {p.pid for p in psutil.Process().children(recursive=True)}
    env = StoryEnv(w3, deployment, tmp_path / "deployments", chain.url, ipfs_store, tmp_path / "story")
    lines: list[str] = []
    report = run_story(env, say=lines.append)
    story = "\n".join(lines)
    print(story)
    assert report.ok, f"{report.failures}\n{story}"
    assert report.dataset_intact and report.steps_released == K
    assert sum(report.members_received.values()) == report.credits_minted == env.gpu_seconds
    assert report.gpu_hours_delivered == env.gpu_seconds / 3_600
    roles = report.gas_by_role()
    players = {"cooperative admin", "provider", "key agent", "member 1", "member 2", "member 3", "oracle"}
    assert players <= set(roles)
    assert roles["oracle"] > 0
    assert all(0 < gas < 70_000 for step, role, gas in report.gas if step.startswith("release key"))
    assert "cooperative 'Riverbank'" in story and "into 4 shards" in story and "simulated" in story
    for step in range(1, K + 1):
        assert f"key agent releases key {step}" in story and f"opens shard {step}" in story
    assert "bit for bit" in story
    leftover = {p.pid for p in psutil.Process().children(recursive=True)} - children_before
    assert not leftover, "the story left processes behind"
