"""Jobs: open with locked credits, acknowledge in time, metered usage, close, default claims."""

from __future__ import annotations

from chain_checks import reverts
from compute_world import (
    H100,
    MINTED,
    SPEC,
    WINDOW,
    World,
    collateral_of,
    events,
)

from gpubarter.deploy_plan import DeployParams, role
from gpubarter.protocol.types import JobStatus

ACK = H100.ack_timeout_s
GRACE = DeployParams().settlement_grace_s


def _bal(w: World, who=None) -> int:
    return w.holder.credit_balance(w.series_id, (who or w.holder).sender.address)


def _state(w: World, job_id: int | None = None):
    """Everything a job action may change."""
    s = w.holder.series(w.series_id)
    job = w.holder.job(job_id) if job_id else None
    return (
        job,
        s.minted,
        s.burned,
        s.delivered,
        _bal(w),
        w.provider.provider(),
        w.holder.cpt_balance(),
    )


def test_open_locks_credits_and_nothing_of_the_provider(world: World) -> None:
    locked_before = world.provider.provider().locked
    sent = world.holder.open_job(world.series_id, 3_600, SPEC)
    job = world.holder.job(sent.value)
    assert (job.holder, job.series_id, job.status) == (
        world.holder.sender.address,
        world.series_id,
        JobStatus.OPENED,
    )
    assert (job.max_seconds, job.used_seconds) == (3_600, 0)
    assert job.ack_deadline == world.now() + ACK and job.deadline == world.start + WINDOW
    assert _bal(world) == MINTED - 3_600
    assert world.holder.credit_balance(world.series_id, world.deployment.address("Jobs")) == 3_600
    # The credits carry their own collateral (rate plus penalty), locked at mint: open takes no stake.
    assert world.provider.provider().locked == locked_before
    assert job.cutoff == job.deadline + GRACE  # the settlement grace of this moment stays the job's
    opened = events(world.holder.jobs, "JobOpened", sent.txs[0])[0]
    assert (opened["specCid"], opened["maxSeconds"]) == (SPEC, 3_600)


def test_open_refusals(world: World) -> None:
    h, sid = world.holder, world.series_id
    observe = (lambda: _state(world), h.jobs.functions.jobCount().call)
    reverts(lambda: h.open_job(sid, 0, SPEC), "JobsZeroAmount", *observe)
    reverts(lambda: h.open_job(sid, 2**64, SPEC), "JobsAmountOverflow", *observe)
    reverts(lambda: h.open_job(sid, 2**256 - 1, SPEC), "JobsAmountOverflow", *observe)
    reverts(lambda: h.open_job(sid, 1, ""), "JobsInvalidSpec", *observe)
    reverts(lambda: h.open_job(sid, 1, "b" * 129), "JobsInvalidSpec", *observe)
    reverts(lambda: h.open_job(999, 1, SPEC), "ComputeCreditsUnknownSeries", *observe)
    reverts(lambda: h.open_job(sid, MINTED + 1, SPEC), "ERC1155InsufficientBalance", *observe)
    reverts(lambda: world.other.open_job(sid, 1, SPEC), "ERC1155InsufficientBalance", *observe)


def test_open_needs_no_free_stake_h1(world: World) -> None:
    """H-1: a provider that sold credits and unstakes all its free stake cannot make them unredeemable."""
    world.provider.request_unstake(world.provider.provider().free)
    assert world.provider.provider().free == 0
    job_id = world.open_job(3_600)  # refused before the fix (ProviderRegistryInsufficientFreeStake)
    assert world.holder.job(job_id).status is JobStatus.OPENED
    # And if the provider then ignores the job, the holder is paid the credits' whole collateral.
    world.travel(ACK + 1)
    cpt = world.holder.cpt_balance()
    world.holder.claim(job_id)
    assert world.holder.cpt_balance() == cpt + collateral_of(3_600)


