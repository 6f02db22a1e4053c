// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LifecycleFixture} from "./LifecycleFixture.sol";

/// @title MeteringInvariants
/// @notice Usage from the metering oracle to Jobs with a challenge period: signers report (new usage, stale
/// and repeated counters, unknown jobs) on two GPUs per job; the keeper finalises; holders challenge entries
/// of their own jobs and the arbiter rules, or the challenge lapses; holders open, close and claim while
/// providers acknowledge (and close the jobs of frozen series); governance pauses Jobs (metering goes on: usage
/// measured in time must land), lowers or raises the settlement grace and changes the challenge period (0 at
/// times: usage applies at once); time crosses challenge periods, ruling windows, cutoffs and series' ends.
contract MeteringInvariants is LifecycleFixture {
    function setUp() public {
        _setUpLifecycle(
            Config({
                providers: 2,
                registered: 2,
                stake: 1_000 * WAD,
                holders: 3,
                grace: 2 hours,
                maxGrace: 3 hours,
                challengePeriod: 1 hours,
                cooperatives: 0,
                issuer: true,
                longWarp: 1 days,
                maxWait: 6 hours,
                ackTimeout: 3_600
            })
        );

        // A start: series with credits sold, running jobs with usage pending and an entry challenged, so that short
        // runs reach challenges and rulings.
        providerHandler.createSeries(0, 1, 1 days, 2 days);
        providerHandler.createSeries(1, 2, 1 days, 1 days);
        providerHandler.mint(0, 0, 9_001);
        providerHandler.mint(1, 1, 9_001);
        providerHandler.mint(0, 2, 6_001);
        holderHandler.open(0, 0, 4_000);
        holderHandler.open(1, 1, 3_000);
        providerHandler.acknowledge(0);
        providerHandler.acknowledge(1);
        meteringHandler.report(1, 0, 200_400, 3); // usage of a job, an entry challenged by its holder
        meteringHandler.report(1, 1, 100_400, 3); // and more on another GPU, pending
        meteringHandler.challenge(0, 0);

        _targetLifecycle();
    }

    /// @notice Every finalised unit of usage is billed exactly once and nothing measured is silently dropped;
    /// credits and collateral stay whole around it.
    function invariant_metering() public view {
        _assertHandlers();
        Snapshot memory snap = _snapshot();
        _assertMetering(snap);
        _assertConsent(snap);
        _assertCollateral(snap);
    }
}
