"""The review's metering findings (issue 13), each performed as the attack it describes, now failing
with the honest party made whole.

- M-1: a holder challenges its own entry to void metered usage (close or claim after the grace and get
  every credit back); one challenge held other holders' entries; a challenge cost nothing; a challenge
  had no deadline.
- M-2: usage finalised while Jobs was paused was skipped for good after the counters had moved. Jobs'
  metering is not pausable now, so a pause changes nothing; any refusal that may pass (a revoked
  METERING_ROLE here) reverts the whole finalize or submit, to be retried.
- L-2 (second half): a signer that left the set withdrew its bond before a late ruling could slash it.

The challenge period is 600 s and Jobs' settlement grace equals it (the shortest the oracle accepts), so a
ruling can land after the job's usage cutoff.

The two tests at the end are what a Jobs pause across a ruling window or a job's cutoff did to metering
while Jobs' metering entry points were pausable.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from chain_checks import reverts
from compute_world import H100, World, events, per_credit
from metering_world import entries_of, oracle_of, report, submit

from gpubarter.chain.accounts import dev_account
from gpubarter.chain.revert import decode_revert, error_name
from gpubarter.chain.tx import Sender
from gpubarter.deploy_plan import WAD, role
from gpubarter.protocol.types import JobStatus
from oracle import reports as rep
from oracle.meter import Signer
from oracle.meter_store import MeterStore
from oracle.submit import Submitter

PERIOD = 600
BOND = WAD  # the contract's default challenge bond
SIGNER_BOND = 100 * WAD
SLASH = 40 * WAD
# ChallengeStatus
OPEN, REJECTED, UPHELD, LAPSED = 1, 2, 3, 4


def _optimistic(w: World, *, signer_bond: int = 0, slash: int = 0) -> None:
    """Grace = challenge period = 600 s (jobs opened from now on take the grace), default bond."""
    w.gov.sender.transact(w.gov.jobs.functions.setSettlementGrace(PERIOD))
    w.gov.sender.transact(oracle_of(w).functions.setChallengeParams(PERIOD, BOND, signer_bond, slash))


def _fund(w: World, who: Sender, amount: int = BOND) -> None:
    """Give ``who`` CPT and let the oracle take it (a challenge bond)."""
    w.gov.sender.transact(w.gov.token.functions.transfer(who.address, amount))
    who.transact(w.gov.token.functions.approve(oracle_of(w).address, amount))


def _holds(w: World, job: int) -> int:
    return w.gov.jobs.functions.holdsOf(job).call()


def _challenged(w: World, reports: list[rep.UsageReport],
                index: int = 0) -> tuple[int, list[tuple[int, int]]]:
    """Submit ``reports`` (signed by the deployer), and the holder challenges entry ``index``."""
    oracle = oracle_of(w)
    entries = entries_of(w, submit(w, reports, [w.gov.sender]))
    batch = oracle.functions.batchCount().call()
    _fund(w, w.holder.sender)
    w.holder.sender.transact(oracle.functions.challenge(batch, entries, index))
    return batch, entries


# -- M-1 -------------------------------------------------------------------------------------------------


def test_m1_holder_cannot_close_away_its_challenged_usage(world: World) -> None:
    """The attack: challenge your own entry, close, wait past the grace, close again and get every credit
    back. Now the job stays held until the ruling, which bills the entry although the cutoff passed."""
    _optimistic(world)
    oracle, holder, series = oracle_of(world), world.holder, world.series_id
    credits_before = holder.credit_balance(series)
    job = world.acked_job(100)
    batch, entries = _challenged(world, [report(world, job, 40_000)])
    assert entries == [(job, 40)] and _holds(world, job) == 1
    holder.close(job)  # Closing: settles after the grace
    settles_at = holder.job(job).deadline
    world.travel_to(settles_at + 1)
    assert world.now() < oracle.functions.resolveByOf(batch).call()  # the arbiter may still rule
    # Past the cutoff, usage would be refused; finalising leaves the challenged entry to the ruling.
    finalized = world.other.sender.transact(oracle.functions.finalize(batch, entries))
    assert events(oracle, "UsageSkipped", finalized) == [] and holder.job(job).used_seconds == 0
    reason = reverts(lambda: holder.close(job), "JobsUsageHeld",
                     lambda: holder.job(job), lambda: holder.credit_balance(series))
    assert reason == f"JobsUsageHeld(jobId={job}, holds=1)"
    series_before, treasury = holder.series(series), world.gov.cpt_balance()
    world.gov.sender.transact(oracle.functions.resolve(batch, 0, False))
    # Billed past the cutoff: the provider is paid for what it delivered; the frivolous bond is forfeited.
    assert holder.job(job).used_seconds == 40 and _holds(world, job) == 0
    assert holder.series(series).delivered == series_before.delivered + 40
    assert holder.series(series).burned == series_before.burned + 40
    assert world.gov.cpt_balance() == treasury + BOND
    closed = holder.close(job)
    assert [e["returned"] for e in events(holder.jobs, "JobClosed", closed)] == [60]
    assert holder.credit_balance(series) == credits_before - 40  # not every credit back


def test_m1_holder_cannot_claim_a_default_on_its_challenged_usage(world: World) -> None:
    """The attack on a default: challenge, let the deadline and grace pass, claim the collateral of every
    credit. Now the claim waits for the challenge; past the ruling window anyone lapses it, the entry bills
    and the claim pays only for the unserved credits."""
    _optimistic(world)
    oracle, holder, provider = oracle_of(world), world.holder, world.provider
    start = world.now()
    series = provider.create_series(H100.class_id, start, start + 1_000).value
    provider.mint(series, 100, holder.sender.address)
    job = holder.open_job(series, 100, "bafkreidefaultjob").value
    provider.acknowledge(job)
    batch, _entries = _challenged(world, [report(world, job, 40_000)])
    deadline, resolve_by = holder.job(job).deadline, oracle.functions.resolveByOf(batch).call()
    world.travel_to(max(deadline + PERIOD, resolve_by) + 1)  # claimable, and past the ruling window
    stake_before, holder_cpt = provider.provider().stake, holder.cpt_balance()
    reverts(lambda: holder.claim(job), "JobsUsageHeld",
            lambda: holder.job(job), holder.cpt_balance, lambda: provider.provider().stake)
    reverts(lambda: world.gov.sender.transact(oracle.functions.resolve(batch, 0, True)),
            "MeteringOracleRulingWindow", lambda: holder.job(job), lambda: _holds(world, job))
    # The provider (anyone) lapses the unruled challenge: the entry bills, the bond returns.
    provider.sender.transact(oracle.functions.lapse(batch, 0))
    assert oracle.functions.challengeOf(batch, 0).call()[0] == LAPSED
    assert (holder.job(job).used_seconds, _holds(world, job)) == (40, 0)
    assert holder.cpt_balance() == holder_cpt + BOND
    claimed = holder.claim(job)
    paid = 60 * per_credit()
    assert [(e["unserved"], e["paid"]) for e in events(holder.jobs, "JobRefunded", claimed)] == [(60, paid)]
    assert holder.cpt_balance() == holder_cpt + BOND + paid  # not 100 credits' collateral
    assert provider.provider().stake == stake_before - paid
    # The delivered 40 credits' collateral returns to the provider.
    locked = provider.provider().locked
    provider.release_collateral(series)
    assert provider.provider().locked == locked - 40 * per_credit()
    assert holder.series(series).delivered == 40


def test_m1_one_challenge_does_not_hold_other_holders_entries(world: World) -> None:
    _optimistic(world)
    oracle, holder, other = oracle_of(world), world.holder, world.other
    holder.transfer(world.series_id, other.sender.address, 100)
    mine = world.acked_job(100)
    theirs = world.open_job(100, holder=other)
    world.provider.acknowledge(theirs)
    batch, entries = _challenged(world, [report(world, mine, 30_000), report(world, theirs, 20_000)])
    world.travel(PERIOD)
    world.provider.sender.transact(oracle.functions.finalize(batch, entries))
    assert (holder.job(mine).used_seconds, holder.job(theirs).used_seconds) == (0, 20)
    # The other holder settles its job as if nobody had challenged.
    other.close(theirs)
    world.travel_to(holder.job(theirs).deadline)
    closed = other.close(theirs)
    assert [e["returned"] for e in events(other.jobs, "JobClosed", closed)] == [80]
    assert other.credit_balance(world.series_id) == 80
    assert oracle.functions.challengeOf(batch, 0).call()[0] == OPEN and _holds(world, mine) == 1


def test_m1_a_challenge_is_never_free(world: World) -> None:
    oracle = oracle_of(world)
    params = (oracle.functions.challengePeriod().call, oracle.functions.bonds().call)
    assert oracle.functions.bonds().call() == [BOND, 0, 0]  # the deployed default: 1 CPT
    world.gov.sender.transact(world.gov.jobs.functions.setSettlementGrace(PERIOD))
    reverts(lambda: world.gov.sender.transact(oracle.functions.setChallengeParams(PERIOD, 0, 0, 0)),
            "MeteringOracleZero", *params)
    _optimistic(world)
    job = world.acked_job(100)
    entries = entries_of(world, submit(world, [report(world, job, 5_000)], [world.gov.sender]))
    batch = oracle.functions.batchCount().call()
    world.gov.sender.transact(world.gov.token.functions.transfer(world.holder.sender.address, BOND))
    observe = (lambda: oracle.functions.challengeOf(batch, 0).call(),
               lambda: oracle.functions.batchOf(batch).call(), lambda: _holds(world, job),
               world.holder.cpt_balance, lambda: world.gov.cpt_balance(oracle.address))
    # Without letting the oracle take the bond, the challenge (and its hold) is refused whole.
    reverts(lambda: world.holder.sender.transact(oracle.functions.challenge(batch, entries, 0)),
            "ERC20InsufficientAllowance", *observe)
    world.holder.sender.transact(world.holder.token.functions.approve(oracle.address, BOND))
    holder_cpt, escrowed = world.holder.cpt_balance(), world.gov.cpt_balance(oracle.address)
    world.holder.sender.transact(oracle.functions.challenge(batch, entries, 0))
    assert world.holder.cpt_balance() == holder_cpt - BOND
    assert world.gov.cpt_balance(oracle.address) == escrowed + BOND


def test_m1_the_ruling_window_is_bounded(world: World) -> None:
    _optimistic(world)
    oracle = oracle_of(world)
    first, second = world.acked_job(100), world.acked_job(100)
    entries = entries_of(world, submit(world, [report(world, first, 5_000), report(world, second, 7_000)],
                                       [world.gov.sender]))
    batch = oracle.functions.batchCount().call()
    _fund(world, world.holder.sender, 2 * BOND)
    for index in (0, 1):
        world.holder.sender.transact(oracle.functions.challenge(batch, entries, index))
    final_at = oracle.functions.batchOf(batch).call()[0]
    resolve_by = oracle.functions.resolveByOf(batch).call()
    assert resolve_by == final_at + PERIOD
    observe = (lambda: oracle.functions.challengeOf(batch, 1).call(), lambda: _holds(world, second),
               lambda: world.holder.job(second).used_seconds, world.holder.cpt_balance)
    world.travel_to(resolve_by - 30)
    reason = reverts(lambda: world.other.sender.transact(oracle.functions.lapse(batch, 1)),
                     "MeteringOracleRulingWindow", *observe)
    assert reason == f"MeteringOracleRulingWindow(batchId={batch}, index=1, resolveBy={resolve_by})"
    world.gov.sender.transact(oracle.functions.resolve(batch, 0, True))  # in time
    assert oracle.functions.challengeOf(batch, 0).call()[0] == UPHELD
    world.travel_to(resolve_by + 1)
    reverts(lambda: world.gov.sender.transact(oracle.functions.resolve(batch, 1, True)),
            "MeteringOracleRulingWindow", *observe)
    world.other.sender.transact(oracle.functions.lapse(batch, 1))
    assert oracle.functions.challengeOf(batch, 1).call()[0] == LAPSED
    assert (world.holder.job(first).used_seconds, world.holder.job(second).used_seconds) == (0, 7)


# -- M-2 -------------------------------------------------------------------------------------------------
#
# A Jobs pause no longer refuses metering (the clock of cutoffs and claims runs on during it), so usage
# finalised or submitted while Jobs is paused applies exactly as without the pause. What the oracle must
# still never do is skip an entry Jobs refused for a reason that may pass: a revoked METERING_ROLE stands
# for every such refusal here, and it reverts the whole finalize or submit, to be retried.


def _counters(w: World, jobs: list[int]):
    oracle = oracle_of(w)
    gpu = report(w, jobs[0], 0).message()["gpuId"]
    return lambda: ([oracle.functions.cumulativeMs(j, gpu).call() for j in jobs],
                    [w.holder.job(j).used_seconds for j in jobs], w.holder.series(w.series_id).burned,
                    oracle.functions.batchCount().call())


def _set_metering(w: World, granted: bool) -> None:
    """Governance grants or revokes the oracle's METERING_ROLE on Jobs."""
    jobs = w.gov.jobs.functions
    change = jobs.grantRole if granted else jobs.revokeRole
    w.gov.sender.transact(change(role("METERING_ROLE"), oracle_of(w).address))