def test_acknowledge_within_timeout(world: World) -> None:
    job_id = world.open_job()
    world.travel(ACK - 5)
    result = world.provider.acknowledge(job_id)
    assert world.holder.job(job_id).status is JobStatus.ACKNOWLEDGED
    assert (
        events(world.holder.jobs, "JobAcknowledged", result)[0]["provider"]
        == world.provider.sender.address
    )


def test_acknowledge_refusals(world: World) -> None:
    job_id = world.open_job()
    observe = lambda: _state(world, job_id)  # noqa: E731
    reverts(lambda: world.provider2.acknowledge(job_id), "JobsNotProvider", observe)
    reverts(lambda: world.holder.acknowledge(job_id), "JobsNotProvider", observe)
    reverts(lambda: world.provider.acknowledge(999), "JobsUnknownJob", observe)
    world.provider.acknowledge(job_id)
    reverts(
        lambda: world.provider.acknowledge(job_id), "JobsInvalidStatus", observe
    )  # double acknowledgement


def test_acknowledge_after_window_ended_is_refused(world: World) -> None:
    job_id = world.open_job()
    world.travel(ACK + 1)
    reason = reverts(
        lambda: world.provider.acknowledge(job_id),
        "JobsAckWindowEnded",
        lambda: _state(world, job_id),
    )
    assert f"ackDeadline={world.holder.job(job_id).ack_deadline}" in reason


def test_apply_usage_burns_credits_and_advances_delivery(world: World) -> None:
    job_id = world.acked_job(3_600)
    result = world.meter.apply_usage(job_id, 1_000)
    job, s = world.holder.job(job_id), world.holder.series(world.series_id)
    assert (job.used_seconds, job.status) == (1_000, JobStatus.ACKNOWLEDGED)
    assert (s.burned, s.delivered, s.outstanding) == (1_000, 1_000, MINTED - 1_000)
    assert world.holder.delivered(world.series_id) == 1_000
    ev = events(world.holder.jobs, "UsageApplied", result)[0]
    assert (ev["applied"], ev["unbilled"], ev["used"], ev["seriesDelivered"]) == (
        1_000,
        0,
        1_000,
        1_000,
    )
    # Collateral stays locked until released; then only what outstanding credits need remains.
    world.other.release_collateral(world.series_id)
    assert world.holder.series(world.series_id).collateral == collateral_of(MINTED - 1_000)


def test_usage_beyond_locked_credits_is_capped_and_serves_the_job(world: World) -> None:
    job_id = world.acked_job(3_600)
    world.meter.apply_usage(job_id, 3_000)
    locked = world.provider.provider().locked
    result = world.meter.apply_usage(job_id, 1_000)
    ev = events(world.holder.jobs, "UsageApplied", result)[0]
    assert (ev["applied"], ev["unbilled"], ev["used"]) == (600, 400, 3_600)
    assert ev["used"] == world.holder.job(job_id).max_seconds  # the report that served the job
    assert world.holder.job(job_id).status is JobStatus.SERVED
    # The delivered credits' collateral stays locked until released (so the serving report stays cheap).
    assert world.provider.provider().locked == locked
    world.other.release_collateral(world.series_id)
    assert world.provider.provider().locked == locked - collateral_of(3_600)
    assert world.holder.series(world.series_id).delivered == 3_600
    reverts(
        lambda: world.meter.apply_usage(job_id, 1),
        "JobsInvalidStatus",
        lambda: _state(world, job_id),
    )


def test_apply_usage_refusals(world: World) -> None:
    job_id = world.open_job()
    observe = lambda: _state(world, job_id)  # noqa: E731
    reverts(lambda: world.other.apply_usage(job_id, 1), "AccessControlUnauthorizedAccount", observe)
    reverts(
        lambda: world.provider.apply_usage(job_id, 1), "AccessControlUnauthorizedAccount", observe
    )
    reverts(
        lambda: world.meter.apply_usage(job_id, 1), "JobsInvalidStatus", observe
    )  # not acknowledged
    reverts(lambda: world.meter.apply_usage(999, 1), "JobsUnknownJob", observe)
    world.provider.acknowledge(job_id)
    reverts(lambda: world.meter.apply_usage(job_id, 0), "JobsZeroAmount", observe)
    world.holder.close(job_id)
    world.travel(GRACE)
    world.holder.close(job_id)  # settled
    reverts(lambda: world.meter.apply_usage(job_id, 1), "JobsInvalidStatus", observe)


