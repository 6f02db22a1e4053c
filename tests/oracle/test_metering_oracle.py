"""MeteringOracle: quorum signatures bound to chain and contract, cumulative counters, challenges."""

from __future__ import annotations

from typing import Any

import pytest
from chain_checks import reverts
from compute_world import World, events
from metering_world import entries_of, oracle_of, report, signatures, submit

from gpubarter.chain.revert import decode_revert, error_name
from gpubarter.chain.tx import Sender
from gpubarter.deploy_plan import WAD
from oracle.reports import domain

CHALLENGE_BOND = 10 * WAD
SIGNER_BOND = 100 * WAD
SLASH = 40 * WAD
PERIOD = 600


def _used(w: World, job_id: int) -> int:
    return w.holder.job(job_id).used_seconds


def _observe(w: World, job_id: int):
    oracle = oracle_of(w)
    return (lambda: _used(w, job_id), oracle.functions.batchCount().call,
            lambda: oracle.functions.cumulativeMs(job_id, report(w, job_id, 0).message()["gpuId"]).call())


@pytest.fixture
def signers(world: World, accounts: list[Sender]) -> list[Sender]:
    """A 2-of-3 signer set: accounts 6, 7, 8."""
    chosen = sorted(accounts[6:9], key=lambda s: int(s.address, 16))
    world.gov.sender.transact(oracle_of(world).functions.setSigners([s.address for s in chosen], 2))
    return chosen


def test_deployed_wired_to_jobs(world: World) -> None:
    oracle = oracle_of(world)
    assert world.gov.jobs.functions.hasRole(
        world.gov.jobs.functions.METERING_ROLE().call(), oracle.address).call()
    assert oracle.functions.signers().call() == [[world.gov.sender.address], 1, 1]
    _f, name, version, chain_id, verifying, _s, _e = oracle.functions.eip712Domain().call()
    assert (name, version, chain_id, verifying) == (
        "GPU Barter MeteringOracle", "1", world.w3.eth.chain_id, oracle.address)


def test_cumulative_ms_become_seconds_with_remainder_carried(world: World) -> None:
    job = world.acked_job(3_600)
    first = submit(world, [report(world, job, 2_500)], [world.gov.sender])
    assert _used(world, job) == 2 and entries_of(world, first) == [(job, 2)]
    submit(world, [report(world, job, 3_700)], [world.gov.sender])
    assert _used(world, job) == 3  # 3.7 s in all: the 0.5 s remainder carried
    submit(world, [report(world, job, 3_999)], [world.gov.sender])
    assert _used(world, job) == 3
    submit(world, [report(world, job, 4_000)], [world.gov.sender])
    assert _used(world, job) == 4
    oracle = oracle_of(world)
    gpu_id = report(world, job, 0).message()["gpuId"]
    assert oracle.functions.cumulativeMs(job, gpu_id).call() == 4_000


def test_repeated_and_reordered_reports_count_once(world: World) -> None:
    job = world.acked_job(3_600)
    late, early = report(world, job, 9_000), report(world, job, 5_000)
    submit(world, [late], [world.gov.sender])
    repeat = submit(world, [late], [world.gov.sender])
    old = submit(world, [early], [world.gov.sender])
    assert _used(world, job) == 9
    for result in (repeat, old):
        skipped = events(oracle_of(world), "ReportSkipped", result)
        assert [(e["jobId"], e["stored"]) for e in skipped] == [(job, 9_000)]
    # Within one batch the same counters count once, in order.
    job2 = world.acked_job(3_600)
    submit(world, [report(world, job2, 2_000), report(world, job2, 2_000), report(world, job2, 1_000),
                   report(world, job2, 3_000)], [world.gov.sender])
    assert _used(world, job2) == 3


def test_gpus_of_a_job_count_separately(world: World) -> None:
    job = world.acked_job(3_600)
    submit(world, [report(world, job, 2_000), report(world, job, 3_000, gpu="GPU-simulated-other")],
           [world.gov.sender])
    assert _used(world, job) == 5