def _unauthorized(w: World) -> str:
    return (f"AccessControlUnauthorizedAccount(account={oracle_of(w).address}, "
            f"neededRole=0x{role('METERING_ROLE').hex().removeprefix('0x')})")


def _pending_batch(w: World) -> tuple[int, int, int, list[tuple[int, int]]]:
    """(running job, unacknowledged job, batch, entries): an optimistic batch past its period whose first
    entry can never apply."""
    _optimistic(w)
    oracle = oracle_of(w)
    running, unacked = w.acked_job(100), w.open_job(100)
    entries = entries_of(w, submit(w, [report(w, unacked, 3_000), report(w, running, 5_000)],
                                   [w.gov.sender]))
    assert entries == [(unacked, 3), (running, 5)]
    batch = oracle.functions.batchCount().call()
    w.travel(PERIOD)
    return running, unacked, batch, entries


def _finalised_once(w: World, running: int, unacked: int, batch: int, entries: list[tuple[int, int]],
                    burned: int, finalized) -> None:
    """The batch applied exactly once: the running job billed 5 s, the entry that can never apply skipped,
    and a second finalize refused with nothing changed."""
    oracle = oracle_of(w)
    assert _counters(w, [running, unacked])() == ([5_000, 3_000], [5, 0], burned + 5, batch)
    assert oracle.functions.batchOf(batch).call()[2] is True
    skipped = events(oracle, "UsageSkipped", finalized)
    assert [(e["index"], e["jobId"]) for e in skipped] == [(0, unacked)]
    assert error_name(decode_revert(skipped[0]["reason"])) == "JobsInvalidStatus"
    applied = events(w.gov.jobs, "UsageApplied", finalized)
    assert [(e["jobId"], e["applied"], e["used"]) for e in applied] == [(running, 5, 5)]
    reverts(lambda: w.other.sender.transact(oracle.functions.finalize(batch, entries)),
            "MeteringOracleBatchFinal", _counters(w, [running, unacked]))


