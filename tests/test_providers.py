"""ProviderRegistry: registration, stake, unstake through the unbonding period, collateral locks."""

from __future__ import annotations

from chain_checks import reverts
from compute_world import MINTED, STAKE, World, collateral_of

from gpubarter.deploy_plan import WAD, role
from gpubarter.protocol.types import ProviderInfo


def _provider(w: World, c=None) -> ProviderInfo:
    return (c or w.provider).provider()


def test_register_records_metadata_and_emits(world: World) -> None:
    result = world.other.register("bafkreiothermetadata")
    info = world.other.provider()
    assert info.registered and info.metadata_cid == "bafkreiothermetadata"
    logs = world.other.registry.events.ProviderRegistered().process_receipt(result.receipt)
    assert logs[0]["args"]["provider"] == world.other.sender.address


def test_register_twice_is_refused(world: World) -> None:
    reverts(
        lambda: world.provider.register("bafkreiagain"),
        "ProviderRegistryAlreadyRegistered",
        lambda: _provider(world),
    )


def test_register_with_empty_or_overlong_cid_is_refused(world: World) -> None:
    for cid in ("", "b" * 129):
        reverts(
            lambda cid=cid: world.other.register(cid),
            "ProviderRegistryInvalidMetadata",
            lambda: world.other.provider(),
        )


def test_update_metadata(world: World) -> None:
    world.provider.update_metadata("bafkreinewmetadata")
    assert world.provider.provider().metadata_cid == "bafkreinewmetadata"
    reverts(lambda: world.other.update_metadata("bafkreix"), "ProviderRegistryNotRegistered")


def test_stake_adds_to_stake_and_moves_cpt(world: World) -> None:
    before = _provider(world)
    held = world.gov.cpt_balance(world.deployment.address("ProviderRegistry"))
    world.gov.sender.transact(
        world.gov.token.functions.transfer(world.provider.sender.address, 5 * WAD)
    )
    sent = world.provider.stake(5 * WAD)
    assert [t.gas_used > 0 for t in sent.txs] == [True, True]  # approve + stake
    assert _provider(world).stake == before.stake + 5 * WAD
    assert world.gov.cpt_balance(world.deployment.address("ProviderRegistry")) == held + 5 * WAD


def test_stake_refusals(world: World) -> None:
    reg = world.provider.registry.functions
    observe = (lambda: _provider(world), lambda: world.provider.cpt_balance())
    reverts(
        lambda: world.provider.sender.transact(reg.stake(0)), "ProviderRegistryZeroAmount", *observe
    )
    reverts(
        lambda: world.other.sender.transact(world.other.registry.functions.stake(1)),
        "ProviderRegistryNotRegistered",
    )
    reverts(
        lambda: world.provider.sender.transact(reg.stake(2**128)),
        "ProviderRegistryAmountTooLarge",
        *observe,
    )
    # No allowance or balance: the token's own EIP-6093 error.
    reverts(
        lambda: world.provider.sender.transact(reg.stake(1)), "ERC20InsufficientAllowance", *observe
    )


def test_minting_locks_collateral(world: World) -> None:
    info = _provider(world)
    assert info.locked == collateral_of(MINTED)
    assert info.free == STAKE - collateral_of(MINTED)


def test_unstake_then_withdraw_after_unbonding(world: World) -> None:
    period = world.gov.registry.functions.unbondingPeriod().call()
    world.provider.request_unstake(100 * WAD)
    info = _provider(world)
    assert info.stake == STAKE - 100 * WAD and info.unbonding == 100 * WAD
    assert info.unbonding_end == world.now() + period
    reverts(world.provider.withdraw, "ProviderRegistryStillUnbonding", lambda: _provider(world))
    world.travel(period)
    before = world.provider.cpt_balance()
    world.provider.withdraw()
    assert world.provider.cpt_balance() == before + 100 * WAD
    assert _provider(world).unbonding == 0
    reverts(world.provider.withdraw, "ProviderRegistryNothingToWithdraw")


def test_unstake_cannot_touch_stake_backing_credits(world: World) -> None:
    free = _provider(world).free
    reason = reverts(
        lambda: world.provider.request_unstake(free + 1),
        "ProviderRegistryInsufficientFreeStake",
        lambda: _provider(world),
    )
    assert f"requested={free + 1}" in reason and f"free={free}" in reason
    reverts(lambda: world.provider.request_unstake(0), "ProviderRegistryZeroAmount")
    world.provider.request_unstake(free)  # all of the free stake is fine
    assert _provider(world).free == 0


def test_lock_unlock_slash_need_protocol_roles(world: World) -> None:
    reg = world.other.registry.functions
    addr = world.provider.sender.address
    for call, needed in (
        (reg.lock(addr, 1), "COLLATERAL_ROLE"),
        (reg.unlock(addr, 1), "COLLATERAL_ROLE"),
        (reg.slash(addr, 1, world.other.sender.address), "SLASHER_ROLE"),
    ):
        reason = reverts(
            lambda call=call: world.other.sender.transact(call),
            "AccessControlUnauthorizedAccount",
            lambda: _provider(world),
        )
        assert "0x" + role(needed).hex() in reason


def test_slash_takes_locked_stake_to_recipient(world: World) -> None:
    gov, reg = world.gov, world.gov.registry.functions
    gov.sender.transact(reg.grantRole(role("SLASHER_ROLE"), gov.sender.address))
    gov.sender.transact(reg.grantRole(role("COLLATERAL_ROLE"), gov.sender.address))
    before, paid = _provider(world), world.other.cpt_balance()
    gov.sender.transact(reg.slash(world.provider.sender.address, 7, world.other.sender.address))
    after = _provider(world)
    assert (after.stake, after.locked) == (before.stake - 7, before.locked - 7)
    assert world.other.cpt_balance() == paid + 7
    addr = world.provider.sender.address
    reverts(
        lambda: gov.sender.transact(reg.slash(addr, after.locked + 1, gov.sender.address)),
        "ProviderRegistryExceedsLocked",
        lambda: _provider(world),
    )
    reverts(
        lambda: gov.sender.transact(reg.slash(addr, 0, gov.sender.address)),
        "ProviderRegistryZeroAmount",
    )
    reverts(
        lambda: gov.sender.transact(reg.slash(addr, 1, "0x" + "00" * 20)),
        "ProviderRegistryZeroAddress",
    )
    reverts(
        lambda: gov.sender.transact(reg.unlock(addr, after.locked + 1)),
        "ProviderRegistryExceedsLocked",
    )
    reverts(
        lambda: gov.sender.transact(reg.lock(addr, after.free + 1)),
        "ProviderRegistryInsufficientFreeStake",
        lambda: _provider(world),
    )


def test_unbonding_period_is_governed(world: World) -> None:
    reg = world.gov.registry.functions
    world.gov.sender.transact(reg.setUnbondingPeriod(3_600))
    assert reg.unbondingPeriod().call() == 3_600
    for bad in (0, 366 * 86_400):
        reverts(
            lambda bad=bad: world.gov.sender.transact(reg.setUnbondingPeriod(bad)),
            "ProviderRegistryInvalidUnbondingPeriod",
            reg.unbondingPeriod().call,
        )