def test_job_that_cannot_take_usage_is_skipped_not_the_batch(world: World) -> None:
    running, unacked = world.acked_job(3_600), world.open_job(3_600)
    result = submit(world, [report(world, unacked, 5_000), report(world, running, 7_000)], [world.gov.sender])
    assert _used(world, running) == 7 and _used(world, unacked) == 0
    skipped = events(oracle_of(world), "UsageSkipped", result)
    assert [(e["jobId"], e["index"]) for e in skipped] == [(unacked, 0)]
    assert error_name(decode_revert(skipped[0]["reason"])) == "JobsInvalidStatus"


def test_forgeries_are_refused(world: World, accounts: list[Sender]) -> None:
    job = world.acked_job(3_600)
    r = [report(world, job, 5_000)]
    oracle = oracle_of(world)
    chain_id = world.w3.eth.chain_id
    observe = _observe(world, job)
    # Another chain id, another contract: the signature recovers someone else.
    for dom in (domain(chain_id + 1, oracle.address),
                domain(chain_id, world.deployment.address("Jobs"))):
        reverts(lambda dom=dom: submit(world, r, [world.gov.sender], dom=dom),
                "MeteringOracleUnknownSigner", *observe)
    # A signer not in the set.
    reason = reverts(lambda: submit(world, r, [accounts[9]]), "MeteringOracleUnknownSigner", *observe)
    assert accounts[9].address.lower() in reason.lower()
    # No signature, a malformed signature.
    reverts(lambda: submit(world, r, [], raw=[]), "MeteringOracleBelowThreshold", *observe)
    reverts(lambda: submit(world, r, [], raw=[b"\x01" * 64]), "MeteringOracleBadSignature", *observe)
    # A future-dated report, an SM time above the allocated time, an empty batch.
    future = [report(world, job, 5_000, end=world.now() + 3_600)]
    drift_ok = [report(world, job, 1_000, end=world.now() + 60)]  # within the 5-minute clock drift
    assert world.gov.sender.call(oracle_of(world).functions.submit(
        [drift_ok[0].as_tuple()], signatures(drift_ok, [world.gov.sender], domain(
            world.w3.eth.chain_id, oracle_of(world).address)))) == 1
    reverts(lambda: submit(world, future, [world.gov.sender]), "MeteringOracleFutureReport", *observe)
    dom = domain(chain_id, oracle.address)
    bad = list(r[0].as_tuple())
    bad[4] = bad[3] + 1
    reverts(lambda: world.gov.sender.transact(oracle.functions.submit([bad], [b"\x00" * 65])),
            "MeteringOracleMalformedReport", *observe)
    reverts(lambda: world.gov.sender.transact(oracle.functions.submit([], [])),
            "MeteringOracleBatchSize", *observe)
    assert dom  # the honest batch still goes through
    submit(world, r, [world.gov.sender])
    assert _used(world, job) == 5


def test_quorum_of_distinct_sorted_signers(world: World, signers: list[Sender]) -> None:
    job = world.acked_job(3_600)
    r = [report(world, job, 5_000)]
    observe = _observe(world, job)
    dom = domain(world.w3.eth.chain_id, oracle_of(world).address)
    one = signatures(r, signers[:1], dom)
    reverts(lambda: submit(world, r, [], raw=one), "MeteringOracleBelowThreshold", *observe)
    reverts(lambda: submit(world, r, [], raw=one + one), "MeteringOracleUnsortedSigner", *observe)
    two = signatures(r, signers[:2], dom)
    reverts(lambda: submit(world, r, [], raw=two[::-1]), "MeteringOracleUnsortedSigner", *observe)
    reverts(lambda: submit(world, r, [world.gov.sender]), "MeteringOracleUnknownSigner", *observe)
    submit(world, r, signers[1:])
    assert _used(world, job) == 5