@pytest.mark.parametrize("paused", [False, True], ids=["unpaused", "jobs-paused"])
def test_m2_finalize_applies_the_same_whether_or_not_jobs_is_paused(world: World, paused: bool) -> None:
    """The attack: anyone finalises during a Jobs pause, and the usage is skipped for good. Now the pause
    changes nothing: the same entries apply, the same one is skipped, the same credits burn."""
    running, unacked, batch, entries = _pending_batch(world)
    if paused:
        world.gov.sender.transact(world.gov.jobs.functions.pause())
    burned = world.holder.series(world.series_id).burned
    finalized = world.other.sender.transact(oracle_of(world).functions.finalize(batch, entries))
    _finalised_once(world, running, unacked, batch, entries, burned, finalized)
    assert world.gov.jobs.functions.paused().call() is paused


def test_m2_finalize_refused_for_a_reason_that_may_pass_reverts_and_applies_once_after(world: World) -> None:
    oracle = oracle_of(world)
    running, unacked, batch, entries = _pending_batch(world)
    _set_metering(world, False)
    burned = world.holder.series(world.series_id).burned
    # Anyone may finalise: Jobs refuses every entry, the whole finalize reverts, the batch stays final-able.
    reason = reverts(lambda: world.other.sender.transact(oracle.functions.finalize(batch, entries)),
                     "AccessControlUnauthorizedAccount", _counters(world, [running, unacked]),
                     lambda: oracle.functions.batchOf(batch).call())
    assert reason == _unauthorized(world)
    assert oracle.functions.batchOf(batch).call()[2] is False
    _set_metering(world, True)
    finalized = world.other.sender.transact(oracle.functions.finalize(batch, entries))
    _finalised_once(world, running, unacked, batch, entries, burned, finalized)