def test_overflowing_usage_is_capped(world: World) -> None:
    job_id = world.acked_job(10)
    world.meter.apply_usage(job_id, 2**256 - 1)
    assert world.holder.job(job_id).used_seconds == 10


def test_close_returns_unused_credits_after_the_settlement_grace(world: World) -> None:
    locked = world.provider.provider().locked
    job_id = world.acked_job(3_600)
    world.meter.apply_usage(job_id, 1_200)
    result = world.holder.close(job_id)
    job = world.holder.job(job_id)
    assert (job.status, job.deadline) == (JobStatus.CLOSING, world.now() + GRACE)
    assert events(world.holder.jobs, "JobClosing", result)[0]["settlesAt"] == job.deadline
    # Usage measured before the close still settles; the holder cannot take those credits back.
    world.meter.apply_usage(job_id, 300)
    reason = reverts(
        lambda: world.holder.close(job_id), "JobsSettling", lambda: _state(world, job_id)
    )
    assert f"settlesAt={job.deadline}" in reason
    world.travel(GRACE)
    result = world.other.close(job_id)  # anyone may settle; the credits go to the holder
    assert world.holder.job(job_id).status is JobStatus.CLOSED
    assert _bal(world) == MINTED - 1_500 and _bal(world, world.other) == 0
    assert events(world.holder.jobs, "JobClosed", result)[0]["returned"] == 2_100
    assert world.provider.provider().locked == locked  # delivered collateral not released yet


def test_close_settles_at_once_without_a_grace(world: World) -> None:
    world.gov.sender.transact(world.gov.jobs.functions.setSettlementGrace(0))
    job_id = world.acked_job(3_600)
    world.holder.close(job_id)
    assert world.holder.job(job_id).status is JobStatus.CLOSED and _bal(world) == MINTED


def test_settlement_grace_is_governed(world: World) -> None:
    f = world.gov.jobs.functions
    reverts(
        lambda: world.gov.sender.transact(f.setSettlementGrace(30 * 86_400 + 1)),
        "JobsInvalidSettlementGrace",
        f.settlementGrace().call,
    )


def test_close_before_acknowledgement_cancels(world: World) -> None:
    job_id = world.open_job(500)
    world.holder.close(job_id)
    assert _bal(world) == MINTED


def test_close_refusals(world: World) -> None:
    job_id = world.open_job()
    observe = lambda: _state(world, job_id)  # noqa: E731
    reverts(lambda: world.other.close(job_id), "JobsNotHolder", observe)  # someone else's job
    reverts(lambda: world.provider.close(job_id), "JobsNotHolder", observe)
    reverts(lambda: world.holder.close(999), "JobsUnknownJob", observe)
    world.holder.close(job_id)
    reverts(lambda: world.holder.close(job_id), "JobsInvalidStatus", observe)
    reverts(lambda: world.holder.claim(job_id), "JobsInvalidStatus", observe)


def test_claim_when_not_acknowledged_in_time(world: World) -> None:
    job_id = world.open_job(3_600)
    reason = reverts(
        lambda: world.holder.claim(job_id), "JobsNotClaimable", lambda: _state(world, job_id)
    )
    job = world.holder.job(job_id)
    assert f"claimableAt={job.ack_deadline + 1}" in reason
    world.travel(ACK + 1)
    cpt, before = world.holder.cpt_balance(), world.provider.provider()
    series = world.holder.series(world.series_id)
    result = world.holder.claim(job_id)
    after = world.provider.provider()
    assert world.holder.job(job_id).status is JobStatus.REFUNDED
    # The unserved credits are burned (not delivered) and their whole collateral paid to the holder.
    assert _bal(world) == MINTED - 3_600
    assert world.holder.cpt_balance() == cpt + collateral_of(3_600)
    assert (after.stake, after.locked) == (
        before.stake - collateral_of(3_600),
        before.locked - collateral_of(3_600),
    )
    s = world.holder.series(world.series_id)
    assert (s.burned, s.delivered, s.collateral) == (
        series.burned + 3_600, series.delivered, series.collateral - collateral_of(3_600))
    ev = events(world.holder.jobs, "JobRefunded", result)[0]
    assert (ev["unserved"], ev["paid"]) == (3_600, collateral_of(3_600))
    reverts(
        lambda: world.provider.acknowledge(job_id),
        "JobsInvalidStatus",
        lambda: _state(world, job_id),
    )


