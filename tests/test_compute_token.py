"""ComputeToken (CPT): faucet, governance, EIP-2612 permit signed in Python."""

from __future__ import annotations

import pytest
from chain_checks import reverts
from eth_account import Account

from devservers.anvil import increase_time
from gpubarter.chain.contracts import events
from gpubarter.chain.eip712 import PERMIT_TYPES, domain, domain_of, sign, sign_permit

WAD = 10**18
DAY = 86_400


@pytest.fixture
def token(w3, deployment):
    return deployment.contract(w3, "ComputeToken")


def test_metadata_and_initial_supply(token, accounts):
    assert token.functions.symbol().call() == "CPT"
    assert token.functions.decimals().call() == 18
    assert token.functions.balanceOf(accounts[0].address).call() == 1_000_000 * WAD
    assert token.functions.totalSupply().call() == 1_000_000 * WAD


def test_faucet_drips_and_emits(token, accounts):
    result = accounts[1].transact(token.functions.faucet())
    assert token.functions.balanceOf(accounts[1].address).call() == 1_000 * WAD
    (event,) = events(token, "FaucetDripped", result.receipt)
    assert event.args.account == accounts[1].address and event.args.amount == 1_000 * WAD


def test_faucet_is_rate_limited_per_address(w3, token, accounts):
    accounts[1].transact(token.functions.faucet())
    available_at = token.functions.faucetAvailableAt(accounts[1].address).call()
    reason = reverts(lambda: accounts[1].transact(token.functions.faucet()), "ComputeTokenFaucetCooldown")
    assert str(available_at) in reason
    assert token.functions.balanceOf(accounts[1].address).call() == 1_000 * WAD
    # another address is not affected
    accounts[2].transact(token.functions.faucet())
    increase_time(w3, DAY)
    accounts[1].transact(token.functions.faucet())
    assert token.functions.balanceOf(accounts[1].address).call() == 2_000 * WAD


def test_faucet_is_fail_closed_off_the_listed_dev_chains(w3, token, accounts):
    """L-3: the faucet works only on chain ids governance listed as dev/test; the deploy lists the
    known dev/test chains and nothing else."""
    f = token.functions
    assert f.isFaucetChain(w3.eth.chain_id).call()  # anvil, listed by the deploy plan
    assert not f.isFaucetChain(1).call() and not f.isFaucetChain(8453).call()  # mainnet, Base: never listed
    accounts[0].transact(f.setFaucetChain(w3.eth.chain_id, False))
    reverts(lambda: accounts[1].transact(f.faucet()), "ComputeTokenFaucetDisabled")
    assert f.balanceOf(accounts[1].address).call() == 0
    accounts[0].transact(f.setFaucetChain(w3.eth.chain_id, True))
    accounts[1].transact(f.faucet())


def test_a_token_not_listing_its_chain_has_no_faucet(accounts):
    """A ComputeToken deployed anywhere without the listing (e.g. by hand on a new chain) drips nothing."""
    from gpubarter.chain.contracts import deploy_contract

    fresh, _ = deploy_contract(accounts[0], "ComputeToken", accounts[0].address, 0, WAD, 0)
    reverts(lambda: accounts[1].transact(fresh.functions.faucet()), "ComputeTokenFaucetDisabled")
    assert fresh.functions.totalSupply().call() == 0


@pytest.mark.parametrize(
    ("call", "args"),
    [("setFaucetChain", (1, True)), ("configureFaucet", (5 * WAD, 60)), ("mint", None)],
)
def test_governance_functions_refuse_other_accounts(token, accounts, call, args):
    args = args if args is not None else (accounts[3].address, WAD)
    supply = token.functions.totalSupply().call()
    reverts(
        lambda: accounts[3].transact(getattr(token.functions, call)(*args)),
        "AccessControlUnauthorizedAccount",
    )
    assert token.functions.totalSupply().call() == supply
    assert not token.functions.isFaucetChain(1).call()
    assert token.functions.faucetAmount().call() == 1_000 * WAD


@pytest.mark.parametrize("amount", [0, 1_000_001 * WAD])
def test_configure_faucet_refuses_zero_or_huge_amounts(token, accounts, amount):
    reverts(
        lambda: accounts[0].transact(token.functions.configureFaucet(amount, 60)),
        "ComputeTokenInvalidFaucetAmount",
    )
    assert token.functions.faucetAmount().call() == 1_000 * WAD
    assert token.functions.faucetCooldown().call() == DAY