def test_m2_only_an_entry_past_its_cutoff_is_skipped(world: World) -> None:
    """Late usage is the one refusal besides unknown and ended jobs that skips an entry for good: the
    rest of the batch applies."""
    _optimistic(world)
    oracle, holder, provider = oracle_of(world), world.holder, world.provider
    start = world.now()
    series = provider.create_series(H100.class_id, start, start + 1_000).value
    provider.mint(series, 100, holder.sender.address)
    late, running = holder.open_job(series, 100, "bafkreilatejob").value, world.acked_job(100)
    provider.acknowledge(late)
    cutoff = holder.job(late).deadline + PERIOD  # its deadline plus its grace
    world.travel_to(cutoff - PERIOD + 10)  # submitted 10 s too late to finalise before the cutoff
    entries = entries_of(world, submit(world, [report(world, late, 30_000), report(world, running, 20_000)],
                                       [world.gov.sender]))
    world.travel(PERIOD)
    finalized = world.other.sender.transact(oracle.functions.finalize(oracle.functions.batchCount().call(),
                                                                      entries))
    assert (holder.job(late).used_seconds, holder.job(running).used_seconds) == (0, 20)
    skipped = events(oracle, "UsageSkipped", finalized)
    assert [(e["index"], e["jobId"]) for e in skipped] == [(0, late)]
    assert decode_revert(skipped[0]["reason"]) == f"JobsUsageTooLate(jobId={late}, cutoff={cutoff})"


