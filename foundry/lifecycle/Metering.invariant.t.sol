// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {GovernanceHandler, IssuerHandler} from "./GovernanceHandler.sol";
import {HolderHandler} from "./HolderHandler.sol";
import {KeeperHandler} from "./KeeperHandler.sol";
import {LifecycleFixture} from "./LifecycleFixture.sol";
import {MeteringHandler} from "./MeteringHandler.sol";
import {ProviderHandler} from "./ProviderHandler.sol";

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

        bytes4[] memory providerActions = new bytes4[](4);
        providerActions[0] = ProviderHandler.createSeries.selector;
        providerActions[1] = ProviderHandler.mint.selector;
        providerActions[2] = ProviderHandler.acknowledge.selector;
        providerActions[3] = ProviderHandler.closeFrozen.selector;
        _target(address(providerHandler), providerActions);

        bytes4[] memory holderActions = new bytes4[](3);
        holderActions[0] = HolderHandler.open.selector;
        holderActions[1] = HolderHandler.close.selector;
        holderActions[2] = HolderHandler.claim.selector;
        _target(address(holderHandler), holderActions);

        bytes4[] memory meteringActions = new bytes4[](5);
        meteringActions[0] = MeteringHandler.report.selector;
        meteringActions[1] = MeteringHandler.finalize.selector;
        meteringActions[2] = MeteringHandler.challenge.selector;
        meteringActions[3] = MeteringHandler.resolve.selector;
        meteringActions[4] = MeteringHandler.lapse.selector;
        _target(address(meteringHandler), meteringActions);

        bytes4[] memory governanceActions = new bytes4[](4);
        governanceActions[0] = GovernanceHandler.pauseJobs.selector;
        governanceActions[1] = GovernanceHandler.setSettlementGrace.selector;
        governanceActions[2] = GovernanceHandler.setChallengePeriod.selector;
        governanceActions[3] = GovernanceHandler.warp.selector;
        _target(address(governanceHandler), governanceActions);

        bytes4[] memory issuerActions = new bytes4[](1);
        issuerActions[0] = IssuerHandler.setFrozen.selector;
        _target(address(issuerHandler), issuerActions);

        bytes4[] memory keeperActions = new bytes4[](1);
        keeperActions[0] = KeeperHandler.releaseCollateral.selector;
        _target(address(keeperHandler), keeperActions);
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
