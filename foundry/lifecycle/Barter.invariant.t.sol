// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CooperativeHandler} from "./CooperativeHandler.sol";
import {GovernanceHandler} from "./GovernanceHandler.sol";
import {HolderHandler} from "./HolderHandler.sol";
import {DealKeeperHandler, KeeperHandler} from "./KeeperHandler.sol";
import {LifecycleFixture} from "./LifecycleFixture.sol";
import {MeteringHandler} from "./MeteringHandler.sol";
import {DealProviderHandler, ProviderHandler} from "./ProviderHandler.sol";

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

        bytes4[] memory cooperativeActions = new bytes4[](6);
        cooperativeActions[0] = CooperativeHandler.setShares.selector;
        cooperativeActions[1] = CooperativeHandler.registerDataset.selector;
        cooperativeActions[2] = CooperativeHandler.offer.selector;
        cooperativeActions[3] = CooperativeHandler.cancelOffer.selector;
        cooperativeActions[4] = CooperativeHandler.release.selector;
        cooperativeActions[5] = CooperativeHandler.memberClaim.selector;
        _target(address(cooperativeHandler), cooperativeActions);

        bytes4[] memory providerActions = new bytes4[](4);
        providerActions[0] = ProviderHandler.createSeries.selector;
        providerActions[1] = ProviderHandler.mint.selector;
        providerActions[2] = ProviderHandler.acknowledge.selector;
        providerActions[3] = ProviderHandler.closeFrozen.selector;
        _target(address(providerHandler), providerActions);

        bytes4[] memory dealProviderActions = new bytes4[](2);
        dealProviderActions[0] = DealProviderHandler.accept.selector;
        dealProviderActions[1] = DealProviderHandler.dispute.selector;
        _target(address(dealProviderHandler), dealProviderActions);

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

        bytes4[] memory keeperActions = new bytes4[](1);
        keeperActions[0] = KeeperHandler.releaseCollateral.selector;
        _target(address(keeperHandler), keeperActions);

        bytes4[] memory dealKeeperActions = new bytes4[](3);
        dealKeeperActions[0] = DealKeeperHandler.markDue.selector;
        dealKeeperActions[1] = DealKeeperHandler.claimKeyTimeout.selector;
        dealKeeperActions[2] = DealKeeperHandler.settle.selector;
        _target(address(dealKeeperHandler), dealKeeperActions);

        bytes4[] memory governanceActions = new bytes4[](4);
        governanceActions[0] = GovernanceHandler.pauseJobs.selector;
        governanceActions[1] = GovernanceHandler.setSettlementGrace.selector;
        governanceActions[2] = GovernanceHandler.setChallengePeriod.selector;
        governanceActions[3] = GovernanceHandler.warp.selector;
        _target(address(governanceHandler), governanceActions);
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
