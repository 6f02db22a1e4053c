"""The security review's attacks on barter deals (issue 13), each performed as the finding describes,
now refused, with the honest party's balances checked before and after.

- H-1: a provider that unstakes all free stake right after ``accept`` cannot void the members'
  credits: they still open jobs, and a default pays them the credits' collateral.
- H-3: nobody settles a deal out of a step: not the cooperative before late usage lands (a), not the
  provider by landing usage and settling in one block (b); an owed key gets its full key timeout.
- M-3: after the cooperative's fault the provider ends open jobs at once and owes no penalty.
- M-5: a release point no provider could open (off the curve, or infinity) is refused.
- L-1: a lost dispute does not shield the cooperative's later wrong keys.
- A key timeout below the minimum is refused.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from chain_checks import reverts
from compute_world import SPEC
from escrow_world import BOND, GPU_SECONDS, EscrowWorld, K
from web3.contract.contract import ContractFunction

from gpubarter.chain.revert import decode_revert, error_name
from gpubarter.deploy_plan import WAD
from gpubarter.protocol import sealing
from gpubarter.protocol.barter import BarterClient
from gpubarter.protocol.types import JobStatus

ACCEPTED, FAULTED, SETTLED = 3, 4, 5
STEP = GPU_SECONDS // K
HOUR = 3_600
DISPUTE_BOND = 10 * WAD


def status(ew: EscrowWorld, deal_id: int) -> int:
    return ew.gov.deal_info(deal_id).status


def stake(ew: EscrowWorld) -> int:
    return ew.gov.provider(ew.provider.sender.address).stake


def same_block(ew: EscrowWorld, at: int, *txs: tuple[BarterClient, ContractFunction]) -> list[str | None]:
    """Mines ``txs`` in order in one block at time ``at``; returns, per transaction, None or the error it
    reverted with."""
    w3 = ew.w3
    hashes = []
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        nonces: dict[str, int] = {}
        for who, call in txs:
            address = who.sender.address
            nonce = nonces.get(address, w3.eth.get_transaction_count(address, "pending"))
            nonces[address] = nonce + 1
            tx = call.build_transaction({"from": address, "nonce": nonce, "gas": 1_000_000,
                                         "maxFeePerGas": 100 * 10**9, "maxPriorityFeePerGas": 10**9})
            hashes.append(w3.eth.send_raw_transaction(who.sender.account.sign_transaction(tx).raw_transaction))
        w3.provider.make_request("evm_setNextBlockTimestamp", [at])
        w3.provider.make_request("evm_mine", [])
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
        for who, _ in txs:
            who.sender.reset_nonce()
    receipts = [w3.eth.get_transaction_receipt(h) for h in hashes]
    assert len({r["blockNumber"] for r in receipts}) == 1, "the transactions landed in different blocks"
    return [None if r["status"] == 1 else _revert_error(w3, h) for r, h in zip(receipts, hashes, strict=True)]


def _revert_error(w3: Any, tx_hash: bytes) -> str:
    trace = w3.provider.make_request("debug_traceTransaction",
                                     ["0x" + bytes(tx_hash).hex(), {"tracer": "callTracer"}])
    return error_name(decode_revert(trace["result"].get("output")))


def claim_all(ew: EscrowWorld) -> None:
    for member in ew.members:
        member.claim_all(ew.coop)


def running_job(ew: EscrowWorld, series_id: int, member: int, seconds: int) -> int:
    job = ew.members[member].open_job(series_id, seconds, SPEC).value
    ew.provider.acknowledge(job)
    return job


# ------------------------------------------------------------------------- H-1


def test_h1_provider_unstaking_its_free_stake_after_accept_leaves_every_credit_redeemable(
    ew: EscrowWorld,
) -> None:
    deal_id, series_id = ew.accepted()
    provider = ew.provider.sender.address
    per_credit = ew.gov.credits.functions.collateralPerCredit(series_id).call()
    rate = ew.gov.series(series_id).collateral_rate
    assert per_credit > rate  # the penalty is secured at mint, not taken from free stake at open
    before = ew.gov.provider(provider)
    assert before.locked >= GPU_SECONDS * per_credit

    # The attack: right after accept, unstake everything free, and even withdraw it.
    ew.provider.request_unstake(before.free)
    assert ew.gov.registry.functions.freeStakeOf(provider).call() == 0
    ew.travel(ew.gov.registry.functions.unbondingPeriod().call() + 1)
    ew.provider.withdraw()

    # The members still open jobs for every credit (open needs nothing of the provider's stake) ...
    claim_all(ew)
    jobs = []
    for member in ew.members:
        held = member.credit_balance(series_id)
        jobs.append((member, member.open_job(series_id, held, SPEC).value, held))
    assert sum(held for *_, held in jobs) == GPU_SECONDS
    # ... and when the provider never serves them, each default pays the credits' whole collateral.
    stake_before = stake(ew)
    paid_before = {m.sender.address: ew.cpt(m.sender.address) for m in ew.members}
    ew.travel(ew.gov.series(series_id).ack_timeout + 1)
    for member, job, held in jobs:
        member.claim(job)
        assert ew.gov.job(job).status == JobStatus.REFUNDED
        assert ew.cpt(member.sender.address) == paid_before[member.sender.address] + held * per_credit
        assert member.credit_balance(series_id) == 0
    assert stake(ew) == stake_before - GPU_SECONDS * per_credit
    assert status(ew, deal_id) == ACCEPTED


# ------------------------------------------------------------------------- H-3


@pytest.mark.parametrize("cooperative_releases", [True, False], ids=["key-released", "key-withheld"])
def test_h3a_cooperative_cannot_settle_before_usage_measured_in_the_window_lands(
    ew: EscrowWorld, cooperative_releases: bool
) -> None:
    # The jobs' settlement grace is longer than the key timeout: usage lands until end + 2 h.
    ew.gov.sender.transact(ew.gov.jobs.functions.setSettlementGrace(2 * HOUR))
    end = ew.now() + 2 * 86_400
    deal_id, series_id = ew.accepted(key_timeout_s=HOUR, end=end)
    claim_all(ew)
    job = running_job(ew, series_id, 2, STEP)  # its GPU time is used inside the window

    # The attack: settle right after end + keyTimeout, while the job's usage report is still on its way.
    ew.travel_to(end + HOUR + 1)
    at = ew.settles_at(deal_id)
    assert at == end + 2 * HOUR
    watch = (lambda: status(ew, deal_id), lambda: ew.cpt(ew.coop), lambda: ew.cpt(ew.escrow.address))
    reason = reverts(lambda: ew.admin.settle(deal_id), "EscrowNotSettleable", *watch)
    assert f"settlesAt={at}" in reason

    # The usage lands (before the job's cutoff): step 1 is due. Settling waits for its key.
    ew.meter.apply_usage(job, STEP)
    assert ew.escrow.functions.dueSteps(deal_id).call() == 1
    ew.travel_to(at)
    reason = reverts(lambda: ew.admin.settle(deal_id), "EscrowKeysOutstanding", *watch)
    assert "released=0, due=1" in reason
    ew.provider.mark_due(deal_id)

    coop_before, provider_before = ew.cpt(ew.coop), ew.cpt(ew.provider.sender.address)
    if cooperative_releases:
        sealed = ew.release(deal_id, 1)
        key = sealing.open_sealed(ew.pairs[deal_id].secret, sealed, 1)
        assert sealing.commitment(key) == ew.gov.datasets.functions.commitment(ew.dataset_id, 0).call()
        # The provider keeps one key timeout to dispute the key just released.
        reverts(lambda: ew.admin.settle(deal_id), "EscrowNotSettleable", *watch)
        ew.travel_to(ew.settles_at(deal_id))
        ew.admin.settle(deal_id)
        assert status(ew, deal_id) == SETTLED and ew.cpt(ew.coop) == coop_before + BOND
        assert ew.cpt(ew.provider.sender.address) == provider_before
    else:
        ew.travel(HOUR + 1)
        reverts(lambda: ew.admin.settle(deal_id), "EscrowKeysOutstanding", *watch)
        ew.provider.claim_key_timeout(deal_id)
        assert status(ew, deal_id) == FAULTED and ew.cpt(ew.provider.sender.address) == provider_before + BOND
        assert ew.cpt(ew.coop) == coop_before
    assert ew.cpt(ew.escrow.address) == 0


def test_h3b_provider_cannot_land_usage_and_settle_in_one_block(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted(key_timeout_s=HOUR)
    claim_all(ew)
    first, second = running_job(ew, series_id, 2, STEP), running_job(ew, series_id, 1, STEP)
    jobs, escrow = ew.meter.jobs.functions, ew.escrow.functions
    grace = ew.gov.jobs.functions.settlementGrace().call()
    end = ew.gov.deal_info(deal_id).end
    at = ew.settles_at(deal_id)
    assert at == end + grace  # the first second no usage lands (the jobs' cutoff)

    # A challenged entry (measured in time) is held before the cutoff, to be ruled on later.
    ew.meter.sender.transact(jobs.hold(second))
    # The last second usage lands: the provider's usage and its settle in one block.
    outcome = same_block(ew, at - 1, (ew.meter, jobs.applyUsage(first, STEP)),
                         (ew.provider, escrow.settle(deal_id)))
    assert outcome == [None, "EscrowNotSettleable"]
    ew.release(deal_id, 1)  # the cooperative releases the key that fell due
    # No hold once the job's cutoff has passed: nothing could apply any more.
    ew.travel_to(at)
    reverts(lambda: ew.meter.sender.transact(jobs.hold(second)), "JobsUsageTooLate",
            lambda: ew.gov.jobs.functions.seriesHoldsOf(series_id).call())

    coop_before, provider_before = ew.cpt(ew.coop), ew.cpt(ew.provider.sender.address)
    # From the release on, the provider has one key timeout to dispute key 1: settling waits for it too.
    outcome = same_block(ew, ew.settles_at(deal_id) + 1, (ew.provider, escrow.settle(deal_id)),
                         (ew.meter, jobs.releaseHold(second, STEP)), (ew.provider, escrow.settle(deal_id)))
    assert outcome == ["EscrowUsageHeld", None, "EscrowKeysOutstanding"]
    assert status(ew, deal_id) == ACCEPTED and ew.cpt(ew.escrow.address) == BOND

    # The step that fell due gets the cooperative the full key timeout from markDue: it releases in time and
    # keeps its bond.
    ew.provider.mark_due(deal_id)
    due_since = ew.gov.deal_info(deal_id).due_since
    ew.travel_to(due_since + HOUR - 5)
    reverts(lambda: ew.provider.claim_key_timeout(deal_id), "EscrowKeyTimeoutNotReached",
            lambda: status(ew, deal_id), lambda: ew.cpt(ew.escrow.address))
    ew.release(deal_id, 2)
    ew.travel_to(ew.settles_at(deal_id))
    ew.provider.settle(deal_id)
    assert status(ew, deal_id) == SETTLED
    assert ew.cpt(ew.coop) == coop_before + BOND and ew.cpt(ew.provider.sender.address) == provider_before


def test_h3_a_wrong_key_released_in_the_settling_block_can_still_be_disputed(ew: EscrowWorld) -> None:
    """Found while writing these tests: a release moves settlesAt one key timeout later, so the
    cooperative cannot release a wrong key and settle before the provider can dispute it."""
    deal_id, series_id = ew.accepted()
    ew.deliver(series_id, STEP)  # step 1 is due; its key is not released yet
    wrong = ew.seal(deal_id, 1, key=b"\x07" * 32)
    coop = ew.admin.cooperative(ew.coop).functions
    before = ew.cpt(ew.provider.sender.address)

    # The attack: once the deal can settle, release a wrong key and settle in the same block.
    at = ew.settles_at(deal_id)
    errors = same_block(ew, at, (ew.admin, coop.release(deal_id, 1, *wrong.r_point, wrong.c)),
                        (ew.admin, ew.escrow.functions.settle(deal_id)))
    assert errors[0] is None and errors[1] is not None and errors[1].startswith("EscrowNotSettleable"), errors
    info = ew.gov.deal_info(deal_id)
    assert info.released == 1 and ew.settles_at(deal_id) == at + info.key_timeout_s
    # The provider must still be able to dispute the key and win the bond.
    ew.provider.dispute(deal_id, 1, ew.pairs[deal_id], wrong)
    assert status(ew, deal_id) == FAULTED and ew.cpt(ew.provider.sender.address) == before + BOND


# ------------------------------------------------------------------------- M-3


def test_m3_after_the_cooperatives_fault_the_provider_ends_open_jobs_without_penalty(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted()
    claim_all(ew)
    running = running_job(ew, series_id, 2, STEP)
    ew.meter.apply_usage(running, STEP)  # step 1 delivered and due ...
    late = ew.members[2].open_job(series_id, HOUR, SPEC).value  # ... a job still running ...
    ew.provider.acknowledge(late)
    ew.meter.apply_usage(late, 600)
    waiting = ew.members[1].open_job(series_id, HOUR, SPEC).value  # ... and one not acknowledged
    reverts(lambda: ew.provider.close(late), "JobsNotHolder", lambda: ew.gov.job(late).status)

    # The cooperative never releases key 1: the provider takes the bond and the series freezes.
    ew.provider.mark_due(deal_id)
    ew.travel(ew.gov.deal_info(deal_id).key_timeout_s + 1)
    ew.provider.claim_key_timeout(deal_id)
    assert status(ew, deal_id) == FAULTED and ew.gov.series(series_id).frozen

    # The provider ends the running job at once, unpenalised: the member gets its unused credits back.
    member, other = ew.members[2], ew.members[1]
    stake_before, member_cpt = stake(ew), ew.cpt(member.sender.address)
    member_credits = member.credit_balance(series_id)
    ew.provider.close(late)
    assert ew.gov.job(late).status == JobStatus.CLOSED
    assert member.credit_balance(series_id) == member_credits + HOUR - 600
    assert stake(ew) == stake_before and ew.cpt(member.sender.address) == member_cpt

    # A defaulted job of the frozen series pays nothing: its credits return.
    other_cpt, other_credits = ew.cpt(other.sender.address), other.credit_balance(series_id)
    ew.travel(ew.gov.series(series_id).ack_timeout + 1)
    other.claim(waiting)
    assert ew.gov.job(waiting).status == JobStatus.REFUNDED
    assert other.credit_balance(series_id) == other_credits + HOUR
    assert ew.cpt(other.sender.address) == other_cpt and stake(ew) == stake_before

    # Once the window is over, the provider's whole collateral of the series is free again.
    series = ew.gov.series(series_id)
    locked = ew.gov.provider(ew.provider.sender.address).locked
    ew.travel_to(series.end)
    ew.provider.release_collateral(series_id)
    assert ew.gov.series(series_id).collateral == 0
    assert ew.gov.provider(ew.provider.sender.address).locked == locked - series.collateral
    assert stake(ew) == stake_before


# ------------------------------------------------------------------------- M-5


def test_m5_a_release_point_no_provider_could_open_is_refused_and_the_clock_runs_on(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted()
    ew.deliver(series_id, STEP)
    ew.provider.mark_due(deal_id)
    escrow = ew.escrow.functions
    watch = (escrow.dealOf(deal_id).call, escrow.releaseHashOf(deal_id, 1).call,
             lambda: ew.cpt(ew.escrow.address))
    for point in ((1, 3), (0, 0)):
        release = partial(ew.admin.release, ew.coop, deal_id, 1, sealing.SealedKey(point, b"\x00" * 32))
        reason = reverts(release, "EscrowInvalidReleasePoint", *watch)
        assert f"rx={point[0]}, ry={point[1]}" in reason
    # The cooperative's tricks do not stop the key timeout: the provider takes the bond.
    before = ew.cpt(ew.provider.sender.address)
    ew.travel(ew.gov.deal_info(deal_id).key_timeout_s + 1)
    ew.provider.claim_key_timeout(deal_id)
    assert ew.cpt(ew.provider.sender.address) == before + BOND and status(ew, deal_id) == FAULTED


# ------------------------------------------------------------------------- L-1


def test_l1_a_lost_dispute_does_not_shield_a_later_wrong_key(ew: EscrowWorld) -> None:
    deal_id, series_id = ew.accepted()
    pair = ew.pairs[deal_id]
    ew.deliver(series_id, STEP)
    right = ew.release(deal_id, 1)
    coop_before, provider_before = ew.cpt(ew.coop), ew.cpt(ew.provider.sender.address)
    ew.provider.dispute(deal_id, 1, pair, right)  # lost: the key was right
    assert status(ew, deal_id) == ACCEPTED and ew.gov.deal_info(deal_id).disputed
    assert ew.cpt(ew.coop) == coop_before + DISPUTE_BOND

    # The attack: with the secret public and a dispute lost, the cooperative releases a wrong key.
    ew.deliver(series_id, STEP)
    wrong = ew.release(deal_id, 2, key=b"\x07" * 32)
    ew.provider.dispute(deal_id, 2, pair, wrong)
    assert status(ew, deal_id) == FAULTED and ew.gov.series(series_id).frozen
    assert ew.cpt(ew.provider.sender.address) == provider_before - DISPUTE_BOND + BOND
    assert ew.cpt(ew.coop) == coop_before + DISPUTE_BOND
    assert ew.cpt(ew.escrow.address) == 0


# ------------------------------------------------------------------ key timeout


def test_a_key_timeout_below_the_minimum_is_refused(ew: EscrowWorld) -> None:
    assert ew.escrow.functions.MIN_KEY_TIMEOUT().call() == HOUR
    watch = (ew.escrow.functions.dealCount().call, lambda: ew.cpt(ew.coop))
    for short in (0, 60, HOUR - 1):
        reason = reverts(partial(ew.offer, key_timeout_s=short), "EscrowKeyTimeoutTooShort", *watch)
        assert f"keyTimeout={short}, minimum={HOUR}" in reason
    deal_id = ew.offer(key_timeout_s=HOUR)
    assert ew.gov.deal_info(deal_id).key_timeout_s == HOUR
