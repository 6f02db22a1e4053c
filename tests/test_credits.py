"""ComputeCredits: ERC-1155 conformance, series terms, minting within free stake, expiry."""

from __future__ import annotations

from chain_checks import reverts
from compute_world import (
    DAY,
    H100,
    MINTED,
    RATE,
    WINDOW,
    World,
    client,
    collateral_of,
    events,
    onboard,
    per_credit,
)
from eth_utils import keccak

from gpubarter.deploy_plan import DEFAULT_GPU_CLASSES, DeployParams, role
from gpubarter.protocol.types import Backing

GRACE_OF_DEPLOY = DeployParams().settlement_grace_s

ZERO = "0x" + "00" * 20


def _interface_id(*signatures: str) -> bytes:
    out = 0
    for sig in signatures:
        out ^= int.from_bytes(keccak(text=sig)[:4], "big")
    return out.to_bytes(4, "big")


ERC165 = _interface_id("supportsInterface(bytes4)")
ERC1155 = _interface_id(
    "balanceOf(address,uint256)",
    "balanceOfBatch(address[],uint256[])",
    "setApprovalForAll(address,bool)",
    "isApprovedForAll(address,address)",
    "safeTransferFrom(address,address,uint256,uint256,bytes)",
    "safeBatchTransferFrom(address,address,uint256[],uint256[],bytes)",
)
ERC1155_METADATA = _interface_id("uri(uint256)")
ACCESS_CONTROL = _interface_id(
    "hasRole(bytes32,address)",
    "getRoleAdmin(bytes32)",
    "grantRole(bytes32,address)",
    "revokeRole(bytes32,address)",
    "renounceRole(bytes32,address)",
)


def _bal(w: World, who, sid: int | None = None) -> int:
    return w.holder.credit_balance(
        sid or w.series_id, who if isinstance(who, str) else who.sender.address
    )


def test_supports_interface(world: World) -> None:
    f = world.holder.credits.functions
    for iid in (ERC165, ERC1155, ERC1155_METADATA, ACCESS_CONTROL):
        assert f.supportsInterface(iid).call()
    assert not f.supportsInterface(b"\xff\xff\xff\xff").call()
    assert not f.supportsInterface(b"\x12\x34\x56\x78").call()


def test_series_records_terms_copied_from_class(world: World) -> None:
    s = world.holder.series(world.series_id)
    assert (s.provider, s.class_id, s.start, s.end) == (
        world.provider.sender.address,
        H100.class_id,
        world.start,
        world.start + WINDOW,
    )
    assert (s.collateral_rate, s.ack_timeout, s.penalty_bps) == (
        RATE,
        H100.ack_timeout_s,
        H100.penalty_bps,
    )
    assert s.backing is Backing.STAKE and s.minted == MINTED and s.outstanding == MINTED
    assert s.collateral == collateral_of(MINTED)
    assert world.holder.credits.functions.collateralPerCredit(world.series_id).call() == per_credit()


def test_class_change_does_not_alter_existing_series(world: World) -> None:
    g = world.gov.classes.functions
    world.gov.sender.transact(g.setClass(H100.class_id, H100.name, RATE * 2, 60, 0, True))
    assert world.holder.series(world.series_id).collateral_rate == RATE


def test_uri_is_base_plus_decimal_id_and_metadata_describes_series(world: World) -> None:
    f = world.holder.credits.functions
    assert f.uri(world.series_id).call() == f"http://127.0.0.1:8000/credits/{world.series_id}"
    world.gov.sender.transact(world.gov.credits.functions.setBaseURI("ipfs://meta/"))
    assert f.uri(12).call() == "ipfs://meta/12"
    meta = world.holder.metadata(world.series_id)
    assert meta["properties"]["gpu_class"] == H100.name
    assert meta["properties"]["provider"] == world.provider.sender.address
    assert meta["properties"]["window_end"] == world.start + WINDOW
    reverts(
        lambda: world.other.sender.transact(world.other.credits.functions.setBaseURI("x")),
        "AccessControlUnauthorizedAccount",
        f.baseURI().call,
    )