def test_signer_set_governance(world: World, accounts: list[Sender]) -> None:
    oracle = oracle_of(world)
    a, b = sorted((accounts[6].address, accounts[7].address), key=lambda x: int(x, 16))
    set_ = oracle.functions.signers().call
    reverts(lambda: world.gov.sender.transact(oracle.functions.setSigners([b, a], 1)),
            "MeteringOracleInvalidSigner", set_)
    reverts(lambda: world.gov.sender.transact(oracle.functions.setSigners([a, a], 1)),
            "MeteringOracleInvalidSigner", set_)
    reverts(lambda: world.gov.sender.transact(oracle.functions.setSigners([a, b], 3)),
            "MeteringOracleInvalidSignerSet", set_)
    reverts(lambda: world.gov.sender.transact(oracle.functions.setSigners([], 0)),
            "MeteringOracleInvalidSignerSet", set_)
    reverts(lambda: world.other.sender.transact(oracle.functions.setSigners([a], 1)),
            "AccessControlUnauthorizedAccount", set_)
    params = (oracle.functions.challengePeriod().call, oracle.functions.bonds().call)
    assert oracle.functions.bonds().call() == [WAD, 0, 0]  # a challenge is never free, from the start
    reverts(lambda: world.gov.sender.transact(oracle.functions.setChallengeParams(8 * 86_400, WAD, 0, 0)),
            "MeteringOracleInvalidChallengePeriod", *params)
    reverts(lambda: world.gov.sender.transact(oracle.functions.setChallengeParams(PERIOD, 0, 0, 0)),
            "MeteringOracleZero", *params)
    reverts(lambda: world.other.sender.transact(oracle.functions.setChallengeParams(PERIOD, WAD, 0, 0)),
            "AccessControlUnauthorizedAccount", *params)
    # A period beyond Jobs' settlement grace would land usage after jobs can settle.
    grace = world.gov.jobs.functions.settlementGrace().call()
    too_long = oracle.functions.setChallengeParams(grace + 1, WAD, 0, 0)
    reason = reverts(lambda: world.gov.sender.transact(too_long), "MeteringOracleGraceTooShort", *params)
    assert reason == f"MeteringOracleGraceTooShort(challengePeriod={grace + 1}, grace={grace})"
    world.gov.sender.transact(oracle.functions.setChallengeParams(grace, WAD, 0, 0))
    assert oracle.functions.challengePeriod().call() == grace


def _optimistic(w: World) -> None:
    """Challenge period 600 s, bonds in CPT; the deployer (the signer) posts its bond."""
    oracle = oracle_of(w)
    w.gov.sender.transact(oracle.functions.setChallengeParams(PERIOD, CHALLENGE_BOND, SIGNER_BOND, SLASH))
    w.gov.sender.transact(w.gov.token.functions.approve(oracle.address, SIGNER_BOND))
    w.gov.sender.transact(oracle.functions.depositBond(SIGNER_BOND))
    w.gov.sender.transact(w.gov.token.functions.transfer(w.holder.sender.address, CHALLENGE_BOND))
    w.holder.sender.transact(w.holder.token.functions.approve(oracle.address, CHALLENGE_BOND))


def _pending_batch(w: World) -> tuple[Any, int, list[tuple[int, int]], int]:
    """:func:`_optimistic`, then a batch of one entry (5 GPU-seconds of a new acknowledged job) within its
    challenge period: (the oracle, the job, the batch's entries, the batch id)."""
    _optimistic(w)
    oracle = oracle_of(w)
    job = w.acked_job(3_600)
    entries = entries_of(w, submit(w, [report(w, job, 5_000)], [w.gov.sender]))
    return oracle, job, entries, oracle.functions.batchCount().call()


def test_unbonded_signer_refused(world: World) -> None:
    oracle = oracle_of(world)
    world.gov.sender.transact(oracle.functions.setChallengeParams(PERIOD, CHALLENGE_BOND, SIGNER_BOND, SLASH))
    job = world.acked_job(3_600)
    reverts(lambda: submit(world, [report(world, job, 5_000)], [world.gov.sender]),
            "MeteringOracleSignerUnbonded", *_observe(world, job))


