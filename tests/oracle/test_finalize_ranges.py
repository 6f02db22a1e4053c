"""The finaliser reads ``BatchAccepted`` and ``ReportChallenged`` in requests of at most the network's
``max_log_range`` blocks, from the MeteringOracle's deployment block, and finds every pending batch across
many blocks."""

from __future__ import annotations

import logging
from pathlib import Path

from compute_world import World
from log_requests import getlogs_recorded
from metering_world import oracle_of, report, submit

from gpubarter.chain.logs import block_ranges
from gpubarter.deploy_plan import WAD
from oracle.finalize import Finalizer
from oracle.meter_store import MeterStore

PERIOD = 60
TINY = 2


def test_the_finaliser_scans_in_bounded_requests_from_the_oracles_block(world: World, tmp_path: Path) -> None:
    world.gov.sender.transact(oracle_of(world).functions.setChallengeParams(PERIOD, WAD, 0, 0))
    jobs = [world.acked_job(3_600) for _ in range(2)]
    for job in jobs:
        world.w3.provider.make_request("anvil_mine", [5])
        submit(world, [report(world, job, 3_000)], [world.gov.sender])
    start = world.deployment.block_of("MeteringOracle")
    store = MeterStore(tmp_path / "meter.sqlite")
    try:
        fin = Finalizer(store, world.other.sender, oracle_of(world), logging.getLogger("test.finalize"),
                        start_block=start, max_range=TINY)
        head = world.w3.eth.block_number
        with getlogs_recorded(world.w3) as seen:
            pending = fin.scan()
        assert sorted(f.entries[0][0] for f in pending) == sorted(jobs)
        # Each range is read for BatchAccepted, then for ReportChallenged.
        assert start > 0 and seen.ranges == [r for r in block_ranges(start, head, TINY) for _event in (1, 2)]
        assert store.cursor(world.w3.eth.chain_id, fin.contract) == head + 1
        world.travel(PERIOD)
        assert fin.pump() == 2
        assert all(world.holder.job(job).used_seconds == 3 for job in jobs)
    finally:
        store.close()