def test_claim_when_not_served_by_deadline_penalises_unused_part(world: World) -> None:
    job_id = world.acked_job(3_600)
    world.meter.apply_usage(job_id, 600)
    reverts(lambda: world.holder.claim(job_id), "JobsNotClaimable", lambda: _state(world, job_id))
    world.travel_to(world.start + WINDOW)
    # Usage measured before the deadline may still arrive during the settlement grace.
    reason = reverts(
        lambda: world.holder.claim(job_id), "JobsNotClaimable", lambda: _state(world, job_id)
    )
    assert f"claimableAt={world.start + WINDOW + GRACE}" in reason
    world.meter.apply_usage(job_id, 600)
    world.travel(GRACE)
    # The grace is over: the job can settle, so usage no longer lands (it would bill a settled job).
    reason = reverts(lambda: world.meter.apply_usage(job_id, 1), "JobsUsageTooLate",
                     lambda: _state(world, job_id))
    assert f"cutoff={world.start + WINDOW + GRACE}" in reason
    cpt, locked = world.holder.cpt_balance(), world.provider.provider().locked
    world.holder.claim(job_id)
    assert world.holder.cpt_balance() == cpt + collateral_of(2_400)
    assert world.provider.provider().locked == locked - collateral_of(2_400)
    assert _bal(world) == MINTED - 3_600
    reverts(lambda: world.holder.claim(job_id), "JobsInvalidStatus", lambda: _state(world, job_id))


def test_claim_refused_for_someone_elses_job(world: World) -> None:
    job_id = world.open_job()
    world.travel(ACK + 1)
    reverts(lambda: world.other.claim(job_id), "JobsNotHolder", lambda: _state(world, job_id))


def test_served_job_cannot_be_claimed(world: World) -> None:
    job_id = world.acked_job(100)
    world.meter.apply_usage(job_id, 100)
    world.travel_to(world.start + WINDOW)
    reverts(lambda: world.holder.claim(job_id), "JobsInvalidStatus", lambda: _state(world, job_id))


def test_a_job_keeps_the_grace_it_was_opened_with(world: World) -> None:
    """setSettlementGrace is not retroactive: a job opened under one grace settles under it."""
    job_id = world.acked_job(3_600)
    world.gov.sender.transact(world.gov.jobs.functions.setSettlementGrace(10))
    assert world.holder.job(job_id).cutoff == world.start + WINDOW + GRACE
    world.holder.close(job_id)
    assert world.holder.job(job_id).deadline == world.now() + GRACE
    later = world.acked_job(100)
    assert world.holder.job(later).cutoff == world.start + WINDOW + 10
    # The largest grace ever set bounds when any series' usage can still land.
    assert world.gov.jobs.functions.maxSettlementGrace().call() == GRACE


def test_closing_after_the_window_settles_no_later_than_a_default_could(world: World) -> None:
    """Closed after its deadline, a job settles at deadline + grace: usage never lands past that."""
    job_id = world.acked_job(3_600)
    world.travel_to(world.start + WINDOW + 100)
    world.holder.close(job_id)
    assert world.holder.job(job_id).deadline == world.start + WINDOW + GRACE
    world.travel_to(world.start + WINDOW + GRACE)
    reverts(lambda: world.meter.apply_usage(job_id, 1), "JobsUsageTooLate", lambda: _state(world, job_id))
    world.other.close(job_id)
    assert _bal(world) == MINTED