def _submitted_once(w: World, job: int, batch: list[rep.UsageReport], burned: int) -> None:
    """The period-0 batch applied exactly once; the same signed batch sent again is skipped."""
    assert _counters(w, [job])()[:3] == ([8_000], [8], burned + 8)
    again = submit(w, batch, [w.gov.sender])
    assert [e["jobId"] for e in events(oracle_of(w), "ReportSkipped", again)] == [job]
    assert _counters(w, [job])()[:3] == ([8_000], [8], burned + 8)


@pytest.mark.parametrize("paused", [False, True], ids=["unpaused", "jobs-paused"])
def test_m2_period_zero_submit_applies_the_same_whether_or_not_jobs_is_paused(
    world: World, paused: bool
) -> None:
    assert oracle_of(world).functions.challengePeriod().call() == 0  # applied in the submitting transaction
    job = world.acked_job(100)
    batch = [report(world, job, 8_000)]
    if paused:
        world.gov.sender.transact(world.gov.jobs.functions.pause())
    burned = world.holder.series(world.series_id).burned
    applied = events(world.gov.jobs, "UsageApplied", submit(world, batch, [world.gov.sender]))
    assert [(e["jobId"], e["applied"]) for e in applied] == [(job, 8)]
    _submitted_once(world, job, batch, burned)
    assert world.gov.jobs.functions.paused().call() is paused


def test_m2_period_zero_submit_refused_for_a_reason_that_may_pass_reverts_and_applies_once_after(
    world: World
) -> None:
    assert oracle_of(world).functions.challengePeriod().call() == 0
    job = world.acked_job(100)
    batch = [report(world, job, 8_000)]
    burned = world.holder.series(world.series_id).burned
    _set_metering(world, False)
    # The counters do not move either: the same signed batch must count again once Jobs takes it.
    reason = reverts(lambda: submit(world, batch, [world.gov.sender]), "AccessControlUnauthorizedAccount",
                     _counters(world, [job]))
    assert reason == _unauthorized(world)
    _set_metering(world, True)
    submit(world, batch, [world.gov.sender])  # the same signed batch, sent again
    _submitted_once(world, job, batch, burned)


