// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LifecycleFixture} from "./LifecycleFixture.sol";

/// @title BarterInvariants
/// @notice A barter from offer to settlement: cooperatives set members' shares, register datasets and offer
/// them; providers accept with fresh key pairs; members claim their credits and run jobs on them, which
/// providers acknowledge and the oracle meters (with a challenge period, challenges and rulings); the
/// cooperatives release sealed keys as steps come due (a wrong one at times, which providers dispute);
/// keepers mark steps due, claim key timeouts, settle deals and release collateral; providers close the jobs
/// of a faulted deal's series and also sell stake-backed credits to the members; governance pauses Jobs and
/// changes the grace and the challenge period; time crosses windows, graces, challenge periods and key
/// timeouts.
contract BarterInvariants is LifecycleFixture {
    function setUp() public {
        _setUpLifecycle(
            Config({
                providers: 2,
                registered: 2,
                stake: 500 * WAD,
                holders: 3,
                grace: 1 hours,
                maxGrace: 2 hours,
                challengePeriod: 30 minutes,
                cooperatives: 2,
                issuer: false,
                longWarp: 2 days,
                maxWait: 8 hours,
                ackTimeout: 6 hours
            })
        );

        // A start: members with shares in both cooperatives, a dataset each, both offered and accepted, their
        // credits claimed by the members; on each series a job the provider acknowledged and delivered a step on,
        // the key of deal 1's step 1 released, deal 2's (a negligent cooperative's) still owed, and one more job
        // running on deal 2's series, with an entry of its usage challenged and another pending.
        for (uint256 m; m < 3; ++m) {
            cooperativeHandler.setShares(0, m, ((m + 1) << 3) | 1);
            cooperativeHandler.setShares(1, m, ((m + 2) << 3) | 1);
        }
        cooperativeHandler.registerDataset(0, 4);
        cooperativeHandler.registerDataset(1, 3);
        cooperativeHandler.offer(0, 1, 2_000, 1 days + 16, 20e18); // a window of ~40 hours
        cooperativeHandler.offer(1, 2, 3_000, 1 days + 23, 30e18); // ~45 hours
        dealProviderHandler.accept(0, 0, 11);
        dealProviderHandler.accept(0, 1, 12);
        for (uint256 m; m < 3; ++m) {
            cooperativeHandler.memberClaim(0, m);
            cooperativeHandler.memberClaim(1, m);
        }
        holderHandler.open(2, 0, 1_000); // job 1: member 2 on deal 1's series
        holderHandler.open(1, 1, 1_000); // job 2: member 1 on deal 2's series
        providerHandler.acknowledge(1);
        providerHandler.acknowledge(1);
        meteringHandler.report(0, 0, 999_400, 3); // 999 GPU-seconds of job 1: deal 1's step 1 (the cap: 1 step ahead)
        meteringHandler.report(1, 0, 1_000_400, 3); // and of job 2: deal 2's step 1
        meteringHandler.finalize(0, true);
        meteringHandler.finalize(0, true);
        cooperativeHandler.release(0, 1, 5);
        holderHandler.open(2, 1, 1_000); // job 3: member 2 on deal 2's series
        providerHandler.acknowledge(2);
        meteringHandler.report(2, 0, 200_400, 3); // job 3: 200 GPU-seconds, challenged by its holder
        meteringHandler.report(2, 1, 100_400, 3); // and 100 on another GPU, pending
        meteringHandler.challenge(2, 0);
        require(escrow.dueSteps(1) == 1 && escrow.dealOf(1).released == 1, "set-up: deal 1's step 1 released");
        require(escrow.dueSteps(2) == 1 && escrow.dealOf(2).released == 0, "set-up: deal 2's step 1 owed");

        _targetLifecycle();
    }

    /// @notice Keys follow delivery within one step either way, bonds are conserved, a settled deal's delivery
    /// is final, members' credits are shared exactly; credits, collateral and usage stay whole around it.
    function invariant_barter() public view {
        _assertHandlers();
        Snapshot memory snap = _snapshot();
        _assertBarter(snap);
        _assertCooperatives();
        _assertConsent(snap);
        _assertCollateral(snap);
        _assertMetering(snap);
    }

    /// @notice After each run: what the cooperatives' distributions leave undistributed stays below the member
    /// count.
    function afterInvariant() public view {
        _assertDust();
    }
}