def test_create_series_refusals(world: World) -> None:
    now, count = world.now(), world.holder.credits.functions.seriesCount().call
    reverts(
        lambda: world.other.create_series(1, now, now + DAY),
        "ComputeCreditsProviderNotRegistered",
        count,
    )
    reverts(
        lambda: world.provider.create_series(99, now, now + DAY), "GpuClassesUnknownClass", count
    )
    reverts(
        lambda: world.provider.create_series(1, now + DAY, now + DAY),
        "ComputeCreditsInvalidWindow",
        count,
    )
    reverts(
        lambda: world.provider.create_series(1, 0, now - 1), "ComputeCreditsInvalidWindow", count
    )
    g = world.gov.classes.functions
    world.gov.sender.transact(g.setClass(3, "nvidia-l4-24gb", 1, 60, 0, False))
    reverts(
        lambda: world.provider.create_series(3, now, now + DAY),
        "ComputeCreditsClassInactive",
        count,
    )


def test_forward_series_can_be_minted_before_its_window(world: World) -> None:
    start = world.now() + 10 * DAY
    sid = world.provider.create_series(1, start, start + DAY).value
    world.provider.mint(sid, 100, world.holder.sender.address)
    assert _bal(world, world.holder, sid) == 100


def test_mint_within_free_stake_only(world: World) -> None:
    free = world.provider.provider().free
    most = free // per_credit()
    observe = (
        lambda: world.provider.provider(),
        lambda: world.holder.series(world.series_id),
        lambda: _bal(world, world.holder),
    )
    reason = reverts(
        lambda: world.provider.mint(world.series_id, most + 1),
        "ProviderRegistryInsufficientFreeStake",
        *observe,
    )
    assert f"requested={collateral_of(most + 1)}" in reason
    world.provider.mint(world.series_id, most)
    assert world.provider.provider().free == free - collateral_of(most)


def test_mint_refusals(world: World) -> None:
    sid = world.series_id
    observe = (lambda: world.holder.series(sid), lambda: world.provider.provider())
    reverts(lambda: world.provider.mint(sid, 0), "ComputeCreditsZeroAmount", *observe)
    reverts(lambda: world.provider2.mint(sid, 1), "ComputeCreditsNotProvider", *observe)
    reverts(lambda: world.provider.mint(999, 1), "ComputeCreditsUnknownSeries", *observe)
    reverts(lambda: world.provider.mint(sid, 2**64), "ComputeCreditsAmountOverflow", *observe)
    reverts(lambda: world.provider.mint(sid, 2**256 - 1), "ComputeCreditsAmountOverflow", *observe)
    reverts(lambda: world.provider.mint(sid, 1, ZERO), "ERC1155InvalidReceiver", *observe)


def test_mint_to_contracts_checks_receiver(world: World, receivers: dict[str, str]) -> None:
    sid = world.series_id
    world.provider.mint(sid, 5, receivers["accept"])
    assert _bal(world, receivers["accept"]) == 5
    observe = (lambda: world.holder.series(sid), lambda: world.provider.provider())
    for name, error in (
        ("none", "ERC1155InvalidReceiver"),
        ("wrong", "ERC1155InvalidReceiver"),
        ("revert", "ERC1155ReceiverMockRejected"),
    ):
        reverts(lambda name=name: world.provider.mint(sid, 5, receivers[name]), error, *observe)


def test_transfer_moves_credits_without_touching_collateral(world: World) -> None:
    before_provider, before_series = world.provider.provider(), world.holder.series(world.series_id)
    result = world.holder.transfer(world.series_id, world.other.sender.address, 600)
    assert (_bal(world, world.holder), _bal(world, world.other)) == (MINTED - 600, 600)
    assert world.provider.provider() == before_provider
    assert world.holder.series(world.series_id) == before_series
    assert events(world.holder.credits, "TransferSingle", result)[0]["value"] == 600


def test_transfer_refusals(world: World, receivers: dict[str, str]) -> None:
    sid, h = world.series_id, world.holder
    observe = (lambda: _bal(world, h), lambda: _bal(world, world.other))
    reverts(
        lambda: h.transfer(sid, world.other.sender.address, MINTED + 1),
        "ERC1155InsufficientBalance",
        *observe,
    )
    reverts(lambda: h.transfer(sid, ZERO, 1), "ERC1155InvalidReceiver", *observe)
    for name, error in (
        ("none", "ERC1155InvalidReceiver"),
        ("wrong", "ERC1155InvalidReceiver"),
        ("revert", "ERC1155ReceiverMockRejected"),
    ):
        reverts(lambda name=name: h.transfer(sid, receivers[name], 1), error, *observe)
    # Someone else's credits without approval.
    f = world.other.credits.functions
    reverts(
        lambda: world.other.sender.transact(
            f.safeTransferFrom(h.sender.address, world.other.sender.address, sid, 1, b"")
        ),
        "ERC1155MissingApprovalForAll",
        *observe,
    )
    # Jobs takes credits only through open(): a direct transfer is refused (no receiver hooks).
    reverts(
        lambda: h.transfer(sid, world.deployment.address("Jobs"), 1),
        "ERC1155InvalidReceiver",
        *observe,
    )


