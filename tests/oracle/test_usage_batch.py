"""Jobs.applyUsageBatch: many jobs' usage in one call, one burn per run of a series, all or nothing."""

from __future__ import annotations

from chain_checks import reverts
from compute_world import H100, MINTED, WINDOW, World, events

from gpubarter.chain.tx import Sender


def _state(world: World, jobs: list[int]):
    return lambda: ([world.holder.job(j).used_seconds for j in jobs],
                    world.holder.series(world.series_id).burned)


def test_runs_of_one_series_burn_once_and_report_running_totals(world: World) -> None:
    start = world.now()
    other = world.provider.create_series(H100.class_id, start, start + WINDOW).value
    world.provider.mint(other, MINTED, world.holder.sender.address)
    a, b = world.acked_job(100), world.acked_job(100)
    c = world.holder.open_job(other, 100, "bafkreibatchjob").value
    world.provider.acknowledge(c)
    d = world.acked_job(10)
    delivered = world.holder.series(world.series_id).delivered
    result = world.meter.sender.transact(world.meter.jobs.functions.applyUsageBatch(
        [(a, 3), (b, 4), (c, 5), (d, 25)]))
    applied = events(world.meter.jobs, "UsageApplied", result)
    assert [(e["jobId"], e["seriesId"], e["applied"], e["unbilled"], e["used"]) for e in applied] == [
        (a, world.series_id, 3, 0, 3), (b, world.series_id, 4, 0, 4), (c, other, 5, 0, 5),
        (d, world.series_id, 10, 15, 10)]  # d: 10 credits locked, 15 s unbilled; served
    assert [e["seriesDelivered"] for e in applied] == [delivered + 3, delivered + 7, 5, delivered + 17]
    assert world.holder.series(world.series_id).delivered == delivered + 17
    burns = events(world.meter.credits, "TransferSingle", result)
    assert [(e["id"], e["value"]) for e in burns] == [(world.series_id, 7), (other, 5), (world.series_id, 10)]
    assert world.holder.job(d).status.name == "SERVED"


def test_refused_whole_and_state_unchanged(world: World, accounts: list[Sender]) -> None:
    jobs = world.meter.jobs
    running, unacked = world.acked_job(100), world.open_job(100)
    observe = _state(world, [running, unacked])
    reverts(lambda: world.other.sender.transact(jobs.functions.applyUsageBatch([(running, 1)])),
            "AccessControlUnauthorizedAccount", observe)
    reverts(lambda: world.meter.sender.transact(jobs.functions.applyUsageBatch([])), "JobsBatchSize", observe)
    reverts(lambda: world.meter.sender.transact(jobs.functions.applyUsageBatch([(running, 1)] * 501)),
            "JobsBatchSize", observe)
    reverts(lambda: world.meter.sender.transact(jobs.functions.applyUsageBatch([(running, 2), (unacked, 1)])),
            "JobsInvalidStatus", observe)
    reverts(lambda: world.meter.sender.transact(jobs.functions.applyUsageBatch([(running, 2), (10**9, 1)])),
            "JobsUnknownJob", observe)
    reverts(lambda: world.meter.sender.transact(jobs.functions.applyUsageBatch([(running, 0)])),
            "JobsZeroAmount", observe)


def test_a_jobs_pause_refuses_no_batch(world: World) -> None:
    """Metering is not pausable: the clock of cutoffs runs on during a pause, so the usage must land."""
    jobs = world.meter.jobs
    running = world.acked_job(100)
    burned = world.holder.series(world.series_id).burned
    world.gov.sender.transact(jobs.functions.pause())
    result = world.meter.sender.transact(jobs.functions.applyUsageBatch([(running, 2), (running, 3)]))
    assert [(e["jobId"], e["applied"], e["used"]) for e in events(jobs, "UsageApplied", result)] == [
        (running, 2, 2), (running, 3, 5)]
    assert _state(world, [running])() == ([5], burned + 5)
    assert jobs.functions.paused().call() is True
