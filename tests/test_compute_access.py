"""Behaviour shared by the compute contracts, written once and applied to each contract:
role gating of every privileged entry point and pausing (OpenZeppelin's
``shouldBehaveLikeAccessControl``/``Pausable`` style)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from chain_checks import reverts
from compute_world import SPEC, World

from gpubarter.deploy_plan import role

ADMIN = b"\x00" * 32


def fingerprint(w: World) -> tuple[Any, ...]:
    """Every piece of compute state a privileged call could change."""
    return (
        w.provider.provider(),
        w.provider2.provider(),
        w.holder.series(w.series_id),
        w.holder.credit_balance(w.series_id),
        w.holder.cpt_balance(),
        w.holder.jobs.functions.jobCount().call(),
        w.holder.credits.functions.seriesCount().call(),
        w.holder.gpu_class(1),
        w.holder.registry.functions.unbondingPeriod().call(),
        w.holder.credits.functions.baseURI().call(),
        w.holder.jobs.functions.settlementGrace().call(),
        tuple(
            c.functions.paused().call()
            for c in (w.holder.registry, w.holder.credits, w.holder.jobs)
        ),
    )


Build = Callable[[World], Any]  # contract function call, bound to its arguments


@dataclass(frozen=True)
class Guarded:
    contract: str  # attribute of ComputeClient
    name: str
    call: Build
    role: bytes


def _addr(w: World) -> str:
    return w.provider.sender.address


GUARDED: tuple[Guarded, ...] = (
    Guarded(
        "classes",
        "setClass",
        lambda w: w.other.classes.functions.setClass(1, "x", 1, 1, 0, True),
        role("CLASS_ADMIN_ROLE"),
    ),
    Guarded(
        "registry",
        "lock",
        lambda w: w.other.registry.functions.lock(_addr(w), 1),
        role("COLLATERAL_ROLE"),
    ),
    Guarded(
        "registry",
        "unlock",
        lambda w: w.other.registry.functions.unlock(_addr(w), 1),
        role("COLLATERAL_ROLE"),
    ),
    Guarded(
        "registry",
        "slash",
        lambda w: w.other.registry.functions.slash(_addr(w), 1, _addr(w)),
        role("SLASHER_ROLE"),
    ),
    Guarded(
        "registry",
        "setUnbondingPeriod",
        lambda w: w.other.registry.functions.setUnbondingPeriod(5),
        ADMIN,
    ),
    Guarded(
        "credits",
        "createDataBackedSeries",
        lambda w: w.other.credits.functions.createDataBackedSeries(
            _addr(w), 1, w.now(), w.now() + 100, 1, _addr(w), 1
        ),
        role("SERIES_ISSUER_ROLE"),
    ),
    Guarded(
        "credits",
        "setFrozen",
        lambda w: w.other.credits.functions.setFrozen(w.series_id, True),
        role("SERIES_ISSUER_ROLE"),
    ),
    Guarded(
        "credits",
        "lockForJob",
        lambda w: w.other.credits.functions.lockForJob(w.holder.sender.address, w.series_id, 1),
        role("JOBS_ROLE"),
    ),
    Guarded(
        "credits",
        "returnFromJob",
        lambda w: w.other.credits.functions.returnFromJob(_addr(w), w.series_id, 1),
        role("JOBS_ROLE"),
    ),
    Guarded(
        "credits",
        "burnDelivered",
        lambda w: w.other.credits.functions.burnDelivered(w.series_id, 1),
        role("JOBS_ROLE"),
    ),
    Guarded(
        "credits",
        "compensate",
        lambda w: w.other.credits.functions.compensate(w.series_id, 1, _addr(w)),
        role("JOBS_ROLE"),
    ),
    Guarded("jobs", "hold", lambda w: w.other.jobs.functions.hold(1), role("METERING_ROLE")),
    Guarded("jobs", "releaseHold", lambda w: w.other.jobs.functions.releaseHold(1, 1), role("METERING_ROLE")),
    Guarded("credits", "setSeriesListener",
            lambda w: w.other.credits.functions.setSeriesListener(_addr(w)), ADMIN),
    Guarded("credits", "setBaseURI", lambda w: w.other.credits.functions.setBaseURI("x"), ADMIN),
    Guarded(
        "jobs", "setSettlementGrace", lambda w: w.other.jobs.functions.setSettlementGrace(0), ADMIN
    ),
    Guarded(
        "jobs",
        "applyUsage",
        lambda w: w.other.jobs.functions.applyUsage(1, 1),
        role("METERING_ROLE"),
    ),
    Guarded(
        "jobs",
        "applyUsageBatch",
        lambda w: w.other.jobs.functions.applyUsageBatch([(1, 1)]),
        role("METERING_ROLE"),
    ),
    *(
        Guarded(
            c, "pause", lambda w, c=c: getattr(w.other, c).functions.pause(), role("PAUSER_ROLE")
        )
        for c in ("registry", "credits", "jobs")
    ),
    *(
        Guarded(
            c,
            "grantRole",
            lambda w, c=c: getattr(w.other, c).functions.grantRole(role("X"), _addr(w)),
            ADMIN,
        )
        for c in ("classes", "registry", "credits", "jobs")
    ),
)


@pytest.mark.parametrize("g", GUARDED, ids=lambda g: f"{g.contract}.{g.name}")
def test_privileged_entry_point_refuses_account_without_role(world: World, g: Guarded) -> None:
    reason = reverts(
        lambda: world.other.sender.transact(g.call(world)),
        "AccessControlUnauthorizedAccount",
        lambda: fingerprint(world),
    )
    assert world.other.sender.address in reason and "0x" + g.role.hex() in reason


@pytest.mark.parametrize(
    "g",
    [
        g
        for g in GUARDED
        if g.name in ("setClass", "setUnbondingPeriod", "setBaseURI", "setSettlementGrace")
    ],
    ids=lambda g: f"{g.contract}.{g.name}",
)
def test_granting_the_role_lets_the_account_in(world: World, g: Guarded) -> None:
    contract = getattr(world.gov, g.contract)
    world.gov.sender.transact(contract.functions.grantRole(g.role, world.other.sender.address))
    world.other.sender.transact(g.call(world))


@dataclass(frozen=True)
class Pausing:
    contract: str
    paused: tuple[tuple[str, Build], ...]  # (sender attribute, call) refused while paused
    working: tuple[tuple[str, Build], ...]  # still works while paused


def _open_acked(w: World) -> int:
    return w.acked_job(100)


PAUSING: tuple[Pausing, ...] = (
    Pausing(
        "registry",
        paused=(
            ("other", lambda w: w.other.registry.functions.register("bafkreix")),
            ("provider", lambda w: w.provider.registry.functions.stake(1)),
            ("provider", lambda w: w.provider.registry.functions.requestUnstake(1)),
        ),
        working=(("provider", lambda w: w.provider.registry.functions.updateMetadata("bafkreiy")),),
    ),
    Pausing(
        "credits",
        paused=(
            (
                "provider",
                lambda w: w.provider.credits.functions.createSeries(1, w.now(), w.now() + 99),
            ),
            (
                "provider",
                lambda w: w.provider.credits.functions.mint(w.series_id, _addr(w), 1, b""),
            ),
        ),
        working=(
            (
                "holder",
                lambda w: w.holder.credits.functions.safeTransferFrom(
                    w.holder.sender.address, w.other.sender.address, w.series_id, 1, b""
                ),
            ),
        ),
    ),
    Pausing(
        "jobs",
        paused=(
            ("holder", lambda w: w.holder.jobs.functions.open(w.series_id, 1, SPEC)),
            ("provider", lambda w: w.provider.jobs.functions.acknowledge(1)),
        ),
        # Metering goes on (usage measured in time must land before the cutoff; the clock runs on), and so
        # do the holder's exits. Job 2 is acknowledged before the pause.
        working=(
            ("meter", lambda w: w.meter.jobs.functions.applyUsage(2, 1)),
            ("meter", lambda w: w.meter.jobs.functions.applyUsageBatch([(2, 1)])),
            ("holder", lambda w: w.holder.jobs.functions.close(1)),
        ),
    ),
)


@pytest.mark.parametrize("p", PAUSING, ids=lambda p: p.contract)
def test_pause_stops_entry_points_and_unpause_restores_them(world: World, p: Pausing) -> None:
    world.open_job(100)  # job 1, for the Jobs entry points
    world.acked_job(100)  # job 2, acknowledged: metering works while paused
    contract = getattr(world.gov, p.contract).functions
    world.gov.sender.transact(contract.pause())
    assert contract.paused().call()
    for who, build in p.paused:
        sender = getattr(world, who).sender
        reverts(
            lambda sender=sender, build=build: sender.transact(build(world)),
            "EnforcedPause",
            lambda: fingerprint(world),
        )
    reverts(lambda: world.gov.sender.transact(contract.pause()), "EnforcedPause")
    for who, build in p.working:
        getattr(world, who).sender.transact(build(world))
    world.gov.sender.transact(contract.unpause())
    assert not contract.paused().call()
    reverts(lambda: world.gov.sender.transact(contract.unpause()), "ExpectedPause")


@pytest.mark.parametrize("p", PAUSING, ids=lambda p: p.contract)
def test_unpause_needs_pauser_role(world: World, p: Pausing) -> None:
    contract = getattr(world.gov, p.contract).functions
    world.gov.sender.transact(contract.pause())
    reverts(
        lambda: world.other.sender.transact(getattr(world.other, p.contract).functions.unpause()),
        "AccessControlUnauthorizedAccount",
        contract.paused().call,
    )


def test_claims_and_slashing_work_while_everything_is_paused(world: World) -> None:
    job_id = world.open_job(100)
    for c in ("registry", "credits", "jobs"):
        world.gov.sender.transact(getattr(world.gov, c).functions.pause())
    world.travel(3_601)
    world.holder.claim(job_id)
    assert world.holder.job(job_id).status.name == "REFUNDED"


def test_unbonded_stake_can_be_withdrawn_while_the_registry_is_paused(world: World) -> None:
    """A pause stops new stake and unstake requests, never the exit of stake that finished unbonding."""
    world.provider.request_unstake(10**18)
    world.gov.sender.transact(world.gov.registry.functions.pause())
    world.travel(world.gov.registry.functions.unbondingPeriod().call())
    cpt = world.provider.cpt_balance()
    world.provider.withdraw()
    assert world.provider.cpt_balance() == cpt + 10**18