def test_configure_faucet_applies(token, accounts):
    accounts[0].transact(token.functions.configureFaucet(5 * WAD, 0))
    accounts[1].transact(token.functions.faucet())
    accounts[1].transact(token.functions.faucet())  # cooldown 0: twice in a row
    assert token.functions.balanceOf(accounts[1].address).call() == 10 * WAD


# ---------------------------------------------------------------- permit (EIP-2612)


def _deadline(w3, ahead: int = 3600) -> int:
    return w3.eth.get_block("latest")["timestamp"] + ahead


def test_permit_signed_in_python_sets_allowance(w3, token, accounts):
    owner, spender = accounts[0], accounts[4]
    deadline = _deadline(w3)
    v, r, s = sign_permit(owner.account, token, spender.address, 7 * WAD, deadline)
    spender.transact(token.functions.permit(owner.address, spender.address, 7 * WAD, deadline, v, r, s))
    assert token.functions.allowance(owner.address, spender.address).call() == 7 * WAD
    assert token.functions.nonces(owner.address).call() == 1
    spender.transact(token.functions.transferFrom(owner.address, spender.address, 7 * WAD))
    assert token.functions.balanceOf(spender.address).call() == 7 * WAD


def test_permit_domain_matches_python(w3, token):
    assert domain_of(token) == domain("GPU Barter Compute Token", "1", w3.eth.chain_id, token.address)


def test_permit_replay_is_refused(w3, token, accounts):
    owner, spender = accounts[0], accounts[4]
    deadline = _deadline(w3)
    v, r, s = sign_permit(owner.account, token, spender.address, WAD, deadline)
    call = token.functions.permit(owner.address, spender.address, WAD, deadline, v, r, s)
    spender.transact(call)
    reverts(lambda: spender.transact(call), "ERC2612InvalidSigner")
    assert token.functions.nonces(owner.address).call() == 1


def test_permit_expired_is_refused(w3, token, accounts):
    owner, spender = accounts[0], accounts[4]
    deadline = _deadline(w3, ahead=10)
    v, r, s = sign_permit(owner.account, token, spender.address, WAD, deadline)
    increase_time(w3, 60)
    reverts(
        lambda: spender.transact(
            token.functions.permit(owner.address, spender.address, WAD, deadline, v, r, s)
        ),
        "ERC2612ExpiredSignature",
    )
    assert token.functions.allowance(owner.address, spender.address).call() == 0


def test_permit_by_wrong_signer_is_refused(w3, token, accounts):
    owner, spender = accounts[0], accounts[4]
    deadline = _deadline(w3)
    stranger = Account.create()
    v, r, s = sign_permit(
        stranger, token, spender.address, WAD, deadline, nonce=token.functions.nonces(owner.address).call()
    )
    reverts(
        lambda: spender.transact(
            token.functions.permit(owner.address, spender.address, WAD, deadline, v, r, s)
        ),
        "ERC2612InvalidSigner",
    )
    assert token.functions.allowance(owner.address, spender.address).call() == 0


@pytest.mark.parametrize("field", ["chainId", "verifyingContract"])
def test_permit_bound_to_chain_and_contract(w3, token, accounts, field):
    owner, spender = accounts[0], accounts[4]
    deadline = _deadline(w3)
    dom = domain_of(token)
    dom[field] = 1 if field == "chainId" else accounts[9].address
    message = {
        "owner": owner.address,
        "spender": spender.address,
        "value": WAD,
        "nonce": 0,
        "deadline": deadline,
    }
    v, r, s = sign(owner.account, dom, PERMIT_TYPES, "Permit", message)
    reverts(
        lambda: spender.transact(
            token.functions.permit(owner.address, spender.address, WAD, deadline, v, r, s)
        ),
        "ERC2612InvalidSigner",
    )
    assert token.functions.allowance(owner.address, spender.address).call() == 0


def test_transfer_more_than_balance_is_refused(token, accounts):
    reverts(
        lambda: accounts[5].transact(token.functions.transfer(accounts[6].address, 1)),
        "ERC20InsufficientBalance",
    )
    assert token.functions.balanceOf(accounts[6].address).call() == 0
