"""The chain indexer against a real anvil chain and a real SQLite database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.db.models import ChainEvent, Cursor
from backend.indexer.follower import Follower
from gpubarter.chain.network import DEFAULT_MAX_LOG_RANGE, log_range_for

WAD = 10**18


@pytest.fixture
def token(w3, deployment):
    return deployment.contract(w3, "ComputeToken")


def indexed(sessions, name: str | None = None) -> list[ChainEvent]:
    with sessions() as s:
        q = select(ChainEvent).order_by(ChainEvent.block_number, ChainEvent.log_index)
        if name:
            q = q.where(ChainEvent.name == name)
        return list(s.scalars(q))


def test_indexes_deployment_and_new_events_with_decoded_args(w3, deployment, accounts, token, sessions):
    follower = Follower(w3, deployment, sessions)
    follower.catch_up()
    assert [e.name for e in indexed(sessions, "FaucetConfigured")] == ["FaucetConfigured"]
    accounts[1].transact(token.functions.faucet())
    accounts[1].transact(token.functions.transfer(accounts[2].address, 5 * WAD))
    assert follower.catch_up() == 3  # Transfer(mint) + FaucetDripped + Transfer
    transfers = indexed(sessions, "Transfer")
    assert transfers[-1].args == {"from": accounts[1].address, "to": accounts[2].address,
                                  "value": str(5 * WAD)}
    assert transfers[-1].contract == "ComputeToken"
    assert follower.cursor() == w3.eth.block_number


def test_resumes_from_its_cursor_after_restart(w3, deployment, accounts, token, sessions):
    Follower(w3, deployment, sessions).catch_up()
    before = len(indexed(sessions))
    accounts[1].transact(token.functions.faucet())
    again = Follower(w3, deployment, sessions)  # a new process would start like this
    assert again.catch_up() == 2
    assert len(indexed(sessions)) == before + 2  # nothing indexed twice


def test_confirmation_depth_holds_back_recent_blocks(w3, deployment, accounts, token, sessions):
    follower = Follower(w3, deployment, sessions, confirmations=2)
    accounts[1].transact(token.functions.faucet())
    follower.catch_up()
    assert indexed(sessions, "FaucetDripped") == []
    w3.provider.make_request("anvil_mine", [2])
    follower.catch_up()
    assert len(indexed(sessions, "FaucetDripped")) == 1


def test_reorg_rewinds_and_replays_the_new_branch(w3, deployment, accounts, token, sessions):
    follower = Follower(w3, deployment, sessions)
    follower.catch_up()
    fork_point = w3.provider.make_request("evm_snapshot", [])["result"]
    accounts[1].transact(token.functions.faucet())  # on the branch that will vanish
    accounts[1].transact(token.functions.transfer(accounts[3].address, WAD))
    follower.catch_up()
    assert len(indexed(sessions, "FaucetDripped")) == 1

    w3.provider.make_request("evm_revert", [fork_point])
    accounts[1].reset_nonce()
    accounts[2].transact(token.functions.faucet())  # the new branch
    w3.provider.make_request("anvil_mine", [3])
    result = follower.step()
    assert result.rewound_to is not None
    follower.catch_up()

    dripped = indexed(sessions, "FaucetDripped")
    assert [e.args["account"] for e in dripped] == [accounts[2].address]
    assert not [e for e in indexed(sessions, "Transfer") if e.args["to"] == accounts[3].address]
    with sessions() as s:
        cur = s.get(Cursor, "events")
        assert cur.block_hash == "0x" + bytes(w3.eth.get_block(cur.block_number)["hash"]).hex()


def test_anvil_reorg_is_detected(w3, deployment, accounts, token, sessions):
    follower = Follower(w3, deployment, sessions)
    accounts[1].transact(token.functions.faucet())
    w3.provider.make_request("anvil_mine", [2])
    follower.catch_up()
    with sessions() as s:
        count_before = s.scalar(select(func.count()).select_from(ChainEvent))
    # replace the last 3 blocks with blocks that hold no protocol events
    w3.provider.make_request("anvil_reorg", [3, []])
    follower.catch_up()
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(ChainEvent)) == count_before - 2
    assert indexed(sessions, "FaucetDripped") == []


@pytest.mark.parametrize(("network", "chunk"), [("local", 2_000), ("no-such-network", DEFAULT_MAX_LOG_RANGE)])
def test_the_service_indexes_within_the_networks_log_range(w3, deployment, database_url, network, chunk):
    """A public RPC refuses eth_getLogs over more blocks than it allows (networks.toml max_log_range)."""
    from dataclasses import replace

    from backend.service import BackendService

    svc = BackendService(w3, replace(deployment, network=network), database_url=database_url)
    try:
        assert svc.follower.chunk == min(2_000, log_range_for(network)) == chunk
    finally:
        svc.engine.dispose()
