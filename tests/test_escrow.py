"""BarterEscrow on anvil: offers, acceptance, step-by-step sealed key release, disputes,
timeouts and settlement; every refusal leaves state unchanged."""

from __future__ import annotations

import pytest
from chain_checks import reverts
from compute_world import SPEC
from escrow_world import BOND, GPU_SECONDS, KEY_TIMEOUT, EscrowWorld, K, new_dataset

from gpubarter.deploy_plan import WAD
from gpubarter.protocol import sealing

OFFERED, CANCELLED, ACCEPTED, FAULTED, SETTLED = 1, 2, 3, 4, 5
STEP = GPU_SECONDS // K
DISPUTE_BOND = 10 * WAD


def status(ew: EscrowWorld, deal_id: int) -> int:
    return ew.escrow.functions.dealOf(deal_id).call()[1]


def released(ew: EscrowWorld, deal_id: int) -> int:
    return ew.escrow.functions.dealOf(deal_id).call()[3]


def escrow_cpt(ew: EscrowWorld) -> int:
    return ew.cpt(ew.escrow.address)


# ----------------------------------------------------------------------- offers


def test_offer_locks_the_dataset_takes_the_bond_and_records_the_terms(ew: EscrowWorld) -> None:
    before = ew.cpt(ew.coop)
    assert not ew.gov.datasets.functions.isLockedForDeal(ew.dataset_id).call()
    deal_id = ew.offer()
    assert ew.gov.datasets.functions.isLockedForDeal(ew.dataset_id).call()
    deal = ew.escrow.functions.dealOf(deal_id).call()
    assert deal[0] == ew.coop and deal[1] == OFFERED and deal[2] == K and deal[9] == GPU_SECONDS
    assert ew.cpt(ew.coop) == before - BOND and escrow_cpt(ew) == BOND


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"steps": 0}, "EscrowZeroSteps"),
        ({"steps": K + 1}, "EscrowStepCountMismatch"),
        ({"bond_wei": 10 * WAD - 1}, "EscrowBondTooLow"),
        ({"key_timeout_s": 0}, "EscrowKeyTimeoutTooShort"),
        ({"key_timeout_s": 3_599}, "EscrowKeyTimeoutTooShort"),
        ({"gpu_seconds": K - 1}, "EscrowInvalidAmount"),
    ],
)
def test_offer_refuses_bad_terms(ew: EscrowWorld, overrides: dict[str, int], error: str) -> None:
    count = ew.escrow.functions.dealCount().call
    reverts(lambda: ew.offer(**overrides), error, count, lambda: escrow_cpt(ew))


def test_offer_refuses_a_window_already_ended(ew: EscrowWorld) -> None:
    now = ew.now()
    reason = reverts(lambda: ew.offer(start=now - 100, end=now - 1), "EscrowInvalidWindow",
                     ew.escrow.functions.dealCount().call)
    assert str(now - 1) in reason


def test_offer_refuses_a_dataset_the_cooperative_does_not_own(ew: EscrowWorld) -> None:
    keys = [b"\x02" * 32] * K
    other_ds = ew.other.sender.transact(ew.other.datasets.functions.register(
        "bafkreiother", K, [sealing.commitment(k) for k in keys], b"\x01" * 32, b"\x00" * 32))
    assert other_ds.receipt.status == 1
    other_id = ew.other.datasets.functions.datasetCount().call()
    count = ew.escrow.functions.dealCount().call
    reverts(lambda: ew.offer(dataset_id=other_id), "EscrowNotDatasetOwner", count)


def test_cancel_returns_the_bond_and_only_before_acceptance(ew: EscrowWorld) -> None:
    deal_id = ew.offer()
    before = ew.cpt(ew.coop)
    reverts(lambda: ew.other.sender.transact(ew.escrow.functions.cancel(deal_id)), "EscrowNotMaker",
            lambda: status(ew, deal_id))
    ew.admin.cancel_offer(ew.coop, deal_id)
    assert status(ew, deal_id) == CANCELLED and ew.cpt(ew.coop) == before + BOND
    reverts(lambda: ew.provider.accept(deal_id, sealing.keygen().public), "EscrowInvalidStatus",
            lambda: status(ew, deal_id))