def test_m2_the_daemon_keeps_a_batch_jobs_refused_and_sends_it_after(
    world: World, tmp_path: Path, clock
) -> None:
    """A refusal that may pass (here a revoked METERING_ROLE) leaves the batch signed, to be sent again;
    a Jobs pause is no refusal at all."""
    first, second = world.acked_job(100), world.acked_job(100)
    signer = Signer(dev_account(0), world.w3.eth.chain_id, oracle_of(world).address)
    store = MeterStore(tmp_path / "meter.sqlite")

    def add(reports: list[rep.UsageReport]) -> int:
        return store.add_batch(chain_id=signer.chain_id, verifying_contract=signer.verifying_contract,
                               digest=rep.batch_digest(signer.domain, reports), signer=signer.account.address,
                               signature=rep.sign_batch(signer.account, signer.domain, reports),
                               simulated=True, reports=reports)

    try:
        sub = Submitter(store, world.gov.sender, oracle_of(world), logging.getLogger("test.attacks"), clock)
        world.gov.sender.transact(world.gov.jobs.functions.pause())
        paused = add([report(world, first, 6_000)])
        assert sub.pump() == 1 and store.batch(paused).state == "confirmed"  # sent during the pause
        assert _counters(world, [first])()[:2] == ([6_000], [6])
        _set_metering(world, False)
        refused = add([report(world, second, 9_000)])
        assert sub.pump() == 0 and store.batch(refused).state == "signed"  # refused: kept, to be sent again
        assert _counters(world, [second])()[:2] == ([0], [0])
        _set_metering(world, True)
        assert sub.pump() == 0 and store.batch(refused).state == "signed"  # backing off
        clock.advance(sub.backoff_s)
        assert sub.pump() == 1 and store.batch(refused).state == "confirmed"
        assert _counters(world, [first, second])()[:2] == ([6_000, 9_000], [6, 9])
        assert sub.pump() == 0  # nothing twice
    finally:
        store.close()


# -- L-2 (second half) -----------------------------------------------------------------------------------


def test_l2_a_leaving_signer_cannot_withdraw_before_a_late_ruling(
    world: World, accounts: list[Sender]
) -> None:
    oracle = oracle_of(world)
    signer, successor = accounts[6], accounts[7]
    _optimistic(world, signer_bond=SIGNER_BOND, slash=SLASH)
    _fund(world, signer, SIGNER_BOND)
    signer.transact(oracle.functions.depositBond(SIGNER_BOND))
    world.gov.sender.transact(oracle.functions.setSigners([signer.address], 1))
    job = world.acked_job(100)
    entries = entries_of(world, submit(world, [report(world, job, 5_000)], [signer]))
    batch = oracle.functions.batchCount().call()
    _fund(world, world.holder.sender)
    world.holder.sender.transact(oracle.functions.challenge(batch, entries, 0))
    world.gov.sender.transact(oracle.functions.setSigners([successor.address], 1))  # the signer leaves
    bond = oracle.functions.bondOf(signer.address).call
    withdraw = lambda: signer.transact(oracle.functions.withdrawBond(SIGNER_BOND))  # noqa: E731
    signer_cpt = world.gov.cpt_balance(signer.address)
    observe = (bond, lambda: world.gov.cpt_balance(signer.address))
    world.travel(PERIOD + 1)  # one challenge period after leaving: the old unlock
    reverts(withdraw, "MeteringOracleBondLocked", *observe)
    world.travel_to(oracle.functions.resolveByOf(batch).call() - 5)
    reverts(withdraw, "MeteringOracleBondLocked", *observe)
    holder_cpt = world.holder.cpt_balance()
    world.gov.sender.transact(oracle.functions.resolve(batch, 0, True))  # the latest ruling still slashes
    assert bond() == SIGNER_BOND - SLASH
    assert world.holder.cpt_balance() == holder_cpt + BOND + SLASH
    assert world.holder.job(job).used_seconds == 0
    world.travel(PERIOD)  # two challenge periods after leaving
    signer.transact(oracle.functions.withdrawBond(SIGNER_BOND - SLASH))
    assert bond() == 0 and world.gov.cpt_balance(signer.address) == signer_cpt + SIGNER_BOND - SLASH


