"""Log searches in bounded block ranges (``gpubarter.chain.logs``) and ``max_log_range`` of networks.toml.

Against the real anvil chain: the events are real transfers and fills spread over many blocks,
and every ``eth_getLogs`` request the code sends is recorded on its way to the node.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from exchange_world import HOUR, Market
from hypothesis import given
from hypothesis import strategies as st
from log_requests import getlogs_recorded
from web3 import Web3
from web3.contract.contract import ContractEvent

from devservers.anvil import LocalChain
from gpubarter import paths
from gpubarter.chain import network
from gpubarter.chain.logs import block_ranges, find_latest, find_logs
from gpubarter.chain.tx import Sender
from gpubarter.deploy_plan import WAD
from gpubarter.deployment_record import Deployment, save_deployment
from gpubarter.errors import ChainError, ConfigError
from gpubarter.protocol.credits import ComputeClient
from gpubarter.protocol.exchange import ExchangeClient

TINY = 2  # blocks per request: every search below spans many requests
RECIPIENT = 7  # dev account that receives the transfers


def mine(w3: Web3, blocks: int) -> None:
    w3.provider.make_request("anvil_mine", [blocks])


@pytest.fixture(scope="module")
def transfers(w3: Web3, deployment: Deployment, accounts: list[Sender]) -> list[tuple[int, int]]:
    """Five CPT transfers to RECIPIENT, 3 empty blocks apart, 4 empty blocks after: (block, amount)."""
    token = deployment.contract(w3, "ComputeToken")
    done = []
    for i in range(1, 6):
        mine(w3, 3)
        result = accounts[0].transact(token.functions.transfer(accounts[RECIPIENT].address, i * WAD))
        done.append((result.block_number, i * WAD))
    mine(w3, 4)
    return done


def transfer_event(w3: Web3, deployment: Deployment) -> ContractEvent:
    return deployment.contract(w3, "ComputeToken").events.Transfer()


# ----------------------------------------------------------------------------- ranges


@given(first=st.integers(0, 10_000), length=st.integers(0, 300), max_range=st.integers(1, 50),
       newest_first=st.booleans())
def test_block_ranges_cover_the_span_once_in_bounded_pieces(first: int, length: int, max_range: int,
                                                            newest_first: bool) -> None:
    last = first + length - 1
    ranges = list(block_ranges(first, last, max_range, newest_first=newest_first))
    in_order = reversed(ranges) if newest_first else ranges
    assert [b for start, end in in_order for b in range(start, end + 1)] == list(range(first, last + 1))
    assert all(1 <= end - start + 1 <= max_range for start, end in ranges)


def test_block_ranges_refuse_a_range_size_below_one_block() -> None:
    with pytest.raises(ValueError, match="max_range must be at least 1"):
        list(block_ranges(0, 10, 0))


# ------------------------------------------------------------------------- find_logs


def test_find_logs_finds_every_event_in_requests_of_at_most_max_range(
        w3: Web3, deployment: Deployment, accounts: list[Sender], transfers: list[tuple[int, int]]) -> None:
    start, head = deployment.block_of("ComputeToken"), w3.eth.block_number
    assert start > 0 and head - start > 20
    with getlogs_recorded(w3) as seen:
        logs = find_logs(transfer_event(w3, deployment), from_block=start, max_range=TINY,
                         argument_filters={"to": accounts[RECIPIENT].address})
    assert [(log["blockNumber"], log["args"]["value"]) for log in logs] == transfers
    seen.assert_bounded(TINY, first=start)  # from the token's deployment block, never block 0
    assert seen.ranges == list(block_ranges(start, head, TINY))  # contiguous, up to the head
    assert seen.count("eth_blockNumber") == 1  # 'latest' resolved once
    # the same logs as one unbounded request
    whole = transfer_event(w3, deployment).get_logs(
        from_block=start, to_block=head, argument_filters={"to": accounts[RECIPIENT].address})
    assert logs == list(whole)


def test_find_logs_up_to_a_given_block(w3: Web3, deployment: Deployment, accounts: list[Sender],
                                       transfers: list[tuple[int, int]]) -> None:
    start, to_block = deployment.block_of("ComputeToken"), transfers[2][0]
    with getlogs_recorded(w3) as seen:
        logs = find_logs(transfer_event(w3, deployment), from_block=start, to_block=to_block, max_range=TINY,
                         argument_filters={"to": accounts[RECIPIENT].address})
    assert [log["args"]["value"] for log in logs] == [amount for _b, amount in transfers[:3]]
    assert seen.count("eth_blockNumber") == 0 and max(end for _s, end in seen.ranges) == to_block


def test_find_latest_reads_newest_first_and_stops_at_the_match(
        w3: Web3, deployment: Deployment, accounts: list[Sender], transfers: list[tuple[int, int]]) -> None:
    start, head = deployment.block_of("ComputeToken"), w3.eth.block_number
    to = {"to": accounts[RECIPIENT].address}
    with getlogs_recorded(w3) as seen:
        latest = find_latest(transfer_event(w3, deployment), from_block=start, max_range=TINY,
                             argument_filters=to)
    assert latest is not None and (latest["blockNumber"], latest["args"]["value"]) == transfers[-1]
    newest_first = list(block_ranges(start, head, TINY, newest_first=True))
    assert seen.ranges == newest_first[:len(seen.ranges)]  # from the head down, TINY blocks at a time
    assert min(s for s, _e in seen.ranges) > transfers[-2][0]  # stopped: older blocks never asked for

    second = transfers[1][1]
    with getlogs_recorded(w3) as seen:
        found = find_latest(transfer_event(w3, deployment), from_block=start, max_range=TINY,
                            argument_filters=to, where=lambda log: log["args"]["value"] == second)
    assert found is not None and found["blockNumber"] == transfers[1][0]
    assert all(1 <= e - s + 1 <= TINY for s, e in seen.ranges) and min(s for s, _e in seen.ranges) > start

    with getlogs_recorded(w3) as seen:
        none = find_latest(transfer_event(w3, deployment), from_block=start, max_range=TINY,
                           argument_filters=to, where=lambda _log: False)
    assert none is None
    assert seen.ranges == list(block_ranges(start, head, TINY, newest_first=True))  # all, down to start


def test_a_request_the_node_refuses_is_a_clear_chain_error(w3: Web3, deployment: Deployment) -> None:
    head = w3.eth.block_number
    # anvil refuses a range that starts beyond its head (BlockOutOfRangeError)
    refused = rf"refused eth_getLogs for Transfer in blocks {head + 5}\.\.{head + 6} \(2 blocks\): "
    with pytest.raises(ChainError, match=refused + r".*BlockOutOfRange.*lower max_log_range"):
        find_logs(transfer_event(w3, deployment), from_block=head + 5, to_block=head + 8, max_range=TINY)
    assert w3.eth.block_number == head


def test_a_negative_start_is_refused(w3: Web3, deployment: Deployment) -> None:
    with getlogs_recorded(w3) as seen, pytest.raises(ValueError, match="from_block must be a block number"):
        find_logs(transfer_event(w3, deployment), from_block=-1, max_range=TINY)
    assert seen.ranges == []


# ------------------------------------------------------------------- protocol clients


def test_gpu_classes_are_found_with_a_tiny_log_range(w3: Web3, deployment: Deployment,
                                                     accounts: list[Sender]) -> None:
    wide = ComputeClient(accounts[0], deployment).gpu_classes()
    with getlogs_recorded(w3) as seen:
        narrow = ComputeClient(accounts[0], deployment, log_range=TINY).gpu_classes()
    assert narrow == wide and narrow
    seen.assert_bounded(TINY, first=deployment.block_of("GpuClasses"))


def test_exchange_fills_are_found_with_a_tiny_log_range(market: Market, accounts: list[Sender]) -> None:
    m = market
    w3, dep = m.world.w3, m.world.deployment
    before = len(m.buyer.fills())
    for _ in range(3):
        mine(w3, 5)
        m.buyer.fill(m.sell(), HOUR)
    reader = ExchangeClient(accounts[5], dep, log_range=TINY)
    with getlogs_recorded(w3) as seen:
        fills = reader.fills()
    assert len(fills) == before + 3 and fills == m.buyer.fills()
    seen.assert_bounded(TINY, first=dep.block_of("CreditExchange"))


def test_clients_take_the_log_range_of_their_deployments_network(deployment: Deployment,
                                                                 accounts: list[Sender]) -> None:
    assert deployment.network == "local"
    assert ComputeClient(accounts[0], deployment).log_range == network.get_network("local").max_log_range


def test_cli_clients_take_the_log_range_of_the_chosen_network(
        chain: LocalChain, deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.commands import market
    from cli.commands._barter import open_barter
    from cli.commands._compute import open_client

    save_deployment(deployment, tmp_path)
    monkeypatch.setenv("GPUBARTER_DEPLOYMENTS_DIR", str(tmp_path))
    monkeypatch.setenv("GPUBARTER_LOCAL_RPC_URL", chain.url)
    nets = network.load_networks()
    nets["local"] = dataclasses.replace(nets["local"], max_log_range=3)
    monkeypatch.setattr(network, "load_networks", lambda: nets)
    assert open_client("local").log_range == open_barter("local").log_range == 3
    assert market._client("local").log_range == 3


# ------------------------------------------------------------------------ networks.toml


def test_networks_toml_gives_each_network_a_log_range() -> None:
    nets = network.load_networks()
    assert nets["local"].max_log_range == 1_000_000
    assert all(nets[n].max_log_range == 10_000 for n in ("sepolia", "base-sepolia", "arbitrum-sepolia"))
    assert network.log_range_for("sepolia") == 10_000
    assert network.log_range_for("a-network-not-in-the-file") == network.DEFAULT_MAX_LOG_RANGE


def _networks_file(root: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    (root / "networks.toml").write_text(body)
    monkeypatch.setattr(paths, "project_root", lambda: root)  # project_root() is cached


def test_an_unset_max_log_range_takes_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _networks_file(tmp_path, '[x]\nchain_id = 5\nrpc_url_env = "X_RPC_URL"\n', monkeypatch)
    assert network.get_network("x").max_log_range == network.DEFAULT_MAX_LOG_RANGE


@pytest.mark.parametrize("value", ["0", "-5", "1.5", '"10000"', "true"])
def test_a_bad_max_log_range_is_a_config_error(value: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _networks_file(tmp_path, f"[x]\nchain_id = 5\nmax_log_range = {value}\n", monkeypatch)
    with pytest.raises(ConfigError, match=r"max_log_range of \[x\] must be a whole number of blocks >= 1"):
        network.load_networks()
    with pytest.raises(ConfigError, match="max_log_range"):
        network.log_range_for("x")