# ---------------------------------------------------------------------- accept


def test_accept_mints_the_credits_to_the_cooperative(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted()
    series = ew.gov.series(series_id)
    assert series.provider == ew.provider.sender.address
    assert ew.gov.credits.functions.balanceOf(ew.coop, series_id).call() == GPU_SECONDS
    assert ew.gov.datasets.functions.isLockedForDeal(ew.dataset_id).call()
    deal = ew.escrow.functions.dealOf(deal_id).call()
    assert deal[1] == ACCEPTED and deal[5] == ew.provider.sender.address and deal[8] == series_id
    assert escrow_cpt(ew) == BOND
    dist = ew.coop_contract.functions.distributionOf(1).call()
    assert tuple(dist) == (series_id, GPU_SECONDS, 6)


def test_accept_twice_is_refused(ew: EscrowWorld) -> None:
    deal_id, _ = ew.accepted()
    reverts(lambda: ew.provider.accept(deal_id, sealing.keygen().public), "EscrowInvalidStatus",
            ew.gov.credits.functions.seriesCount().call, lambda: escrow_cpt(ew))


def test_accept_refuses_an_invalid_public_key(ew: EscrowWorld) -> None:
    second = ew.offer()
    reverts(lambda: ew.provider.accept(second, (1, 3)), "EscrowInvalidPublicKey", lambda: status(ew, second))
    reverts(lambda: ew.provider.accept(second, (0, 0)), "EscrowInvalidPublicKey", lambda: status(ew, second))


def test_accept_without_enough_free_stake_is_refused(ew: EscrowWorld) -> None:
    deal_id = ew.offer(gpu_seconds=10**12)
    reverts(lambda: ew.provider.accept(deal_id, sealing.keygen().public),
            "ProviderRegistryInsufficientFreeStake",
            lambda: status(ew, deal_id), ew.gov.credits.functions.seriesCount().call, lambda: escrow_cpt(ew))


def test_accept_after_the_window_ended_is_refused(ew: EscrowWorld) -> None:
    deal_id = ew.offer()
    ew.travel(31 * 86_400)
    reverts(lambda: ew.provider.accept(deal_id, sealing.keygen().public), "EscrowInvalidWindow",
            lambda: status(ew, deal_id))


# --------------------------------------------------------------------- release


def test_each_step_becomes_due_only_through_metered_delivery(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted()
    due = ew.escrow.functions.dueSteps
    assert due(deal_id).call() == 0
    ew.deliver(series_id, STEP - 1)
    assert due(deal_id).call() == 0
    reason = reverts(lambda: ew.release(deal_id, 1), "EscrowStepNotDue", lambda: released(ew, deal_id))
    assert f"needed={STEP}" in reason
    ew.deliver(series_id, 1)
    assert due(deal_id).call() == 1
    sealed = ew.release(deal_id, 1)
    assert released(ew, deal_id) == 1
    # The escrow keeps the release time in the low 40 bits of the record: the hash is the rest.
    record = ew.escrow.functions.releaseHashOf(deal_id, 1).call()
    assert record == sealing.release_hash(sealed)[:27] + bytes(5)
    assert ew.escrow.functions.releasedAtOf(deal_id, 1).call() == ew.now()
    assert sealing.open_sealed(ew.pairs[deal_id].secret, sealed, 1) == ew.keys[0]


def test_release_refuses_replays_out_of_order_and_strangers(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted()
    ew.deliver(series_id, 3 * STEP)
    ew.release(deal_id, 1)
    reverts(lambda: ew.release(deal_id, 1), "EscrowStepAlreadyReleased", lambda: released(ew, deal_id))
    reverts(lambda: ew.release(deal_id, 3), "EscrowStepOutOfOrder", lambda: released(ew, deal_id))
    sealed = ew.seal(deal_id, 2)
    direct = ew.escrow.functions.release(deal_id, 2, *sealed.r_point, sealed.c)
    reverts(lambda: ew.other.sender.transact(direct), "EscrowNotMaker", lambda: released(ew, deal_id))
    reverts(lambda: ew.other.release(ew.coop, deal_id, 2, sealed), "AccessControlUnauthorizedAccount",
            lambda: released(ew, deal_id))
    ew.release(deal_id, 2)
    ew.release(deal_id, 3)
    reverts(lambda: ew.release(deal_id, 4), "EscrowStepNotDue", lambda: released(ew, deal_id))


def test_all_k_keys_open_with_the_provider_secret(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted()
    for step in range(1, K + 1):
        ew.deliver(series_id, STEP)
        sealed = ew.release(deal_id, step)
        key = sealing.open_sealed(ew.pairs[deal_id].secret, sealed, step)
        assert sealing.commitment(key) == ew.gov.datasets.functions.commitment(ew.dataset_id, step - 1).call()
    assert released(ew, deal_id) == K


# --------------------------------------------------------------------- dispute


def test_wrong_key_dispute_wins_the_bond_and_ends_the_deal(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted()
    ew.deliver(series_id, STEP)
    sealed = ew.release(deal_id, 1, key=b"\x07" * 32)
    before = ew.cpt(ew.provider.sender.address)
    ew.provider.dispute(deal_id, 1, ew.pairs[deal_id], sealed)
    assert status(ew, deal_id) == FAULTED
    assert ew.cpt(ew.provider.sender.address) == before + BOND
    assert escrow_cpt(ew) == 0
    assert ew.gov.series(series_id).frozen


@pytest.mark.parametrize("point", [(1, 3), (0, 0)], ids=["off-curve", "infinity"])
def test_release_refuses_a_point_no_provider_could_open(ew: EscrowWorld, point: tuple[int, int]) -> None:
    deal_id, series_id = ew.accepted()
    ew.deliver(series_id, STEP)
    bad = sealing.SealedKey(point, b"\x00" * 32)
    watch = (ew.escrow.functions.dealOf(deal_id).call, ew.escrow.functions.releaseHashOf(deal_id, 1).call,
             lambda: escrow_cpt(ew))
    reason = reverts(lambda: ew.admin.release(ew.coop, deal_id, 1, bad), "EscrowInvalidReleasePoint", *watch)
    assert f"rx={point[0]}, ry={point[1]}" in reason
    ew.release(deal_id, 1)  # a sealed key on the curve goes through
    assert released(ew, deal_id) == 1


def test_correct_key_disputed_loses_the_dispute_bond_each_time(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted()
    ew.deliver(series_id, STEP)
    sealed = ew.release(deal_id, 1)
    coop_before, provider_before = ew.cpt(ew.coop), ew.cpt(ew.provider.sender.address)
    ew.provider.dispute(deal_id, 1, ew.pairs[deal_id], sealed)
    assert status(ew, deal_id) == ACCEPTED
    assert ew.cpt(ew.coop) == coop_before + DISPUTE_BOND and escrow_cpt(ew) == BOND
    assert ew.escrow.functions.dealOf(deal_id).call()[14]  # disputed
    # A lost dispute bars no later one (each key is judged on its own), and each false one costs the bond.
    ew.provider.dispute(deal_id, 1, ew.pairs[deal_id], sealed)
    assert status(ew, deal_id) == ACCEPTED and escrow_cpt(ew) == BOND
    assert ew.cpt(ew.coop) == coop_before + 2 * DISPUTE_BOND
    assert ew.cpt(ew.provider.sender.address) == provider_before - 2 * DISPUTE_BOND


def test_dispute_refuses_bad_evidence(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted()
    ew.deliver(series_id, STEP)
    sealed = ew.release(deal_id, 1, key=b"\x07" * 32)
    pair = ew.pairs[deal_id]
    watch = (lambda: status(ew, deal_id), lambda: escrow_cpt(ew))
    reverts(lambda: ew.provider.dispute(deal_id, 2, pair, sealed), "EscrowStepNotReleased", *watch)
    forged = sealing.SealedKey(sealed.r_point, b"\x08" * 32)
    reverts(lambda: ew.provider.dispute(deal_id, 1, pair, forged), "EscrowReleaseMismatch", *watch)
    wrong = sealing.KeyPair(pair.secret + 1, pair.public)
    reverts(lambda: ew.provider.dispute(deal_id, 1, wrong, sealed), "EscrowWrongSecret", *watch)
    other = sealing.keygen()
    reverts(lambda: ew.provider.dispute(deal_id, 1, other, sealed), "EscrowPublicKeyMismatch", *watch)
    reverts(lambda: ew.other.dispute(deal_id, 1, pair, sealed), "EscrowNotProvider", *watch)


# -------------------------------------------------------------------- timeouts


def test_key_never_released_lets_the_provider_take_the_bond_and_freezes_the_series(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted()
    deal = ew.escrow.functions.dealOf(deal_id).call
    reverts(lambda: ew.other.mark_due(deal_id), "EscrowStepNotDue", deal)
    ew.deliver(series_id, STEP)
    reverts(lambda: ew.other.claim_key_timeout(deal_id), "EscrowNotMarkedDue", lambda: status(ew, deal_id))
    ew.other.mark_due(deal_id)
    reverts(lambda: ew.other.mark_due(deal_id), "EscrowAlreadyMarkedDue", lambda: status(ew, deal_id))
    ew.travel(KEY_TIMEOUT - 10)
    reverts(lambda: ew.other.claim_key_timeout(deal_id), "EscrowKeyTimeoutNotReached", deal)
    ew.travel(20)
    before = ew.cpt(ew.provider.sender.address)
    ew.other.claim_key_timeout(deal_id)
    assert status(ew, deal_id) == FAULTED and ew.gov.series(series_id).frozen
    assert ew.cpt(ew.provider.sender.address) == before + BOND
    reverts(lambda: ew.release(deal_id, 1), "EscrowInvalidStatus", lambda: released(ew, deal_id))


def test_release_in_time_stops_the_clock(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted()
    ew.deliver(series_id, STEP)
    ew.other.mark_due(deal_id)
    ew.release(deal_id, 1)
    ew.travel(KEY_TIMEOUT + 10)
    reverts(lambda: ew.other.claim_key_timeout(deal_id), "EscrowNotMarkedDue", lambda: status(ew, deal_id))


def test_provider_never_delivers_follows_the_jobs_default_path(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted()
    member = ew.members[2]
    ew.deliver(series_id, STEP)  # claims the member's credits, one step delivered
    job = member.open_job(series_id, 3_600, SPEC).value
    per_credit = ew.gov.credits.functions.collateralPerCredit(series_id).call()
    stake_before = ew.gov.provider(ew.provider.sender.address).stake
    cpt_before = ew.cpt(member.sender.address)
    ew.travel(2 * 3_600)  # the provider never acknowledges
    member.claim(job)
    # The unserved credits are burned and their whole collateral (rate plus penalty) paid to the member.
    assert ew.gov.provider(ew.provider.sender.address).stake == stake_before - 3_600 * per_credit
    assert ew.cpt(member.sender.address) == cpt_before + 3_600 * per_credit
    # Keys for undelivered steps are never due; once usage is final the cooperative gets its bond back.
    ew.release(deal_id, 1)
    ew.travel_to(ew.settles_at(deal_id))
    coop_before, prov_before = ew.cpt(ew.coop), ew.cpt(ew.provider.sender.address)
    ew.other.settle(deal_id)
    assert status(ew, deal_id) == SETTLED
    assert ew.cpt(ew.coop) == coop_before + BOND
    assert ew.cpt(ew.provider.sender.address) == prov_before
    assert escrow_cpt(ew) == 0
    reverts(lambda: ew.other.settle(deal_id), "EscrowInvalidStatus", lambda: status(ew, deal_id))


def test_settle_waits_until_no_usage_can_land(ew: EscrowWorld) -> None:
    deal_id, _ = ew.accepted()
    end = ew.gov.deal_info(deal_id).end
    at = ew.settles_at(deal_id)
    assert at == end + ew.gov.jobs.functions.maxSettlementGrace().call() > end
    watch = (lambda: status(ew, deal_id), lambda: escrow_cpt(ew))
    reason = reverts(lambda: ew.other.settle(deal_id), "EscrowNotSettleable", *watch)
    assert f"settlesAt={at}" in reason
    ew.travel_to(at - 2)
    reverts(lambda: ew.other.settle(deal_id), "EscrowNotSettleable", *watch)
    ew.travel_to(at)
    ew.other.settle(deal_id)
    assert status(ew, deal_id) == SETTLED and escrow_cpt(ew) == 0


def test_settle_waits_for_challenged_usage_to_be_ruled_on(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted()
    member = ew.members[2]
    ew.deliver(series_id, STEP)
    ew.release(deal_id, 1)
    job = member.open_job(series_id, 3_600, SPEC).value
    ew.provider.acknowledge(job)
    jobs = ew.meter.jobs.functions
    ew.meter.sender.transact(jobs.hold(job))  # a challenged usage entry of the series
    ew.travel_to(ew.settles_at(deal_id))
    reason = reverts(lambda: ew.other.settle(deal_id), "EscrowUsageHeld",
                     lambda: status(ew, deal_id), lambda: escrow_cpt(ew))
    assert "held=1" in reason
    ew.meter.sender.transact(jobs.releaseHold(job, 0))  # voided: nothing billed
    ew.other.settle(deal_id)
    assert status(ew, deal_id) == SETTLED


def test_settle_waits_for_every_due_key_and_an_owed_key_runs_its_own_clock(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted()
    ew.deliver(series_id, STEP)
    ew.release(deal_id, 1)
    ew.deliver(series_id, STEP)  # step 2 is due; nobody marked it
    ew.travel_to(ew.settles_at(deal_id))
    watch = (lambda: status(ew, deal_id), lambda: escrow_cpt(ew), lambda: ew.cpt(ew.provider.sender.address))
    reason = reverts(lambda: ew.other.settle(deal_id), "EscrowKeysOutstanding", *watch)
    assert "released=1, due=2" in reason
    # The missing key is owed by its own clock: marked due, it gets the full key timeout, then the bond is
    # the provider's.
    ew.other.mark_due(deal_id)
    due_since = ew.gov.deal_info(deal_id).due_since
    ew.travel_to(due_since + KEY_TIMEOUT - 5)
    reverts(lambda: ew.other.claim_key_timeout(deal_id), "EscrowKeyTimeoutNotReached", *watch)
    reverts(lambda: ew.other.settle(deal_id), "EscrowKeysOutstanding", *watch)
    ew.travel_to(due_since + KEY_TIMEOUT + 1)
    before = ew.cpt(ew.provider.sender.address)
    ew.other.claim_key_timeout(deal_id)
    assert ew.cpt(ew.provider.sender.address) == before + BOND and status(ew, deal_id) == FAULTED
    reverts(lambda: ew.other.settle(deal_id), "EscrowInvalidStatus", lambda: status(ew, deal_id))


def test_unknown_deal_is_refused(ew: EscrowWorld) -> None:
    reverts(lambda: ew.other.mark_due(999), "EscrowUnknownDeal")


def test_a_second_dataset_with_other_k_needs_matching_k(ew: EscrowWorld) -> None:
    ds, _ = new_dataset(ew.admin, ew.coop, steps=2)
    reverts(lambda: ew.offer(dataset_id=ds), "EscrowStepCountMismatch", ew.escrow.functions.dealCount().call)
    assert ew.offer(dataset_id=ds, steps=2) > 0


def test_a_false_dispute_without_the_dispute_bond_approved_is_refused(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted()
    ew.deliver(series_id, STEP)
    sealed = ew.release(deal_id, 1)
    ew.provider.sender.transact(ew.gov.token.functions.approve(ew.escrow.address, 0))
    call = ew.escrow.functions.dispute(deal_id, 1, ew.pairs[deal_id].secret, *ew.pairs[deal_id].public,
                                       *sealed.r_point, sealed.c)
    reverts(lambda: ew.provider.sender.transact(call), "ERC20InsufficientAllowance",
            lambda: ew.escrow.functions.dealOf(deal_id).call(), lambda: ew.cpt(ew.coop))
