// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CreditHandler} from "./HolderHandler.sol";
import {LifecycleFixture} from "./LifecycleFixture.sol";
import {StakeHandler} from "./ProviderHandler.sol";

/// @title CreditsJobsInvariants
/// @notice The life of a stake-backed credit: providers register, stake, unstake (all their free stake, at
/// times, right after selling), withdraw, create series and mint; holders open jobs, close, claim defaults,
/// transfer and burn their expired credits, and attackers try to burn or move others' credits; the oracle
/// meters usage (applied at once, or after a challenge period, with challenges and rulings); governance pauses
/// Jobs and changes the grace and the challenge period; the issuer freezes series and providers close their
/// jobs; the keeper releases collateral; time crosses acknowledgement timeouts, windows, graces and unbonding.
///
/// One invariant function: forge runs a whole campaign per invariant function, so the properties share one.
contract CreditsJobsInvariants is LifecycleFixture {
    function setUp() public {
        _setUpLifecycle(
            Config({
                providers: 3,
                registered: 2,
                stake: 100 * WAD,
                holders: 4,
                grace: 1 hours,
                maxGrace: 2 hours,
                challengePeriod: 30 minutes,
                cooperatives: 0,
                issuer: true,
                longWarp: 8 days,
                maxWait: 8 days,
                ackTimeout: 3_600
            })
        );

        // A start: two series with credits sold and a job opened on each (one acknowledged, with usage pending and
        // an entry of it challenged), so that short runs reach defaults, freezes, closes and rulings.
        providerHandler.createSeries(0, 1, 1 days, 1 days);
        providerHandler.createSeries(1, 3, 1 days, 2 days);
        providerHandler.mint(0, 0, 5_001);
        providerHandler.mint(1, 1, 7_001);
        holderHandler.open(0, 1, 2_001);
        holderHandler.open(1, 2, 3_001);
        providerHandler.acknowledge(1);
        meteringHandler.report(1, 0, 200_400, 3); // 200 GPU-seconds of job 2, challenged by its holder
        meteringHandler.report(1, 1, 100_400, 3); // and 100 on another GPU, pending
        meteringHandler.challenge(0, 0);

        _targetLifecycle();

        _target(
            address(stakeHandler),
            abi.encodePacked(
                StakeHandler.register.selector,
                StakeHandler.stake.selector,
                StakeHandler.requestUnstake.selector,
                StakeHandler.withdraw.selector
            )
        );

        _target(
            address(creditHandler),
            abi.encodePacked(
                CreditHandler.burnExpired.selector,
                CreditHandler.transfer.selector,
                CreditHandler.burnWithoutConsent.selector
            )
        );
    }

    /// @notice Collateral covers every outstanding credit, credits move only by their holders' actions, and
    /// every unit of usage is billed once.
    function invariant_creditsAndJobs() public view {
        _assertHandlers();
        Snapshot memory snap = _snapshot();
        _assertCollateral(snap);
        _assertConsent(snap);
        _assertMetering(snap);
    }
}