def test_pending_until_challenge_period_passes(world: World) -> None:
    oracle, job, entries, batch = _pending_batch(world)
    assert _used(world, job) == 0
    reverts(lambda: world.other.sender.transact(oracle.functions.finalize(batch, entries)),
            "MeteringOracleNotFinalizable", lambda: _used(world, job))
    world.travel(PERIOD)
    reverts(lambda: world.other.sender.transact(oracle.functions.finalize(batch, [(job, 6)])),
            "MeteringOracleEntriesMismatch", lambda: _used(world, job))
    world.other.sender.transact(oracle.functions.finalize(batch, entries))
    assert _used(world, job) == 5
    reverts(lambda: world.other.sender.transact(oracle.functions.finalize(batch, entries)),
            "MeteringOracleBatchFinal", lambda: _used(world, job))
    reverts(lambda: world.holder.sender.transact(oracle.functions.challenge(batch, entries, 0)),
            "MeteringOracleBatchFinal", lambda: _used(world, job))


def _holds(w: World, job_id: int) -> int:
    return w.holder.jobs.functions.holdsOf(job_id).call()


def test_upheld_challenge_voids_only_its_entry_and_slashes_signers(world: World) -> None:
    _optimistic(world)
    oracle = oracle_of(world)
    job, other_job = world.acked_job(3_600), world.acked_job(3_600)
    result = submit(world, [report(world, job, 5_000), report(world, other_job, 2_000)], [world.gov.sender])
    entries, batch = entries_of(world, result), oracle.functions.batchCount().call()
    holder_cpt = world.holder.cpt_balance()
    observe = (world.holder.cpt_balance, lambda: oracle.functions.challengeOf(batch, 0).call(),
               lambda: _holds(world, job))
    reverts(lambda: world.other.sender.transact(oracle.functions.challenge(batch, entries, 0)),
            "MeteringOracleNotHolder", *observe)
    reverts(lambda: world.holder.sender.transact(oracle.functions.challenge(batch, entries, 2)),
            "MeteringOracleUnknownEntry", *observe)
    forged = [(job, 6), entries[1]]
    reverts(lambda: world.holder.sender.transact(oracle.functions.challenge(batch, forged, 0)),
            "MeteringOracleEntriesMismatch", *observe)
    challenged = world.holder.sender.transact(oracle.functions.challenge(batch, entries, 0))
    assert [(e["batchId"], e["index"], e["bond"])
            for e in events(oracle, "ReportChallenged", challenged)] == [(batch, 0, CHALLENGE_BOND)]
    assert world.holder.cpt_balance() == holder_cpt - CHALLENGE_BOND
    assert _holds(world, job) == 1 and oracle.functions.batchOf(batch).call()[1] == 1  # one open challenge
    reverts(lambda: world.holder.sender.transact(oracle.functions.challenge(batch, entries, 0)),
            "MeteringOracleChallengeStatus", *observe)
    # The period over, the batch finalises without the challenged entry: the other job's usage applies.
    world.travel(PERIOD)
    world.other.sender.transact(oracle.functions.finalize(batch, entries))
    assert (_used(world, job), _used(world, other_job)) == (0, 2)
    reverts(lambda: world.other.sender.transact(oracle.functions.resolve(batch, 0, True)),
            "AccessControlUnauthorizedAccount", *observe)
    resolved = world.gov.sender.transact(oracle.functions.resolve(batch, 0, True))
    assert [(e["index"], e["upheld"], e["slashed"])
            for e in events(oracle, "ChallengeResolved", resolved)] == [(0, True, SLASH)]
    assert world.holder.cpt_balance() == holder_cpt + SLASH  # the bond back plus the signer's slash
    assert oracle.functions.bondOf(world.gov.sender.address).call() == SIGNER_BOND - SLASH
    assert oracle.functions.challengeOf(batch, 0).call() == [3, world.holder.sender.address]  # Upheld
    # The voided entry never bills, and the job is free to settle again.
    assert (_used(world, job), _used(world, other_job), _holds(world, job)) == (0, 2, 0)
    reverts(lambda: world.gov.sender.transact(oracle.functions.resolve(batch, 0, False)),
            "MeteringOracleChallengeStatus", *observe)