def test_batch_transfer_and_operator_approval(world: World, receivers: dict[str, str]) -> None:
    sid2 = world.provider.create_series(1, world.now(), world.now() + DAY).value
    world.provider.mint(sid2, 50, world.holder.sender.address)
    h = world.holder
    h.sender.transact(h.credits.functions.setApprovalForAll(world.other.sender.address, True))
    world.other.sender.transact(
        world.other.credits.functions.safeBatchTransferFrom(
            h.sender.address, receivers["accept"], [world.series_id, sid2], [10, 20], b""
        )
    )
    assert (_bal(world, receivers["accept"]), _bal(world, receivers["accept"], sid2)) == (10, 20)
    reverts(
        lambda: world.other.sender.transact(
            world.other.credits.functions.safeBatchTransferFrom(
                h.sender.address, receivers["revert"], [world.series_id], [1], b""
            )
        ),
        "ERC1155ReceiverMockRejected",
        lambda: _bal(world, h),
    )


def test_expired_credits_cannot_be_minted_or_redeemed(world: World) -> None:
    world.travel_to(world.start + WINDOW)
    observe = (lambda: world.holder.series(world.series_id), lambda: _bal(world, world.holder))
    reverts(
        lambda: world.provider.mint(world.series_id, 1), "ComputeCreditsSeriesExpired", *observe
    )
    reverts(
        lambda: world.holder.open_job(world.series_id, 1, "bafkreispec"),
        "ComputeCreditsSeriesExpired",
        *observe,
    )


def test_holder_burns_its_expired_credits_releasing_collateral(world: World) -> None:
    reverts(
        lambda: world.holder.burn_expired(world.holder.sender.address, world.series_id, 1),
        "ComputeCreditsSeriesNotExpired",
        lambda: _bal(world, world.holder),
    )
    world.travel_to(world.start + WINDOW)
    locked = world.provider.provider().locked
    result = world.holder.burn_expired(world.holder.sender.address, world.series_id, 1_000)
    s = world.holder.series(world.series_id)
    assert (_bal(world, world.holder), s.burned, s.outstanding) == (
        MINTED - 1_000,
        1_000,
        MINTED - 1_000,
    )
    # After the window only credits locked in jobs keep collateral (none here): the rest is released.
    assert s.collateral == 0
    assert world.provider.provider().locked == locked - collateral_of(MINTED)
    assert events(world.holder.credits, "CollateralReleased", result)[0]["amount"] == collateral_of(MINTED)
    reverts(
        lambda: world.holder.burn_expired(world.holder.sender.address, world.series_id, 0),
        "ComputeCreditsZeroAmount",
    )
    reverts(
        lambda: world.holder.burn_expired(world.holder.sender.address, world.series_id, MINTED),
        "ERC1155InsufficientBalance",
        lambda: _bal(world, world.holder),
    )


def test_release_collateral_refused_when_nothing_to_release(world: World) -> None:
    reverts(
        lambda: world.other.release_collateral(world.series_id),
        "ComputeCreditsNothingToRelease",
        lambda: world.holder.series(world.series_id),
    )
    reverts(lambda: world.other.release_collateral(77), "ComputeCreditsUnknownSeries")