# -- A Jobs pause across the ruling window and the cutoff (regressions) ---------------------------------
#
# Both lost usage while Jobs' metering entry points were pausable: the clock of cutoffs, claims and
# rulings ran on while usage and rulings could not land.


def test_an_upheld_ruling_survives_a_jobs_pause(world: World) -> None:
    """The arbiter upholds within its window while Jobs is paused; the pause outlasts ``resolveBy``. The
    ruling stands (the entry is voided, the job released), so nobody can lapse it into a bill."""
    _optimistic(world, signer_bond=0, slash=0)
    oracle = oracle_of(world)
    job = world.acked_job(100)
    batch, _entries = _challenged(world, [report(world, job, 5_000)])
    world.gov.sender.transact(world.gov.jobs.functions.pause())
    holder_cpt = world.holder.cpt_balance()
    world.gov.sender.transact(oracle.functions.resolve(batch, 0, True))
    assert world.holder.cpt_balance() == holder_cpt + BOND  # upheld: the challenger's bond back
    world.travel_to(oracle.functions.resolveByOf(batch).call() + 1)
    reverts(lambda: world.other.sender.transact(oracle.functions.lapse(batch, 0)),
            "MeteringOracleChallengeStatus", lambda: oracle.functions.challengeOf(batch, 0).call(),
            lambda: world.holder.job(job).used_seconds, lambda: _holds(world, job))
    world.gov.sender.transact(world.gov.jobs.functions.unpause())
    assert oracle.functions.challengeOf(batch, 0).call()[0] == UPHELD
    assert (world.holder.job(job).used_seconds, _holds(world, job)) == (0, 0)


def test_a_jobs_pause_across_the_cutoff_loses_no_usage(world: World) -> None:
    """Jobs is paused before the batch can finalise and stays paused past the job's cutoff. The batch
    finalises when due, during the pause, so the holder's claim (an exit, open while paused) pays only the
    unserved credits and the provider keeps the collateral of the 40 it delivered."""
    _optimistic(world)
    oracle, holder, provider = oracle_of(world), world.holder, world.provider
    start = world.now()
    series = provider.create_series(H100.class_id, start, start + 1_000).value
    provider.mint(series, 100, holder.sender.address)
    job = holder.open_job(series, 100, "bafkreipausedjob").value
    provider.acknowledge(job)
    entries = entries_of(world, submit(world, [report(world, job, 40_000)], [world.gov.sender]))
    batch = oracle.functions.batchCount().call()
    world.gov.sender.transact(world.gov.jobs.functions.pause())  # before the batch can finalise
    final_at = oracle.functions.batchOf(batch).call()[0]
    assert final_at < holder.job(job).deadline + PERIOD  # due before the cutoff
    world.travel_to(final_at)
    world.other.sender.transact(oracle.functions.finalize(batch, entries))
    assert (holder.job(job).used_seconds, holder.series(series).burned) == (40, 40)
    world.travel_to(holder.job(job).deadline + PERIOD + 1)  # past the cutoff: a default is claimable
    holder_cpt, stake = holder.cpt_balance(), provider.provider().stake
    claimed = holder.claim(job)
    paid = 60 * per_credit()
    assert [(e["unserved"], e["paid"]) for e in events(holder.jobs, "JobRefunded", claimed)] == [(60, paid)]
    assert holder.job(job).status == JobStatus.REFUNDED and holder.job(job).used_seconds == 40
    assert holder.cpt_balance() == holder_cpt + paid  # not the 40 delivered credits' collateral
    assert provider.provider().stake == stake - paid
    assert world.gov.jobs.functions.paused().call() is True