def test_rejected_challenge_bills_the_entry_and_forfeits_the_bond(world: World) -> None:
    oracle, job, entries, batch = _pending_batch(world)
    world.holder.sender.transact(oracle.functions.challenge(batch, entries, 0))
    treasury, holder_cpt = world.gov.cpt_balance(), world.holder.cpt_balance()
    world.gov.sender.transact(oracle.functions.resolve(batch, 0, False))
    assert world.gov.cpt_balance() == treasury + CHALLENGE_BOND and world.holder.cpt_balance() == holder_cpt
    assert oracle.functions.bondOf(world.gov.sender.address).call() == SIGNER_BOND
    assert (_used(world, job), _holds(world, job)) == (5, 0)  # billed by the ruling, within the period
    reverts(lambda: world.gov.sender.transact(oracle.functions.resolve(batch, 0, True)),
            "MeteringOracleChallengeStatus", world.gov.cpt_balance, lambda: _used(world, job))
    world.travel(PERIOD)
    world.other.sender.transact(oracle.functions.finalize(batch, entries))
    assert _used(world, job) == 5  # finalize leaves the ruled entry alone: billed once


def test_unruled_challenge_lapses_after_resolve_by(world: World) -> None:
    oracle, job, entries, batch = _pending_batch(world)
    final_at = oracle.functions.batchOf(batch).call()[0]
    assert oracle.functions.resolveByOf(batch).call() == final_at + PERIOD
    holder_cpt = world.holder.cpt_balance()
    world.holder.sender.transact(oracle.functions.challenge(batch, entries, 0))
    world.travel(PERIOD)
    world.other.sender.transact(oracle.functions.finalize(batch, entries))
    observe = (world.holder.cpt_balance, lambda: _used(world, job), lambda: _holds(world, job),
               lambda: oracle.functions.challengeOf(batch, 0).call())
    reverts(lambda: world.other.sender.transact(oracle.functions.lapse(batch, 0)),
            "MeteringOracleRulingWindow", *observe)
    world.travel_to(oracle.functions.resolveByOf(batch).call() + 1)
    reverts(lambda: world.gov.sender.transact(oracle.functions.resolve(batch, 0, True)),
            "MeteringOracleRulingWindow", *observe)
    lapsed = world.other.sender.transact(oracle.functions.lapse(batch, 0))
    assert events(oracle, "ChallengeLapsed", lapsed) == [{"batchId": batch, "index": 0}]
    assert oracle.functions.challengeOf(batch, 0).call() == [4, world.holder.sender.address]  # Lapsed
    assert world.holder.cpt_balance() == holder_cpt  # the bond back
    assert (_used(world, job), _holds(world, job)) == (5, 0)  # the entry billed
    reverts(lambda: world.other.sender.transact(oracle.functions.lapse(batch, 0)),
            "MeteringOracleChallengeStatus", *observe)
    reverts(lambda: world.other.sender.transact(oracle.functions.lapse(batch, 1)),
            "MeteringOracleChallengeStatus", *observe)


def test_challenge_after_the_period_refused(world: World) -> None:
    oracle, _, entries, batch = _pending_batch(world)
    world.travel(PERIOD)
    reverts(lambda: world.holder.sender.transact(oracle.functions.challenge(batch, entries, 0)),
            "MeteringOracleChallengePeriodOver", world.holder.cpt_balance)


def test_signer_bond_locked_while_signing(world: World, accounts: list[Sender]) -> None:
    _optimistic(world)
    oracle = oracle_of(world)
    bond = lambda: oracle.functions.bondOf(world.gov.sender.address).call()  # noqa: E731
    withdraw_one = lambda: world.gov.sender.transact(oracle.functions.withdrawBond(1))  # noqa: E731
    reverts(withdraw_one, "MeteringOracleBondLocked", bond)
    world.gov.sender.transact(oracle.functions.setSigners([accounts[6].address], 1))
    reverts(withdraw_one, "MeteringOracleBondLocked", bond)
    # A batch it signed may still be challenged for one period and ruled on for another.
    world.travel(PERIOD)
    reverts(withdraw_one, "MeteringOracleBondLocked", bond)
    world.travel(PERIOD)
    cpt = world.gov.cpt_balance()
    world.gov.sender.transact(oracle.functions.withdrawBond(SIGNER_BOND))
    assert bond() == 0 and world.gov.cpt_balance() == cpt + SIGNER_BOND