def test_a_held_job_waits_for_its_ruling_and_then_bills_late_usage(world: World) -> None:
    job_id = world.acked_job(3_600)
    f = world.meter.jobs.functions
    reverts(lambda: world.meter.sender.transact(f.releaseHold(job_id, 5)), "JobsNotHeld",
            lambda: _state(world, job_id))
    world.meter.sender.transact(f.hold(job_id))
    assert (f.holdsOf(job_id).call(), f.seriesHoldsOf(world.series_id).call()) == (1, 1)
    world.holder.close(job_id)
    world.travel(GRACE)
    reverts(lambda: world.other.close(job_id), "JobsUsageHeld", lambda: _state(world, job_id))
    # Past the cutoff, fresh usage is refused, but the held entry bills when released.
    reverts(lambda: world.meter.apply_usage(job_id, 1), "JobsUsageTooLate", lambda: _state(world, job_id))
    world.meter.sender.transact(f.releaseHold(job_id, 700))
    assert world.holder.job(job_id).used_seconds == 700
    assert (f.holdsOf(job_id).call(), f.seriesHoldsOf(world.series_id).call()) == (0, 0)
    world.other.close(job_id)
    assert _bal(world) == MINTED - 700
    reverts(lambda: world.meter.sender.transact(f.hold(job_id)), "JobsInvalidStatus",
            lambda: _state(world, job_id))


def test_a_held_default_cannot_be_claimed(world: World) -> None:
    job_id = world.acked_job(3_600)
    world.meter.sender.transact(world.meter.jobs.functions.hold(job_id))
    world.travel_to(world.start + WINDOW + GRACE)
    reverts(lambda: world.holder.claim(job_id), "JobsUsageHeld", lambda: _state(world, job_id))
    world.meter.sender.transact(world.meter.jobs.functions.releaseHold(job_id, 0))
    cpt = world.holder.cpt_balance()
    world.holder.claim(job_id)
    assert world.holder.cpt_balance() == cpt + collateral_of(3_600)


def test_after_a_cooperative_fault_the_provider_closes_jobs_without_penalty_m3(world: World) -> None:
    """M-3: once the series is frozen (its cooperative faulted), the provider ends the running jobs at
    once, and a holder's claim returns the credits without paying."""
    f = world.gov.credits.functions
    opened, acked, closing = world.open_job(100), world.acked_job(200), world.acked_job(300)
    world.holder.close(closing)
    world.gov.sender.transact(f.grantRole(role("SERIES_ISSUER_ROLE"), world.gov.sender.address))
    # Before the fault the provider may not close a holder's job.
    reverts(lambda: world.provider.close(opened), "JobsNotHolder", lambda: _state(world, opened))
    world.gov.sender.transact(f.setFrozen(world.series_id, True))
    stake = world.provider.provider().stake
    for job_id in (opened, acked, closing):
        world.provider.close(job_id)
        assert world.holder.job(job_id).status is JobStatus.CLOSED
    assert _bal(world) == MINTED and world.provider.provider().stake == stake
    reverts(lambda: world.holder.open_job(world.series_id, 1, SPEC), "ComputeCreditsSeriesFrozen",
            lambda: _state(world))


def test_a_default_on_a_frozen_series_returns_the_credits_and_pays_nothing(world: World) -> None:
    job_id = world.open_job(500)
    f = world.gov.credits.functions
    world.gov.sender.transact(f.grantRole(role("SERIES_ISSUER_ROLE"), world.gov.sender.address))
    world.gov.sender.transact(f.setFrozen(world.series_id, True))
    world.travel(ACK + 1)
    cpt, stake = world.holder.cpt_balance(), world.provider.provider().stake
    result = world.holder.claim(job_id)
    assert (world.holder.cpt_balance(), world.provider.provider().stake, _bal(world)) == (cpt, stake, MINTED)
    ev = events(world.holder.jobs, "JobRefunded", result)[0]
    assert (ev["unserved"], ev["paid"]) == (500, 0)