def test_data_backed_series_minted_by_issuer_within_free_stake(world: World) -> None:
    gov, f = world.gov, world.gov.credits.functions
    now, coop = world.now(), world.other.sender.address
    args = (world.provider2.sender.address, 1, now, now + DAY, 42, coop)
    reverts(
        lambda: gov.sender.transact(f.createDataBackedSeries(*args, 100)),
        "AccessControlUnauthorizedAccount",
        f.seriesCount().call,
    )
    gov.sender.transact(f.grantRole(role("SERIES_ISSUER_ROLE"), gov.sender.address))
    result = gov.sender.transact(f.createDataBackedSeries(*args, 100))
    sid = events(gov.credits, "SeriesCreated", result)[0]["seriesId"]
    s = gov.series(sid)
    assert (s.backing, s.deal_id, s.minted, s.provider) == (
        Backing.DEAL,
        42,
        100,
        world.provider2.sender.address,
    )
    assert _bal(world, coop, sid) == 100 and world.provider2.provider().locked == collateral_of(100)
    # Data-backed credits are minted only by the issuer, at creation.
    reverts(
        lambda: world.provider2.mint(sid, 1),
        "ComputeCreditsNotStakeBacked",
        lambda: gov.series(sid),
    )
    free = world.provider2.provider().free
    reverts(
        lambda: gov.sender.transact(f.createDataBackedSeries(*args, free // per_credit() + 1)),
        "ProviderRegistryInsufficientFreeStake",
        f.seriesCount().call,
    )
    reverts(
        lambda: gov.sender.transact(f.createDataBackedSeries(*args, 0)),
        "ComputeCreditsZeroAmount",
        f.seriesCount().call,
    )
    # The issuer can freeze a series: no new jobs.
    gov.sender.transact(f.setFrozen(sid, True))
    other = client(world.other.sender, world.deployment)
    reverts(
        lambda: other.open_job(sid, 1, "bafkreispec"),
        "ComputeCreditsSeriesFrozen",
        lambda: _bal(world, coop, sid),
    )


def test_jobs_custody_entry_points_need_jobs_role(world: World) -> None:
    f, h = world.other.credits.functions, world.holder.sender.address
    for call in (
        f.lockForJob(h, world.series_id, 1),
        f.returnFromJob(h, world.series_id, 1),
        f.burnDelivered(world.series_id, 1),
    ):
        reverts(
            lambda call=call: world.other.sender.transact(call),
            "AccessControlUnauthorizedAccount",
            lambda: _bal(world, world.holder),
        )


def test_second_provider_onboarding_is_independent(world: World, accounts) -> None:
    newcomer = client(accounts[6], world.deployment)
    onboard(world.gov, newcomer, 50 * 10**18)
    sid = newcomer.create_series(2, world.now(), world.now() + DAY).value
    newcomer.mint(sid, 10)
    assert newcomer.provider().locked == collateral_of(10, DEFAULT_GPU_CLASSES[1])
    assert world.provider.provider().locked == collateral_of(MINTED)


def test_nobody_burns_someone_elses_expired_credits_h2(world: World) -> None:
    """H-2: burning needs the holder or its approved operator; the Jobs custody is never burned from,
    so an open job's claim and late usage still work after the window."""
    job_id = world.acked_job(3_600)
    world.meter.apply_usage(job_id, 600)
    world.travel_to(world.start + WINDOW)
    jobs = world.deployment.address("Jobs")
    def custody():
        return _bal(world, jobs), _bal(world, world.holder), world.holder.series(world.series_id)

    for victim in (jobs, world.holder.sender.address):
        reverts(lambda v=victim: world.other.burn_expired(v, world.series_id, 1),
                "ERC1155MissingApprovalForAll", custody)
    # The provider cannot burn either; it gets its collateral back without burning anything.
    reverts(lambda: world.provider.burn_expired(jobs, world.series_id, 3_000),
            "ERC1155MissingApprovalForAll", custody)
    world.provider.release_collateral(world.series_id)
    assert world.holder.series(world.series_id).collateral == collateral_of(3_000)  # the open job's credits
    # The job settles as before: late usage within the grace lands, then the holder is paid the rest.
    world.meter.apply_usage(job_id, 400)
    world.travel(GRACE_OF_DEPLOY)
    cpt = world.holder.cpt_balance()
    world.holder.claim(job_id)
    assert world.holder.cpt_balance() == cpt + collateral_of(2_600)
    # What is left backs the 400 delivered after the release: free now.
    assert world.holder.series(world.series_id).collateral == collateral_of(400)
    world.provider.release_collateral(world.series_id)
    assert world.holder.series(world.series_id).collateral == 0
    # An approved operator may burn for the holder.
    approve = world.holder.credits.functions.setApprovalForAll(world.other.sender.address, True)
    world.holder.sender.transact(approve)
    world.other.burn_expired(world.holder.sender.address, world.series_id, 10)
    assert _bal(world, world.holder) == MINTED - 3_600 - 10


def test_one_custody_contract_holds_jobs_role(world: World) -> None:
    f = world.gov.credits.functions
    assert f.custody().call() == world.deployment.address("Jobs")
    grant = f.grantRole(role("JOBS_ROLE"), world.other.sender.address)
    reverts(lambda: world.gov.sender.transact(grant), "ComputeCreditsCustodySet",
            lambda: f.hasRole(role("JOBS_ROLE"), world.other.sender.address).call())


def test_collateral_per_credit_covers_rate_and_penalty(world: World) -> None:
    assert per_credit() == RATE + RATE * H100.penalty_bps // 10_000
    f = world.gov.credits.functions
    assert f.collateralPerCredit(world.series_id).call() == per_credit()
