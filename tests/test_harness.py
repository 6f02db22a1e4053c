"""The test harness itself: a real chain, module deployments, per-test isolation."""

from __future__ import annotations

from devservers.anvil import LOCAL_CHAIN_ID


def test_session_starts_chain_and_deploys(w3, deployment):
    assert w3.eth.chain_id == LOCAL_CHAIN_ID
    assert len(w3.eth.get_code(deployment.address("ComputeToken"))) > 0


def test_isolation_part1_changes_state(w3, deployment, accounts):
    token = deployment.contract(w3, "ComputeToken")
    accounts[5].transact(token.functions.faucet())
    assert token.functions.balanceOf(accounts[5].address).call() == 1_000 * 10**18


def test_isolation_part2_sees_no_state_from_part1(w3, deployment, accounts):
    token = deployment.contract(w3, "ComputeToken")
    assert token.functions.balanceOf(accounts[5].address).call() == 0
    # the nonce cache was reset with the chain: sending works
    accounts[5].transact(token.functions.faucet())
